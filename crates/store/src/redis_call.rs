//! The connection to Redis that the session store and the failed-login budgets share, and how one
//! operation runs on it: within the store timeout, and sent once more on a new connection when
//! the old one turns out to have died (Redis restarted, a proxy dropped it) and the operation is
//! safe to repeat.
//!
//! redis-rs's `ConnectionManager` notices a dead connection only when a command fails on it: it
//! returns that command's error and starts a new connection in the background, which the next
//! command waits for. Without a retry, the first request on every node after a Redis restart
//! would answer 503 although Redis is back; with one, it waits for the new connection instead.
//! Both tries share one deadline, so a Redis that is really down still answers 503 within
//! `store.timeout_secs`.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError};

use vestibule_core::error::StoreError;
use vestibule_core::store::StoreResult;

/// Whether an operation is sent once more after its connection died under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Running it twice leaves Redis as running it once does (reads, writes of the same data,
    /// scripts that recognise their own repeat), so a first try that may or may not have reached
    /// Redis can be repeated.
    Safe,
    /// Sent at most once; a lost connection is the caller's answer.
    Never,
}

/// Opens the connection: each attempt to connect and each answer gives up after `timeout`.
pub(crate) async fn connect(url: &str, timeout: Duration) -> StoreResult<ConnectionManager> {
    let client = redis::Client::open(url).map_err(|e| StoreError::Other(format!("redis URL: {e}")))?;
    // No retries inside a reconnection: redis-rs would wait a second or more before its next
    // try, and requests would wait with it past their deadline once Redis is back. A failed
    // reconnection is retried by the next command instead, at once.
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout)
        .set_number_of_retries(0);
    tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
        .await
        .map_err(|_| unavailable(format!("no answer from {url} within {timeout:?}")))?
        .map_err(unavailable)
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

/// The connection broke (reset, closed, refused; a reply that cannot be read; AUTH refused on
/// connecting): exactly the errors on which `ConnectionManager` replaces its connection, so a
/// second try waits for the new one. A timeout is not among them: the connection may be sound,
/// and the deadline is spent anyway.
fn connection_lost(e: &RedisError) -> bool {
    e.is_unrecoverable_error()
}

/// Runs one Redis operation on `conn` within `timeout`, trying it a second time (as `retry`
/// allows) when the connection was lost, before the same deadline. A connection problem or no
/// answer is the store being unavailable, anything else an error of the store.
pub(crate) async fn run_within<T, F>(
    timeout: Duration,
    conn: &ConnectionManager,
    retry: Retry,
    op: impl Fn(ConnectionManager) -> F,
) -> StoreResult<T>
where
    F: std::future::Future<Output = redis::RedisResult<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut answer = tokio::time::timeout_at(deadline, op(conn.clone())).await;
    if let Ok(Err(e)) = &answer {
        if retry == Retry::Safe && connection_lost(e) {
            let lost = e.to_string();
            answer = tokio::time::timeout_at(deadline, op(conn.clone())).await;
            // Worth a line when it saved the request (once per node after a restart); a request
            // that fails anyway is logged as failed by the server.
            if matches!(answer, Ok(Ok(_))) {
                tracing::info!(error = %lost, "the Redis connection had died; served on a new one");
            } else {
                tracing::debug!(error = %lost, "the Redis connection had died; the new one failed too");
            }
        }
    }
    match answer {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.is_io_error() || not_serving(&e) => Err(unavailable(e)),
        Ok(Err(e)) => Err(StoreError::Other(format!("redis: {e}"))),
        Err(_) => Err(unavailable(format!("no answer within {timeout:?}"))),
    }
}

/// Redis answered but does not serve for now: it is loading its data after a restart, it is a
/// replica (a failover demoted it), its master lacks the replicas `min-replicas-to-write` asks
/// for, or a script holds it. Like Redis down, that is the store unavailable (503), not a fault.
fn not_serving(e: &RedisError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::BusyLoadingError
            | ErrorKind::ReadOnly
            | ErrorKind::MasterDown
            | ErrorKind::TryAgain
            | ErrorKind::ClusterDown
    ) || matches!(e.code(), Some("NOREPLICAS" | "BUSY"))
}
