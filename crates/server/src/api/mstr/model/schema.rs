//! `/api/model/schema/lock` and `/api/model/schema/reload`: a project's schema lock (read,
//! place, remove) and reloads, synchronous (201) or with `Prefer: respond-async` (202 and a
//! task to follow at `/api/model/tasks/{id}`, in `tasks.rs`).
//!
//! The lock belongs to the session that placed it; while it is held, the core refuses schema
//! changes by any other session (`vestibule_core::model::schema_lock`).

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;

use vestibule_core::ids::Guid;
use vestibule_core::model::reload::TaskStatus;

use super::schema_wire::{lock_type_param, LastReloadJson, LockBody, LockStatusJson, ReloadBody, TaskJson};
use super::wire;
use crate::api::mstr::error::{MstrError, MstrErrorBody, MstrResult};
use crate::api::mstr::extract::{Caller, ProjectId, RawBody};
use crate::api::mstr::folders::required_project;
use crate::api::mstr::params::Query;
use crate::client_addr::ClientAddr;
use crate::state::AppState;

fn project_of(project: Option<Guid>) -> MstrResult<Guid> {
    required_project(project, "the schema belongs to a project")
}

/// The lock status of the project's schema: a live session's lock, or `none`.
#[utoipa::path(get, path = "/api/model/schema/lock", tag = "Schema",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id")),
    responses(
        (status = 200, description = "The lock status", body = LockStatusJson),
        (status = 400, description = "No project header (ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown project (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get_lock(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
) -> MstrResult<Json<LockStatusJson>> {
    let project = project_of(project)?;
    let lock = state.core.schema_lock(&caller, project).await?;
    Ok(Json(LockStatusJson::of(lock.as_ref())))
}

/// Lock the project's schema for this session: other sessions' schema changes are refused
/// until it is unlocked or this session ends. Locking again from the holding session succeeds.
#[utoipa::path(post, path = "/api/model/schema/lock", tag = "Schema",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id")),
    request_body(content = LockBody, description = "The lock type (and a comment)", content_type = "application/json"),
    responses(
        (status = 201, description = "Locked (no body)"),
        (status = 400, description = "No project header or lockType (ERR007), an unknown lockType or field (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown project (ERR004)", body = MstrErrorBody),
        (status = 409, description = "Locked by another session (ERR001)", body = MstrErrorBody),
    ))]
pub async fn lock(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    ClientAddr(addr): ClientAddr,
    RawBody(body): RawBody,
) -> MstrResult<StatusCode> {
    let project = project_of(project)?;
    let (kind, comment) = wire::read::<LockBody>(&body)?.into_parts()?;
    state
        .core
        .lock_schema(&caller, project, kind, comment, addr)
        .await?;
    Ok(StatusCode::CREATED)
}

/// Unlock the project's schema: the holding session may, an administrator may remove another
/// session's lock. Unlocking a schema that is not locked succeeds.
#[utoipa::path(delete, path = "/api/model/schema/lock", tag = "Schema",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("lockType" = Option<String>, Query, pattern = "^(absolute_individual|exclusive_constituent|absolute_constituent)?$",
            description = "The type of the lock to remove; the lock must be of it")),
    responses(
        (status = 200, description = "Unlocked (no body)"),
        (status = 400, description = "No project header (ERR007), an unknown lockType (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014); another session's lock, without the administration privilege (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown project (ERR004)", body = MstrErrorBody),
        (status = 409, description = "The lock is of another type (ERR001)", body = MstrErrorBody),
    ))]
pub async fn unlock(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    ClientAddr(addr): ClientAddr,
    RawQuery(raw): RawQuery,
) -> MstrResult<StatusCode> {
    let project = project_of(project)?;
    let q = Query::parse(raw.as_deref())?;
    let kind = lock_type_param(q.get("lockType"))?;
    state.core.unlock_schema(&caller, project, kind, addr).await?;
    Ok(StatusCode::OK)
}

/// Whether a request's `Prefer` header asks for `respond-async` (RFC 7240: preferences are
/// comma-separated, each may carry parameters after `;`, names match in any case).
fn prefers_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.split([';', '=']).next())
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

