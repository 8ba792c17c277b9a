//! The id a request is known by in the logs and to its caller (`x-request-id`): an incoming one
//! when it is short and plain, so that a proxy's id follows the request, else one made here.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use rand::RngCore;

/// The header that carries the id in and out. A static name: looked up by `&str`, every lookup
/// and insert would parse it.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id: its own `x-request-id` if well formed, else a new one.
pub fn of(req: &Request) -> HeaderValue {
    incoming(req).unwrap_or_else(new)
}

/// An incoming id is kept when it is 1–64 letters, digits and `-_.:`; anything else (which could
/// forge log lines) is replaced.
fn incoming(req: &Request) -> Option<HeaderValue> {
    let v = req.headers().get(&REQUEST_ID)?;
    let ok = (1..=64).contains(&v.len())
        && v.as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| v.clone())
}

/// A new id: a random per-process prefix and a counter, as 16 hex characters. Unique within a
/// process and, with the random prefix, across nodes in practice; far cheaper than 8 random bytes
/// per request (this runs on every request, the session check included).
fn new() -> HeaderValue {
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let prefix = *PREFIX.get_or_init(|| rand::thread_rng().next_u32());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = (u64::from(prefix) << 32) | u64::from(n);
    let mut buf = [0u8; 16];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in buf.iter_mut().enumerate() {
        *b = HEX[((id >> (60 - 4 * i)) & 0xf) as usize];
    }
    // 16 hex characters are always a valid header value.
    HeaderValue::from_bytes(&buf).unwrap_or(HeaderValue::from_static("0"))
}
