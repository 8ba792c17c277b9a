//! Attribute relationships. A relationship is one fact per parent and child, kept once: an
//! ordinary one (one child attribute) in the child's document, one with a joint child (several
//! attributes that together are the child) in the parent's. The parent's definition, each
//! child's and every system hierarchy view are all derived from those documents ([`involving`]),
//! so they cannot disagree. Replacing an attribute's relationships (from any side) rewrites the
//! documents concerned, staged in the changeset like any change, so a commit applies them all or
//! none and the version checks see every attribute that changed.
//!
//! A relationship is made through a table that holds them all: the key form of the parent and of
//! each child attribute must read the relationship table (MicroStrategy relates attributes
//! through a table where their ids meet).
//!
//! Documents written before this rule may keep an ordinary relationship on its parent; readers
//! take those too, and the next change that touches the pair moves it to the child.

use std::collections::HashSet;

use crate::core::Principal;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::service::{ModelService, View};
use crate::model::spec::{ChildSpec, Ref, RelationshipSpec};
use crate::model::types::*;
use crate::privilege::Privilege;

/// The attribute whose document keeps `r`: the child of an ordinary relationship, the parent of
/// one with a joint child.
pub fn home(r: &Relationship) -> Guid {
    match &r.child {
        Child::One(c) => *c,
        Child::Joint(_) => r.parent,
    }
}

/// The relationships `id` takes part in, as parent, child or member of a joint child, from a
/// view's `objects`: once per fact (the copy kept in its home document first), those where it
/// is the parent first, each group ordered by the other attribute's name (a joint child's first
/// member's).
pub fn involving<'a>(id: Guid, objects: impl IntoIterator<Item = &'a ModelObject>) -> Vec<Relationship> {
    let attrs: Vec<&ModelObject> = objects
        .into_iter()
        .filter(|o| o.info.kind == ObjectKind::Attribute)
        .collect();
    let name = |a: Guid| {
        attrs
            .iter()
            .find(|o| o.info.id == a)
            .map(|o| o.info.name.to_lowercase())
            .unwrap_or_default()
    };
    let mut found: Vec<(bool, &Relationship)> = Vec::new();
    for o in &attrs {
        for r in o
            .attribute()
            .map(|a| a.relationships.as_slice())
            .unwrap_or_default()
        {
            if r.involves(id) {
                found.push((home(r) == o.info.id, r));
            }
        }
    }
    // The copy kept in its home document wins over an older one kept elsewhere.
    found.sort_by_key(|(at_home, _)| !*at_home);
    let mut seen = HashSet::new();
    let mut out: Vec<Relationship> = found
        .into_iter()
        .filter(|(_, r)| {
            let mut members = r.child.members().to_vec();
            members.sort();
            seen.insert((r.parent, r.child.is_joint(), members))
        })
        .map(|(_, r)| r.clone())
        .collect();
    out.sort_by_cached_key(|r| {
        let as_child = r.parent != id;
        let other = if as_child {
            r.parent
        } else {
            r.child.members().first().copied().unwrap_or_default()
        };
        (as_child, name(other), other)
    });
    out
}

/// Whether the key form of `attr` has an expression on `table`.
fn key_form_reads(attr: &ModelObject, table: Guid) -> bool {
    attr.attribute().is_some_and(|a| {
        a.form(a.key_form)
            .is_some_and(|f| f.expressions.iter().any(|e| e.tables.contains(&table)))
    })
}

