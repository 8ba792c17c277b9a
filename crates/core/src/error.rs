//! The core's one error enum. Each dialect maps it to its own wire error in one place.

use thiserror::Error;

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum CoreError {
    /// Wrong user name or password, unknown user, disabled user: one answer for all, so a caller
    /// learns nothing about which it was.
    #[error("Login failed")]
    BadCredentials,
    /// No session, an expired one, or an unknown token.
    #[error("The user's session has expired, please reauthenticate")]
    SessionInvalid,
    /// A login mode that exists but is not enabled here.
    #[error("{0}")]
    LoginModeDisabled(String),
    /// The caller lacks a privilege.
    #[error("You do not have the privilege '{0}' required for this action")]
    MissingPrivilege(&'static str),
    /// The caller's session is limited to objects other than the one asked for.
    #[error("This session may only access object {0}")]
    OutOfScope(String),
    /// The object's ACL does not give the caller the access it asked for.
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    MissingField(String),
    /// A model operation without the project or changeset it works in.
    #[error("{0}")]
    Unplaced(crate::model::Place),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Conflict(String),
    /// A backing service (store, directory) cannot be reached right now.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a storage backend reports; the core turns it into [`CoreError::Unavailable`] or
/// [`CoreError::Internal`].
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage error: {0}")]
    Other(String),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => CoreError::Unavailable(m),
            StoreError::Duplicate(m) => CoreError::AlreadyExists(m),
            StoreError::NotFound(m) => CoreError::NotFound(m),
            StoreError::Conflict(m) => CoreError::Conflict(m),
            StoreError::Other(m) => CoreError::Internal(m),
        }
    }
}
