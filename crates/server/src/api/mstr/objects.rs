//! `/api/objects/{id}?type=N`: the standard object info of projects (32), folders (8),
//! attributes (12), logical tables (15) and physical tables (53), changing name, description,
//! hidden and comments, and deleting. These act on the committed model directly, outside
//! changesets.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use vestibule_core::clock::rfc3339_ms;
use vestibule_core::ids::Guid;
use vestibule_core::model::spec::InfoPatch;
use vestibule_core::model::types::{ModelObject, ObjectKind};
use vestibule_core::model::View;
use vestibule_core::CoreError;

use super::error::{MstrError, MstrErrorBody, MstrResult};
use super::extract::{Caller, MstrPath, ProjectId, RawBody};
use super::journal::change_note;
use super::model::wire;
use super::params::{path_id, Query};
use crate::client_addr::ClientAddr;
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
        Ok(15) => Ok(Target::Model(ObjectKind::Table)),
        Ok(53) => Ok(Target::Model(ObjectKind::PhysicalTable)),
        _ => Err(MstrError::invalid(format!(
            "Object type '{t}' is not supported here (32 project, 8 folder, 12 attribute, 15 table, 53 physical table)"
        ))),
    }
}

/// The `type` numbers of the objects this endpoint changes and deletes, for the schema.
const MODEL_TYPES: [i64; 4] = [8, 12, 15, 53];

/// The schema of `type` where a project is one too (reading).
struct AnyObjectType;

impl utoipa::PartialSchema for AnyObjectType {
    fn schema() -> RefOr<Schema> {
        type_schema(std::iter::once(PROJECT_TYPE).chain(MODEL_TYPES))
    }
}

impl ToSchema for AnyObjectType {}

/// The schema of `type` where only model objects are (changing, deleting).
struct ModelObjectType;

impl utoipa::PartialSchema for ModelObjectType {
    fn schema() -> RefOr<Schema> {
        type_schema(MODEL_TYPES)
    }
}

impl ToSchema for ModelObjectType {}

fn type_schema(types: impl IntoIterator<Item = i64>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(types))
        .into()
}

/// An object's info, as `/api/objects/{id}` answers it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInfoJson {
    pub id: String,
    pub name: String,
    pub description: String,
    /// 32 project, 8 folder, 12 attribute, 15 (logical) table, 53 physical table.
    #[serde(rename = "type")]
    pub kind: i64,
    pub subtype: i64,
    pub ext_type: i64,
    pub date_created: String,
    pub date_modified: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<OwnerJson>,
    /// The caller's own rights on the object (0–255).
    pub acg: i64,
    /// The object's access control list (not on projects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<Vec<super::acl::AclEntryJson>>,
    /// The folders above the object, the root first.
    pub ancestors: Vec<AncestorJson>,
    pub hidden: bool,
    /// With `comments=true`, and after a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerJson {
    pub id: String,
    pub name: String,
}

/// A folder above an object; `level` counts up from the parent (1) to the root.
#[derive(Debug, Serialize, ToSchema)]
pub struct AncestorJson {
    pub name: String,
    pub id: String,
    pub level: usize,
}

/// The changes of `PUT /api/objects/{id}`; absent or null fields stay. A field MicroStrategy has
/// that does not apply here is refused, naming it, rather than answered 200 and dropped.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InfoPatchBody {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The long description, which MicroStrategy also shows as the comments (mstrio-py's
    /// `alter(comments=…)` sends it); an empty one clears them.
    pub long_description: Option<String>,
    pub hidden: Option<bool>,
    /// One comment, or the list of them.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schema(value_type = Option<Vec<String>>)]
    pub comments: Option<Vec<String>>,
    /// Moves the object into this folder of its project.
    #[serde(default, deserialize_with = "wire::opt_guid")]
    #[schema(value_type = Option<String>)]
    pub folder_id: Option<Guid>,
    /// ACL operations (applied first, with the Control right; see `acl.rs`).
    #[serde(default)]
    pub acl: Option<Vec<super::acl::AclChangeJson>>,
    #[serde(default, rename = "propagateACLToChildren")]
    pub propagate_acl_to_children: Option<bool>,
    /// The comment for the change journal entry of the change (mstrio-py's `journal_comment`).
    pub change_journal: Option<wire::ChangeJournalIn>,
}

/// A string or a list of strings; null is none.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    struct OneOrMany;
    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Option<Vec<String>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or a list of strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(vec![v.to_owned()]))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut all = Vec::new();
            while let Some(c) = seq.next_element::<String>()? {
                all.push(c);
            }
            Ok(Some(all))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(OneOrMany)
        }
    }
    d.deserialize_option(OneOrMany)
}

