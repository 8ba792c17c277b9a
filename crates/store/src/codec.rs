//! Conversions between core types and the values every backend stores: SQL columns and the fields
//! of Redis hashes.

use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::{CookieTag, SecretHash};
use vestibule_core::session::{Expiry, GrantKind, Scope};

pub fn guid(s: &str) -> Result<Guid, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Other(format!("bad id in store: {s}")))
}

pub fn hash(s: &str) -> Result<SecretHash, StoreError> {
    SecretHash::from_hex(s).ok_or_else(|| StoreError::Other("bad hash in store".into()))
}

pub fn cookie(s: &str) -> Result<CookieTag, StoreError> {
    CookieTag::from_hex(s).ok_or_else(|| StoreError::Other("bad cookie tag in store".into()))
}

pub fn scope_to(scope: Scope) -> Option<String> {
    match scope {
        Scope::Full => None,
        Scope::Object(o) => Some(o.to_hex()),
    }
}

pub fn scope_from(s: Option<&str>) -> Result<Scope, StoreError> {
    Ok(match s {
        None => Scope::Full,
        Some(o) => Scope::Object(guid(o)?),
    })
}

/// (kind, server_secs, http_secs) columns of an expiry.
pub fn expiry_to(e: Expiry) -> (&'static str, Option<i64>, Option<i64>) {
    match e {
        Expiry::Idle {
            server_secs,
            http_secs,
        } => ("idle", Some(i64::from(server_secs)), Some(i64::from(http_secs))),
        Expiry::Absolute { .. } => ("absolute", None, None),
    }
}

pub fn expiry_from(
    kind: &str,
    server: Option<i64>,
    http: Option<i64>,
    expires_ms: i64,
) -> Result<Expiry, StoreError> {
    match (kind, server, http) {
        ("idle", Some(s), Some(h)) => Ok(Expiry::Idle {
            server_secs: s.clamp(0, u32::MAX as i64) as u32,
            http_secs: h.clamp(0, u32::MAX as i64) as u32,
        }),
        ("absolute", _, _) => Ok(Expiry::Absolute { expires_ms }),
        _ => Err(StoreError::Other(format!("bad expiry in store: {kind}"))),
    }
}

pub fn grant_kind(s: &str) -> Result<GrantKind, StoreError> {
    GrantKind::parse(s).ok_or_else(|| StoreError::Other(format!("bad grant kind in store: {s}")))
}

/// Case-folded key for case-insensitive unique names.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}
