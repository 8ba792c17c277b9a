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
    /// Checks the password and returns the identity. Must refuse an empty password without
    /// binding, and must finish within its configured timeouts.
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<ExternalIdentity, ExternalAuthError>;
}
