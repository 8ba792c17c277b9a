//! What wraps every request for operations: a request id (taken from a well-formed incoming
//! `x-request-id` or made here, and returned as `x-request-id`), a tracing span carrying it so that
//! every log line written while serving the request names it, the request's metrics, and the
//! `/metrics` endpoint itself.
//!
//! Nothing here logs headers, bodies or query strings: they carry passwords, tokens and secrets.
//! The span holds the method, the route template and the request id only.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rand::RngCore;
use tracing::Instrument;

use vestibule_core::Core;

use crate::metrics::{self, HttpMetrics, UNMATCHED};

pub const REQUEST_ID: &str = "x-request-id";

#[derive(Clone)]
pub struct Observed {
    core: Arc<Core>,
    metrics: Arc<HttpMetrics>,
}

/// Adds `/metrics` to `app` and wraps every route (and the fallbacks) in the request observer.
pub fn instrument(app: Router, core: Arc<Core>) -> Router {
    let state = Observed {
        core,
        metrics: HttpMetrics::new(),
    };
    app.merge(
        Router::new()
            .route("/metrics", get(render))
            .with_state(state.clone()),
    )
    .layer(axum::middleware::from_fn_with_state(state, observe))
}

/// An incoming id is kept when it is short and plain, so a proxy's id follows the request;
/// anything else (which could forge log lines) is replaced.
fn incoming_id(req: &Request) -> Option<HeaderValue> {
    let v = req.headers().get(REQUEST_ID)?;
    let ok = (1..=64).contains(&v.len())
        && v.as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| v.clone())
}

/// A new id: a random per-process prefix and a counter, as 16 hex characters. Unique within a
/// process and, with the random prefix, across nodes in practice; far cheaper than 8 random bytes
/// per request (this runs on every request, the session check included).
fn new_id() -> HeaderValue {
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

/// The route template a request matched; `None` for fallbacks (labelled [`UNMATCHED`]: their internal templates
/// are not routes a user wrote). A clone of `MatchedPath` shares its string: no allocation.
fn route_of(req: &Request) -> Option<MatchedPath> {
    req.extensions()
        .get::<MatchedPath>()
        .filter(|p| !p.as_str().contains("__private__"))
        .cloned()
}

async fn observe(State(state): State<Observed>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let _in_flight = state.metrics.start();
    let id = incoming_id(&req).unwrap_or_else(new_id);
    let matched = route_of(&req);
    let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = id.to_str().unwrap_or_default(),
        method = %method,
        route = %route,
    );
    let mut resp = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    state.metrics.record(route, &method, status, elapsed);
    span.in_scope(|| {
        tracing::debug!(
            target: "vestibule::access",
            status,
            micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "answered"
        )
    });
    resp.headers_mut().insert(REQUEST_ID, id);
    resp
}

/// Metrics in the Prometheus text format: request counts and latencies by route template, requests
/// in flight, logins by mode and result, lockouts, live sessions (see docs/operations.md).
#[utoipa::path(get, path = "/metrics", tag = "Operations",
    responses(
        (status = 200, description = "Prometheus text format (version 0.0.4)", body = String,
            content_type = "text/plain"),
    ))]
pub async fn render(State(state): State<Observed>) -> Response {
    let mut out = String::with_capacity(16 * 1024);
    state.metrics.render(&mut out);
    let live = match state.core.sessions.count().await {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "counting sessions for /metrics failed");
            None
        }
    };
    metrics::render_core(&mut out, live);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}
