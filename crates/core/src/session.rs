//! Session and grant records: what a store keeps for each logged-in client and each handed-out
//! token. Both dialects' sessions are the same record.

use crate::ids::Guid;
use crate::secret::{CookieTag, SecretHash};

/// Login modes, with MicroStrategy's numbers (the ThoughtSpot dialect maps onto them).
pub mod login_mode {
    pub const DELEGATION: i32 = -1;
    pub const STANDARD: i32 = 1;
    pub const GUEST: i32 = 8;
    pub const LDAP: i32 = 16;
    pub const API_TOKEN: i32 = 4096;
    pub const SAML: i32 = 1_048_576;
    pub const OIDC: i32 = 4_194_304;
    /// Not a MicroStrategy mode: a session made from a ThoughtSpot trusted-authentication token.
    pub const TRUSTED: i32 = 64;
}

/// What a session may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everything the user's privileges allow.
    Full,
    /// One object and nothing else (ThoughtSpot `REPORT_BOOK_VIEW`).
    Object(Guid),
}

impl Scope {
    /// Whether this scope lets the holder read `object`.
    pub fn allows(&self, object: Guid) -> bool {
        match self {
            Scope::Full => true,
            Scope::Object(o) => *o == object,
        }
    }
}

/// How a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Ends after a stretch of inactivity; every use starts the stretch again. The server (I-Server)
    /// and HTTP timeouts are kept apart as MicroStrategy does; a session lives while both do.
    Idle { server_secs: u32, http_secs: u32 },
    /// Ends at a fixed time, whatever the activity (ThoughtSpot v2 bearer tokens).
    Absolute { expires_ms: i64 },
}

/// A live session. The token and cookie are stored only as hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hash of the auth token (`X-MSTR-AuthToken`, or the bearer token): the session's key.
    pub token: SecretHash,
    /// The `JSESSIONID` cookie the token is bound to (its tag), if it was issued with one.
    pub cookie: Option<CookieTag>,
    pub user_id: Guid,
    pub login_mode: i32,
    pub scope: Scope,
    pub created_ms: i64,
    pub last_active_ms: i64,
    pub expiry: Expiry,
}

impl Session {
    /// The instant (ms) after which the session is no longer valid.
    pub fn expires_ms(&self) -> i64 {
        match self.expiry {
            Expiry::Idle {
                server_secs,
                http_secs,
            } => self.last_active_ms + 1000 * i64::from(server_secs.min(http_secs)),
            Expiry::Absolute { expires_ms } => expires_ms,
        }
    }

    pub fn is_live(&self, now_ms: i64) -> bool {
        now_ms < self.expires_ms()
    }

    /// The idle timeout reported to clients, in seconds.
    pub fn timeout_secs(&self, now_ms: i64) -> i64 {
        match self.expiry {
            Expiry::Idle { server_secs, .. } => i64::from(server_secs),
            Expiry::Absolute { expires_ms } => ((expires_ms - now_ms) / 1000).max(0),
        }
    }
}

/// Kinds of single-purpose tokens that are not sessions but can make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantKind {
    /// MicroStrategy identity token, exchanged at `/api/auth/delegate`.
    Identity,
    /// ThoughtSpot v1 trusted-authentication token, exchanged at `session/login/token`.
    Trusted,
    /// A started single sign-on, used up at its callback (see `sso.rs`).
    SsoFlow,
}

impl GrantKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            GrantKind::Identity => "identity",
            GrantKind::Trusted => "trusted",
            GrantKind::SsoFlow => "sso_flow",
        }
    }

    pub fn parse(s: &str) -> Option<GrantKind> {
        match s {
            "identity" => Some(GrantKind::Identity),
            "trusted" => Some(GrantKind::Trusted),
            "sso_flow" => Some(GrantKind::SsoFlow),
            _ => None,
        }
    }
}

/// A handed-out token that can be exchanged for a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub hash: SecretHash,
    pub kind: GrantKind,
    pub user_id: Guid,
    pub scope: Scope,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// The session it was made from; an identity token dies with it.
    pub origin: Option<SecretHash>,
}