impl From<InfoPatchBody> for InfoPatch {
    fn from(b: InfoPatchBody) -> Self {
        let long = b
            .long_description
            .map(|d| if d.is_empty() { Vec::new() } else { vec![d] });
        InfoPatch {
            name: b.name,
            description: b.description,
            hidden: b.hidden,
            comments: b.comments.or(long),
            folder: b.folder_id,
        }
    }
}

async fn project_json(state: &AppState, id: Guid) -> MstrResult<ObjectInfoJson> {
    let p = state
        .core
        .directory()
        .projects()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| CoreError::NotFound(format!("The project with id '{id}' could not be found")))?;
    Ok(ObjectInfoJson {
        id: p.id.to_hex(),
        name: p.name,
        description: p.description,
        kind: PROJECT_TYPE,
        subtype: 8448,
        ext_type: 0,
        date_created: rfc3339_ms(p.created_ms),
        date_modified: rfc3339_ms(p.created_ms),
        version: p.id.to_hex(),
        owner: None,
        acg: 255,
        acl: None,
        ancestors: Vec::new(),
        hidden: false,
        comments: None,
    })
}

/// The object's project: the header's, else the one project that holds an object with this id
/// (the system folders have the same id in every project, so they need the header).
pub(crate) async fn find(
    state: &AppState,
    project: Option<Guid>,
    id: Guid,
    kind: ObjectKind,
) -> MstrResult<(View, ModelObject)> {
    let model = state.core.model()?;
    let project = match project {
        Some(p) => p,
        None => {
            let holders = model.store().holders(id).await.map_err(CoreError::from)?;
            match holders.as_slice() {
                [one] => *one,
                [] => {
                    return Err(CoreError::NotFound(format!(
                        "The object with id '{id}' could not be found"
                    ))
                    .into())
                }
                _ => {
                    return Err(MstrError::new(
                        StatusCode::BAD_REQUEST,
                        "ERR007",
                        format!(
                            "The object '{id}' is in every project (a system folder): the X-MSTR-ProjectID header is required"
                        ),
                    ))
                }
            }
        }
    };
    let view = View::Committed(project);
    let obj = model.require(&view, id, kind).await?;
    Ok((view, obj))
}

/// What object infos are written with: the view's folders (for `ancestors`) and the owners'
/// names, each read once however many objects are written.
pub(crate) struct InfoWriter<'a> {
    state: &'a AppState,
    folders: HashMap<Guid, ModelObject>,
    owners: HashMap<Guid, String>,
}

