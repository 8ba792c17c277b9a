//! `GET /api/status`: the version probe mstrio-py makes right after login.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use vestibule_core::clock::now_ms;

use crate::state::AppState;

/// The versions reported: high enough (11.5.0600 or later) that mstrio-py logs in only once.
pub const ISERVER_VERSION: &str = "11.6.0100.0050";
pub const WEB_VERSION: &str = "11.6.0100.0050J";

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    up_since: i64,
    up_time: i64,
    up_time_text: String,
    web_version: &'static str,
    is_i_server_configured: bool,
    i_server_version: &'static str,
    min_mobile_compatible_version: &'static str,
    deployment_type: &'static str,
    /// The server's own name and version.
    vestibule_version: &'static str,
}

/// The state of the REST API and the versions it reports.
#[utoipa::path(get, path = "/api/status", tag = "Misc",
    responses((status = 200, description = "Server status", body = Status)))]
pub async fn status(State(state): State<AppState>) -> Json<Status> {
    let up_since = state.core.started_ms();
    let up_time = now_ms() - up_since;
    let secs = up_time / 1000;
    Json(Status {
        up_since,
        up_time,
        up_time_text: format!(
            "{:02} Hours {:02} Minutes {:02} seconds",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        ),
        web_version: WEB_VERSION,
        is_i_server_configured: true,
        i_server_version: ISERVER_VERSION,
        min_mobile_compatible_version: "11.3.460.0000",
        deployment_type: "mcp",
        vestibule_version: env!("CARGO_PKG_VERSION"),
    })
}
