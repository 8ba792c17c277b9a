//! The JSON of the schema endpoints: the lock status, the lock and reload bodies, and a schema
//! task as `/api/model/tasks/{id}` writes it (the shape mstrio-py's `SchemaLockStatus` and
//! `SchemaTask` read; `SchemaTask.from_dict` takes the fields it knows and ignores the others,
//! so vestibule's own additions to the task are safe to send).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::clock::rfc3339_ms;
use vestibule_core::model::reload::{Problem, ProblemKind, SchemaTask, TaskStatus, UpdateType};
use vestibule_core::model::schema_lock::{LockType, SchemaLock};

use super::wire;
use crate::api::mstr::error::{MstrError, MstrResult};

/// A lock type a client may place.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockTypeJson {
    AbsoluteIndividual,
    ExclusiveConstituent,
    AbsoluteConstituent,
}

impl From<LockTypeJson> for LockType {
    fn from(t: LockTypeJson) -> Self {
        match t {
            LockTypeJson::AbsoluteIndividual => LockType::AbsoluteIndividual,
            LockTypeJson::ExclusiveConstituent => LockType::ExclusiveConstituent,
            LockTypeJson::AbsoluteConstituent => LockType::AbsoluteConstituent,
        }
    }
}

/// A lock type, as a query parameter gives it (`?lockType=`); blank is none.
pub fn lock_type_param(value: Option<&str>) -> MstrResult<Option<LockType>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => LockType::parse(v).map(Some).ok_or_else(|| {
            MstrError::invalid(format!(
                "lockType must be one of {}, not '{v}'",
                LockType::ALL.map(|t| t.as_str()).join(", ")
            ))
        }),
    }
}

/// The body of `POST /api/model/schema/lock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockBody {
    #[serde(default)]
    #[schema(value_type = LockTypeJson)]
    pub lock_type: Option<LockTypeJson>,
    /// Why the schema is locked; shown in the lock's status.
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub comment: Option<String>,
}

impl LockBody {
    /// The lock type and comment; `lockType` is required, a comment at most 1024 characters.
    pub fn into_parts(self) -> MstrResult<(LockType, String)> {
        let kind = self.lock_type.ok_or_else(|| wire::missing("lockType"))?;
        let comment = self.comment.unwrap_or_default();
        if comment.chars().count() > 1024 {
            return Err(MstrError::invalid("'comment' is longer than 1024 characters"));
        }
        Ok((kind.into(), comment))
    }
}

/// What the lock status says about the lock: one of the lock types, or `none`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockStateJson {
    AbsoluteIndividual,
    ExclusiveConstituent,
    AbsoluteConstituent,
    None,
}

/// The lock status of a project's schema: only `lockType: "none"` when it is not locked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LockStatusJson {
    pub lock_type: LockStateJson,
    /// When the lock was placed, `2021-03-24T01:39:04+0000` (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Where the lock was placed from: the client's address as the server saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
}

/// Seconds-precision UTC time with a `+0000` offset: mstrio's `DatetimeFormats.YMDHMS`
/// (`%Y-%m-%dT%H:%M:%S%z`) as written, which the platform's own sample (no offset) also fits.
fn ymdhms(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+0000");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

impl LockStatusJson {
    pub fn of(lock: Option<&SchemaLock>) -> LockStatusJson {
        let Some(l) = lock else {
            return LockStatusJson {
                lock_type: LockStateJson::None,
                date_created: None,
                comment: None,
                machine_name: None,
                owner_name: None,
                owner_id: None,
            };
        };
        LockStatusJson {
            lock_type: match l.kind {
                LockType::AbsoluteIndividual => LockStateJson::AbsoluteIndividual,
                LockType::ExclusiveConstituent => LockStateJson::ExclusiveConstituent,
                LockType::AbsoluteConstituent => LockStateJson::AbsoluteConstituent,
            },
            date_created: Some(ymdhms(l.created_ms)),
            comment: Some(l.comment.clone()),
            machine_name: Some(l.machine.clone()),
            owner_name: Some(l.user_name.clone()),
            owner_id: Some(l.user.to_hex()),
        }
    }
}

/// An update type of a reload.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateTypeJson {
    TableKey,
    EntryLevel,
    LogicalSize,
    ClearElementCache,
}

impl From<UpdateType> for UpdateTypeJson {
    fn from(t: UpdateType) -> Self {
        match t {
            UpdateType::TableKey => UpdateTypeJson::TableKey,
            UpdateType::EntryLevel => UpdateTypeJson::EntryLevel,
            UpdateType::LogicalSize => UpdateTypeJson::LogicalSize,
            UpdateType::ClearElementCache => UpdateTypeJson::ClearElementCache,
        }
    }
}