/// The task's path beside the reload's own (`…/model/schema/reload` → `…/model/tasks/{id}`),
/// under whichever prefix the request came.
fn task_location(uri: &Uri, task: Guid) -> Option<HeaderValue> {
    let prefix = uri.path().strip_suffix("/model/schema/reload")?;
    HeaderValue::from_str(&format!("{prefix}/model/tasks/{task}")).ok()
}

/// Reload (update) the project's schema: checks the committed model as a whole. Synchronous by
/// default (201 once done); `Prefer: respond-async` answers 202 with the running task.
#[utoipa::path(post, path = "/api/model/schema/reload", tag = "Schema",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("Prefer" = Option<String>, Header, description = "respond-async: answer at once with the task (202)")),
    request_body(content = ReloadBody, description = "The update types (required, may be empty)", content_type = "application/json"),
    responses(
        (status = 201, description = "Reloaded (no body); the task in Location",
         headers(("Location" = String, description = "The reload's task"))),
        (status = 202, description = "Accepted: the running task, also in Location", body = TaskJson,
         headers(("Location" = String, description = "The reload's task"),
                 ("Preference-Applied" = String, description = "respond-async"))),
        (status = 400, description = "No project header or updateTypes (ERR007), an unknown update type or field (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown project (ERR004)", body = MstrErrorBody),
        (status = 409, description = "The reload found problems in the model (ERR001); the failed task has them", body = MstrErrorBody),
    ))]
pub async fn reload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> MstrResult<Response> {
    let project = project_of(project)?;
    let update_types = wire::read::<ReloadBody>(&body)?.into_update_types()?;
    let wait = !prefers_async(&headers);
    let task = state
        .core
        .reload_schema(&caller, project, update_types, wait)
        .await?;
    let location = task_location(&uri, task.id);
    if !wait {
        let mut resp = (StatusCode::ACCEPTED, Json(TaskJson::of(&task))).into_response();
        if let Some(l) = location {
            resp.headers_mut().insert(header::LOCATION, l);
        }
        resp.headers_mut()
            .insert("preference-applied", HeaderValue::from_static("respond-async"));
        return Ok(resp);
    }
    if task.status == TaskStatus::Failed {
        let first = task
            .problems
            .first()
            .map(|p| p.message.as_str())
            .unwrap_or_default();
        return Err(MstrError::new(
            StatusCode::CONFLICT,
            "ERR001",
            format!(
                "The schema reload found {} problem(s) in the model (task {}, which lists them all): {first}",
                task.problems.len(),
                task.id
            ),
        ));
    }
    let mut resp = StatusCode::CREATED.into_response();
    if let Some(l) = location {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

/// The project's newest reload (vestibule's addition: who reloaded, when, with which update
/// types, and what it found); `lastReload` is null before the first.
#[utoipa::path(get, path = "/api/model/schema/reload", tag = "Schema",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id")),
    responses(
        (status = 200, description = "The newest reload", body = LastReloadJson),
        (status = 400, description = "No project header (ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown project (ERR004)", body = MstrErrorBody),
    ))]
pub async fn last_reload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
) -> MstrResult<Json<LastReloadJson>> {
    let project = project_of(project)?;
    let last = state.core.last_schema_reload(&caller, project).await?;
    Ok(Json(LastReloadJson {
        last_reload: last.as_ref().map(TaskJson::of),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respond_async_is_found_among_preferences() {
        let mut h = HeaderMap::new();
        assert!(!prefers_async(&h));
        h.append("prefer", HeaderValue::from_static("wait=10, Respond-Async"));
        assert!(prefers_async(&h));
        let mut h = HeaderMap::new();
        h.append("prefer", HeaderValue::from_static("return=minimal"));
        assert!(!prefers_async(&h));
    }

    #[test]
    fn the_task_is_located_under_the_reloads_prefix() {
        let id: Guid = "907CAAF6F0644A8DA2CBF9D3C4C1B12E".parse().unwrap();
        let uri: Uri = "/MicroStrategyLibrary/api/model/schema/reload".parse().unwrap();
        assert_eq!(
            task_location(&uri, id).unwrap(),
            "/MicroStrategyLibrary/api/model/tasks/907CAAF6F0644A8DA2CBF9D3C4C1B12E"
        );
    }
}
