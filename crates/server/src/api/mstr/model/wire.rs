//! The JSON pieces every modeling resource shares (spec §4): object references and
//! `information` as the API writes them, references, ids, data types and booleans as clients send
//! them, and [`read`], which deserializes a body so that a field of the wrong type is a 400
//! naming its path.
//!
//! Input structs read every field as optional, null the same as absent; what a definition
//! requires is checked where the wire struct becomes the core's spec, with the field's path.

use std::collections::HashMap;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, Deserializer, Unexpected};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::clock::rfc3339_ms;
use vestibule_core::ids::Guid;
use vestibule_core::model::spec::Ref;
use vestibule_core::model::types::{Column, DataType, ModelObject, PhysicalTable};
use vestibule_expr::{FormError, SyntaxError};

use crate::api::mstr::error::{MstrError, MstrResult};

pub const LOCALE: &str = "en-US";

// --- reading ---------------------------------------------------------------------------------

/// Deserializes a JSON object body (empty is `{}`). Malformed JSON is "Invalid JSON: …", a list
/// "Invalid JSON: the body must be a JSON object" (a derived struct would read a list as its
/// fields in order), another value "'body': invalid type: …"; a field of the wrong type is
/// "'forms[1].expressions[0].expression.tokens': invalid type: …, expected …".
pub fn read<T: DeserializeOwned>(bytes: &[u8]) -> MstrResult<T> {
    if bytes.trim_ascii_start().starts_with(b"[") {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => MstrError::invalid("Invalid JSON: the body must be a JSON object"),
            Err(e) => MstrError::invalid(format!("Invalid JSON: {e}")),
        });
    }
    read_as(bytes, "body")
}

/// [`read`], with the body itself called `name` in messages (`relationships[0].parent` for a
/// body that is the list of relationships).
pub fn read_as<T: DeserializeOwned>(bytes: &[u8], name: &str) -> MstrResult<T> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // serde_path_to_error writes the body itself as `.` and an item of a top-level list as `[0]`.
        let path = match e.path().to_string() {
            p if p == "." => name.to_owned(),
            p if p.starts_with('[') => format!("{name}{p}"),
            p => p,
        };
        body_error(&path, e.into_inner())
    })?;
    de.end().map_err(|e| body_error(name, e))?;
    Ok(value)
}

fn body_error(path: &str, e: serde_json::Error) -> MstrError {
    if !e.is_data() {
        return MstrError::invalid(format!("Invalid JSON: {e}"));
    }
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    MstrError::invalid(format!("'{path}': {message}"))
}

/// A required field that is absent or null.
pub fn missing(path: &str) -> MstrError {
    MstrError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "ERR007",
        format!("'{path}' is required"),
    )
}

/// An expression error as a 400: a syntax error names its position and what was expected.
pub fn expression_error(path: &str, e: FormError) -> MstrError {
    match e {
        FormError::Syntax(SyntaxError {
            position,
            expected,
            found,
        }) => MstrError::invalid(format!(
            "Syntax error in {path} at position {position}: expected {expected}, found {found}"
        )),
        FormError::Tree { path: at, message } => {
            MstrError::invalid(format!("Invalid expression in {path} ({at}): {message}"))
        }
    }
}

/// An object id: 32 hex characters; empty or null is none.
pub fn opt_guid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Guid>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| de::Error::invalid_value(Unexpected::Str(&s), &"an object id (32 hex characters)")),
    }
}

/// An object reference as clients send it: `objectId` or `id`, and/or `name`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefIn {
    #[serde(default, deserialize_with = "opt_guid")]
    #[schema(value_type = Option<String>)]
    pub object_id: Option<Guid>,
    /// Read when `objectId` is absent.
    #[serde(default, deserialize_with = "opt_guid")]
    #[schema(value_type = Option<String>)]
    pub id: Option<Guid>,
    pub name: Option<String>,
}

impl RefIn {
    /// The reference at `path`, which must have an id or a name.
    pub fn into_ref(self, path: &str) -> MstrResult<Ref> {
        let id = self.object_id.or(self.id);
        if id.is_none() && self.name.is_none() {
            return Err(MstrError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "ERR007",
                format!("'{path}' needs an id or a name"),
            ));
        }
        Ok(Ref { id, name: self.name })
    }
}

