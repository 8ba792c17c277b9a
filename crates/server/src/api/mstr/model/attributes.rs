//! `/api/model/attributes`: create an attribute in a changeset, read one (committed or inside a
//! changeset) with its expressions as text, tree and/or tokens, change one (PATCH, merge rules
//! in `vestibule_core::model::attributes`), and list them.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use vestibule_core::core::Principal;
use vestibule_core::model::types::{ModelObject, ObjectKind};
use vestibule_core::model::View;

use super::{context, only_fields, path_id, wire, Query, Show};
use crate::api::mstr::error::{MstrErrorBody, MstrResult};
use crate::api::mstr::extract::Caller;
use crate::state::AppState;

/// The JSON of an attribute in `view`, with the query's display options.
pub async fn render(
    state: &AppState,
    view: &View,
    obj: &ModelObject,
    q: &Query,
    created: bool,
) -> MstrResult<serde_json::Value> {
    let model = state.core.model()?;
    let names = wire::Names::new(model.list(view, None).await?);
    let show = Show::from_query(q)?;
    Ok(only_fields(
        wire::attribute_json(obj, &names, show, created),
        &q.list("fields"),
    ))
}

async fn view(state: &AppState, caller: &Principal, headers: &HeaderMap) -> MstrResult<View> {
    let (project, changeset) = context(headers)?;
    Ok(state.core.model()?.view(caller, project, changeset).await?)
}

/// Create an attribute inside the changeset of `X-MSTR-MS-Changeset`.
#[utoipa::path(post, path = "/api/model/attributes", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, description = "Changeset id"),
           ("showExpressionAs" = Option<String>, Query, description = "tree and/or tokens (repeatable)"),
           ("showPotentialTables" = Option<bool>, Query, description = "Add potentialTables to expressions"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    request_body(content = serde_json::Value, description = "The attribute (spec §4.2)", content_type = "application/json"),
    responses(
        (status = 201, description = "Created: the full definition"),
        (status = 400, description = "Invalid definition or expression syntax error (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 409, description = "Name taken in the folder (ERR015)", body = MstrErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    Show::from_query(&q)?;
    let view = view(&state, &caller, &headers).await?;
    let spec = wire::attribute_spec(&wire::json_body(&body)?)?;
    let obj = state.core.model()?.create_attribute(&caller, &view, spec).await?;
    let body = render(&state, &view, &obj, &q, true).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// An attribute's definition: committed (`X-MSTR-ProjectID`) or inside a changeset.
#[utoipa::path(get, path = "/api/model/attributes/{id}", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, description = "Project id (committed definition)"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, description = "Changeset id (definition inside it)"),
           ("id" = String, Path, description = "Attribute id"),
           ("showExpressionAs" = Option<String>, Query, description = "tree and/or tokens (repeatable)"),
           ("showPotentialTables" = Option<bool>, Query, description = "Add potentialTables to expressions"),
           ("showFields" = Option<String>, Query, description = "acl"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    responses(
        (status = 200, description = "The definition"),
        (status = 400, description = "Bad query parameter, or neither project nor changeset (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "A session limited to another object (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown attribute or changeset (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "attribute")?;
    caller.require_object(id)?;
    let view = view(&state, &caller, &headers).await?;
    let obj = state
        .core
        .model()?
        .require(&view, id, ObjectKind::Attribute)
        .await?;
    Ok(Json(render(&state, &view, &obj, &q, false).await?).into_response())
}

/// Change an attribute inside a changeset: absent fields stay, `information` is merged, forms
/// are matched by id, category or name.
#[utoipa::path(patch, path = "/api/model/attributes/{id}", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-MS-Changeset" = String, Header, description = "Changeset id"),
           ("id" = String, Path, description = "Attribute id"),
           ("showExpressionAs" = Option<String>, Query, description = "tree and/or tokens (repeatable)")),
    request_body(content = serde_json::Value, description = "The fields to change", content_type = "application/json"),
    responses(
        (status = 200, description = "The updated definition"),
        (status = 400, description = "Invalid change (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown attribute (ERR004)", body = MstrErrorBody),
    ))]
pub async fn patch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    Show::from_query(&q)?;
    let id = path_id(&id, "attribute")?;
    let view = view(&state, &caller, &headers).await?;
    let spec = wire::attribute_spec(&wire::json_body(&body)?)?;
    let obj = state
        .core
        .model()?
        .patch_attribute(&caller, &view, id, spec)
        .await?;
    Ok(Json(render(&state, &view, &obj, &q, false).await?).into_response())
}

/// The attributes of the project (or as a changeset sees them), paged.
#[utoipa::path(get, path = "/api/model/attributes", tag = "Modeling",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, description = "Project id"),
           ("X-MSTR-MS-Changeset" = Option<String>, Header, description = "Changeset id"),
           ("offset" = Option<i64>, Query, description = "First entry"),
           ("limit" = Option<i64>, Query, description = "Entries (-1: all)")),
    responses(
        (status = 400, description = "No project or changeset header, or a malformed parameter (ERR006, ERR007)", body = MstrErrorBody),
        (status = 200, description = "`{offset, limit, total, attributes:[{information}]}`")))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> MstrResult<Response> {
    caller.require_full_scope()?;
    let q = Query::parse(raw.as_deref())?;
    let (offset, limit) = (q.int("offset", 0)?.max(0), q.int("limit", -1)?);
    let view = view(&state, &caller, &headers).await?;
    let all = state
        .core
        .model()?
        .list(&view, Some(ObjectKind::Attribute))
        .await?;
    let total = all.len();
    let page: Vec<_> = all
        .iter()
        .skip(offset as usize)
        .take(if limit < 0 { usize::MAX } else { limit as usize })
        .map(|o| {
            let sub = o.attribute().map(|a| a.sub_type.as_str()).unwrap_or("attribute");
            json!({"information": wire::information(o, sub, false)})
        })
        .collect();
    Ok(Json(json!({"offset": offset, "limit": limit, "total": total, "attributes": page})).into_response())
}
