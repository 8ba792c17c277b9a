//! `/api/objects/{id}?type=N`: the standard object info of projects (32), folders (8),
//! attributes (12) and tables (15), changing name, description, hidden and comments, and
//! deleting. These act on the committed model directly, outside changesets.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};

use vestibule_core::clock::rfc3339_ms;
use vestibule_core::ids::Guid;
use vestibule_core::model::spec::InfoPatch;
use vestibule_core::model::types::{ModelObject, ObjectKind};
use vestibule_core::model::View;
use vestibule_core::CoreError;

use super::error::{MstrError, MstrErrorBody, MstrResult};
use super::extract::Caller;
use super::model::{path_id, project_header, wire, Query};
use crate::state::AppState;

const PROJECT_TYPE: i64 = 32;

enum Target {
    Project,
    Model(ObjectKind),
}

fn target(q: &Query) -> MstrResult<Target> {
    let t = q.get("type").ok_or_else(|| {
        MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR007",
            "The query parameter 'type' is required",
        )
    })?;
    match t.parse::<i64>() {
        Ok(PROJECT_TYPE) => Ok(Target::Project),
        Ok(8) => Ok(Target::Model(ObjectKind::Folder)),
        Ok(12) => Ok(Target::Model(ObjectKind::Attribute)),
        Ok(15) | Ok(53) => Ok(Target::Model(ObjectKind::Table)),
        _ => Err(MstrError::invalid(format!(
            "Object type '{t}' is not supported here (32 project, 8 folder, 12 attribute, 15 table)"
        ))),
    }
}

async fn project_json(state: &AppState, id: Guid) -> MstrResult<Value> {
    let p = state
        .core
        .directory()
        .projects()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| CoreError::NotFound(format!("The project with id '{id}' could not be found")))?;
    Ok(json!({
        "id": p.id.to_hex(), "name": p.name, "description": p.description, "type": PROJECT_TYPE,
        "subtype": 8448, "extType": 0, "dateCreated": rfc3339_ms(p.created_ms),
        "dateModified": rfc3339_ms(p.created_ms), "version": p.id.to_hex(), "acg": 255,
        "ancestors": [], "hidden": false,
    }))
}

/// The object's project: the header's, else the object's own (ids are unique across projects).
async fn find(
    state: &AppState,
    headers: &HeaderMap,
    id: Guid,
    kind: ObjectKind,
) -> MstrResult<(View, ModelObject)> {
    let model = state.core.model()?;
    let project = match project_header(headers)? {
        Some(p) => p,
        None => model
            .store()
            .object(id)
            .await
            .map_err(CoreError::from)?
            .map(|o| o.info.project)
            .ok_or_else(|| CoreError::NotFound(format!("The object with id '{id}' could not be found")))?,
    };
    let view = View::Committed(project);
    let obj = model.require(&view, id, kind).await?;
    Ok((view, obj))
}

async fn object_json(state: &AppState, view: &View, o: &ModelObject, comments: bool) -> MstrResult<Value> {
    let model = state.core.model()?;
    // Root first; `level` counts up from the parent (1) to the root, as MicroStrategy writes it.
    let chain = model.ancestors(view, o).await?;
    let n = chain.len();
    let ancestors: Vec<Value> = chain
        .iter()
        .enumerate()
        .map(|(i, f)| json!({"name": f.info.name, "id": f.info.id.to_hex(), "level": n - i}))
        .collect();
    let mut m = Map::new();
    m.insert("id".into(), json!(o.info.id.to_hex()));
    m.insert("name".into(), json!(o.info.name));
    m.insert("description".into(), json!(o.info.description));
    m.insert("type".into(), json!(o.info.kind.type_number()));
    m.insert("subtype".into(), json!(o.info.kind.subtype_number()));
    m.insert("extType".into(), json!(0));
    m.insert("dateCreated".into(), json!(rfc3339_ms(o.info.created_ms)));
    m.insert("dateModified".into(), json!(rfc3339_ms(o.info.modified_ms)));
    m.insert("version".into(), json!(o.info.version.to_hex()));
    if let Some(owner) = o.info.owner {
        let name = state
            .core
            .directory()
            .store()
            .user_by_id(owner)
            .await
            .map_err(CoreError::from)?
            .map(|u| u.display_name().to_owned())
            .unwrap_or_default();
        m.insert("owner".into(), json!({"id": owner.to_hex(), "name": name}));
    }
    m.insert("acg".into(), json!(255));
    m.insert("ancestors".into(), Value::Array(ancestors));
    m.insert("hidden".into(), json!(o.info.hidden));
    if comments {
        m.insert("comments".into(), json!(o.info.comments));
    }
    Ok(Value::Object(m))
}