/// `changeJournal` of a request body: the comment mstrio-py's `journal_comment` arguments send,
/// kept in the change journal entry of the change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeJournalIn {
    pub user_comments: Option<String>,
}

impl ChangeJournalIn {
    /// The comment of an optional `changeJournal`; blank is none.
    pub fn comment(cj: Option<ChangeJournalIn>) -> Option<String> {
        cj.and_then(|c| c.user_comments).filter(|c| !c.trim().is_empty())
    }
}

/// The references of a list at `path`.
pub fn refs(list: Option<Vec<RefIn>>, path: &str) -> MstrResult<Option<Vec<Ref>>> {
    list.map(|l| {
        l.into_iter()
            .enumerate()
            .map(|(i, r)| r.into_ref(&format!("{path}[{i}]")))
            .collect()
    })
    .transpose()
}

/// A data type: `type` (required), and `precision` and `scale`, which default by type. The
/// numbers may come as their text, as mstrio-py sends them (its `DataType` keeps them as
/// strings).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DataTypeIn {
    #[serde(rename = "type")]
    #[schema(required = true, nullable = false)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "crate::api::body::int")]
    #[schema(schema_with = crate::api::body::nullable_int_schema)]
    pub precision: Option<i64>,
    #[serde(default, deserialize_with = "crate::api::body::int")]
    #[schema(schema_with = crate::api::body::nullable_int_schema)]
    pub scale: Option<i64>,
}

impl DataTypeIn {
    pub fn into_data_type(self, path: &str) -> MstrResult<DataType> {
        let kind = self.kind.ok_or_else(|| missing(&format!("{path}.type")))?;
        let base = DataType::of(&kind);
        Ok(DataType {
            precision: self.precision.unwrap_or(base.precision),
            scale: self.scale.unwrap_or(base.scale),
            kind,
        })
    }
}

// --- writing ---------------------------------------------------------------------------------

/// A reference to an object in a response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub object_id: String,
    pub sub_type: String,
    pub name: String,
}

/// A data type in a response.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataTypeJson {
    #[serde(rename = "type")]
    pub kind: String,
    pub precision: i64,
    pub scale: i64,
}

impl From<&DataType> for DataTypeJson {
    fn from(d: &DataType) -> Self {
        DataTypeJson {
            kind: d.kind.clone(),
            precision: d.precision,
            scale: d.scale,
        }
    }
}

/// `information` of an object.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Information {
    pub object_id: String,
    pub sub_type: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// In the create response only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_folder_id: Option<String>,
    /// Not in the create response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_modified: Option<String>,
    pub version_id: String,
    pub primary_locale: &'static str,
    /// Attributes only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_embedded: Option<bool>,
}

impl Information {
    /// `information` of an object; the create response has `destinationFolderId` and no dates.
    pub fn of(o: &ModelObject, sub_type: &str, created: bool) -> Information {
        let info = &o.info;
        Information {
            object_id: info.id.to_hex(),
            sub_type: sub_type.to_owned(),
            name: info.name.clone(),
            description: (!info.description.is_empty()).then(|| info.description.clone()),
            destination_folder_id: if created {
                info.folder.map(|f| f.to_hex())
            } else {
                None
            },
            date_created: (!created).then(|| rfc3339_ms(info.created_ms)),
            date_modified: (!created).then(|| rfc3339_ms(info.modified_ms)),
            version_id: info.version.to_hex(),
            primary_locale: LOCALE,
            is_embedded: None,
        }
    }
}

/// `{information}`: an entry of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct InformationOnly {
    pub information: Information,
}

/// A page of a list: `{offset, limit, total, <items>}`.
pub fn page<T>(all: &[T], offset: i64, limit: i64) -> impl Iterator<Item = &T> {
    all.iter()
        .skip(offset.max(0) as usize)
        .take(if limit < 0 { usize::MAX } else { limit as usize })
}

/// Objects a response refers to by id (tables, attributes), to print their names.
#[derive(Default)]
pub struct Names {
    pub objects: Arc<HashMap<Guid, ModelObject>>,
}

