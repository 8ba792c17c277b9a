//! The directory's records: users (and where their password is checked), groups, projects and
//! API tokens, as the services use them and the stores keep them.

use crate::ids::Guid;
use crate::privilege::Privilege;
use crate::secret::SecretHash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSource {
    /// Password kept here (argon2id).
    Local,
    /// Authenticated against an LDAP directory; linked on first login.
    Ldap,
    /// Made by vestibule itself (the guest user).
    Builtin,
    /// Signs in through an OpenID Connect provider (`sso.oidc[].id`), which knows it by
    /// `subject` (`sub`): a later sign-in under the same name with another subject is refused.
    Oidc { provider: String, subject: String },
    /// Signs in through a SAML identity provider (`sso.saml[].id`), which knows it by its
    /// `NameID`: a later sign-in under the same name with another `NameID` is refused.
    Saml { provider: String, subject: String },
}

impl UserSource {
    /// The stored form: `local`, `ldap`, `builtin`, or `oidc:<provider>:<subject>` (a provider
    /// id has no `:`, so the first one after the prefix ends it).
    pub fn as_str(&self) -> std::borrow::Cow<'static, str> {
        match self {
            UserSource::Local => "local".into(),
            UserSource::Ldap => "ldap".into(),
            UserSource::Builtin => "builtin".into(),
            UserSource::Oidc { provider, subject } => format!("oidc:{provider}:{subject}").into(),
            UserSource::Saml { provider, subject } => format!("saml:{provider}:{subject}").into(),
        }
    }

    pub fn parse(s: &str) -> Option<UserSource> {
        match s {
            "local" => Some(UserSource::Local),
            "ldap" => Some(UserSource::Ldap),
            "builtin" => Some(UserSource::Builtin),
            _ => {
                let (kind, rest) = s.split_once(':')?;
                let (provider, subject) = rest.split_once(':')?;
                if provider.is_empty() || subject.is_empty() {
                    return None;
                }
                let (provider, subject) = (provider.into(), subject.into());
                match kind {
                    "oidc" => Some(UserSource::Oidc { provider, subject }),
                    "saml" => Some(UserSource::Saml { provider, subject }),
                    _ => None,
                }
            }
        }
    }

    /// The kind alone, without the provider's details: `local`, `ldap`, `builtin`, `oidc`, `saml`.
    pub fn kind(&self) -> &'static str {
        match self {
            UserSource::Local => "local",
            UserSource::Ldap => "ldap",
            UserSource::Builtin => "builtin",
            UserSource::Oidc { .. } => "oidc",
            UserSource::Saml { .. } => "saml",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Guid,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub enabled: bool,
    pub source: UserSource,
    /// argon2id PHC string; `None` for users that cannot log in with a password here.
    pub password_hash: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
}

impl User {
    /// Initials as MicroStrategy shows them: the first letter of each of the first two words.
    pub fn initials(&self) -> String {
        let name = if self.full_name.trim().is_empty() {
            &self.username
        } else {
            &self.full_name
        };
        name.split_whitespace()
            .filter_map(|w| w.chars().next())
            .take(2)
            .flat_map(char::to_uppercase)
            .collect()
    }

    pub fn display_name(&self) -> &str {
        if self.full_name.trim().is_empty() {
            &self.username
        } else {
            &self.full_name
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: Guid,
    pub name: String,
    pub description: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: Guid,
    pub name: String,
    pub description: String,
    pub created_ms: i64,
}

/// A long-lived token for loginMode 4096; stored as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub hash: SecretHash,
    pub user_id: Guid,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
}

/// A user with what a request needs to know about it, as cached.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub user: User,
    /// Effective privileges, sorted by id.
    pub privileges: Vec<Privilege>,
    /// [`User::initials`], made once per cached copy: a session check answers it every time.
    pub initials: String,
    /// The groups the user is a member of (object ACLs name groups).
    pub groups: Vec<Guid>,
}

impl UserInfo {
    pub fn new(user: User, privileges: Vec<Privilege>) -> UserInfo {
        UserInfo {
            initials: user.initials(),
            user,
            privileges,
            groups: Vec::new(),
        }
    }

    /// The same, with the user's groups.
    pub fn with_groups(mut self, groups: Vec<Guid>) -> UserInfo {
        self.groups = groups;
        self
    }

    pub fn has(&self, p: Privilege) -> bool {
        self.privileges.contains(&p)
    }
}

pub const ADMIN_USER: &str = "administrator";
pub const GUEST_USER: &str = "guest";
pub const ADMIN_GROUP: &str = "System Administrators";
pub const EVERYONE_GROUP: &str = "Everyone";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_through_their_stored_form() {
        let oidc = UserSource::Oidc {
            provider: "corp".into(),
            subject: "a:b|c".into(),
        };
        for s in [UserSource::Local, UserSource::Ldap, UserSource::Builtin, oidc] {
            assert_eq!(UserSource::parse(&s.as_str()), Some(s));
        }
        assert_eq!(UserSource::parse("oidc:corp"), None);
        assert_eq!(UserSource::parse("oidc::x"), None);
    }
}
