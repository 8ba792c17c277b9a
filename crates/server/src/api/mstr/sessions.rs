//! `/api/sessions*`: session info, keep-alive, the current user and its privileges.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use vestibule_core::clock::now_ms;
use vestibule_core::privilege::Privilege;
use vestibule_core::CoreError;

use super::error::{MstrErrorBody, MstrResult};
use super::extract::Caller;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// LCID of the session's locale.
    locale: u32,
    max_search: u32,
    working_set: u32,
    /// Server session idle timeout in seconds.
    timeout: i64,
    /// The user's id.
    id: String,
    full_name: String,
    initials: String,
}

/// Information about the caller's session; also marks it active.
#[utoipa::path(get, path = "/api/sessions", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 200, description = "The session", body = SessionInfo),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn get_session(Caller(caller): Caller) -> Json<SessionInfo> {
    let user = &caller.user.user;
    Json(SessionInfo {
        locale: 1033,
        max_search: 3,
        working_set: 10,
        timeout: caller.session.timeout_secs(now_ms()),
        id: user.id.to_hex(),
        full_name: user.display_name().to_owned(),
        initials: user.initials(),
    })
}

/// Keep the session alive: resets the HTTP and server session timeouts.
#[utoipa::path(put, path = "/api/sessions", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 204, description = "Extended"),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn keep_alive(_caller: Caller) -> StatusCode {
    // Authenticating the caller has already touched the session.
    StatusCode::NO_CONTENT
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoBody {
    metadata_user: bool,
    id: String,
    name: String,
    username: String,
    full_name: String,
    initials: String,
    email: String,
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/sessions/userInfo", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 200, description = "The user", body = UserInfoBody),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn user_info(Caller(caller): Caller) -> Json<UserInfoBody> {
    let u = &caller.user.user;
    Json(UserInfoBody {
        metadata_user: true,
        id: u.id.to_hex(),
        name: u.display_name().to_owned(),
        username: u.username.clone(),
        full_name: u.display_name().to_owned(),
        initials: u.initials(),
        email: u.email.clone(),
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectGrant {
    id: String,
    is_allowed: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrivilegeBody {
    /// The privilege's stable id, as a string.
    id: String,
    name: &'static str,
    description: &'static str,
    is_user_level_allowed: bool,
    projects: Vec<ProjectGrant>,
}

#[derive(Serialize, ToSchema)]
pub struct PrivilegeList {
    privileges: Vec<PrivilegeBody>,
}

async fn privilege_body(state: &AppState, p: Privilege, held: bool) -> MstrResult<PrivilegeBody> {
    let projects = state
        .core
        .directory
        .projects()
        .await?
        .into_iter()
        .map(|pr| ProjectGrant {
            id: pr.id.to_hex(),
            is_allowed: held,
        })
        .collect();
    Ok(PrivilegeBody {
        id: p.id.to_string(),
        name: p.name,
        description: p.description,
        is_user_level_allowed: held,
        projects,
    })
}

/// The privileges the caller holds, directly or through its groups.
#[utoipa::path(get, path = "/api/sessions/privileges", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 200, description = "Held privileges", body = PrivilegeList),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn privileges(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> MstrResult<Json<PrivilegeList>> {
    let mut privileges = Vec::new();
    for p in &caller.user.privileges {
        privileges.push(privilege_body(&state, *p, true).await?);
    }
    Ok(Json(PrivilegeList { privileges }))
}

/// One privilege of the catalogue, with whether the caller holds it.
#[utoipa::path(get, path = "/api/sessions/privileges/{id}", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("id" = String, Path, description = "Privilege id")),
    responses(
        (status = 200, description = "The privilege", body = PrivilegeBody),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
        (status = 404, description = "No such privilege (ERR004)", body = MstrErrorBody),
    ))]
pub async fn privilege(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> MstrResult<Json<PrivilegeBody>> {
    let p = id
        .parse::<u32>()
        .ok()
        .and_then(Privilege::by_id)
        .ok_or_else(|| CoreError::NotFound(format!("No privilege with id '{id}'")))?;
    Ok(Json(privilege_body(&state, p, caller.user.has(p)).await?))
}
