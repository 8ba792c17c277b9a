//! The configuration sections of login protection: `ldap` (the directory LDAP logins check),
//! `throttle` (failed-login delays and lockouts) and `audit` (where authentication events go).
//!
//! They live apart from `config.rs` only to keep that file short; [`crate::config::Config`] holds
//! them and calls [`validate`]. Every leaf is a scalar, so each has a `VESTIBULE_*` name; the
//! group map is therefore one string of `;`-separated entries.

use serde::{Deserialize, Serialize};

use super::{err, ConfigError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host:389` or `ldaps://host:636`; empty = LDAP logins (loginMode 16) are off.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    pub starttls: bool,
    /// Check the directory's TLS certificate (turn off only for a test directory).
    pub tls_verify: bool,
    /// A PEM file with the certificate authority that signed the directory's certificate, when it
    /// is not in the system's trust store; empty = the system's.
    pub ca_file: String,
    /// The account vestibule binds as to search for users and groups.
    pub bind_dn: String,
    pub bind_password: String,
    /// Where users are searched (subtree); a user outside it cannot log in.
    pub search_base: String,
    /// The filter that finds one user; `{username}` is replaced by the escaped login name.
    pub user_filter: String,
    /// Attribute holding the login name that vestibule records for the user.
    pub username_attribute: String,
    /// Attribute holding the user's full name.
    pub name_attribute: String,
    /// Attribute holding the user's e-mail address.
    pub email_attribute: String,
    /// Where groups are searched; empty = no group search.
    pub group_base: String,
    /// The filter that finds a user's groups; `{dn}` and `{username}` are replaced, escaped.
    pub group_filter: String,
    /// Attribute holding a group's short name (matched by `group_map` as well as the DN).
    pub group_name_attribute: String,
    /// `DIRECTORY_GROUP=VESTIBULE_GROUP` entries separated by `;`. The directory group is a DN or
    /// a group name; the entry is split at its last `=`. A user is made a member of each mapped
    /// vestibule group it holds in the directory and removed from those it no longer holds, at
    /// every login; groups not named here are left alone.
    pub group_map: String,
    /// Seconds to wait for a connection to the directory.
    pub connect_timeout_secs: u64,
    /// Seconds to wait for any one directory operation.
    pub operation_timeout_secs: u64,
    /// Idle connections kept open for later logins.
    pub pool_size: u64,
}

impl Default for LdapConfig {
    fn default() -> Self {
        LdapConfig {
            url: String::new(),
            starttls: false,
            tls_verify: true,
            ca_file: String::new(),
            bind_dn: String::new(),
            bind_password: String::new(),
            search_base: String::new(),
            user_filter: "(&(objectClass=inetOrgPerson)(uid={username}))".into(),
            username_attribute: "uid".into(),
            name_attribute: "cn".into(),
            email_attribute: "mail".into(),
            group_base: String::new(),
            group_filter: "(&(objectClass=groupOfNames)(member={dn}))".into(),
            group_name_attribute: "cn".into(),
            group_map: String::new(),
            connect_timeout_secs: 5,
            operation_timeout_secs: 5,
            pool_size: 4,
        }
    }
}

impl LdapConfig {
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    /// The group map as (directory group, vestibule group) pairs, in order.
    pub fn group_pairs(&self) -> Result<Vec<(String, String)>, ConfigError> {
        let mut out = Vec::new();
        for entry in self.group_map.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((from, to)) = entry.rsplit_once('=') else {
                return Err(ConfigError(format!(
                    "ldap.group_map: '{entry}' is not DIRECTORY_GROUP=VESTIBULE_GROUP"
                )));
            };
            let (from, to) = (from.trim(), to.trim());
            if from.is_empty() || to.is_empty() {
                return Err(ConfigError(format!(
                    "ldap.group_map: '{entry}' has an empty side; write DIRECTORY_GROUP=VESTIBULE_GROUP"
                )));
            }
            out.push((from.to_owned(), to.to_owned()));
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Failed logins an account may have in a row before its answers are delayed.
    pub account_free_failures: u64,
    /// Failed logins in a row that lock an account (0 = never lock).
    pub account_lockout_failures: u64,
    /// Failed logins from one client address that block that address (0 = never).
    pub address_lockout_failures: u64,
    /// Failed logins from one address before its answers are delayed.
    pub address_free_failures: u64,
    /// How long a lockout lasts.
    pub lockout_secs: u64,
    /// Failures older than this are forgotten.
    pub window_secs: u64,
    /// The first delay; each further failure doubles it.
    pub base_delay_ms: u64,
    /// The longest delay.
    pub max_delay_ms: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            account_free_failures: 3,
            account_lockout_failures: 10,
            address_free_failures: 10,
            address_lockout_failures: 100,
            lockout_secs: 15 * 60,
            window_secs: 15 * 60,
            base_delay_ms: 250,
            max_delay_ms: 4000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// "stdout", "stderr", "file:/path/to/audit.log" (appended to) or "off".
    pub target: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            target: "stdout".into(),
        }
    }
}

