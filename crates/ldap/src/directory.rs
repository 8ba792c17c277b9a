//! The LDAP login flow, in two steps the core's guard puts its failed-login budget between: find
//! the user's entry as the search account with the configured filter (the name escaped per RFC
//! 4515); then bind as that entry with the password, and read the user's groups as the search
//! account and map them to vestibule groups.

use std::time::Duration;

use async_trait::async_trait;
use ldap3::{ldap_escape, Ldap, Scope, SearchEntry, SearchResult};

use vestibule_core::config::ConfigError;
use vestibule_core::config::LdapConfig;
use vestibule_core::provider::{DirectoryEntry, ExternalAuthError, ExternalAuthenticator, ExternalIdentity};

use crate::pool::{Pool, PoolError};

/// LDAP result code 49: invalid credentials.
const INVALID_CREDENTIALS: u32 = 49;
/// LDAP result code 32: no such object (the search base does not exist).
const NO_SUCH_OBJECT: u32 = 32;

pub struct LdapAuthenticator {
    config: LdapConfig,
    group_map: Vec<(String, String)>,
    pool: Pool,
}

/// What a step of the flow ends with, before it becomes the core's error.
enum Step {
    Bad,
    Down(String),
}

impl From<PoolError> for Step {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Refused(rc, text) => {
                Step::Down(format!("the directory refused an operation (code {rc}: {text})"))
            }
            PoolError::Down(m) => Step::Down(m),
        }
    }
}

impl LdapAuthenticator {
    pub fn new(config: &LdapConfig) -> Result<LdapAuthenticator, ConfigError> {
        Ok(LdapAuthenticator {
            group_map: config.group_pairs()?,
            pool: Pool::new(config)?,
            config: config.clone(),
        })
    }

    /// The longest a login may take: a connection and a handful of operations.
    fn deadline(&self) -> Duration {
        Duration::from_secs(self.config.connect_timeout_secs) + self.pool.op_timeout() * 5
    }