/// An object's info.
#[utoipa::path(get, path = "/api/objects/{id}", tag = "Objects",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, description = "Project id"),
           ("id" = String, Path, description = "Object id"),
           ("type" = i32, Query, description = "32 project, 8 folder, 12 attribute, 15 table"),
           ("comments" = Option<bool>, Query, description = "Include comments")),
    responses(
        (status = 200, description = "The object info"),
        (status = 400, description = "No or unsupported `type`, or no project header (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "A session limited to another object (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown object (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "object")?;
    caller.require_object(id)?;
    caller.require(vestibule_core::privilege::Privilege::WEB_USER)?;
    let comments = q.bool("comments", false)?;
    match target(&q)? {
        Target::Project => Ok(Json(project_json(&state, id).await?)),
        Target::Model(kind) => {
            let (view, obj) = find(&state, &headers, id, kind).await?;
            Ok(Json(object_json(&state, &view, &obj, comments).await?))
        }
    }
}

/// Change an object's name, description, hidden flag or comments, at once.
#[utoipa::path(put, path = "/api/objects/{id}", tag = "Objects",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, description = "Project id"),
           ("id" = String, Path, description = "Object id"),
           ("type" = i32, Query, description = "8 folder, 12 attribute, 15 table")),
    request_body(content = serde_json::Value, description = "`{name?, description?, hidden?, comments?}`", content_type = "application/json"),
    responses(
        (status = 200, description = "The object info"),
        (status = 400, description = "Invalid change (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown object (ERR004)", body = MstrErrorBody),
        (status = 409, description = "Name taken in the folder (ERR015)", body = MstrErrorBody),
    ))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> MstrResult<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "object")?;
    let Target::Model(kind) = target(&q)? else {
        return Err(MstrError::invalid(
            "Projects cannot be changed through /api/objects",
        ));
    };
    let body = wire::json_body(&body)?;
    let m = body
        .as_object()
        .ok_or_else(|| MstrError::invalid("The body must be a JSON object"))?;
    let text = |k: &str| -> MstrResult<Option<String>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(MstrError::invalid(format!("'{k}' must be a string"))),
        }
    };
    let patch = InfoPatch {
        name: text("name")?,
        description: text("description")?,
        hidden: match m.get("hidden") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(MstrError::invalid("'hidden' must be true or false")),
        },
        comments: match m.get("comments") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(vec![s.clone()]),
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|c| {
                        c.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| MstrError::invalid("'comments' must be strings"))
                    })
                    .collect::<MstrResult<Vec<_>>>()?,
            ),
            Some(_) => return Err(MstrError::invalid("'comments' must be a list of strings")),
        },
    };
    let (view, _) = find(&state, &headers, id, kind).await?;
    let obj = state
        .core
        .model()?
        .update_info(&caller, view.project(), id, kind, patch)
        .await?;
    Ok(Json(object_json(&state, &view, &obj, true).await?))
}

/// Delete an object at once (refused while another object depends on it).
#[utoipa::path(delete, path = "/api/objects/{id}", tag = "Objects",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, description = "Project id"),
           ("id" = String, Path, description = "Object id"),
           ("type" = i32, Query, description = "8 folder, 12 attribute, 15 table")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Other objects depend on it (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown object (ERR004)", body = MstrErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<StatusCode> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "object")?;
    let Target::Model(kind) = target(&q)? else {
        return Err(MstrError::invalid(
            "Projects cannot be deleted through /api/objects",
        ));
    };
    let (view, _) = find(&state, &headers, id, kind).await?;
    state
        .core
        .model()?
        .delete_object(&caller, view.project(), id, kind)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