impl Names {
    /// The objects a view sees, as the model service gives them (shared, not copied).
    pub fn shared(objects: Arc<HashMap<Guid, ModelObject>>) -> Names {
        Names { objects }
    }

    pub fn name(&self, id: Guid) -> String {
        self.objects
            .get(&id)
            .map(|o| o.info.name.clone())
            .unwrap_or_default()
    }

    pub fn table_ref(&self, id: Guid) -> ObjectRef {
        ObjectRef {
            object_id: id.to_hex(),
            sub_type: "logical_table".into(),
            name: self.name(id),
        }
    }

    pub fn attribute_ref(&self, id: Guid) -> ObjectRef {
        ObjectRef {
            object_id: id.to_hex(),
            sub_type: "attribute".into(),
            name: self.name(id),
        }
    }

    /// The physical table, with the columns, of logical table `id`.
    pub fn physical_of(&self, id: Guid) -> Option<&PhysicalTable> {
        let t = self.objects.get(&id)?.table()?;
        self.objects.get(&t.physical_id)?.physical_table()
    }

    /// The column object of `name` in the first of `tables` (logical tables) that has it.
    pub fn column(&self, tables: &[Guid], name: &str) -> Option<(Guid, &Column)> {
        tables
            .iter()
            .find_map(|t| self.physical_of(*t).and_then(|p| p.column(name)).map(|c| (*t, c)))
    }
}

/// Keeps only the top-level `fields` of a response, when any are named.
pub fn only_fields<T: Serialize>(body: &T, fields: &[String]) -> MstrResult<serde_json::Value> {
    let v = serde_json::to_value(body)
        .map_err(|e| vestibule_core::CoreError::Internal(format!("response not serializable: {e}")))?;
    Ok(match v {
        serde_json::Value::Object(m) if !fields.is_empty() => serde_json::Value::Object(
            m.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f.eq_ignore_ascii_case(k)))
                .collect(),
        ),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default, deserialize_with = "crate::api::body::true_false")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "opt_guid")]
        id: Option<Guid>,
        list: Option<Vec<RefIn>>,
    }

    #[test]
    fn leniencies_and_paths() {
        let p: Probe = read(br#"{"flag":"TRUE","id":""}"#).unwrap();
        assert_eq!((p.flag, p.id), (Some(true), None));
        let p: Probe = read(br#"{"flag":null,"list":null}"#).unwrap();
        assert_eq!(p.flag, None);
        assert!(p.list.is_none());
        let p: Probe = read(b"  ").unwrap();
        assert!(p.flag.is_none());

        let e = read::<Probe>(br#"{"flag":"maybe"}"#).unwrap_err();
        assert_eq!(e.code, "ERR006");
        assert!(e.message.starts_with("'flag': invalid value"), "{}", e.message);
        assert!(e.message.ends_with("expected true or false"), "{}", e.message);

        let e = read::<Probe>(br#"{"list":[{"name":"a"},{"objectId":"nothex"}]}"#).unwrap_err();
        assert!(e.message.starts_with("'list[1].objectId': "), "{}", e.message);
        assert!(e.message.contains("32 hex characters"), "{}", e.message);

        let e = read::<Probe>(b"true").unwrap_err();
        assert!(e.message.starts_with("'body': invalid type"), "{}", e.message);
        let e = read::<Probe>(b"{nope").unwrap_err();
        assert!(e.message.starts_with("Invalid JSON: "), "{}", e.message);
        let e = read::<Probe>(b"{} {}").unwrap_err();
        assert!(e.message.starts_with("Invalid JSON: "), "{}", e.message);
    }

    #[test]
    fn a_reference_needs_an_id_or_a_name() {
        let e = RefIn::default().into_ref("keyForm").unwrap_err();
        assert_eq!(e.code, "ERR007");
        assert_eq!(e.message, "'keyForm' needs an id or a name");
        let id = Guid::random();
        let r = RefIn {
            id: Some(id),
            ..RefIn::default()
        }
        .into_ref("x")
        .unwrap();
        assert_eq!(r.id, Some(id));
    }
}
