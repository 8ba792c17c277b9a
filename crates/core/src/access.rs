//! Access properties: the row-level entitlements (filter rules, parameter values, variable values,
//! sorts) that a bearer token can carry and a user can hold, each set applying to everything or to
//! named objects.
//!
//! The core keeps and merges them; it does not apply them (vestibule runs no data queries), so
//! they are what a token carries and a user holds, shown back to clients as given. A user's
//! persisted properties are one document in the metadata store, written with a version check so
//! that concurrent changes from any node are serialised by the database; a token's properties are
//! stored beside it by the token's hash, so the session record (read on every request) stays small
//! and only the endpoints that show them pay for reading them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::now_ms;
use crate::core::Core;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::secret::SecretHash;
use crate::session::{Scope, Session};
use crate::sessions::NewSession;

/// One value of a rule, as the client gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Number(serde_json::Number),
    Text(String),
}

/// How a filter rule compares a column with its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Bw,
    Contains,
    BeginsWith,
    EndsWith,
    BwInc,
    BwIncMin,
    BwIncMax,
    Like,
    NotIn,
}

impl Operator {
    pub const ALL: [Operator; 16] = [
        Operator::Eq,
        Operator::Ne,
        Operator::Lt,
        Operator::Le,
        Operator::Gt,
        Operator::Ge,
        Operator::In,
        Operator::Bw,
        Operator::Contains,
        Operator::BeginsWith,
        Operator::EndsWith,
        Operator::BwInc,
        Operator::BwIncMin,
        Operator::BwIncMax,
        Operator::Like,
        Operator::NotIn,
    ];

    /// The operator's name (`EQ`, `BEGINS_WITH`, …).
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "EQ",
            Operator::Ne => "NE",
            Operator::Lt => "LT",
            Operator::Le => "LE",
            Operator::Gt => "GT",
            Operator::Ge => "GE",
            Operator::In => "IN",
            Operator::Bw => "BW",
            Operator::Contains => "CONTAINS",
            Operator::BeginsWith => "BEGINS_WITH",
            Operator::EndsWith => "ENDS_WITH",
            Operator::BwInc => "BW_INC",
            Operator::BwIncMin => "BW_INC_MIN",
            Operator::BwIncMax => "BW_INC_MAX",
            Operator::Like => "LIKE",
            Operator::NotIn => "NOT_IN",
        }
    }

    pub fn parse(name: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// Rows of `column` whose value compares with `values` by `operator`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterRule {
    pub column: String,
    pub operator: Operator,
    pub values: Vec<Value>,
}

/// Values given to a named parameter or variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedValues {
    pub name: String,
    pub values: Vec<Value>,
}

/// A sort on a column; `descending` is `None` when no order was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sort {
    pub column: Option<String>,
    pub descending: Option<bool>,
}

/// What a set of properties applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Target {
    /// Every object.
    All,
    /// One object, by the id or name the client gave.
    Object(String),
}

/// The properties that apply to one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Properties {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<NamedValues>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<NamedValues>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sorts: Vec<Sort>,
}

impl Properties {
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
            && self.parameters.is_empty()
            && self.variables.is_empty()
            && self.sorts.is_empty()
    }

    /// Adds `other`'s properties: rules and sorts after these; a parameter or variable of the same
    /// name takes the new values (a name holds one list of values).
    fn append(&mut self, other: &Properties) {
        self.filters.extend(other.filters.iter().cloned());
        self.sorts.extend(other.sorts.iter().cloned());
        for (mine, theirs) in [
            (&mut self.parameters, &other.parameters),
            (&mut self.variables, &other.variables),
        ] {
            for v in theirs {
                match mine.iter_mut().find(|m| m.name == v.name) {
                    Some(m) => m.values = v.values.clone(),
                    None => mine.push(v.clone()),
                }
            }
        }
    }
}

/// Properties by target. Targets without properties are not kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessSet(BTreeMap<Target, Properties>);

impl AccessSet {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The targets and their properties, [`Target::All`] first.
    pub fn iter(&self) -> impl Iterator<Item = (&Target, &Properties)> {
        self.0.iter()
    }

    /// The properties of `target`, to change.
    pub fn at(&mut self, target: Target) -> &mut Properties {
        self.0.entry(target).or_default()
    }

    /// Adds `props` to each of `targets` (to every object when `targets` is empty).
    pub fn add(&mut self, targets: &[Target], props: &Properties) {
        if targets.is_empty() {
            self.at(Target::All).append(props);
        } else {
            for t in targets {
                self.at(t.clone()).append(props);
            }
        }
        self.prune();
    }

    /// Adds every target's properties of `other`.
    pub fn append(&mut self, other: &AccessSet) {
        for (t, p) in &other.0 {
            self.at(t.clone()).append(p);
        }
        self.prune();
    }

    /// Changes each target's properties with `f`.
    pub fn change(&mut self, mut f: impl FnMut(&mut Properties)) {
        self.0.values_mut().for_each(&mut f);
        self.prune();
    }