/// The body of `POST /api/model/schema/reload`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReloadBody {
    /// What to bring up to date; may be empty. Required.
    #[serde(default)]
    #[schema(value_type = Vec<UpdateTypeJson>)]
    pub update_types: Option<Vec<String>>,
}

impl ReloadBody {
    /// The update types, each once in the order given; every unknown one is named.
    pub fn into_update_types(self) -> MstrResult<Vec<UpdateType>> {
        let given = self.update_types.ok_or_else(|| wire::missing("updateTypes"))?;
        let mut types = Vec::new();
        let mut unknown = Vec::new();
        for v in &given {
            match UpdateType::parse(v) {
                Some(t) if !types.contains(&t) => types.push(t),
                Some(_) => {}
                None => unknown.push(format!("'{v}'")),
            }
        }
        if !unknown.is_empty() {
            return Err(MstrError::invalid(format!(
                "Unknown updateTypes {}: each must be one of {}",
                unknown.join(", "),
                UpdateType::ALL.map(|t| t.as_str()).join(", ")
            )));
        }
        Ok(types)
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatusJson {
    Running,
    Completed,
    Failed,
}

/// One problem a task met: mstrio's `SchemaTaskError`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskErrorJson {
    /// `ERR004` a reference that does not resolve, `ERR006` a definition or the folder tree that
    /// does not hold, `ERR001` a reload that did not finish.
    pub code: &'static str,
    pub message: String,
    /// The object the problem is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<ProblemObjectJson>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProblemObjectJson {
    pub object_id: String,
    /// 8 folder, 12 attribute, 15 table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_type: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_name: Option<String>,
    /// What the object uses and the model lacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_object_id: Option<String>,
}

impl TaskErrorJson {
    fn of(p: &Problem) -> TaskErrorJson {
        TaskErrorJson {
            code: match p.kind {
                ProblemKind::MissingReference => "ERR004",
                ProblemKind::InvalidDefinition | ProblemKind::FolderTree => "ERR006",
                ProblemKind::Interrupted => "ERR001",
            },
            message: p.message.clone(),
            additional_properties: p.object.map(|id| ProblemObjectJson {
                object_id: id.to_hex(),
                object_type: p.object_kind.map(|k| k.type_number()),
                object_name: p.object_name.clone(),
                missing_object_id: p.missing.map(|m| m.to_hex()),
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskUserJson {
    pub id: String,
    pub name: String,
}

/// A schema task: `id`, `task`, `startTime`, `endTime` (once finished), `status` and `errors`
/// (when it failed) as MicroStrategy writes them; the rest is vestibule's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskJson {
    pub id: String,
    /// `reloadSchema`.
    pub task: &'static str,
    pub start_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub status: TaskStatusJson,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<TaskErrorJson>,
    pub project_id: String,
    pub update_types: Vec<UpdateTypeJson>,
    /// Who asked for it.
    pub user: TaskUserJson,
    /// How many of the project's objects the reload checked.
    pub checked_objects: usize,
}

impl TaskJson {
    pub fn of(t: &SchemaTask) -> TaskJson {
        TaskJson {
            id: t.id.to_hex(),
            task: "reloadSchema",
            start_time: rfc3339_ms(t.start_ms),
            end_time: t.end_ms.map(rfc3339_ms),
            status: match t.status {
                TaskStatus::Running => TaskStatusJson::Running,
                TaskStatus::Completed => TaskStatusJson::Completed,
                TaskStatus::Failed => TaskStatusJson::Failed,
            },
            errors: t.problems.iter().map(TaskErrorJson::of).collect(),
            project_id: t.project.to_hex(),
            update_types: t.update_types.iter().map(|u| (*u).into()).collect(),
            user: TaskUserJson {
                id: t.user.to_hex(),
                name: t.user_name.clone(),
            },
            checked_objects: t.checked,
        }
    }
}

/// `GET /api/model/schema/reload`: the project's newest reload, if there was one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastReloadJson {
    pub last_reload: Option<TaskJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_time_is_what_mstrio_parses() {
        // 2021-03-24T01:39:04.5Z
        assert_eq!(ymdhms(1_616_549_944_500), "2021-03-24T01:39:04+0000");
    }

    #[test]
    fn every_unknown_update_type_is_named() {
        let body = ReloadBody {
            update_types: Some(vec![
                "table_key".into(),
                "foo".into(),
                "table_key".into(),
                "BAR".into(),
            ]),
        };
        let e = body.into_update_types().unwrap_err();
        assert_eq!(e.code, "ERR006");
        assert!(e.message.contains("'foo', 'BAR'"), "{}", e.message);
        let ok = ReloadBody {
            update_types: Some(vec!["logical_size".into(), "logical_size".into()]),
        };
        assert_eq!(ok.into_update_types().unwrap(), vec![UpdateType::LogicalSize]);
        let missing = ReloadBody { update_types: None }.into_update_types().unwrap_err();
        assert_eq!(missing.code, "ERR007");
    }
}
