//! Searching a project's model: by name (with MicroStrategy's match patterns), kind, folder,
//! visibility and modification time, and by use — the objects that use a given one (its
//! dependents) or that it uses (its dependencies), directly or through others — from the model's
//! own references.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::core::Principal;
use crate::error::Result;
use crate::ids::Guid;
use crate::model::service::{ModelService, View};
use crate::model::types::{ModelObject, ObjectKind};
use crate::privilege::Privilege;

/// How a name is matched (MicroStrategy's search types); always without regard to case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NamePattern {
    /// Any of the words of the query appears in the name.
    ContainsAnyWord,
    BeginsWith,
    Exactly,
    /// The name begins with the query, which may be several words.
    BeginsWithPhrase,
    #[default]
    Contains,
    EndsWith,
}

impl NamePattern {
    /// The pattern of MicroStrategy's number (`EnumDSSXMLSearchTypes`).
    pub fn from_number(n: i64) -> Option<NamePattern> {
        Some(match n {
            0 => NamePattern::ContainsAnyWord,
            1 => NamePattern::BeginsWith,
            2 => NamePattern::Exactly,
            3 => NamePattern::BeginsWithPhrase,
            4 => NamePattern::Contains,
            5 => NamePattern::EndsWith,
            _ => return None,
        })
    }

    fn matches(self, name: &str, query: &str) -> bool {
        let name = name.to_lowercase();
        let query = query.to_lowercase();
        match self {
            NamePattern::ContainsAnyWord => query.split_whitespace().any(|w| name.contains(w)),
            NamePattern::BeginsWith | NamePattern::BeginsWithPhrase => name.starts_with(&query),
            NamePattern::Exactly => name == query,
            NamePattern::Contains => name.contains(&query),
            NamePattern::EndsWith => name.ends_with(&query),
        }
    }
}

/// Objects that use, or are used by, some objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UseFilter {
    pub objects: Vec<Guid>,
    /// Through other objects too.
    pub recursive: bool,
    /// Related to one of the objects (else to all of them).
    pub one_of: bool,
}

/// What to search for; every part given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub name: Option<String>,
    pub pattern: NamePattern,
    /// Kinds to return; empty is every kind.
    pub kinds: Vec<ObjectKind>,
    /// Only objects inside this folder.
    pub root: Option<Guid>,
    /// With `root`: also in the folders inside it (the default).
    pub include_subfolders: bool,
    /// Leaves out what is inside these folders (and the folders inside them).
    pub excluded_folders: Vec<Guid>,
    /// Objects that use these (dependents).
    pub uses: Option<UseFilter>,
    /// Objects these use (dependencies).
    pub used_by: Option<UseFilter>,
    pub include_hidden: bool,
    pub modified_from_ms: Option<i64>,
    pub modified_to_ms: Option<i64>,
    /// Case-insensitive part of the description (all of it, with `exact_description`).
    pub description: Option<String>,
    pub exact_description: bool,
    pub owner: Option<Guid>,
    /// Only objects the system manages for others (vestibule has none).
    pub managed_only: bool,
}

/// The references of every object, and who references each.
struct Uses {
    uses: HashMap<Guid, Vec<Guid>>,
    used_by: HashMap<Guid, Vec<Guid>>,
}

impl Uses {
    fn of(objects: &[ModelObject]) -> Uses {
        let mut uses: HashMap<Guid, Vec<Guid>> = HashMap::new();
        let mut used_by: HashMap<Guid, Vec<Guid>> = HashMap::new();
        for o in objects {
            for (r, _) in o.references() {
                if r == o.info.id {
                    continue;
                }
                uses.entry(o.info.id).or_default().push(r);
                used_by.entry(r).or_default().push(o.info.id);
            }
        }
        Uses { uses, used_by }
    }

    /// What `start` reaches along `edges`, itself excluded.
    fn reach(edges: &HashMap<Guid, Vec<Guid>>, start: Guid, recursive: bool) -> HashSet<Guid> {
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([start]);
        while let Some(cur) = queue.pop_front() {
            for next in edges.get(&cur).into_iter().flatten() {
                if *next != start && seen.insert(*next) && recursive {
                    queue.push_back(*next);
                }
            }
        }
        seen
    }

    /// The objects related to the filter's objects along `edges`.
    fn related(edges: &HashMap<Guid, Vec<Guid>>, f: &UseFilter) -> HashSet<Guid> {
        let mut sets = f.objects.iter().map(|o| Self::reach(edges, *o, f.recursive));
        let Some(first) = sets.next() else {
            return HashSet::new();
        };
        sets.fold(first, |acc, s| {
            if f.one_of {
                acc.union(&s).copied().collect()
            } else {
                acc.intersection(&s).copied().collect()
            }
        })
    }
}

