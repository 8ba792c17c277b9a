//! `/api/model/tables`: list and read logical tables (committed or inside a changeset; mstrio-py
//! names the changeset in `X-MSTR-Changeset`), and create one inside a changeset.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use vestibule_core::core::Principal;
use vestibule_core::model::types::ObjectKind;
use vestibule_core::model::View;

use super::{context, path_id, wire, Query};
use crate::api::mstr::error::{MstrErrorBody, MstrResult};
use crate::api::mstr::extract::Caller;
use crate::state::AppState;

async fn view(state: &AppState, caller: &Principal, headers: &HeaderMap) -> MstrResult<View> {
    let (project, changeset) = context(headers)?;
    Ok(state.core.model()?.view(caller, project, changeset).await?)
}

/// The logical tables, paged; each entry has `information`, or the `fields` asked for
/// (`information`, `physicalTable`).
#[utoipa::path(get, path = "/api/model/tables", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, description = "Project id"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, description = "Changeset id (also X-MSTR-Changeset)"),
           ("offset" = Option<i64>, Query, description = "First entry"),
           ("limit" = Option<i64>, Query, description = "Entries (-1: all)"),
           ("fields" = Option<String>, Query, description = "information, physicalTable")),
    responses(
        (status = 200, description = "`{offset, limit, total, tables:[…]}`"),
        (status = 400, description = "No project or changeset (ERR007)", body = MstrErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> MstrResult<Response> {
    caller.require_full_scope()?;
    let q = Query::parse(raw.as_deref())?;
    let (offset, limit) = (q.int("offset", 0)?.max(0), q.int("limit", -1)?);
    let fields = q.list("fields");
    let view = view(&state, &caller, &headers).await?;
    let all = state.core.model()?.list(&view, Some(ObjectKind::Table)).await?;
    let total = all.len();
    let page: Vec<_> = all
        .iter()
        .skip(offset as usize)
        .take(if limit < 0 { usize::MAX } else { limit as usize })
        .map(|t| wire::table_entry(t, &fields))
        .collect();
    Ok(Json(json!({"offset": offset, "limit": limit, "total": total, "tables": page})).into_response())
}

/// A logical table: its physical table and columns, and the attributes that read it.
#[utoipa::path(get, path = "/api/model/tables/{id}", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, description = "Project id"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, description = "Changeset id (also X-MSTR-Changeset)"),
           ("id" = String, Path, description = "Table id"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    responses(
        (status = 400, description = "No project or changeset header, or a malformed parameter (ERR006, ERR007)", body = MstrErrorBody),
        (status = 200, description = "The table"),
        (status = 404, description = "Unknown table (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "table")?;
    caller.require_object(id)?;
    let model = state.core.model()?;
    let view = view(&state, &caller, &headers).await?;
    let table = model.require(&view, id, ObjectKind::Table).await?;
    let attributes = model.list(&view, Some(ObjectKind::Attribute)).await?;
    let body = super::only_fields(wire::table_json(&table, &attributes, false), &q.list("fields"));
    Ok(Json(body).into_response())
}

/// Create a logical table with its columns inside a changeset.
#[utoipa::path(post, path = "/api/model/tables", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, description = "Changeset id")),
    request_body(content = serde_json::Value,
        description = "`{information:{name, destinationFolderId?}, physicalTable:{tableName?, namespace?, columns:[{columnName, dataType:{type, precision?, scale?}}]}}`",
        content_type = "application/json"),
    responses(
        (status = 201, description = "Created: the table"),
        (status = 400, description = "Invalid definition (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 409, description = "Name taken in the folder (ERR015)", body = MstrErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> MstrResult<Response> {
    caller.require(vestibule_core::privilege::Privilege::SCHEMA_EDIT)?;
    let view = view(&state, &caller, &headers).await?;
    view.changeset()?;
    let spec = wire::table_spec(&wire::json_body(&body)?)?;
    let table = state
        .core
        .model()?
        .create_table(&view, Some(caller.user.user.id), spec)
        .await?;
    Ok((StatusCode::CREATED, Json(wire::table_json(&table, &[], true))).into_response())
}
