//! `/api/model/systemHierarchy/attributes/{id}/relationships`: the parent and child
//! relationships an attribute takes part in; PUT replaces those it keeps, inside a changeset.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use vestibule_core::model::types::{ObjectKind, Relationship};
use vestibule_core::model::View;

use super::{context, path_id, wire};
use crate::api::mstr::error::{MstrErrorBody, MstrResult};
use crate::api::mstr::extract::Caller;
use crate::state::AppState;

async fn answer(state: &AppState, view: &View, rels: &[Relationship]) -> MstrResult<Json<Value>> {
    let names = wire::Names::new(state.core.model()?.list(view, None).await?);
    Ok(Json(json!({
        "relationships": rels.iter().map(|r| wire::relationship_json(r, &names)).collect::<Vec<_>>()
    })))
}

/// An attribute's relationships.
#[utoipa::path(get, path = "/api/model/systemHierarchy/attributes/{id}/relationships", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, description = "Project id"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, description = "Changeset id"),
           ("id" = String, Path, description = "Attribute id")),
    responses(
        (status = 400, description = "No project or changeset header (ERR007)", body = MstrErrorBody),
        (status = 200, description = "`{relationships:[…]}`"),
        (status = 404, description = "Unknown attribute (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> MstrResult<Json<Value>> {
    let id = path_id(&id, "attribute")?;
    caller.require_object(id)?;
    let (project, changeset) = context(&headers)?;
    let model = state.core.model()?;
    let view = model.view(&caller, project, changeset).await?;
    model.require(&view, id, ObjectKind::Attribute).await?;
    let rels = model.relationships(&caller, &view, id).await?;
    answer(&state, &view, &rels).await
}

/// Replace the relationships an attribute keeps (each must have it as parent or child).
#[utoipa::path(put, path = "/api/model/systemHierarchy/attributes/{id}/relationships", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, description = "Changeset id"),
           ("id" = String, Path, description = "Attribute id")),
    request_body(content = serde_json::Value,
        description = "`{relationships:[{parent, child, relationshipTable, relationshipType}]}`",
        content_type = "application/json"),
    responses(
        (status = 200, description = "`{relationships:[…]}`"),
        (status = 400, description = "Invalid relationship (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown attribute (ERR004)", body = MstrErrorBody),
    ))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> MstrResult<Json<Value>> {
    let id = path_id(&id, "attribute")?;
    caller.require_object(id)?;
    let (project, changeset) = context(&headers)?;
    let model = state.core.model()?;
    let view = model.view(&caller, project, changeset).await?;
    let specs = wire::relationships(&wire::json_body(&body)?, "body")?;
    let rels = model.set_relationships(&caller, &view, id, specs).await?;
    answer(&state, &view, &rels).await
}