impl ModelService {
    /// Resolves the relationships given for attribute `me`: each must have it as parent, child or
    /// member of a joint child, relate attributes of the view through a table that holds their
    /// key forms, and no parent may have the same child (or a joint child sharing a member) twice.
    pub(crate) async fn resolve_relationships(
        &self,
        view: &View,
        me: Guid,
        rels: &[RelationshipSpec],
    ) -> Result<Vec<Relationship>> {
        let attrs = self.list(view, Some(ObjectKind::Attribute)).await?;
        let tables = self.list(view, Some(ObjectKind::Table)).await?;
        let attr = |r: &Ref| -> Result<&ModelObject> {
            let found = match (&r.id, &r.name) {
                (Some(id), _) => attrs.iter().find(|a| a.info.id == *id),
                (None, Some(n)) => attrs.iter().find(|a| a.info.name.eq_ignore_ascii_case(n)),
                _ => None,
            };
            found.ok_or_else(|| {
                CoreError::Invalid(format!(
                    "The attribute {} of a relationship could not be found",
                    r.describe()
                ))
            })
        };
        let table = |r: &Ref| -> Result<&ModelObject> {
            let found = match (&r.id, &r.name) {
                (Some(id), _) => tables.iter().find(|t| t.info.id == *id),
                (None, Some(n)) => tables.iter().find(|t| t.info.name.eq_ignore_ascii_case(n)),
                _ => None,
            };
            found.ok_or_else(|| CoreError::NotFound(format!("The table {} could not be found", r.describe())))
        };
        let mut out: Vec<Relationship> = Vec::new();
        for r in rels {
            let parent = attr(&r.parent)?;
            let mut related = vec![parent];
            let child = match &r.child {
                ChildSpec::One(c) => {
                    let c = attr(c)?;
                    if c.info.id == parent.info.id {
                        return Err(CoreError::Invalid("An attribute cannot be its own parent".into()));
                    }
                    related.push(c);
                    Child::One(c.info.id)
                }
                ChildSpec::Joint(members) => {
                    if members.len() < 2 {
                        return Err(CoreError::Invalid(format!(
                            "A joint child needs two or more attributes, not {}; give a single child as 'child'",
                            members.len()
                        )));
                    }
                    let mut ids = Vec::with_capacity(members.len());
                    for m in members {
                        let a = attr(m)?;
                        if a.info.id == parent.info.id {
                            return Err(CoreError::Invalid(format!(
                                "The attribute '{}' cannot be a member of its own joint child",
                                a.info.name
                            )));
                        }
                        if ids.contains(&a.info.id) {
                            return Err(CoreError::Invalid(format!(
                                "The attribute '{}' is given twice in a joint child",
                                a.info.name
                            )));
                        }
                        ids.push(a.info.id);
                        related.push(a);
                    }
                    Child::Joint(ids)
                }
            };
            if parent.info.id != me && !child.members().contains(&me) {
                return Err(CoreError::Invalid(format!(
                    "A relationship of attribute '{me}' must have it as parent or child"
                )));
            }
            if !RELATIONSHIP_TYPES.contains(&r.kind.as_str()) {
                return Err(CoreError::Invalid(format!(
                    "Unknown relationshipType '{}' (one of: {})",
                    r.kind,
                    RELATIONSHIP_TYPES.join(", ")
                )));
            }
            if out
                .iter()
                .any(|x| x.parent == parent.info.id && x.child.overlaps(&child))
            {
                return Err(CoreError::Invalid(match &child {
                    Child::One(c) => format!(
                        "The relationship of parent '{}' and child '{c}' is given twice",
                        parent.info.id
                    ),
                    Child::Joint(_) => format!(
                        "The parent '{}' has a child given twice (as a child or in a joint child)",
                        parent.info.id
                    ),
                }));
            }
            let t = table(&r.table)?;
            if let Some(a) = related.iter().find(|a| !key_form_reads(a, t.info.id)) {
                return Err(CoreError::Invalid(format!(
                    "The table '{}' cannot relate these attributes: the key form of '{}' reads no column of it",
                    t.info.name, a.info.name
                )));
            }
            out.push(Relationship {
                parent: parent.info.id,
                child,
                table: t.info.id,
                kind: r.kind.clone(),
            });
        }
        Ok(out)
    }

    /// Makes `rels` (resolved, each involving `me`) the relationships `me` takes part in, in the
    /// changeset of `view`: every relationship with `me` leaves the document that kept it, and
    /// each of `rels` goes to its home document ([`home`]). Only the attributes whose documents
    /// change are staged.
    pub(crate) async fn replace_relationships(
        &self,
        caller: &Principal,
        view: &View,
        me: Guid,
        rels: &[Relationship],
    ) -> Result<()> {
        for obj in self.list(view, Some(ObjectKind::Attribute)).await? {
            let Some(a) = obj.attribute() else { continue };
            let mut kept: Vec<Relationship> = a
                .relationships
                .iter()
                .filter(|r| !r.involves(me))
                .cloned()
                .collect();
            kept.extend(rels.iter().filter(|r| home(r) == obj.info.id).cloned());
            if kept != a.relationships {
                let mut changed = obj.clone();
                if let Body::Attribute(b) = &mut changed.body {
                    b.relationships = kept;
                }
                self.stage(caller, view, changed).await?;
            }
        }
        Ok(())
    }

    /// The relationships attribute `id` takes part in, as parent or child.
    pub async fn relationships(
        &self,
        caller: &Principal,
        view: &View,
        id: Guid,
    ) -> Result<Vec<Relationship>> {
        caller.require_object(id)?;
        self.require(view, id, ObjectKind::Attribute).await?;
        let all = self.list(view, Some(ObjectKind::Attribute)).await?;
        Ok(involving(id, &all))
    }