impl<'a> InfoWriter<'a> {
    pub(crate) async fn new(state: &'a AppState, view: &View) -> MstrResult<InfoWriter<'a>> {
        let folders = state
            .core
            .model()?
            .list(view, Some(ObjectKind::Folder))
            .await?
            .into_iter()
            .map(|f| (f.info.id, f))
            .collect();
        Ok(InfoWriter {
            state,
            folders,
            owners: HashMap::new(),
        })
    }

    /// The folders above `o`, the root first; `level` counts up from the parent (1) to the root,
    /// as MicroStrategy writes it.
    pub(crate) fn ancestors(&self, o: &ModelObject) -> Vec<AncestorJson> {
        let mut chain = Vec::new();
        let mut next = o.info.folder;
        while let Some(id) = next {
            let Some(f) = self.folders.get(&id) else {
                break;
            };
            if chain.len() > 64 {
                break;
            }
            chain.push(f);
            next = f.info.folder;
        }
        let n = chain.len();
        chain
            .iter()
            .rev()
            .enumerate()
            .map(|(i, f)| AncestorJson {
                name: f.info.name.clone(),
                id: f.info.id.to_hex(),
                level: n - i,
            })
            .collect()
    }

    async fn owner(&mut self, id: Guid) -> MstrResult<OwnerJson> {
        if !self.owners.contains_key(&id) {
            let name = self
                .state
                .core
                .directory()
                .store()
                .user_by_id(id)
                .await
                .map_err(CoreError::from)?
                .map(|u| u.display_name().to_owned())
                .unwrap_or_default();
            self.owners.insert(id, name);
        }
        Ok(OwnerJson {
            id: id.to_hex(),
            name: self.owners.get(&id).cloned().unwrap_or_default(),
        })
    }

    pub(crate) async fn info(&mut self, o: &ModelObject, comments: bool) -> MstrResult<ObjectInfoJson> {
        let owner = match o.info.owner {
            Some(owner) => Some(self.owner(owner).await?),
            None => None,
        };
        Ok(ObjectInfoJson {
            id: o.info.id.to_hex(),
            name: o.info.name.clone(),
            description: o.info.description.clone(),
            kind: o.info.kind.type_number().into(),
            subtype: o.info.kind.subtype_number().into(),
            ext_type: 0,
            date_created: rfc3339_ms(o.info.created_ms),
            date_modified: rfc3339_ms(o.info.modified_ms),
            version: o.info.version.to_hex(),
            owner,
            acg: 255,
            acl: None,
            ancestors: self.ancestors(o),
            hidden: o.info.hidden,
            comments: comments.then(|| o.info.comments.clone()),
        })
    }
}

/// One object's info.
pub(crate) async fn object_json(
    state: &AppState,
    view: &View,
    o: &ModelObject,
    comments: bool,
) -> MstrResult<ObjectInfoJson> {
    InfoWriter::new(state, view).await?.info(o, comments).await
}

/// `json` with the caller's rights (`acg`) and the object's ACL.
async fn with_access(
    state: &AppState,
    caller: &vestibule_core::core::Principal,
    o: &ModelObject,
    mut json: ObjectInfoJson,
) -> MstrResult<ObjectInfoJson> {
    let (acg, acl) = super::acl::access(state, caller, o).await?;
    json.acg = acg.into();
    json.acl = Some(acl);
    Ok(json)
}

/// An object's info.
#[utoipa::path(get, path = "/api/objects/{id}", tag = "Objects",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Project id (blank: the object's own)"),
           ("id" = String, Path, description = "Object id"),
           ("type" = inline(AnyObjectType), Query, description = "32 project, 8 folder, 12 attribute, 15 table, 53 physical table"),
           ("comments" = Option<bool>, Query, description = "Include comments")),
    responses(
        (status = 200, description = "The object info", body = ObjectInfoJson),
        (status = 400, description = "No or unsupported `type`, or no project header (ERR006, ERR007)", body = MstrErrorBody),
        (status = 403, description = "No Read access to the object, or a session limited to another object (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown object (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<Json<ObjectInfoJson>> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "object")?;
    caller.require_object(id)?;
    caller.require(vestibule_core::privilege::Privilege::WEB_USER)?;
    let comments = q.bool("comments", false)?;
    match target(&q)? {
        Target::Project => Ok(Json(project_json(&state, id).await?)),
        Target::Model(kind) => {
            let (view, obj) = find(&state, project, id, kind).await?;
            let obj = state
                .core
                .model()?
                .read(&caller, &view, obj.info.id, kind)
                .await?;
            let json = object_json(&state, &view, &obj, comments).await?;
            Ok(Json(with_access(&state, &caller, &obj, json).await?))
        }
    }
}

/// Change an object's name, description, long description (comments), hidden flag or folder,
/// or its ACL, at once.
#[utoipa::path(put, path = "/api/objects/{id}", tag = "Objects",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Project id (blank: the object's own)"),
           ("id" = String, Path, description = "Object id"),
           ("type" = inline(ModelObjectType), Query, description = "8 folder, 12 attribute, 15 table, 53 physical table")),
    request_body(content = InfoPatchBody, description = "The properties to change", content_type = "application/json"),
    responses(
        (status = 200, description = "The object info", body = ObjectInfoJson),
        (status = 400, description = "Invalid change, or a field that cannot be changed here (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014); no Write access, or no Control access for `acl` (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown object or destination folder (ERR004)", body = MstrErrorBody),
        (status = 409, description = "Name taken in the folder (ERR015)", body = MstrErrorBody),
    ))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    addr: ClientAddr,
    ProjectId(project): ProjectId,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
    RawBody(body): RawBody,
) -> MstrResult<Json<ObjectInfoJson>> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "object")?;
    let Target::Model(kind) = target(&q)? else {
        return Err(MstrError::invalid(
            "Projects cannot be changed through /api/objects",
        ));
    };
    let mut patch = wire::read::<InfoPatchBody>(&body)?;
    let acl = patch.acl.take();
    let propagate = patch.propagate_acl_to_children.take();
    let note = change_note(addr, wire::ChangeJournalIn::comment(patch.change_journal.take()));
    let (view, mut obj) = find(&state, project, id, kind).await?;
    let model = state.core.model()?;
    if let Some(entries) = acl {
        let changes = super::acl::changes(entries, propagate)?;
        obj = model
            .change_acl(&caller, view.project(), id, kind, &changes, &note)
            .await?;
    }
    // A body of ACL operations alone (mstrio's acl_add) changes nothing else, and needs no Write.
    if !acl_only(&body) {
        obj = model
            .update_info(&caller, view.project(), id, kind, InfoPatch::from(patch), &note)
            .await?;
    }
    let json = object_json(&state, &view, &obj, true).await?;
    Ok(Json(with_access(&state, &caller, &obj, json).await?))
}

