//! `GET /health/live` and `GET /health/ready`: for load balancers, Kubernetes probes and
//! `vestibule healthcheck`. Neither needs a session, neither touches the login throttle, and
//! neither writes an access line (a probe every few seconds would drown the log).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// The longest one dependency may take to answer a readiness probe (or the store timeout, when
/// shorter): a probe must answer well within the prober's own timeout.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The routes, outside both dialects.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

/// A health answer: `status` is `live`, `ready` or `not_ready`; `checks` names each dependency
/// with `ok` or why it is not ready.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<&'static str, String>,
}

/// The process answers.
#[utoipa::path(get, path = "/health/live", tag = "Operations",
    responses((status = 200, description = "The process answers", body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "live",
        checks: BTreeMap::new(),
    })
}

/// Every configured store (metadata, sessions, login budgets) and the LDAP directory, when one
/// is configured, answered within the timeout.
#[utoipa::path(get, path = "/health/ready", tag = "Operations",
    responses(
        (status = 200, description = "Every dependency answered", body = Health),
        (status = 503, description = "A dependency did not answer; `checks` says which and why", body = Health),
    ))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let store_timeout = Duration::from_secs(state.core.config().store.timeout_secs);
    let checks = state.core.readiness(READY_TIMEOUT.min(store_timeout)).await;
    let ok = checks.iter().all(|c| c.error.is_none());
    let checks = checks
        .into_iter()
        .map(|c| (c.name, c.error.unwrap_or_else(|| "ok".into())))
        .collect();
    let (status, word) = if ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (status, Json(Health { status: word, checks }))
}
