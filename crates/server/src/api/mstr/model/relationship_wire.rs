//! The relationship JSON of the system hierarchy: a relationship as a client sends it (in an
//! attribute's `relationships` or the PUT body) and as the API writes it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::model::spec::{ChildSpec, RelationshipSpec};
use vestibule_core::model::types::{Child, Relationship};

use super::wire::{missing, read, read_as, refs, ChangeJournalIn, Names, ObjectRef, RefIn};
use crate::api::mstr::error::{MstrError, MstrResult};

/// A relationship: the parent, the child (one attribute, `child`, or several that together are
/// the child, `jointChild`) and the table that relates them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipIn {
    #[schema(required = true, nullable = false)]
    pub parent: Option<RefIn>,
    /// The child; give it or `jointChild`, not both.
    pub child: Option<RefIn>,
    /// The attributes of a joint child, two or more; give it or `child`, not both.
    pub joint_child: Option<Vec<RefIn>>,
    #[schema(required = true, nullable = false)]
    pub relationship_table: Option<RefIn>,
    /// `one_to_many` (the default), `one_to_one` or `many_to_many`.
    pub relationship_type: Option<String>,
}

/// The PUT body: `{relationships:[…], changeJournal?}` (the list alone is read too).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipsBody {
    #[schema(required = true, nullable = false)]
    pub relationships: Option<Vec<RelationshipIn>>,
    /// The comment for the change journal entry of the commit.
    pub change_journal: Option<ChangeJournalIn>,
}

impl RelationshipsBody {
    /// The relationships of a PUT body (`{"relationships":[…]}` or the list itself) and its
    /// change journal comment.
    pub fn read(bytes: &[u8]) -> MstrResult<(Vec<RelationshipSpec>, Option<String>)> {
        let (list, comment) = if bytes.trim_ascii_start().starts_with(b"[") {
            (read_as::<Vec<RelationshipIn>>(bytes, "relationships")?, None)
        } else {
            let body = read::<RelationshipsBody>(bytes)?;
            (
                body.relationships.ok_or_else(|| missing("relationships"))?,
                ChangeJournalIn::comment(body.change_journal),
            )
        };
        Ok((RelationshipIn::into_specs(list, "relationships")?, comment))
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
        let get = |r: Option<RefIn>, key: &str| -> MstrResult<_> {
            r.ok_or_else(|| missing(&format!("{p}.{key}")))?
                .into_ref(&format!("{p}.{key}"))
        };
        let child = match (self.child, self.joint_child) {
            (Some(_), Some(_)) => {
                return Err(MstrError::invalid(format!(
                    "'{p}': give either 'child' or 'jointChild', not both"
                )))
            }
            (Some(c), None) => ChildSpec::One(c.into_ref(&format!("{p}.child"))?),
            (None, Some(members)) => {
                let path = format!("{p}.jointChild");
                let members = refs(Some(members), &path)?.unwrap_or_default();
                if members.len() < 2 {
                    return Err(MstrError::invalid(format!(
                        "'{path}': a joint child needs two or more attributes, not {}; give a single child as 'child'",
                        members.len()
                    )));
                }
                ChildSpec::Joint(members)
            }
            (None, None) => return Err(missing(&format!("{p}.child"))),
        };
        Ok(RelationshipSpec {
            parent: get(self.parent, "parent")?,
            child,
            table: get(self.relationship_table, "relationshipTable")?,
            kind: self.relationship_type.unwrap_or_else(|| "one_to_many".into()),
        })
    }
}

/// A relationship in a response: `child`, or `jointChild` for a joint child (its members in
/// the order they were given), as mstrio-py's `Relationship` reads them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipJson {
    pub parent: ObjectRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<ObjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joint_child: Option<Vec<ObjectRef>>,
    pub relationship_table: ObjectRef,
    pub relationship_type: String,
}

impl RelationshipJson {
    pub fn of(r: &Relationship, names: &Names) -> RelationshipJson {
        let (child, joint_child) = match &r.child {
            Child::One(c) => (Some(names.attribute_ref(*c)), None),
            Child::Joint(members) => (
                None,
                Some(members.iter().map(|m| names.attribute_ref(*m)).collect()),
            ),
        };
        RelationshipJson {
            parent: names.attribute_ref(r.parent),
            child,
            joint_child,
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
            let (specs, comment) = RelationshipsBody::read(body).unwrap();
            assert_eq!(specs.len(), 1);
            assert_eq!(specs[0].kind, "one_to_many");
            assert_eq!(comment, None);
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
        assert!(
            e.message
                .starts_with("'relationships[0].jointChild': a joint child needs two"),
            "{}",
            e.message
        );
        let e = RelationshipsBody::read(br#"[{"jointChild":[{"name":"A"}]}]"#).unwrap_err();
        assert!(e.message.contains("not 1"), "{}", e.message);
        let e =
            RelationshipsBody::read(br#"[{"child":{"name":"A"},"jointChild":[{"name":"B"},{"name":"C"}]}]"#)
                .unwrap_err();
        assert_eq!(
            e.message,
            "'relationships[0]': give either 'child' or 'jointChild', not both"
        );
        let e = RelationshipsBody::read(br#"[{"jointChild":[{"name":"B"},{}]}]"#).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("ERR007", "'relationships[0].jointChild[1]' needs an id or a name")
        );
        let joint = br#"{"relationships":[{"parent":{"name":"P"},"jointChild":[{"name":"B"},{"objectId":"8D679D4211D3E4981000E787EC6DE8A4"}],
            "relationshipTable":{"name":"T"},"relationshipType":"many_to_many"}],"changeJournal":{"userComments":"why"}}"#;
        let (specs, comment) = RelationshipsBody::read(joint).unwrap();
        assert_eq!(comment.as_deref(), Some("why"));
        match &specs[0].child {
            ChildSpec::Joint(m) => {
                assert_eq!(m.len(), 2);
                assert_eq!(m[0].name.as_deref(), Some("B"));
            }
            other => panic!("a joint child, not {other:?}"),
        }
    }
}
