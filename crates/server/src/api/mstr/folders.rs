//! `/api/folders*`: a project's folders — the root's folders, what a folder holds (a bare list,
//! with the whole count in `X-MSTR-Total-Count`), the predefined folders by number, and making
//! and deleting folders. The system folders have MicroStrategy's well-known ids, so clients that
//! walk a path from the root (`/Sales/Schema Objects/Attributes`) find them.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::ids::Guid;
use vestibule_core::model::folders::{predefined_folder, ROOT_FOLDER};
use vestibule_core::model::types::ModelObject;
use vestibule_core::model::View;
use vestibule_core::privilege::Privilege;

use super::error::{MstrError, MstrErrorBody, MstrResult};
use super::extract::{Caller, MstrPath, ProjectId, RawBody};
use super::journal::change_note;
use super::model::wire;
use super::objects::{InfoWriter, ObjectInfoJson};
use super::params::{path_id, Query};
use crate::client_addr::ClientAddr;
use crate::state::AppState;

/// The header with the number of items of a paged list.
pub const TOTAL_COUNT: &str = "x-mstr-total-count";

/// The project a request works in, from a header it requires (`why`: what needs one project).
pub(crate) fn required_project(project: Option<Guid>, why: &str) -> MstrResult<Guid> {
    project.ok_or_else(|| {
        MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR007",
            format!("The X-MSTR-ProjectID header is required: {why}"),
        )
    })
}

fn project_of(project: Option<Guid>) -> MstrResult<Guid> {
    required_project(project, "folders belong to a project")
}

/// `offset` and `limit` (-1: all) of a paged list.
pub(crate) fn page<T>(q: &Query, items: Vec<T>) -> MstrResult<(usize, Vec<T>)> {
    let offset = q.int("offset", 0)?.max(0) as usize;
    let limit = q.int("limit", -1)?;
    let total = items.len();
    let items = items.into_iter().skip(offset);
    let items: Vec<T> = if limit < 0 {
        items.collect()
    } else {
        items.take(limit as usize).collect()
    };
    Ok((total, items))
}

/// A list with its total in `X-MSTR-Total-Count`.
pub(crate) fn counted<T: Serialize>(total: usize, items: Vec<T>) -> (HeaderMap, Json<Vec<T>>) {
    let mut headers = HeaderMap::new();
    headers.insert(TOTAL_COUNT, HeaderValue::from(total));
    (headers, Json(items))
}

async fn contents(
    state: &AppState,
    caller: &vestibule_core::core::Principal,
    project: Guid,
    folder: Guid,
    raw: Option<&str>,
) -> MstrResult<(HeaderMap, Json<Vec<ObjectInfoJson>>)> {
    caller.require(Privilege::WEB_USER)?;
    let q = Query::parse(raw)?;
    let view = View::Committed(project);
    let model = state.core.model()?;
    let inside = model.folder_contents(caller, &view, folder).await?;
    let (total, shown) = page(&q, inside)?;
    let mut writer = InfoWriter::new(state, &view).await?;
    let mut items = Vec::with_capacity(shown.len());
    for o in &shown {
        items.push(writer.info(o, false).await?);
    }
    Ok(counted(total, items))
}

/// The folders at the project's root (`Public Objects`, `Schema Objects`, …).
#[utoipa::path(get, path = "/api/folders", tag = "Folders",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("offset" = Option<i64>, Query, minimum = 0, description = "First item"),
           ("limit" = Option<i64>, Query, minimum = -1, description = "How many (-1: all)")),
    responses(
        (status = 200, description = "The folders, the whole count in X-MSTR-Total-Count", body = Vec<ObjectInfoJson>),
        (status = 400, description = "No project header (ERR007), bad paging (ERR006)", body = MstrErrorBody),
        (status = 404, description = "Unknown project (ERR004)", body = MstrErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    RawQuery(raw): RawQuery,
) -> MstrResult<(HeaderMap, Json<Vec<ObjectInfoJson>>)> {
    contents(&state, &caller, project_of(project)?, ROOT_FOLDER, raw.as_deref()).await
}

/// What a folder holds: folders first, then the other objects, each by name.
#[utoipa::path(get, path = "/api/folders/{id}", tag = "Folders",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("id" = String, Path, description = "Folder id"),
           ("offset" = Option<i64>, Query, minimum = 0, description = "First item"),
           ("limit" = Option<i64>, Query, minimum = -1, description = "How many (-1: all)")),
    responses(
        (status = 200, description = "The folder's contents, the whole count in X-MSTR-Total-Count", body = Vec<ObjectInfoJson>),
        (status = 400, description = "No project header (ERR007), bad paging (ERR006)", body = MstrErrorBody),
        (status = 404, description = "Unknown folder (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<(HeaderMap, Json<Vec<ObjectInfoJson>>)> {
    let id = path_id(&id, "folder")?;
    contents(&state, &caller, project_of(project)?, id, raw.as_deref()).await
}

fn predefined(n: &str) -> MstrResult<Guid> {
    n.parse::<u32>()
        .ok()
        .and_then(predefined_folder)
        .map(|f| f.id)
        .ok_or_else(|| {
            MstrError::new(
                StatusCode::NOT_FOUND,
                "ERR004",
                format!("The predefined folder '{n}' does not exist in this project"),
            )
        })
}

/// What a predefined folder (by its `EnumDSSXMLFolderNames` number) holds.
#[utoipa::path(get, path = "/api/folders/preDefined/{folderType}", tag = "Folders",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("folderType" = i64, Path, description = "The folder's number: 39 root, 1 Public Objects, 7 Reports, 24 Schema Objects, 26 Attributes, 35 Tables, …"),
           ("offset" = Option<i64>, Query, minimum = 0, description = "First item"),
           ("limit" = Option<i64>, Query, minimum = -1, description = "How many (-1: all)")),
    responses(
        (status = 200, description = "The folder's contents, the whole count in X-MSTR-Total-Count", body = Vec<ObjectInfoJson>),
        (status = 400, description = "No project header (ERR007), bad paging (ERR006)", body = MstrErrorBody),
        (status = 404, description = "No such predefined folder here (ERR004)", body = MstrErrorBody),
    ))]
