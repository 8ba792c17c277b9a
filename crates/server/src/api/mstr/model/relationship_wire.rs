//! The relationship JSON of the system hierarchy: a relationship as a client sends it (in an
//! attribute's `relationships` or the PUT body) and as the API writes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use vestibule_core::model::spec::RelationshipSpec;
use vestibule_core::model::types::Relationship;

use super::wire::{missing, read, read_as, Names, ObjectRef, RefIn};
use crate::api::mstr::error::{MstrError, MstrResult};

/// A relationship: the parent, the child and the table that relates them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipIn {
    #[schema(required = true, nullable = false)]
    pub parent: Option<RefIn>,
    #[schema(required = true, nullable = false)]
    pub child: Option<RefIn>,
    #[schema(required = true, nullable = false)]
    pub relationship_table: Option<RefIn>,
    /// `one_to_many` (the default), `one_to_one`, `many_to_one` or `many_to_many`.
    pub relationship_type: Option<String>,
    /// Refused: this server keeps no joint children.
    pub joint_child: Option<Value>,
}

/// The PUT body: `{relationships:[…]}` (the list alone is read too).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RelationshipsBody {
    #[schema(required = true, nullable = false)]
    pub relationships: Option<Vec<RelationshipIn>>,
}

impl RelationshipsBody {
    /// The relationships of a PUT body: `{"relationships":[…]}` or the list itself.
    pub fn read(bytes: &[u8]) -> MstrResult<Vec<RelationshipSpec>> {
        let list = if bytes.trim_ascii_start().starts_with(b"[") {
            read_as::<Vec<RelationshipIn>>(bytes, "relationships")?
        } else {
            read::<RelationshipsBody>(bytes)?
                .relationships
                .ok_or_else(|| missing("relationships"))?
        };
        RelationshipIn::into_specs(list, "relationships")
    }
}

impl RelationshipIn {
    /// The specs of a list of relationships at `path`.
    pub fn into_specs(list: Vec<RelationshipIn>, path: &str) -> MstrResult<Vec<RelationshipSpec>> {
        list.into_iter()
            .enumerate()
            .map(|(i, r)| r.into_spec(&format!("{path}[{i}]")))
            .collect()
    }

    fn into_spec(self, p: &str) -> MstrResult<RelationshipSpec> {
        if self.joint_child.is_some() {
            return Err(MstrError::invalid(format!(
                "'{p}.jointChild': joint children are not supported by this server"
            )));
        }
        let get = |r: Option<RefIn>, key: &str| -> MstrResult<_> {
            r.ok_or_else(|| missing(&format!("{p}.{key}")))?
                .into_ref(&format!("{p}.{key}"))
        };
        Ok(RelationshipSpec {
            parent: get(self.parent, "parent")?,
            child: get(self.child, "child")?,
            table: get(self.relationship_table, "relationshipTable")?,
            kind: self.relationship_type.unwrap_or_else(|| "one_to_many".into()),
        })
    }
}

/// A relationship in a response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipJson {
    pub parent: ObjectRef,
    pub child: ObjectRef,
    pub relationship_table: ObjectRef,
    pub relationship_type: String,
}

impl RelationshipJson {
    pub fn of(r: &Relationship, names: &Names) -> RelationshipJson {
        RelationshipJson {
            parent: names.attribute_ref(r.parent),
            child: names.attribute_ref(r.child),
            relationship_table: names.table_ref(r.table),
            relationship_type: r.kind.clone(),
        }
    }
}

/// `{relationships:[…]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelationshipList {
    pub relationships: Vec<RelationshipJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_or_an_object_with_one() {
        let one = br#"{"parent":{"name":"A"},"child":{"name":"B"},"relationshipTable":{"name":"T"}}"#;
        let list = format!("[{}]", String::from_utf8_lossy(one));
        let object = format!("{{\"relationships\":{list}}}");
        for body in [list.as_bytes(), object.as_bytes()] {
            let specs = RelationshipsBody::read(body).unwrap();
            assert_eq!(specs.len(), 1);
            assert_eq!(specs[0].kind, "one_to_many");
        }
        let e = RelationshipsBody::read(b"{}").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("ERR007", "'relationships' is required")
        );
        let e = RelationshipsBody::read(br#"[{"parent":5}]"#).unwrap_err();
        assert!(
            e.message.starts_with("'relationships[0].parent': invalid type"),
            "{}",
            e.message
        );
        let e = RelationshipsBody::read(br#"[{"parent":{"name":"A"}}]"#).unwrap_err();
        assert_eq!(e.message, "'relationships[0].child' is required");
        let e = RelationshipsBody::read(br#"[{"jointChild":[]}]"#).unwrap_err();
        assert_eq!(e.code, "ERR006");
    }
}