    /// Finds the one entry the filter matches for `username`, as the search account.
    async fn search_user(&self, ldap: &mut Ldap, username: &str) -> Result<Option<DirectoryEntry>, Step> {
        let c = &self.config;
        let filter = c.user_filter.replace("{username}", &ldap_escape(username));
        let attrs = [
            c.username_attribute.as_str(),
            c.name_attribute.as_str(),
            c.email_attribute.as_str(),
        ];
        let SearchResult(entries, result) = ldap
            .with_timeout(self.pool.op_timeout())
            .search(&c.search_base, Scope::Subtree, &filter, attrs.to_vec())
            .await
            .map_err(PoolError::from)?;
        match result.rc {
            0 => {}
            // A missing base or more matches than the server returns: nobody logs in.
            NO_SUCH_OBJECT | 4 => return Ok(None),
            rc => return Err(PoolError::Refused(rc, result.text).into()),
        }
        let mut entries = entries.into_iter().map(SearchEntry::construct);
        let (Some(entry), None) = (entries.next(), entries.next()) else {
            // No such user, or a filter that matches several: refuse rather than guess.
            return Ok(None);
        };
        let first = |attr: &str| {
            entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .and_then(|(_, v)| v.first().cloned())
                .unwrap_or_default()
        };
        let canonical = Some(first(&c.username_attribute))
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| username.to_owned());
        Ok(Some(DirectoryEntry {
            username: canonical,
            full_name: first(&c.name_attribute),
            email: first(&c.email_attribute),
            dn: entry.dn,
        }))
    }

    /// Binds as the entry with the password, then reads its groups as the search account.
    async fn bind_user(
        &self,
        ldap: &mut Ldap,
        entry: &DirectoryEntry,
        password: &str,
    ) -> Result<ExternalIdentity, Step> {
        match ldap
            .with_timeout(self.pool.op_timeout())
            .simple_bind(&entry.dn, password)
            .await
            .map_err(PoolError::from)?
            .rc
        {
            0 => {}
            INVALID_CREDENTIALS => return Err(Step::Bad),
            // Locked, expired, unwilling: a refusal that must not read differently.
            _ => return Err(Step::Bad),
        }
        let groups = self.groups(ldap, &entry.dn, &entry.username).await?;
        Ok(ExternalIdentity {
            username: entry.username.clone(),
            full_name: entry.full_name.clone(),
            email: entry.email.clone(),
            groups,
            managed_groups: self.managed_groups(),
        })
    }

    /// Runs `step` on a pooled connection within the login deadline; waiting for a turn counts
    /// against it too.
    async fn on_connection<T>(
        &self,
        step: impl AsyncFnOnce(&mut Ldap) -> Result<T, Step>,
    ) -> Result<T, ExternalAuthError> {
        let work = async {
            let _turn = self.pool.turn().await.map_err(Step::from)?;
            let mut ldap = self.pool.checkout().await.map_err(Step::from)?;
            let result = step(&mut ldap).await;
            match &result {
                // After a refused user bind the connection is still bound as nobody in
                // particular; checkout binds again before any reuse.
                Ok(_) | Err(Step::Bad) => self.pool.checkin(ldap),
                Err(Step::Down(_)) => {}
            }
            result
        };
        match tokio::time::timeout(self.deadline(), work).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(Step::Bad)) => Err(ExternalAuthError::BadCredentials),
            Ok(Err(Step::Down(m))) => {
                tracing::warn!(error = %m, "LDAP directory unavailable");
                Err(ExternalAuthError::Unavailable(m))
            }
            Err(_) => {
                tracing::warn!("LDAP directory did not answer in time");
                Err(ExternalAuthError::Unavailable(
                    "the directory did not answer in time".into(),
                ))
            }
        }
    }

    fn managed_groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, to) in &self.group_map {
            if !out.iter().any(|g| g.eq_ignore_ascii_case(to)) {
                out.push(to.clone());
            }
        }
        out
    }

    /// The vestibule groups the user's directory groups map to; rebinds as the search account.
    async fn groups(&self, ldap: &mut Ldap, dn: &str, username: &str) -> Result<Vec<String>, Step> {
        self.pool.bind_search(ldap).await?;
        let c = &self.config;
        if c.group_base.is_empty() || self.group_map.is_empty() {
            return Ok(Vec::new());
        }
        let filter = c
            .group_filter
            .replace("{dn}", &ldap_escape(dn))
            .replace("{username}", &ldap_escape(username));
        let SearchResult(entries, result) = ldap
            .with_timeout(self.pool.op_timeout())
            .search(
                &c.group_base,
                Scope::Subtree,
                &filter,
                vec![c.group_name_attribute.as_str()],
            )
            .await
            .map_err(PoolError::from)?;
        if result.rc != 0 && result.rc != NO_SUCH_OBJECT {
            return Err(PoolError::Refused(result.rc, result.text).into());
        }
        let mut out: Vec<String> = Vec::new();
        for entry in entries.into_iter().map(SearchEntry::construct) {
            let names: Vec<&String> = entry
                .attrs
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(&c.group_name_attribute))
                .flat_map(|(_, v)| v)
                .collect();
            for (from, to) in &self.group_map {
                let hit = same_dn(from, &entry.dn) || names.iter().any(|n| n.eq_ignore_ascii_case(from));
                if hit && !out.contains(to) {
                    out.push(to.clone());
                }
            }
        }
        Ok(out)
    }
}

/// DNs compared without case and without the spaces people put after commas.
fn same_dn(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

#[async_trait]
impl ExternalAuthenticator for LdapAuthenticator {
    async fn ping(&self) -> Result<(), ExternalAuthError> {
        // A checkout binds the search account, on an idle connection or a new one.
        self.on_connection(async |_: &mut Ldap| Ok(())).await
    }

    async fn find(&self, username: &str) -> Result<Option<DirectoryEntry>, ExternalAuthError> {
        if username.is_empty() {
            return Ok(None);
        }
        self.on_connection(async |ldap: &mut Ldap| self.search_user(ldap, username).await)
            .await
    }

    async fn verify(
        &self,
        entry: &DirectoryEntry,
        password: &str,
    ) -> Result<ExternalIdentity, ExternalAuthError> {
        // An empty password would be an unauthenticated bind, which some servers accept.
        if password.is_empty() || entry.dn.is_empty() {
            return Err(ExternalAuthError::BadCredentials);
        }
        self.on_connection(async |ldap: &mut Ldap| self.bind_user(ldap, entry, password).await)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_compare_loosely() {
        assert!(same_dn(
            "cn=Admins, ou=groups,dc=example,dc=org",
            "cn=admins,ou=groups,dc=example,dc=org"
        ));
        assert!(!same_dn("cn=admins,ou=groups", "cn=admins,ou=other"));
    }

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(
            ldap_escape("*)(uid=*))(|(uid=*"),
            "\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a"
        );
        assert_eq!(ldap_escape("a\\b\0"), "a\\5cb\\00");
    }
}