pub async fn predefined_contents(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    MstrPath(n): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<(HeaderMap, Json<Vec<ObjectInfoJson>>)> {
    let id = predefined(&n)?;
    contents(&state, &caller, project_of(project)?, id, raw.as_deref()).await
}

/// An id.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdJson {
    pub id: String,
}

/// The id of a predefined folder.
#[utoipa::path(get, path = "/api/folders/preDefined/{folderType}/id", tag = "Folders",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("folderType" = i64, Path, description = "The folder's number")),
    responses(
        (status = 200, description = "The folder's id", body = IdJson),
        (status = 400, description = "No project header (ERR007)", body = MstrErrorBody),
        (status = 404, description = "No such predefined folder here (ERR004)", body = MstrErrorBody),
    ))]
pub async fn predefined_id(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    MstrPath(n): MstrPath<String>,
) -> MstrResult<Json<IdJson>> {
    caller.require(Privilege::WEB_USER)?;
    let id = predefined(&n)?;
    let view = View::Committed(project_of(project)?);
    state
        .core
        .model()?
        .require(&view, id, vestibule_core::model::types::ObjectKind::Folder)
        .await?;
    Ok(Json(IdJson { id: id.to_hex() }))
}

/// A new folder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFolderBody {
    #[serde(default)]
    #[schema(value_type = String)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The folder to make it in.
    #[serde(default, deserialize_with = "wire::opt_guid")]
    #[schema(value_type = String)]
    pub parent: Option<Guid>,
    /// The comment for the change journal entry of the new folder.
    #[serde(default, rename = "changeJournal")]
    pub change_journal: Option<wire::ChangeJournalIn>,
}

/// Make a folder, at once.
#[utoipa::path(post, path = "/api/folders", tag = "Folders",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id")),
    request_body(content = NewFolderBody, description = "Name, description and parent folder", content_type = "application/json"),
    responses(
        (status = 201, description = "The new folder", body = ObjectInfoJson),
        (status = 400, description = "No project header or parent (ERR007), an invalid name (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No privilege to make objects (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown parent folder (ERR004)", body = MstrErrorBody),
        (status = 409, description = "Name taken in the parent (ERR015)", body = MstrErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    addr: ClientAddr,
    ProjectId(project): ProjectId,
    RawBody(body): RawBody,
) -> MstrResult<(StatusCode, Json<ObjectInfoJson>)> {
    let project = project_of(project)?;
    let b = wire::read::<NewFolderBody>(&body)?;
    let required = |field: &str, what: &str| {
        MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR007",
            format!("The field '{field}' ({what}) is required"),
        )
    };
    let name = b
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| required("name", "the folder's name"))?;
    let parent = b.parent.ok_or_else(|| {
        MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR007",
            "The field 'parent' (the folder to make it in) is required",
        )
    })?;
    let folder: ModelObject = state
        .core
        .model()?
        .create_folder(
            &caller,
            project,
            &name,
            b.description.as_deref().unwrap_or_default(),
            parent,
            &change_note(addr, wire::ChangeJournalIn::comment(b.change_journal)),
        )
        .await?;
    let view = View::Committed(project);
    let info = InfoWriter::new(&state, &view).await?.info(&folder, false).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Delete an empty folder that is not a system folder.
#[utoipa::path(delete, path = "/api/folders/{id}", tag = "Folders",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("id" = String, Path, description = "Folder id"),
           ("userComments" = Option<String>, Query, description = "The comment for the change journal entry of the delete")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A system folder or one that holds objects (ERR006), no project header (ERR007)", body = MstrErrorBody),
        (status = 403, description = "No privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown folder (ERR004)", body = MstrErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    addr: ClientAddr,
    ProjectId(project): ProjectId,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<StatusCode> {
    let id = path_id(&id, "folder")?;
    let q = Query::parse(raw.as_deref())?;
    let note = change_note(addr, super::objects::delete_comment(&q));
    state
        .core
        .model()?
        .delete_object(
            &caller,
            project_of(project)?,
            id,
            vestibule_core::model::types::ObjectKind::Folder,
            &note,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
