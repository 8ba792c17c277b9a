//! `/api/model/attributes`: create an attribute in a changeset, read one (committed or inside a
//! changeset) with its expressions as text, tree and/or tokens, change one (PATCH, merge rules
//! in `vestibule_core::model::attributes`), and list them.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use vestibule_core::model::types::{ModelObject, ObjectKind};
use vestibule_core::model::View;

use super::attribute_wire::{AttributeBody, AttributeJson, AttributeList};
use super::wire::{self, Information, InformationOnly};
use super::Show;
use crate::api::mstr::error::{MstrErrorBody, MstrResult};
use crate::api::mstr::extract::{Caller, ModelPlace, MstrPath, RawBody};
use crate::api::mstr::params::{path_id, Query};
use crate::state::AppState;

/// The JSON of an attribute in `view`, with the query's display options.
pub async fn render(
    state: &AppState,
    view: &View,
    obj: &ModelObject,
    q: &Query,
    created: bool,
) -> MstrResult<serde_json::Value> {
    let names = wire::Names::shared(state.core.model()?.seen(view).await?);
    render_with(&names, obj, q, created)
}

/// The JSON of an attribute among the objects of `names`, with the query's display options.
fn render_with(
    names: &wire::Names,
    obj: &ModelObject,
    q: &Query,
    created: bool,
) -> MstrResult<serde_json::Value> {
    let show = Show::from_query(q)?;
    match AttributeJson::of(obj, names, show, created) {
        Some(body) => wire::only_fields(&body, &q.list("fields")),
        None => Ok(serde_json::Value::Object(serde_json::Map::new())),
    }
}

