//! The edge's counters for `/metrics`: open connections, connections refused by the cap, closed by
//! a timeout, and request bodies that timed out. Relaxed atomics in a static, as the core's
//! counters are: one process serves one listener.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Which timeout made the server close a connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// A request's header was not complete within `server.header_read_timeout_secs`.
    Header,
    /// No request came within `server.idle_timeout_secs` of the last answer.
    Idle,
    /// The client took none of its answer for `server.idle_timeout_secs`.
    Write,
}

impl Closed {
    pub fn label(self) -> &'static str {
        match self {
            Closed::Header => "header_timeout",
            Closed::Idle => "idle_timeout",
            Closed::Write => "write_timeout",
        }
    }
}

static OPEN: AtomicI64 = AtomicI64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);
static HEADER_TIMEOUTS: AtomicU64 = AtomicU64::new(0);
static IDLE_TIMEOUTS: AtomicU64 = AtomicU64::new(0);
static WRITE_TIMEOUTS: AtomicU64 = AtomicU64::new(0);
static BODY_TIMEOUTS: AtomicU64 = AtomicU64::new(0);

/// A connection counted as open until this is dropped.
pub struct OpenConnection(());

pub fn record_open() -> OpenConnection {
    OPEN.fetch_add(1, Ordering::Relaxed);
    OpenConnection(())
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

pub fn record_refused() {
    REFUSED.fetch_add(1, Ordering::Relaxed);
}

pub fn record_closed(reason: Closed) {
    let counter = match reason {
        Closed::Header => &HEADER_TIMEOUTS,
        Closed::Idle => &IDLE_TIMEOUTS,
        Closed::Write => &WRITE_TIMEOUTS,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

pub fn record_body_timeout() {
    BODY_TIMEOUTS.fetch_add(1, Ordering::Relaxed);
}

/// The current values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub open: i64,
    pub refused: u64,
    pub header_timeouts: u64,
    pub idle_timeouts: u64,
    pub write_timeouts: u64,
    pub body_timeouts: u64,
}

pub fn snapshot() -> Snapshot {
    Snapshot {
        open: OPEN.load(Ordering::Relaxed),
        refused: REFUSED.load(Ordering::Relaxed),
        header_timeouts: HEADER_TIMEOUTS.load(Ordering::Relaxed),
        idle_timeouts: IDLE_TIMEOUTS.load(Ordering::Relaxed),
        write_timeouts: WRITE_TIMEOUTS.load(Ordering::Relaxed),
        body_timeouts: BODY_TIMEOUTS.load(Ordering::Relaxed),
    }
}
