//! `/api/model/changesets`: make a changeset, look at it, commit it, delete it.
//!
//! A changeset belongs to the session that made it. Commit and delete take the id from the path
//! (mstrio-py sends no changeset header on commit and a misspelt one on delete).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;

use vestibule_core::CoreError;

use super::changeset_wire::{ChangesetJson, CommitBody};
use super::wire::{self, ChangeJournalIn};
use crate::api::mstr::error::{MstrErrorBody, MstrResult};
use crate::api::mstr::extract::{Caller, MstrPath, ProjectId, RawBody};
use crate::api::mstr::journal::change_note;
use crate::api::mstr::params::{path_id, Query};
use crate::client_addr::ClientAddr;
use crate::state::AppState;

/// Create a changeset in the project of `X-MSTR-ProjectID`; needs the schema privilege.
#[utoipa::path(post, path = "/api/model/changesets", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("schemaEdit" = Option<bool>, Query, description = "A changeset for schema objects")),
    responses(
        (status = 201, description = "Created", body = ChangesetJson),
        (status = 400, description = "No project header (ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown project (ERR004)", body = MstrErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    RawQuery(raw): RawQuery,
) -> MstrResult<(StatusCode, Json<ChangesetJson>)> {
    let q = Query::parse(raw.as_deref())?;
    let schema_edit = q.bool("schemaEdit", false)?;
    let model = state.core.model()?;
    let project =
        project.ok_or_else(|| CoreError::MissingField("The X-MSTR-ProjectID header is required".into()))?;
    if !state
        .core
        .directory()
        .projects()
        .await?
        .iter()
        .any(|p| p.id == project)
    {
        return Err(
            CoreError::NotFound(format!("The project with id '{project}' could not be found")).into(),
        );
    }
    // Changesets of sessions that have ended go now; a store that cannot tell keeps them.
    state.core.drop_orphan_changesets().await?;
    let cs = model.create_changeset(&caller, project, schema_edit).await?;
    let body = ChangesetJson::of(&cs, caller.user.user.display_name());
    Ok((StatusCode::CREATED, Json(body)))
}

/// A changeset of the caller's session.
#[utoipa::path(get, path = "/api/model/changesets/{id}", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("id" = String, Path, description = "Changeset id")),
    responses(
        (status = 200, description = "The changeset", body = ChangesetJson),
        (status = 404, description = "Unknown changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MstrPath(id): MstrPath<String>,
) -> MstrResult<Json<ChangesetJson>> {
    let id = path_id(&id, "changeset")?;
    let cs = state.core.model()?.changeset_of(&caller, id).await?;
    Ok(Json(ChangesetJson::of(&cs, caller.user.user.display_name())))
}

/// Commit a changeset: all its changes or none, with their change journal entry (the comment of
/// the body's `changeJournal`, else the one the changeset's requests gave); a change to an object
/// another commit changed since is a conflict (409).
#[utoipa::path(post, path = "/api/model/changesets/{id}/commit", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("id" = String, Path, description = "Changeset id")),
    request_body(content = Option<CommitBody>, description = "The change journal comment (optional)", content_type = "application/json"),
    responses(
        (status = 201, description = "Committed", body = ChangesetJson),
        (status = 400, description = "A malformed body (ERR006)", body = MstrErrorBody),
        (status = 404, description = "Unknown changeset (ERR004)", body = MstrErrorBody),
        (status = 409, description = "Conflict with another commit (ERR001) or a name taken meanwhile (ERR015)", body = MstrErrorBody),
    ))]
pub async fn commit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    addr: ClientAddr,
    MstrPath(id): MstrPath<String>,
    RawBody(body): RawBody,
) -> MstrResult<(StatusCode, Json<ChangesetJson>)> {
    let id = path_id(&id, "changeset")?;
    let comment = ChangeJournalIn::comment(wire::read::<CommitBody>(&body)?.change_journal);
    let cs = state
        .core
        .model()?
        .commit(&caller, id, &change_note(addr, comment))
        .await?;
    let body = ChangesetJson::of(&cs, caller.user.user.display_name());
    Ok((StatusCode::CREATED, Json(body)))
}

/// Delete a changeset: abandons its changes, or, once committed, just forgets it.
#[utoipa::path(delete, path = "/api/model/changesets/{id}", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("id" = String, Path, description = "Changeset id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Unknown changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MstrPath(id): MstrPath<String>,
) -> MstrResult<StatusCode> {
    let id = path_id(&id, "changeset")?;
    state.core.model()?.delete_changeset(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