/// Create an attribute inside the changeset of `X-MSTR-MS-Changeset`.
#[utoipa::path(post, path = "/api/model/attributes", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Changeset id"),
           ("showExpressionAs" = Option<String>, Query, pattern = "^[ \\t]*(([Tt][Rr][Ee][Ee]|[Tt][Oo][Kk][Ee][Nn][Ss]|[Tt][Ee][Xx][Tt])[ \\t]*)?(,[ \\t]*(([Tt][Rr][Ee][Ee]|[Tt][Oo][Kk][Ee][Nn][Ss]|[Tt][Ee][Xx][Tt])[ \\t]*)?)*$", description = "tree and/or tokens (repeatable)"),
           ("showPotentialTables" = Option<bool>, Query, description = "Add potentialTables to expressions"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    request_body(content = AttributeBody, description = "The attribute (spec §4.2)", content_type = "application/json"),
    responses(
        (status = 201, description = "Created: the full definition", body = AttributeJson),
        (status = 400, description = "Invalid definition or expression syntax error (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014); no Write access to the folder, or no Use access to a table (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown changeset (ERR004)", body = MstrErrorBody),
        (status = 409, description = "Name taken in the folder (ERR015)", body = MstrErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    RawQuery(raw): RawQuery,
    RawBody(body): RawBody,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    Show::from_query(&q)?;
    let view = place.view(&state, &caller).await?;
    let (spec, comment) = wire::read::<AttributeBody>(&body)?.into_spec_and_comment()?;
    let model = state.core.model()?;
    let obj = model.create_attribute(&caller, &view, spec).await?;
    model.note_comment(&view, comment.as_deref()).await?;
    let body = render(&state, &view, &obj, &q, true).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// An attribute's definition: committed (`X-MSTR-ProjectID`) or inside a changeset.
#[utoipa::path(get, path = "/api/model/attributes/{id}", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id (committed definition); required unless X-MSTR-MS-Changeset names a changeset"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Changeset id (definition inside it); wins over the project, blank is none"),
           ("id" = String, Path, description = "Attribute id"),
           ("showExpressionAs" = Option<String>, Query, pattern = "^[ \\t]*(([Tt][Rr][Ee][Ee]|[Tt][Oo][Kk][Ee][Nn][Ss]|[Tt][Ee][Xx][Tt])[ \\t]*)?(,[ \\t]*(([Tt][Rr][Ee][Ee]|[Tt][Oo][Kk][Ee][Nn][Ss]|[Tt][Ee][Xx][Tt])[ \\t]*)?)*$", description = "tree and/or tokens (repeatable)"),
           ("showPotentialTables" = Option<bool>, Query, description = "Add potentialTables to expressions"),
           ("showFields" = Option<String>, Query, description = "acl"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    responses(
        (status = 200, description = "The definition", body = AttributeJson),
        (status = 400, description = "Bad query parameter, or neither project nor changeset (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No Read access, or a session limited to another object (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown attribute or changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "attribute")?;
    caller.require_object(id)?;
    let view = place.view(&state, &caller).await?;
    let model = state.core.model()?;
    let View::Committed(project) = view else {
        // What the changeset sees, read once: the attribute and the names it refers to.
        let names = wire::Names::shared(model.seen(&view).await?);
        let obj = model
            .read_in(&caller, &names.objects, id, ObjectKind::Attribute)
            .await?;
        return Ok(Json(render_with(&names, obj, &q, false)?).into_response());
    };
    // The committed model from this node's copy while it is current; the caller's access is
    // judged first, then the body made at this generation for this query is sent if kept.
    let committed = model.committed(project).await?;
    let obj = model
        .read_in(&caller, &committed.objects, id, ObjectKind::Attribute)
        .await?;
    let query = raw.as_deref().unwrap_or("");
    let body = match state.rendered.get(project, committed.generation, id, query) {
        Some(body) => body,
        None => {
            let names = wire::Names::shared(committed.objects.clone());
            let value = render_with(&names, obj, &q, false)?;
            let body = Bytes::from(serde_json::to_vec(&value).map_err(|e| {
                vestibule_core::CoreError::Internal(format!("response not serializable: {e}"))
            })?);
            state
                .rendered
                .keep(project, committed.generation, id, query, body.clone());
            body
        }
    };
    // As `Json` answers: the same bytes and content type.
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// Change an attribute inside a changeset: absent fields stay, `information` is merged, forms
/// are matched by id, category or name.
#[utoipa::path(patch, path = "/api/model/attributes/{id}", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Changeset id"),
           ("id" = String, Path, description = "Attribute id"),
           ("showExpressionAs" = Option<String>, Query, pattern = "^[ \\t]*(([Tt][Rr][Ee][Ee]|[Tt][Oo][Kk][Ee][Nn][Ss]|[Tt][Ee][Xx][Tt])[ \\t]*)?(,[ \\t]*(([Tt][Rr][Ee][Ee]|[Tt][Oo][Kk][Ee][Nn][Ss]|[Tt][Ee][Xx][Tt])[ \\t]*)?)*$", description = "tree and/or tokens (repeatable)")),
    request_body(content = AttributeBody, description = "The fields to change", content_type = "application/json"),
    responses(
        (status = 200, description = "The updated definition", body = AttributeJson),
        (status = 400, description = "Invalid change (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014); no Write access to it, or no Use access to a table it newly uses (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown attribute or changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
    RawBody(body): RawBody,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    Show::from_query(&q)?;
    let id = path_id(&id, "attribute")?;
    let view = place.view(&state, &caller).await?;
    let (spec, comment) = wire::read::<AttributeBody>(&body)?.into_spec_and_comment()?;
    let model = state.core.model()?;
    let obj = model.patch_attribute(&caller, &view, id, spec).await?;
    model.note_comment(&view, comment.as_deref()).await?;
    Ok(Json(render(&state, &view, &obj, &q, false).await?).into_response())
}

/// The attributes of the project (or as a changeset sees them), paged.
#[utoipa::path(get, path = "/api/model/attributes", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id; required unless X-MSTR-MS-Changeset names a changeset"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Changeset id; wins over the project, blank is none"),
           ("offset" = Option<i64>, Query, minimum = -1, description = "First entry"),
           ("limit" = Option<i64>, Query, minimum = -1, description = "Entries (-1: all)")),
    responses(
        (status = 400, description = "No project or changeset header, or a malformed parameter (ERR006, ERR007)", body = MstrErrorBody),
        (status = 404, description = "Unknown changeset (ERR004)", body = MstrErrorBody),
        (status = 200, description = "A page of the attributes", body = AttributeList)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    place: ModelPlace,
    RawQuery(raw): RawQuery,
) -> MstrResult<Json<AttributeList>> {
    caller.require_full_scope()?;
    let q = Query::parse(raw.as_deref())?;
    let (offset, limit) = (q.int("offset", 0)?.max(0), q.int("limit", -1)?);
    let view = place.view(&state, &caller).await?;
    let all = state
        .core
        .model()?
        .list_readable(&caller, &view, Some(ObjectKind::Attribute))
        .await?;
    let attributes = wire::page(&all, offset, limit)
        .map(|o| {
            let sub = o.attribute().map(|a| a.sub_type.as_str()).unwrap_or("attribute");
            InformationOnly {
                information: Information::of(o, sub, false),
            }
        })
        .collect();
    Ok(Json(AttributeList {
        offset,
        limit,
        total: all.len(),
        attributes,
    }))
}