impl ModelService {
    /// The objects of `view` that match `query`, by name (then id) — those the caller may read.
    pub async fn search(
        &self,
        caller: &Principal,
        view: &View,
        query: &SearchQuery,
    ) -> Result<Vec<ModelObject>> {
        caller.require(Privilege::WEB_USER)?;
        if query.managed_only {
            return Ok(Vec::new());
        }
        let all = self.list(view, None).await?;
        let by_id: HashMap<Guid, &ModelObject> = all.iter().map(|o| (o.info.id, o)).collect();
        let uses = Uses::of(&all);
        let dependents = query.uses.as_ref().map(|f| Uses::related(&uses.used_by, f));
        let dependencies = query.used_by.as_ref().map(|f| Uses::related(&uses.uses, f));
        // Whether `o` is inside `folder` (directly only, unless `deep`).
        let inside = |o: &ModelObject, folder: Guid, deep: bool| -> bool {
            let mut next = o.info.folder;
            let mut depth = 0;
            while let Some(f) = next {
                if f == folder {
                    return true;
                }
                if !deep || depth > 64 {
                    return false;
                }
                depth += 1;
                next = by_id.get(&f).and_then(|p| p.info.folder);
            }
            false
        };
        let inside_root = |o: &ModelObject| {
            query.root.is_none_or(|r| inside(o, r, query.include_subfolders))
                && !query
                    .excluded_folders
                    .iter()
                    .any(|x| o.info.id == *x || inside(o, *x, true))
        };
        let found: Vec<ModelObject> = all
            .iter()
            .filter(|o| query.kinds.is_empty() || query.kinds.contains(&o.info.kind))
            .filter(|o| {
                query
                    .name
                    .as_deref()
                    .is_none_or(|n| n.is_empty() || query.pattern.matches(&o.info.name, n))
            })
            .filter(|o| {
                query.description.as_deref().is_none_or(|d| {
                    let (have, want) = (o.info.description.to_lowercase(), d.to_lowercase());
                    if query.exact_description {
                        have == want
                    } else {
                        have.contains(&want)
                    }
                })
            })
            .filter(|o| query.include_hidden || !o.info.hidden)
            .filter(|o| query.owner.is_none_or(|w| o.info.owner == Some(w)))
            .filter(|o| query.modified_from_ms.is_none_or(|t| o.info.modified_ms >= t))
            .filter(|o| query.modified_to_ms.is_none_or(|t| o.info.modified_ms <= t))
            .filter(|o| dependents.as_ref().is_none_or(|d| d.contains(&o.info.id)))
            .filter(|o| dependencies.as_ref().is_none_or(|d| d.contains(&o.info.id)))
            .filter(|o| inside_root(o))
            .cloned()
            .collect();
        let mut found = self.readable(caller, found).await?;
        found.sort_by(|a, b| {
            (a.info.name.to_lowercase(), a.info.id).cmp(&(b.info.name.to_lowercase(), b.info.id))
        });
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_microstrategy_names_them() {
        let p = |n| NamePattern::from_number(n).expect("a pattern");
        assert!(p(4).matches("Sub Category", "categ"));
        assert!(p(2).matches("Category", "category"));
        assert!(!p(2).matches("Category 2", "category"));
        assert!(p(1).matches("Category", "Cat"));
        assert!(p(5).matches("Subcategory", "GORY"));
        assert!(p(0).matches("Sub Category", "year category"));
        assert!(!p(0).matches("Sub Category", "year month"));
        assert!(p(3).matches("Sub Category", "sub cat"));
        assert_eq!(NamePattern::from_number(6), None);
    }

    #[test]
    fn uses_reach_through_others_only_when_recursive() {
        let (a, b, c) = (Guid::random(), Guid::random(), Guid::random());
        let edges = HashMap::from([(a, vec![b]), (b, vec![c])]);
        assert_eq!(Uses::reach(&edges, a, false), HashSet::from([b]));
        assert_eq!(Uses::reach(&edges, a, true), HashSet::from([b, c]));
        let f = UseFilter {
            objects: vec![a, b],
            recursive: false,
            one_of: true,
        };
        assert_eq!(Uses::related(&edges, &f), HashSet::from([b, c]));
        let all = UseFilter { one_of: false, ..f };
        assert!(Uses::related(&edges, &all).is_empty());
    }
}