    /// Replaces the relationships attribute `id` takes part in (as parent or child), in the
    /// changeset of `view`; answers them as they now are.
    pub async fn set_relationships(
        &self,
        caller: &Principal,
        view: &View,
        id: Guid,
        rels: Vec<RelationshipSpec>,
    ) -> Result<Vec<Relationship>> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        caller.require_object(id)?;
        view.changeset()?;
        self.require(view, id, ObjectKind::Attribute).await?;
        let resolved = self.resolve_relationships(view, id, &rels).await?;
        self.replace_relationships(caller, view, id, &resolved).await?;
        self.relationships(caller, view, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(id: u8, name: &str, rels: Vec<Relationship>) -> ModelObject {
        let g = |b: u8| Guid([b; 16]);
        ModelObject {
            info: ObjectInfo {
                id: g(id),
                project: g(0),
                kind: ObjectKind::Attribute,
                name: name.into(),
                description: String::new(),
                folder: None,
                hidden: false,
                comments: Vec::new(),
                owner: None,
                created_ms: 0,
                modified_ms: 0,
                version: g(0),
                acl: None,
            },
            body: Body::Attribute(Attribute {
                sub_type: "attribute".into(),
                is_embedded: false,
                forms: Vec::new(),
                lookup_table: None,
                key_form: g(0),
                report_displays: Vec::new(),
                browse_displays: Vec::new(),
                report_sorts: Vec::new(),
                browse_sorts: Vec::new(),
                relationships: rels,
            }),
        }
    }

    fn rel(parent: u8, child: u8, kind: &str) -> Relationship {
        Relationship {
            parent: Guid([parent; 16]),
            child: Child::One(Guid([child; 16])),
            table: Guid([9; 16]),
            kind: kind.into(),
        }
    }

    #[test]
    fn both_sides_see_one_fact_and_the_childs_copy_wins() {
        // Category (1) > Subcategory (2) > Item (3); an old document of Category keeps a stale copy.
        let objects = vec![
            attr(1, "Category", vec![rel(1, 2, "one_to_one")]),
            attr(2, "Subcategory", vec![rel(1, 2, "one_to_many")]),
            attr(3, "Item", vec![rel(2, 3, "one_to_many")]),
        ];
        let of = |id: u8| involving(Guid([id; 16]), &objects);
        assert_eq!(of(1), vec![rel(1, 2, "one_to_many")]);
        assert_eq!(of(2), vec![rel(2, 3, "one_to_many"), rel(1, 2, "one_to_many")]);
        assert_eq!(of(3), vec![rel(2, 3, "one_to_many")]);
        // A relationship only an old parent document keeps is still seen from both sides.
        let objects = vec![
            attr(1, "Category", vec![rel(1, 2, "one_to_many")]),
            attr(2, "Subcategory", vec![]),
        ];
        assert_eq!(involving(Guid([2; 16]), &objects), vec![rel(1, 2, "one_to_many")]);
    }

    #[test]
    fn a_joint_child_is_one_fact_seen_by_the_parent_and_each_member() {
        // Promotion (1) with the joint child [Item (3), Day (2)], kept on Promotion.
        let g = |b: u8| Guid([b; 16]);
        let joint = Relationship {
            parent: g(1),
            child: Child::Joint(vec![g(3), g(2)]),
            table: g(9),
            kind: "one_to_many".into(),
        };
        let objects = vec![
            attr(1, "Promotion", vec![joint.clone()]),
            attr(2, "Day", vec![]),
            attr(3, "Item", vec![rel(2, 3, "one_to_many")]),
        ];
        assert_eq!(home(&joint), g(1));
        assert_eq!(involving(g(1), &objects), vec![joint.clone()]);
        assert_eq!(
            involving(g(2), &objects),
            vec![rel(2, 3, "one_to_many"), joint.clone()]
        );
        assert_eq!(
            involving(g(3), &objects),
            vec![rel(2, 3, "one_to_many"), joint.clone()]
        );
        // Members keep the order they were given in.
        assert_eq!(joint.child.members(), &[g(3), g(2)]);
        assert!(joint.child.overlaps(&Child::One(g(2))));
        assert!(!joint.child.overlaps(&Child::One(g(1))));
    }

    #[test]
    fn documents_store_a_child_as_an_id_and_a_joint_child_as_a_list() {
        let one = rel(1, 2, "one_to_many");
        let text = serde_json::to_string(&one).unwrap();
        assert!(
            text.contains(&format!("\"child\":\"{}\"", Guid([2; 16]).to_hex())),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Relationship>(&text).unwrap(), one);
        let joint = Relationship {
            child: Child::Joint(vec![Guid([2; 16]), Guid([3; 16])]),
            ..one
        };
        let text = serde_json::to_string(&joint).unwrap();
        assert_eq!(serde_json::from_str::<Relationship>(&text).unwrap(), joint);
    }
}
