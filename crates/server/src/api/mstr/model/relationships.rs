//! `/api/model/systemHierarchy/attributes/{id}/relationships`: the parent and child
//! relationships an attribute takes part in; PUT replaces them (from either side), inside a
//! changeset.

use axum::extract::State;
use axum::Json;

use vestibule_core::model::types::{ObjectKind, Relationship};
use vestibule_core::model::View;

use super::relationship_wire::{RelationshipJson, RelationshipList, RelationshipsBody};
use super::wire::Names;
use crate::api::mstr::error::{MstrErrorBody, MstrResult};
use crate::api::mstr::extract::{Caller, ModelPlace, MstrPath, RawBody};
use crate::api::mstr::params::path_id;
use crate::state::AppState;

async fn answer(state: &AppState, view: &View, rels: &[Relationship]) -> MstrResult<Json<RelationshipList>> {
    let names = Names::shared(state.core.model()?.seen(view).await?);
    Ok(Json(RelationshipList {
        relationships: rels.iter().map(|r| RelationshipJson::of(r, &names)).collect(),
    }))
}

/// An attribute's relationships.
#[utoipa::path(get, path = "/api/model/systemHierarchy/attributes/{id}/relationships", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id; required unless X-MSTR-MS-Changeset names a changeset"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Changeset id; wins over the project, blank is none"),
           ("id" = String, Path, description = "Attribute id")),
    responses(
        (status = 400, description = "No project or changeset header (ERR007)", body = MstrErrorBody),
        (status = 200, description = "The relationships", body = RelationshipList),
        (status = 404, description = "Unknown attribute or changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    MstrPath(id): MstrPath<String>,
) -> MstrResult<Json<RelationshipList>> {
    let id = path_id(&id, "attribute")?;
    caller.require_object(id)?;
    let view = place.view(&state, &caller).await?;
    let model = state.core.model()?;
    model.require(&view, id, ObjectKind::Attribute).await?;
    let rels = model.relationships(&caller, &view, id).await?;
    answer(&state, &view, &rels).await
}

/// Replace the relationships an attribute takes part in, as parent or child (each must have it as
/// one of the two); the other attributes see the change too.
#[utoipa::path(put, path = "/api/model/systemHierarchy/attributes/{id}/relationships", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Changeset id"),
           ("id" = String, Path, description = "Attribute id")),
    request_body(content = RelationshipsBody,
        description = "The relationships to keep (the list alone is read too)",
        content_type = "application/json"),
    responses(
        (status = 200, description = "The relationships", body = RelationshipList),
        (status = 400, description = "Invalid relationship (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown attribute or changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    MstrPath(id): MstrPath<String>,
    RawBody(body): RawBody,
) -> MstrResult<Json<RelationshipList>> {
    let id = path_id(&id, "attribute")?;
    caller.require_object(id)?;
    let view = place.view(&state, &caller).await?;
    let model = state.core.model()?;
    let (specs, comment) = RelationshipsBody::read(&body)?;
    let rels = model.set_relationships(&caller, &view, id, specs).await?;
    model.note_comment(&view, comment.as_deref()).await?;
    answer(&state, &view, &rels).await
}
