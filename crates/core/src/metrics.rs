//! Process-wide counters of the core's security events (logins by dialect, mode and outcome,
//! lockouts), read by the HTTP layer's `/metrics`.
//!
//! They are relaxed atomics in statics, so recording costs a read lock and one uncontended
//! increment, and any part of the core can call a hook without holding a handle:
//! `metrics::record_login(dialect, mode, ok)`, `metrics::record_lockout()`. One process serves one
//! core, so process-wide is per server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::session::login_mode;

/// The login modes counted separately, with the label `/metrics` gives each; any other mode is
/// counted as "other".
pub const LOGIN_MODES: &[(i32, &str)] = &[
    (login_mode::STANDARD, "standard"),
    (login_mode::GUEST, "guest"),
    (login_mode::LDAP, "ldap"),
    (login_mode::API_TOKEN, "api_token"),
    (login_mode::DELEGATION, "delegation"),
    (login_mode::TRUSTED, "trusted"),
    (login_mode::SAML, "saml"),
    (login_mode::OIDC, "oidc"),
];
const OTHER: usize = LOGIN_MODES.len();
const SLOTS: usize = LOGIN_MODES.len() + 1;

/// The dialect label of a login whose caller named none.
pub const NO_DIALECT: &str = "none";
/// Dialect labels kept apart; further ones are counted as "other". Labels are the HTTP layer's
/// dialect names, never text from a request, so the bound only guards against a mistake.
const MAX_DIALECTS: usize = 8;

#[derive(Default)]
struct DialectCounters {
    ok: [AtomicU64; SLOTS],
    failed: [AtomicU64; SLOTS],
}

type Dialects = Vec<(&'static str, Arc<DialectCounters>)>;

static DIALECTS: RwLock<Dialects> = RwLock::new(Vec::new());
static LOCKOUTS: AtomicU64 = AtomicU64::new(0);

fn slot(mode: i32) -> usize {
    LOGIN_MODES.iter().position(|(m, _)| *m == mode).unwrap_or(OTHER)
}

fn find(list: &Dialects, label: &str) -> Option<Arc<DialectCounters>> {
    list.iter().find(|(d, _)| *d == label).map(|(_, c)| Arc::clone(c))
}

/// The counters of the dialect `label`, made on its first login.
fn counters_of(label: &str) -> Option<Arc<DialectCounters>> {
    let label = if label.is_empty() { NO_DIALECT } else { label };
    if let Some(c) = DIALECTS.read().ok().and_then(|list| find(&list, label)) {
        return Some(c);
    }
    let mut list = DIALECTS.write().ok()?;
    if let Some(c) = find(&list, label) {
        return Some(c);
    }
    let label: &'static str = if list.len() < MAX_DIALECTS {
        // Leaked once per label, so at most MAX_DIALECTS short strings in a process's life.
        Box::leak(label.to_string().into_boxed_str())
    } else {
        "other"
    };
    if let Some(c) = find(&list, label) {
        return Some(c);
    }
    let c = Arc::new(DialectCounters::default());
    list.push((label, Arc::clone(&c)));
    Some(c)
}

/// Makes the counters of `dialect` now, so `/metrics` shows its zeros before its first login.
pub fn declare_dialect(dialect: &str) {
    let _ = counters_of(dialect);
}

/// Counts one login attempt that came in through `dialect` (the API family, as the HTTP layer
/// names it), of `mode`, that succeeded (`ok`) or failed.
pub fn record_login(dialect: &str, mode: i32, ok: bool) {
    let Some(counters) = counters_of(dialect) else {
        return;
    };
    let counters = if ok { &counters.ok } else { &counters.failed };
    counters[slot(mode)].fetch_add(1, Ordering::Relaxed);
}

/// Counts one lockout: an account or client refused for too many failed logins.
pub fn record_lockout() {
    LOCKOUTS.fetch_add(1, Ordering::Relaxed);
}

/// Login counts of one dialect and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCounts {
    pub dialect: &'static str,
    pub mode: &'static str,
    pub ok: u64,
    pub failed: u64,
}

/// The current values of every counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Every mode of every dialect that has had a login, dialects in the order of their first.
    pub logins: Vec<LoginCounts>,
    pub lockouts: u64,
}

pub fn snapshot() -> Snapshot {
    let label = |i: usize| LOGIN_MODES.get(i).map(|(_, l)| *l).unwrap_or("other");
    let dialects: Dialects = DIALECTS.read().map(|l| l.clone()).unwrap_or_default();
    let logins = dialects
        .iter()
        .flat_map(|(d, c)| {
            (0..SLOTS).map(move |i| LoginCounts {
                dialect: d,
                mode: label(i),
                ok: c.ok[i].load(Ordering::Relaxed),
                failed: c.failed[i].load(Ordering::Relaxed),
            })
        })
        .collect();
    Snapshot {
        logins,
        lockouts: LOCKOUTS.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(dialect: &str, mode: &str) -> (u64, u64) {
        snapshot()
            .logins
            .into_iter()
            .find(|c| c.dialect == dialect && c.mode == mode)
            .map(|c| (c.ok, c.failed))
            .unwrap_or_default()
    }

    #[test]
    fn logins_are_counted_by_dialect_mode_and_outcome() {
        let before = counts("d-test", "ldap");
        let before_other = counts("d-test", "other");
        let before_none = counts(NO_DIALECT, "standard");
        record_login("d-test", login_mode::LDAP, true);
        record_login("d-test", login_mode::LDAP, false);
        record_login("d-test", login_mode::LDAP, false);
        record_login("d-test", 12345, false);
        record_login("", login_mode::STANDARD, true);
        assert_eq!(counts("d-test", "ldap"), (before.0 + 1, before.1 + 2));
        assert_eq!(counts("d-test", "other").1, before_other.1 + 1);
        assert_eq!(counts(NO_DIALECT, "standard").0, before_none.0 + 1);
        let lockouts = snapshot().lockouts;
        record_lockout();
        assert!(snapshot().lockouts > lockouts);
    }
}
