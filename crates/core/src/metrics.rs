//! Process-wide counters of the core's security events (logins by mode and outcome, lockouts),
//! read by the HTTP layer's `/metrics`.
//!
//! They are plain relaxed atomics in a static, so recording costs one uncontended increment and any
//! part of the core can call a hook without holding a handle: `metrics::record_login(mode, ok)`,
//! `metrics::record_lockout()`. One process serves one core, so process-wide is per server.

use std::sync::atomic::{AtomicU64, Ordering};

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

struct Counters {
    logins_ok: [AtomicU64; SLOTS],
    logins_failed: [AtomicU64; SLOTS],
    lockouts: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);

static COUNTERS: Counters = Counters {
    logins_ok: [ZERO; SLOTS],
    logins_failed: [ZERO; SLOTS],
    lockouts: ZERO,
};

fn slot(mode: i32) -> usize {
    LOGIN_MODES.iter().position(|(m, _)| *m == mode).unwrap_or(OTHER)
}

/// Counts one login attempt of `mode` that succeeded (`ok`) or failed.
pub fn record_login(mode: i32, ok: bool) {
    let counters = if ok {
        &COUNTERS.logins_ok
    } else {
        &COUNTERS.logins_failed
    };
    counters[slot(mode)].fetch_add(1, Ordering::Relaxed);
}

/// Counts one lockout: an account or client refused for too many failed logins.
pub fn record_lockout() {
    COUNTERS.lockouts.fetch_add(1, Ordering::Relaxed);
}

/// Login counts of one mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCounts {
    pub mode: &'static str,
    pub ok: u64,
    pub failed: u64,
}

/// The current values of every counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub logins: Vec<LoginCounts>,
    pub lockouts: u64,
}

pub fn snapshot() -> Snapshot {
    let label = |i: usize| LOGIN_MODES.get(i).map(|(_, l)| *l).unwrap_or("other");
    Snapshot {
        logins: (0..SLOTS)
            .map(|i| LoginCounts {
                mode: label(i),
                ok: COUNTERS.logins_ok[i].load(Ordering::Relaxed),
                failed: COUNTERS.logins_failed[i].load(Ordering::Relaxed),
            })
            .collect(),
        lockouts: COUNTERS.lockouts.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(mode: &str) -> LoginCounts {
        snapshot().logins.into_iter().find(|c| c.mode == mode).unwrap()
    }

    #[test]
    fn logins_are_counted_by_mode_and_outcome() {
        let before_ldap = counts("ldap");
        let before_other = counts("other");
        record_login(login_mode::LDAP, true);
        record_login(login_mode::LDAP, false);
        record_login(login_mode::LDAP, false);
        record_login(12345, false);
        let after_ldap = counts("ldap");
        assert!(after_ldap.ok > before_ldap.ok);
        assert!(after_ldap.failed >= before_ldap.failed + 2);
        assert!(counts("other").failed > before_other.failed);
        let lockouts = snapshot().lockouts;
        record_lockout();
        assert!(snapshot().lockouts > lockouts);
    }
}
