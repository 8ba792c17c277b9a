//! `GET /api/projects`: the projects the caller can use.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use vestibule_core::clock::rfc3339_ms;

use super::error::{MstrErrorBody, MstrResult};
use super::extract::Caller;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectBody {
    id: String,
    name: String,
    alias: String,
    description: String,
    /// 0: loaded.
    status: i32,
    date_created: String,
    date_modified: String,
}

/// List the projects.
#[utoipa::path(get, path = "/api/projects", tag = "Projects",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 200, description = "Projects", body = [ProjectBody]),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> MstrResult<Json<Vec<ProjectBody>>> {
    caller.require_full_scope()?;
    caller.require(vestibule_core::privilege::Privilege::WEB_USER)?;
    let projects = state.core.directory().projects().await?;
    Ok(Json(
        projects
            .into_iter()
            .map(|p| ProjectBody {
                id: p.id.to_hex(),
                name: p.name,
                alias: String::new(),
                description: p.description,
                status: 0,
                date_created: rfc3339_ms(p.created_ms),
                date_modified: rfc3339_ms(p.created_ms),
            })
            .collect(),
    ))
}
