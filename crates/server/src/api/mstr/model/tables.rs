//! `/api/model/tables`: list and read logical tables with their physical tables (committed or
//! inside a changeset; mstrio-py names the changeset in `X-MSTR-Changeset`), create one inside a
//! changeset (over a new warehouse or free-form SQL table, or an alias of an existing physical
//! table), and read a table's physical structure again (`…/physicalTable/refresh`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use vestibule_core::model::types::ObjectKind;

use super::table_wire::{Physicals, TableBody, TableEntry, TableJson, TableList};
use super::wire;
use crate::api::mstr::error::{MstrErrorBody, MstrResult};
use crate::api::mstr::extract::{Caller, ModelPlace, MstrPath, RawBody};
use crate::api::mstr::params::{path_id, Query};
use crate::state::AppState;

/// `{}` for an object that is not a table (the view found it by kind, so it always is one).
fn empty() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// The logical tables, paged; each entry has `information`, or the `fields` asked for
/// (`information`, `physicalTable`).
#[utoipa::path(get, path = "/api/model/tables", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id; required unless X-MSTR-MS-Changeset names a changeset"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Changeset id (also X-MSTR-Changeset); wins over the project, blank is none"),
           ("offset" = Option<i64>, Query, minimum = -1, description = "First entry"),
           ("limit" = Option<i64>, Query, minimum = -1, description = "Entries (-1: all)"),
           ("fields" = Option<String>, Query, description = "information, physicalTable")),
    responses(
        (status = 200, description = "A page of the tables", body = TableList),
        (status = 400, description = "No project or changeset (ERR007)", body = MstrErrorBody),
        (status = 404, description = "Unknown changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    RawQuery(raw): RawQuery,
) -> MstrResult<Json<TableList>> {
    caller.require_full_scope()?;
    let q = Query::parse(raw.as_deref())?;
    let (offset, limit) = (q.int("offset", 0)?.max(0), q.int("limit", -1)?);
    let fields = q.list("fields");
    let view = place.view(&state, &caller).await?;
    let model = state.core.model()?;
    let all = model
        .list_readable(&caller, &view, Some(ObjectKind::Table))
        .await?;
    let physicals = Physicals::new(model.list(&view, Some(ObjectKind::PhysicalTable)).await?);
    let tables = wire::page(&all, offset, limit)
        .map(|t| TableEntry::of(t, &physicals, &fields))
        .collect();
    Ok(Json(TableList {
        offset,
        limit,
        total: all.len(),
        tables,
    }))
}

/// A logical table: its physical table (the id `/api/objects/{id}?type=53` reads) and columns, and
/// the attributes that read it.
#[utoipa::path(get, path = "/api/model/tables/{id}", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id; required unless X-MSTR-MS-Changeset names a changeset"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Changeset id (also X-MSTR-Changeset); wins over the project, blank is none"),
           ("id" = String, Path, description = "Table id"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    responses(
        (status = 400, description = "No project or changeset header, or a malformed parameter (ERR006, ERR007)", body = MstrErrorBody),
        (status = 200, description = "The table", body = TableJson),
        (status = 403, description = "No Read access to the table (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown table or changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<Json<serde_json::Value>> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "table")?;
    caller.require_object(id)?;
    let model = state.core.model()?;
    let view = place.view(&state, &caller).await?;
    let table = model.read(&caller, &view, id, ObjectKind::Table).await?;
    let physical = model.physical_of(&view, &table).await?;
    let attributes = model
        .list_readable(&caller, &view, Some(ObjectKind::Attribute))
        .await?;
    match TableJson::of(&table, &physical, &attributes, None) {
        Some(body) => Ok(Json(wire::only_fields(&body, &q.list("fields"))?)),
        None => Ok(Json(empty())),
    }
}

/// Create a logical table inside a changeset: over a new warehouse table or free-form SQL table
/// with its columns, over the existing physical table of that warehouse table, or over the
/// physical table `physicalTable.information.objectId` names (an alias).
#[utoipa::path(post, path = "/api/model/tables", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Changeset id")),
    request_body(content = TableBody, description = "The table and its physical table", content_type = "application/json"),
    responses(
        (status = 201, description = "Created: the table", body = TableJson),
        (status = 400, description = "Invalid definition, or one that disagrees with the existing physical table (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014); no Use access to the physical table of an alias (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown changeset, folder or physical table (ERR004)", body = MstrErrorBody),
        (status = 409, description = "Name taken in the folder (ERR015)", body = MstrErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    RawBody(body): RawBody,
) -> MstrResult<Response> {
    caller.require(vestibule_core::privilege::Privilege::SCHEMA_EDIT)?;
    let view = place.view(&state, &caller).await?;
    view.changeset()?;
    let mut body = wire::read::<TableBody>(&body)?;
    let comment = wire::ChangeJournalIn::comment(body.change_journal.take());
    let spec = body.into_spec()?;
    let model = state.core.model()?;
    let made = model.create_table(&view, Some(&caller), spec).await?;
    model.note_comment(&view, comment.as_deref()).await?;
    let body = match TableJson::of(&made.table, &made.physical, &[], Some(made.physical_is_new)) {
        Some(t) => Json(t).into_response(),
        None => Json(empty()).into_response(),
    };
    Ok((StatusCode::CREATED, body).into_response())
}

/// The column merge options of MicroStrategy's structure update (`columnMergeOption`).
const COLUMN_MERGE_OPTIONS: [&str; 3] = [
    "reuse_any",
    "reuse_compatible_data_type",
    "reuse_matched_data_type",
];

/// Read the structure of a table's physical table again, inside a changeset. A free-form SQL
/// table is left as it is, as MicroStrategy does; a warehouse table's structure needs the
/// warehouse, which vestibule does not have: refused, nothing changes.
#[utoipa::path(post, path = "/api/model/tables/{id}/physicalTable/refresh", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Changeset id"),
           ("id" = String, Path, description = "Logical table id"),
           ("columnMergeOption" = Option<String>, Query, pattern = "^(reuse_any|reuse_compatible_data_type|reuse_matched_data_type)?$", description = "reuse_any, reuse_compatible_data_type or reuse_matched_data_type"),
           ("ignoreTablePrefix" = Option<bool>, Query, description = "Look the table up without its prefix"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    responses(
        (status = 200, description = "The table, unchanged (a free-form SQL table)", body = TableJson),
        (status = 400, description = "A warehouse table (no warehouse to read it from), a bad parameter, or no changeset (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014), or no Write access to the table (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown table or changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<Json<serde_json::Value>> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "table")?;
    if let Some(o) = q.get("columnMergeOption").filter(|o| !o.is_empty()) {
        if !COLUMN_MERGE_OPTIONS.contains(&o) {
            return Err(crate::api::mstr::error::MstrError::invalid(format!(
                "The query parameter 'columnMergeOption' must be one of {}, not '{o}'",
                COLUMN_MERGE_OPTIONS.join(", ")
            )));
        }
    }
    q.bool("ignoreTablePrefix", false)?;
    let view = place.view(&state, &caller).await?;
    let model = state.core.model()?;
    let (table, physical) = model.refresh_structure(&caller, &view, id).await?;
    let attributes = model
        .list_readable(&caller, &view, Some(ObjectKind::Attribute))
        .await?;
    match TableJson::of(&table, &physical, &attributes, None) {
        Some(body) => Ok(Json(wire::only_fields(&body, &q.list("fields"))?)),
        None => Ok(Json(empty())),
    }
}
