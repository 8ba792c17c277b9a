//! Attribute relationships. A relationship is one fact per (parent, child) pair, kept once, in
//! the child attribute's document; the parent's definition, the child's and both system
//! hierarchy views are all derived from those documents ([`involving`]), so they cannot
//! disagree. Replacing an attribute's relationships (from either side) rewrites the documents of
//! the children concerned, staged in the changeset like any change, so a commit applies them all
//! or none and the version checks see every attribute that changed.
//!
//! Documents written before this rule may keep a relationship on its parent; readers take those
//! too, and the next change that touches the pair moves it to the child.

use std::collections::HashSet;

use crate::core::Principal;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::service::{ModelService, View};
use crate::model::spec::{Ref, RelationshipSpec};
use crate::model::types::*;
use crate::privilege::Privilege;

/// The relationships `id` takes part in, as parent or child, from a view's `objects`: once per
/// pair (the child's copy first), those where it is the parent first, each group ordered by the
/// other attribute's name.
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
            if r.parent == id || r.child == id {
                found.push((r.child == o.info.id, r));
            }
        }
    }
    // The copy kept on the child wins over an older one kept on the parent.
    found.sort_by_key(|(on_child, _)| !*on_child);
    let mut seen = HashSet::new();
    let mut out: Vec<Relationship> = found
        .into_iter()
        .filter(|(_, r)| seen.insert((r.parent, r.child)))
        .map(|(_, r)| r.clone())
        .collect();
    out.sort_by_cached_key(|r| {
        let as_child = r.child == id;
        let other = if as_child { r.parent } else { r.child };
        (as_child, name(other), other)
    });
    out
}

impl ModelService {
    /// Resolves the relationships given for attribute `me`: each must have it as parent or child,
    /// relate two attributes of the view through a table, and no pair may come twice.
    pub(crate) async fn resolve_relationships(
        &self,
        view: &View,
        me: Guid,
        rels: &[RelationshipSpec],
    ) -> Result<Vec<Relationship>> {
        let attrs = self.list(view, Some(ObjectKind::Attribute)).await?;
        let tables = self.list(view, Some(ObjectKind::Table)).await?;
        let attr = |r: &Ref| -> Result<Guid> {
            if r.id == Some(me) {
                return Ok(me);
            }
            let found = match (&r.id, &r.name) {
                (Some(id), _) => attrs.iter().find(|a| a.info.id == *id),
                (None, Some(n)) => attrs.iter().find(|a| a.info.name.eq_ignore_ascii_case(n)),
                _ => None,
            };
            found.map(|a| a.info.id).ok_or_else(|| {
                CoreError::NotFound(format!("The attribute {} could not be found", r.describe()))
            })
        };
        let table = |r: &Ref| -> Result<Guid> {
            let found = match (&r.id, &r.name) {
                (Some(id), _) => tables.iter().find(|t| t.info.id == *id),
                (None, Some(n)) => tables.iter().find(|t| t.info.name.eq_ignore_ascii_case(n)),
                _ => None,
            };
            found
                .map(|t| t.info.id)
                .ok_or_else(|| CoreError::NotFound(format!("The table {} could not be found", r.describe())))
        };
        let mut out: Vec<Relationship> = Vec::new();
        for r in rels {
            let parent = attr(&r.parent)?;
            let child = attr(&r.child)?;
            if parent != me && child != me {
                return Err(CoreError::Invalid(format!(
                    "A relationship of attribute '{me}' must have it as parent or child"
                )));
            }
            if parent == child {
                return Err(CoreError::Invalid("An attribute cannot be its own parent".into()));
            }
            if !RELATIONSHIP_TYPES.contains(&r.kind.as_str()) {
                return Err(CoreError::Invalid(format!(
                    "Unknown relationshipType '{}' (one of: {})",
                    r.kind,
                    RELATIONSHIP_TYPES.join(", ")
                )));
            }
            if out.iter().any(|x| x.parent == parent && x.child == child) {
                return Err(CoreError::Invalid(format!(
                    "The relationship of parent '{parent}' and child '{child}' is given twice"
                )));
            }
            out.push(Relationship {
                parent,
                child,
                table: table(&r.table)?,
                kind: r.kind.clone(),
            });
        }
        Ok(out)
    }

    /// Makes `rels` (resolved, each involving `me`) the relationships `me` takes part in, in the
    /// changeset of `view`: every pair with `me` leaves the document that kept it, and each of
    /// `rels` goes to its child's document. Only the attributes whose documents change are staged.
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
                .filter(|r| r.parent != me && r.child != me)
                .cloned()
                .collect();
            kept.extend(rels.iter().filter(|r| r.child == obj.info.id).cloned());
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
            child: Guid([child; 16]),
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
}
