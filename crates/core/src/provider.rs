//! External authentication providers: a directory (LDAP today) that checks a user name and
//! password and tells who the user is and which groups it holds.
//!
//! The core defines the trait; an implementation lives in its own crate (`vestibule-ldap`) and is
//! handed to [`crate::Core::with_external_auth`], so the core stays free of network protocols.

use async_trait::async_trait;
use thiserror::Error;

/// Who the directory says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The login name as the directory spells it (recorded in vestibule's directory).
    pub username: String,
    pub full_name: String,
    pub email: String,
    /// The vestibule groups the user's directory groups map to (after the configured mapping).
    pub groups: Vec<String>,
    /// Every vestibule group the mapping can yield: membership of these is refreshed at login.
    pub managed_groups: Vec<String>,
}

/// A user the directory found by name, before its password is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The entry's distinguished name, bound against with the password.
    pub dn: String,
    /// The login name as the directory spells it (the configured user-name attribute): the
    /// identity whose failed-login budget the attempt uses.
    pub username: String,
    pub full_name: String,
    pub email: String,
}

#[derive(Debug, Error)]
pub enum ExternalAuthError {
    /// Unknown user, wrong or empty password, a user outside the search base or excluded by the
    /// filter: one answer for all.
    #[error("bad credentials")]
    BadCredentials,
    /// The directory cannot be reached, is too slow, or refused the search account.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait ExternalAuthenticator: Send + Sync + 'static {
    /// The one entry `username` names; `None` when none or several match. Checks no password.
    /// Must finish within its configured timeouts.
    async fn find(&self, username: &str) -> Result<Option<DirectoryEntry>, ExternalAuthError>;

    /// Checks the password against an entry [`ExternalAuthenticator::find`] returned, and returns
    /// the identity. Must refuse an empty password without binding, and must finish within its
    /// configured timeouts.
    async fn verify(
        &self,
        entry: &DirectoryEntry,
        password: &str,
    ) -> Result<ExternalIdentity, ExternalAuthError>;

    /// A round trip to the directory as the search account: `Ok` when it answers and accepts
    /// the account (`/health/ready`). Must finish within its configured timeouts.
    async fn ping(&self) -> Result<(), ExternalAuthError>;

    /// [`ExternalAuthenticator::find`], then [`ExternalAuthenticator::verify`].
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<ExternalIdentity, ExternalAuthError> {
        match self.find(username).await? {
            Some(entry) => self.verify(&entry, password).await,
            None => Err(ExternalAuthError::BadCredentials),
        }
    }
}