/// Whether the body has no keys but the ACL's (read from the JSON, so a property added to
/// [`InfoPatchBody`] is never taken for "nothing to change").
fn acl_only(body: &[u8]) -> bool {
    const ACL_KEYS: [&str; 5] = [
        "acl",
        "propagateACLToChildren",
        "propagationBehavior",
        "isRecursive",
        "changeJournal",
    ];
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(m)) => {
            m.contains_key("acl") && m.keys().all(|k| ACL_KEYS.contains(&k.as_str()))
        }
        _ => false,
    }
}

/// Delete an object at once (refused while another object depends on it).
#[utoipa::path(delete, path = "/api/objects/{id}", tag = "Objects",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Project id (blank: the object's own)"),
           ("id" = String, Path, description = "Object id"),
           ("type" = inline(ModelObjectType), Query, description = "8 folder, 12 attribute, 15 table, 53 physical table"),
           ("userComments" = Option<String>, Query, description = "The comment for the change journal entry of the delete")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Other objects depend on it (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014), or no Delete access (ERR017)", body = MstrErrorBody),
        (status = 404, description = "Unknown object (ERR004)", body = MstrErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    addr: ClientAddr,
    ProjectId(project): ProjectId,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<StatusCode> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "object")?;
    let Target::Model(kind) = target(&q)? else {
        return Err(MstrError::invalid(
            "Projects cannot be deleted through /api/objects",
        ));
    };
    let (view, _) = find(&state, project, id, kind).await?;
    let note = change_note(addr, delete_comment(&q));
    state
        .core
        .model()?
        .delete_object(&caller, view.project(), id, kind, &note)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The change journal comment of a delete: `userComments` (mstrio-py's `delete(journal_comment=…)`),
/// or `userComment` (its bulk delete's spelling).
pub(crate) fn delete_comment(q: &Query) -> Option<String> {
    q.get("userComments")
        .or_else(|| q.get("userComment"))
        .map(str::to_owned)
}

/// The body of `POST /api/objects/{id}/copy`; every field may be null.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CopyBody {
    /// The copy's name; none is `Name (1)` (or the next free number).
    pub name: Option<String>,
    /// The copy's folder; none is the original's.
    #[serde(default, deserialize_with = "wire::opt_guid")]
    #[schema(value_type = Option<String>)]
    pub folder_id: Option<Guid>,
    /// The comment for the change journal entry of the copy.
    pub change_journal: Option<wire::ChangeJournalIn>,
}

/// Copy an attribute or a table within its project, at once.
#[utoipa::path(post, path = "/api/objects/{id}/copy", tag = "Objects",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Project id (blank: the object's own)"),
           ("id" = String, Path, description = "Object id"),
           ("type" = inline(ModelObjectType), Query, description = "12 attribute, 15 table")),
    request_body(content = CopyBody, description = "The copy's name and folder", content_type = "application/json"),
    responses(
        (status = 201, description = "The copy's info", body = ObjectInfoJson),
        (status = 400, description = "A folder, or an invalid name (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown object or folder (ERR004)", body = MstrErrorBody),
        (status = 409, description = "Name taken in the folder (ERR015)", body = MstrErrorBody),
    ))]
pub async fn copy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    addr: ClientAddr,
    ProjectId(project): ProjectId,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
    RawBody(body): RawBody,
) -> MstrResult<(StatusCode, Json<ObjectInfoJson>)> {
    let q = Query::parse(raw.as_deref())?;
    let id = path_id(&id, "object")?;
    let Target::Model(kind) = target(&q)? else {
        return Err(MstrError::invalid(
            "Projects cannot be copied through /api/objects",
        ));
    };
    let wanted = wire::read::<CopyBody>(&body)?;
    let (view, _) = find(&state, project, id, kind).await?;
    let note = change_note(addr, wire::ChangeJournalIn::comment(wanted.change_journal));
    let obj = state
        .core
        .model()?
        .copy_object(
            &caller,
            view.project(),
            id,
            kind,
            wanted.name,
            wanted.folder_id,
            &note,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(object_json(&state, &view, &obj, true).await?),
    ))
}