    fn prune(&mut self) {
        self.0.retain(|_, p| !p.is_empty());
    }
}

impl Serialize for AccessSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for AccessSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let entries = Vec::<(Target, Properties)>::deserialize(d)?;
        let mut set = AccessSet(entries.into_iter().collect());
        set.prune();
        Ok(set)
    }
}

/// What a user holds, or a token carries: two independent sets, as clients keep them apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Access {
    /// Attribute-based rules: filter rules, parameter values and variable values, set as a whole
    /// by one request ([`Persist`]).
    #[serde(default)]
    pub rules: AccessSet,
    /// Runtime filters, parameters and sorts, persisted item by item ([`RuntimeChange`]).
    #[serde(default)]
    pub runtime: AccessSet,
}

impl Access {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.runtime.is_empty()
    }

    fn encode(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| CoreError::Internal(format!("access properties: {e}")))
    }

    fn decode(body: &str) -> Result<Access> {
        serde_json::from_str(body)
            .map_err(|e| CoreError::Internal(format!("access properties in store: {e}")))
    }
}

/// How a token request changes the user's attribute-based rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// Not at all: the rules live in the token only.
    None,
    /// The request's rules are added to the user's.
    Append,
    /// The user's filter rules and parameter values become the request's; its variable values
    /// too, when the request gives any.
    Replace,
    /// The user's filter rules and parameter values are cleared (variable values are kept).
    Reset,
}

impl Persist {
    /// Applies this option with the request's rules `asked` to the user's `stored` rules.
    pub fn apply(self, stored: &mut AccessSet, asked: &AccessSet) {
        match self {
            Persist::None => {}
            Persist::Append => stored.append(asked),
            Persist::Replace => {
                let asks_variables = asked.iter().any(|(_, p)| !p.variables.is_empty());
                let mut next = asked.clone();
                if !asks_variables {
                    for (t, p) in stored.iter() {
                        if !p.variables.is_empty() {
                            next.at(t.clone()).variables = p.variables.clone();
                        }
                    }
                }
                *stored = next;
            }
            Persist::Reset => stored.change(|p| {
                p.filters.clear();
                p.parameters.clear();
            }),
        }
    }
}

/// How a token request changes the user's runtime properties: each kind flagged (the request gave
/// it as an empty list, or with items marked to persist) is replaced by the request's items marked
/// to persist; kinds not flagged are kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeChange {
    /// The items marked to persist.
    pub persisted: AccessSet,
    pub filters: bool,
    pub parameters: bool,
    pub sorts: bool,
}

impl RuntimeChange {
    /// Whether the request changes anything stored.
    pub fn changes(&self) -> bool {
        self.filters || self.parameters || self.sorts
    }

    pub fn apply(&self, stored: &mut AccessSet) {
        stored.change(|p| {
            if self.filters {
                p.filters.clear();
            }
            if self.parameters {
                p.parameters.clear();
            }
            if self.sorts {
                p.sorts.clear();
            }
        });
        stored.append(&self.persisted);
    }
}

/// How many times a change of a user's properties is retried when another writer got there first.
const WRITE_ATTEMPTS: usize = 16;

impl Core {
    /// The properties `user` holds.
    pub async fn user_access(&self, user: Guid) -> Result<Access> {
        match self.directory.store().user_access(user).await? {
            Some((body, _)) => Access::decode(&body),
            None => Ok(Access::default()),
        }
    }

    /// Changes the properties `user` holds with `change` and returns them. A concurrent change
    /// (from any node) makes this one start again from the newer properties.
    pub async fn change_user_access(&self, user: Guid, change: impl Fn(&mut Access)) -> Result<Access> {
        let store = self.directory.store();
        for _ in 0..WRITE_ATTEMPTS {
            let (mut access, version) = match store.user_access(user).await? {
                Some((body, version)) => (Access::decode(&body)?, Some(version)),
                None => (Access::default(), None),
            };
            let before = access.clone();
            change(&mut access);
            if access == before {
                return Ok(access);
            }
            if store
                .put_user_access(user, &access.encode()?, version, now_ms())
                .await?
            {
                return Ok(access);
            }
        }
        Err(CoreError::Unavailable(
            "the user's access properties are being changed by too many requests at once".into(),
        ))
    }

