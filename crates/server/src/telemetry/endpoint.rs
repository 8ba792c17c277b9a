//! `/metrics`: the request metrics, the core's counters, the live session count and the HTTP edge's
//! connection counters in the Prometheus text format (see docs/operations.md).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use vestibule_core::Core;

use super::metrics::{self, HttpMetrics};
use super::process;

/// What the endpoint reads: the core (for the live session count) and the request metrics the
/// observer records.
#[derive(Clone)]
pub(crate) struct Observed {
    core: Arc<Core>,
    metrics: Arc<HttpMetrics>,
}

impl Observed {
    pub(crate) fn new(core: Arc<Core>, metrics: Arc<HttpMetrics>) -> Self {
        Observed { core, metrics }
    }
}

/// Metrics in the Prometheus text format: request counts and latencies by route template, requests
/// in flight, logins by dialect, mode and result, lockouts, live sessions, the connections of the
/// HTTP edge, the process's CPU, memory and files, and the build (see docs/operations.md).
#[utoipa::path(get, path = "/metrics", tag = "Operations",
    responses(
        (status = 200, description = "Prometheus text format (version 0.0.4)", body = String,
            content_type = "text/plain"),
    ))]
pub(crate) async fn render(State(state): State<Observed>) -> Response {
    let mut out = String::with_capacity(16 * 1024);
    state.metrics.render(&mut out);
    let live = match state.core.live_sessions().await {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "counting sessions for /metrics failed");
            None
        }
    };
    metrics::render_core(&mut out, live);
    metrics::render_edge(&mut out);
    process::render_process(&mut out);
    process::render_build(&mut out);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}
