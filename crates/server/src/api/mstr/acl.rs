//! The ACL on the MicroStrategy wire: the `acl` entries of `GET /api/objects/{id}` (and the
//! caller's own rights, `acg`), and the `acl` operations of `PUT /api/objects/{id}` that
//! mstrio-py's `acl_add`, `acl_remove` and `acl_alter` send.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::core::Principal;
use vestibule_core::ids::Guid;
use vestibule_core::model::acl::{AclChange, AclOp, NamedEntry, TrusteeKind};
use vestibule_core::model::types::ModelObject;

use super::error::{MstrError, MstrResult};
use super::model::wire;
use crate::state::AppState;

/// MicroStrategy's object type of users and groups, and their subtypes.
const TRUSTEE_TYPE: i64 = 34;
const USER_SUBTYPE: i64 = 8704;
const GROUP_SUBTYPE: i64 = 8705;

/// One entry of an object's ACL.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AclEntryJson {
    pub deny: bool,
    /// The entry type: 1, object access.
    #[serde(rename = "type")]
    pub kind: i64,
    /// 0–255: Browse 1, Use/Execute 2, Read 4, Write 8, Delete 16, Control 32, Use 64, Execute 128.
    pub rights: u32,
    pub trustee_id: String,
    pub trustee_name: String,
    /// 34, a user or a group.
    pub trustee_type: i64,
    /// 8704 a user, 8705 a group.
    pub trustee_subtype: i64,
    /// On a folder: the entry is for what is made in it.
    pub inheritable: bool,
}

impl From<NamedEntry> for AclEntryJson {
    fn from(n: NamedEntry) -> Self {
        AclEntryJson {
            deny: n.entry.deny,
            kind: 1,
            rights: n.entry.rights,
            trustee_id: n.entry.trustee.to_hex(),
            trustee_name: n.name,
            trustee_type: TRUSTEE_TYPE,
            trustee_subtype: match n.entry.trustee_kind {
                TrusteeKind::User => USER_SUBTYPE,
                TrusteeKind::Group => GROUP_SUBTYPE,
            },
            inheritable: n.entry.inheritable,
        }
    }
}

/// One ACL operation of `PUT /api/objects/{id}`: mstrio-py sends `op`, `trustee`, `rights`,
/// `denied`, `inheritable` (null but on folders) and `type` 1.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AclChangeJson {
    /// `ADD`, `REMOVE` or `REPLACE`.
    #[schema(pattern = "^(ADD|REMOVE|REPLACE)$")]
    pub op: String,
    /// The user's or group's id.
    #[serde(deserialize_with = "wire::opt_guid")]
    #[schema(value_type = String, pattern = "^[0-9A-Fa-f]{32}$")]
    pub trustee: Option<Guid>,
    #[schema(minimum = 0, maximum = 255)]
    pub rights: u32,
    #[serde(default)]
    pub denied: Option<bool>,
    #[serde(default)]
    pub inheritable: Option<bool>,
    /// The entry type; only 1 (object access) is kept.
    #[serde(default, rename = "type")]
    pub kind: Option<i64>,
    /// Only `false` (or absent): changes are not propagated to a folder's objects.
    #[serde(default)]
    pub propagate_to_children: Option<bool>,
}

/// The core changes of `entries`, checked.
pub fn changes(entries: Vec<AclChangeJson>, propagate: Option<bool>) -> MstrResult<Vec<AclChange>> {
    if propagate == Some(true) {
        return Err(MstrError::invalid(
            "'propagateACLToChildren': propagating an ACL to a folder's objects is not supported; change each object's ACL",
        ));
    }
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let op = match e.op.as_str() {
                "ADD" => AclOp::Add,
                "REMOVE" => AclOp::Remove,
                "REPLACE" => AclOp::Replace,
                _ => {
                    return Err(MstrError::invalid(format!(
                        "'acl[{i}].op': '{}' is not ADD, REMOVE or REPLACE",
                        e.op
                    )))
                }
            };
            let trustee = e
                .trustee
                .ok_or_else(|| wire::missing(&format!("acl[{i}].trustee")))?;
            if e.rights > 255 {
                return Err(MstrError::invalid(format!(
                    "'acl[{i}].rights': {} is not 0 to 255",
                    e.rights
                )));
            }
            if e.kind.is_some_and(|k| k != 1) {
                return Err(MstrError::invalid(format!(
                    "'acl[{i}].type': only 1 (object access) is supported"
                )));
            }
            if e.propagate_to_children == Some(true) {
                return Err(MstrError::invalid(format!(
                    "'acl[{i}].propagateToChildren': propagating an ACL is not supported"
                )));
            }
            Ok(AclChange {
                op,
                trustee,
                rights: e.rights,
                deny: e.denied.unwrap_or(false),
                inheritable: e.inheritable.unwrap_or(false),
            })
        })
        .collect()
}

/// The caller's rights on `obj` (`acg`) and its ACL entries with their trustees' names.
pub async fn access(
    state: &AppState,
    caller: &Principal,
    obj: &ModelObject,
) -> MstrResult<(u32, Vec<AclEntryJson>)> {
    let model = state.core.model()?;
    let acg = model.rights(caller, obj).await?;
    let acl = model
        .named_entries(obj)
        .await?
        .into_iter()
        .map(AclEntryJson::from)
        .collect();
    Ok((acg, acl))
}