    /// A bearer token like [`Core::new_bearer_token`] that carries `access` (kept until the token
    /// expires). The token is not handed out when its properties cannot be stored.
    pub async fn new_bearer_token_carrying(
        &self,
        user: Guid,
        mode: i32,
        scope: Scope,
        validity_secs: u64,
        access: &Access,
    ) -> Result<NewSession> {
        let minted = self.new_bearer_token(user, mode, scope, validity_secs).await?;
        if access.is_empty() {
            return Ok(minted);
        }
        let s = &minted.session;
        let stored = match access.encode() {
            Ok(body) => self
                .directory
                .store()
                .insert_token_access(&s.token, s.user_id, s.expires_ms(), &body, now_ms())
                .await
                .map_err(CoreError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            // Best effort: the token is useless to its client anyway, which never saw it.
            let _ = self.sessions.end(&s.token).await;
            return Err(e);
        }
        Ok(minted)
    }

    /// What the token of `session` carries (nothing for a token that carries nothing).
    pub async fn token_access(&self, session: &Session) -> Result<Access> {
        self.token_access_of(&session.token).await
    }

    async fn token_access_of(&self, token: &SecretHash) -> Result<Access> {
        match self.directory.store().token_access(token, now_ms()).await? {
            Some(body) => Access::decode(&body),
            None => Ok(Access::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn filter(column: &str, v: &str) -> FilterRule {
        FilterRule {
            column: column.into(),
            operator: Operator::In,
            values: vec![text(v)],
        }
    }

    fn named(name: &str, v: &str) -> NamedValues {
        NamedValues {
            name: name.into(),
            values: vec![text(v)],
        }
    }

    fn set(target: Target, p: Properties) -> AccessSet {
        let mut s = AccessSet::default();
        s.add(&[target], &p);
        s
    }

    #[test]
    fn operators_round_trip() {
        for o in Operator::ALL {
            assert_eq!(Operator::parse(o.name()), Some(o));
            assert_eq!(serde_json::to_value(o).unwrap(), serde_json::json!(o.name()));
        }
        assert_eq!(Operator::parse("eq"), None);
    }

    #[test]
    fn persist_options() {
        let old = set(
            Target::All,
            Properties {
                filters: vec![filter("Region", "West")],
                parameters: vec![named("Secured", "a")],
                variables: vec![named("country_var", "Japan")],
                ..Properties::default()
            },
        );
        let asked = set(
            Target::All,
            Properties {
                filters: vec![filter("Country", "Germany")],
                parameters: vec![named("Secured", "b")],
                ..Properties::default()
            },
        );

        let mut s = old.clone();
        Persist::None.apply(&mut s, &asked);
        assert_eq!(s, old);

        let mut s = old.clone();
        Persist::Append.apply(&mut s, &asked);
        let p = s.iter().next().unwrap().1;
        assert_eq!(
            p.filters,
            vec![filter("Region", "West"), filter("Country", "Germany")]
        );
        assert_eq!(p.parameters, vec![named("Secured", "b")]);
        assert_eq!(p.variables, vec![named("country_var", "Japan")]);

        // Replace keeps the variables unless the request gives some.
        let mut s = old.clone();
        Persist::Replace.apply(&mut s, &asked);
        let p = s.iter().next().unwrap().1;
        assert_eq!(p.filters, vec![filter("Country", "Germany")]);
        assert_eq!(p.variables, vec![named("country_var", "Japan")]);
        let vars = set(
            Target::Object("t1".into()),
            Properties {
                variables: vec![named("country_var", "Chile")],
                ..Properties::default()
            },
        );
        let mut s = old.clone();
        Persist::Replace.apply(&mut s, &vars);
        assert_eq!(s, vars);

        // Reset clears rules and parameters, not variables.
        let mut s = old.clone();
        Persist::Reset.apply(&mut s, &asked);
        let only_vars = set(
            Target::All,
            Properties {
                variables: vec![named("country_var", "Japan")],
                ..Properties::default()
            },
        );
        assert_eq!(s, only_vars);
    }

    #[test]
    fn runtime_changes_replace_the_kinds_named() {
        let mut stored = set(
            Target::All,
            Properties {
                filters: vec![filter("Region", "West")],
                parameters: vec![named("Secured", "a")],
                ..Properties::default()
            },
        );
        let change = RuntimeChange {
            persisted: set(
                Target::Object("lb".into()),
                Properties {
                    filters: vec![filter("Country", "Chile")],
                    ..Properties::default()
                },
            ),
            filters: true,
            parameters: false,
            sorts: false,
        };
        change.apply(&mut stored);
        let all: Vec<_> = stored.iter().collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1.parameters, vec![named("Secured", "a")]);
        assert!(all[0].1.filters.is_empty());
        assert_eq!(all[1].0, &Target::Object("lb".into()));
        assert_eq!(all[1].1.filters, vec![filter("Country", "Chile")]);
    }

    #[test]
    fn access_round_trips_through_its_stored_form() {
        let mut a = Access::default();
        a.rules.add(
            &[Target::All, Target::Object("t".into())],
            &Properties {
                filters: vec![FilterRule {
                    column: "n".into(),
                    operator: Operator::Bw,
                    values: vec![Value::Number(1.into()), Value::Bool(true), text("x")],
                }],
                ..Properties::default()
            },
        );
        a.runtime.add(
            &[],
            &Properties {
                sorts: vec![Sort {
                    column: Some("c".into()),
                    descending: Some(true),
                }],
                ..Properties::default()
            },
        );
        assert_eq!(Access::decode(&a.encode().unwrap()).unwrap(), a);
        assert!(Access::decode("{}").unwrap().is_empty());
    }
}