impl LdapConfig {
    /// The section's rules (nothing is checked while LDAP is off).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = self;
        if l.enabled() {
            if !(l.url.starts_with("ldap://") || l.url.starts_with("ldaps://")) {
                return err(format!(
                    "ldap.url: '{}' must start with ldap:// or ldaps://",
                    l.url
                ));
            }
            if l.starttls && l.url.starts_with("ldaps://") {
                return err("ldap.starttls: StartTLS is for ldap:// URLs; an ldaps:// URL is already TLS");
            }
            if l.search_base.trim().is_empty() {
                return err(
                    "ldap.search_base: must be set when ldap.url is (e.g. ou=people,dc=example,dc=org)",
                );
            }
            if !l.user_filter.contains("{username}") {
                return err("ldap.user_filter: must contain {username}, e.g. (uid={username})");
            }
            if !(l.user_filter.starts_with('(') && l.user_filter.ends_with(')')) {
                return err("ldap.user_filter: must be an LDAP filter in parentheses, e.g. (uid={username})");
            }
            if l.bind_dn.is_empty() != l.bind_password.is_empty() {
                return err(
                    "ldap.bind_dn and ldap.bind_password: set both (or neither, to search anonymously)",
                );
            }
            for (name, v) in [
                ("username_attribute", &l.username_attribute),
                ("name_attribute", &l.name_attribute),
                ("email_attribute", &l.email_attribute),
                ("group_name_attribute", &l.group_name_attribute),
            ] {
                if v.trim().is_empty() {
                    return err(format!("ldap.{name}: must not be empty"));
                }
            }
            if !l.group_base.is_empty()
                && !l.group_filter.contains("{dn}")
                && !l.group_filter.contains("{username}")
            {
                return err("ldap.group_filter: must contain {dn} or {username}, e.g. (member={dn})");
            }
            if l.connect_timeout_secs == 0 || l.operation_timeout_secs == 0 {
                return err("ldap.connect_timeout_secs and ldap.operation_timeout_secs: must be at least 1");
            }
            if l.pool_size == 0 || l.pool_size > 64 {
                return err("ldap.pool_size: must be between 1 and 64");
            }
            l.group_pairs()?;
        }
        Ok(())
    }
}

impl ThrottleConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = self;
        if t.window_secs == 0 || t.lockout_secs == 0 {
            return err("throttle.window_secs and throttle.lockout_secs: must be at least 1");
        }
        if t.max_delay_ms > 30_000 {
            return err("throttle.max_delay_ms: at most 30000 (a longer wait only ties up connections)");
        }
        if t.base_delay_ms > t.max_delay_ms {
            return err("throttle.base_delay_ms: must not exceed throttle.max_delay_ms");
        }
        Ok(())
    }
}

impl AuditConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let target = &self.target;
        if !(target == "stdout"
            || target == "stderr"
            || target == "off"
            || target.strip_prefix("file:").is_some_and(|p| !p.is_empty()))
        {
            return err(format!(
                "audit.target: '{target}' is not one of stdout, stderr, off, file:/path/to/audit.log"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_map_splits_at_the_last_equals() {
        let l = LdapConfig {
            group_map: "cn=admins,ou=groups,dc=example,dc=org=System Administrators; analysts = Analysts ;"
                .into(),
            ..LdapConfig::default()
        };
        assert_eq!(
            l.group_pairs().unwrap(),
            vec![
                (
                    "cn=admins,ou=groups,dc=example,dc=org".to_string(),
                    "System Administrators".to_string()
                ),
                ("analysts".to_string(), "Analysts".to_string()),
            ]
        );
        let bad = LdapConfig {
            group_map: "noequals".into(),
            ..LdapConfig::default()
        };
        assert!(bad.group_pairs().is_err());
    }
}
