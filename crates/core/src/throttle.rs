//! Throttling of failed logins, per account and per client address: growing delays, then a
//! temporary lockout.
//!
//! Failures are counted in memory (they are many and short-lived); an account lockout is written
//! to the metadata store's settings, so that `vestibule user unlock` and every node see it.
//! Locking resets the account's counter, so after an unlock or an expired lock it starts afresh.
//! A name that matches no user is counted and locked like any other: the answers must not tell
//! whether a user exists. Address blocks stay in memory: they protect this node from one client.
//!
//! The lockout check runs before every guarded login, including each trusted-authentication mint,
//! so an account found NOT locked is remembered for [`UNLOCKED_TTL_MS`] instead of reading the
//! store every time. A lock made on this node drops that memory at once; a lock made on another
//! node takes effect here within the TTL. A lock found is never cached, so an unlock (the CLI)
//! takes effect at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::now_ms;
use crate::config::ThrottleConfig;
use crate::error::Result;
use crate::store::MetadataStore;

/// Counters kept per map; past this, entries outside the window are dropped, then the oldest.
const MAX_TRACKED: usize = 100_000;
const LOCK_PREFIX: &str = "lockout.account.";
/// How long an account read as not locked is taken as not locked without reading the store.
pub const UNLOCKED_TTL_MS: i64 = 1000;

#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    failures: u64,
    last_ms: i64,
}

/// What one more failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// How long to wait before answering.
    pub delay: Duration,
    /// The account reached the lockout threshold and is now locked (until `locked_until_ms`).
    pub account_locked: bool,
    pub locked_until_ms: i64,
    /// The address reached its threshold and is now blocked.
    pub address_blocked: bool,
}

pub struct Throttle {
    config: ThrottleConfig,
    accounts: Mutex<HashMap<String, Counter>>,
    addresses: Mutex<HashMap<IpAddr, Counter>>,
    blocked: Mutex<HashMap<IpAddr, i64>>,
    /// Accounts (lower case) read as not locked, and when.
    unlocked: Mutex<HashMap<String, i64>>,
}

/// The settings key of an account's lockout; names are compared without case, like user names.
pub fn lock_key(account: &str) -> String {
    format!("{LOCK_PREFIX}{}", account.to_lowercase())
}

impl Throttle {
    pub fn new(config: ThrottleConfig) -> Self {
        Throttle {
            config,
            accounts: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
            blocked: Mutex::new(HashMap::new()),
            unlocked: Mutex::new(HashMap::new()),
        }
    }

    fn window_ms(&self) -> i64 {
        (self.config.window_secs.min(u32::MAX as u64) * 1000) as i64
    }

    /// The delay after `failures` in a row when the first `free` cost nothing: base, 2×base, …
    fn delay(&self, failures: u64, free: u64) -> Duration {
        if failures <= free || self.config.base_delay_ms == 0 {
            return Duration::ZERO;
        }
        let doublings = (failures - free - 1).min(20) as u32;
        let ms = self
            .config
            .base_delay_ms
            .saturating_mul(1u64 << doublings)
            .min(self.config.max_delay_ms);
        Duration::from_millis(ms)
    }

    /// The delay a locked account or blocked address answers with: that of the failure that
    /// locked it, so that it reads like one more wrong password.
    pub fn locked_delay(&self) -> Duration {
        self.delay(
            self.config
                .account_lockout_failures
                .max(self.config.account_free_failures + 1),
            self.config.account_free_failures,
        )
    }

    /// Whether the account is locked or the address blocked right now.
    pub async fn is_locked(
        &self,
        store: &dyn MetadataStore,
        account: Option<&str>,
        address: Option<IpAddr>,
    ) -> Result<bool> {
        let now = now_ms();
        if let Some(addr) = address {
            if let Ok(mut blocked) = self.blocked.lock() {
                match blocked.get(&addr) {
                    Some(until) if *until > now => return Ok(true),
                    Some(_) => {
                        blocked.remove(&addr);
                    }
                    None => {}
                }
            }
        }
        if let Some(name) = account {
            let key = name.to_lowercase();
            let fresh = |at: &i64| now - *at < UNLOCKED_TTL_MS;
            if let Ok(unlocked) = self.unlocked.lock() {
                if unlocked.get(&key).is_some_and(fresh) {
                    return Ok(false);
                }
            }
            if let Some(until) = locked_until(store, name).await? {
                if until > now {
                    return Ok(true);
                }
                // An expired lock is dropped, so the settings do not keep every name ever locked.
                store.set_setting(&lock_key(name), None).await?;
            }
            if let Ok(mut unlocked) = self.unlocked.lock() {
                if unlocked.len() >= MAX_TRACKED {
                    unlocked.retain(|_, at| fresh(at));
                    if unlocked.len() >= MAX_TRACKED {
                        unlocked.clear();
                    }
                }
                unlocked.insert(key, now);
            }
        }
        Ok(false)
    }

    /// Counts a failed login; the caller waits `delay` and stores the lock when one is due.
    pub fn failure(&self, account: Option<&str>, address: Option<IpAddr>) -> Failure {
        let now = now_ms();
        let window = self.window_ms();
        let c = &self.config;
        let mut out = Failure {
            delay: Duration::ZERO,
            account_locked: false,
            locked_until_ms: now + (c.lockout_secs.min(u32::MAX as u64) * 1000) as i64,
            address_blocked: false,
        };
        if let Some(name) = account {
            if let Ok(mut map) = self.accounts.lock() {
                let n = bump(&mut map, name.to_lowercase(), now, window);
                out.delay = out.delay.max(self.delay(n, c.account_free_failures));
                if c.account_lockout_failures > 0 && n >= c.account_lockout_failures {
                    map.remove(&name.to_lowercase());
                    out.account_locked = true;
                }
            }
        }
        if let Some(addr) = address {
            let n = match self.addresses.lock() {
                Ok(mut map) => bump(&mut map, addr, now, window),
                Err(_) => 0,
            };
            out.delay = out.delay.max(self.delay(n, c.address_free_failures));
            if c.address_lockout_failures > 0 && n >= c.address_lockout_failures {
                if let Ok(mut map) = self.addresses.lock() {
                    map.remove(&addr);
                }
                if let Ok(mut blocked) = self.blocked.lock() {
                    blocked.insert(addr, out.locked_until_ms);
                }
                out.address_blocked = true;
            }
        }
        if out.account_locked || out.address_blocked {
            crate::metrics::record_lockout();
        }
        out
    }

    /// A successful login clears the account's count (not the address's: one valid account must
    /// not let a client reset its guessing budget for others).
    pub fn success(&self, account: Option<&str>) {
        if let Some(name) = account {
            if let Ok(mut map) = self.accounts.lock() {
                map.remove(&name.to_lowercase());
            }
        }
    }

    /// Writes the lock of `account` until `until_ms` to the store.
    pub async fn lock(&self, store: &dyn MetadataStore, account: &str, until_ms: i64) -> Result<()> {
        store
            .set_setting(&lock_key(account), Some(&until_ms.to_string()))
            .await?;
        if let Ok(mut unlocked) = self.unlocked.lock() {
            unlocked.remove(&account.to_lowercase());
        }
        Ok(())
    }
}

/// When the account's lock ends, if it has one (expired or not).
pub async fn locked_until(store: &dyn MetadataStore, account: &str) -> Result<Option<i64>> {
    Ok(store
        .setting(&lock_key(account))
        .await?
        .and_then(|v| v.parse::<i64>().ok()))
}

/// Removes an account's lock; `true` if it was locked at the time.
pub async fn unlock(store: &dyn MetadataStore, account: &str) -> Result<bool> {
    let was = locked_until(store, account)
        .await?
        .is_some_and(|until| until > now_ms());
    store.set_setting(&lock_key(account), None).await?;
    Ok(was)
}

fn bump<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Counter>,
    key: K,
    now: i64,
    window: i64,
) -> u64 {
    if map.len() >= MAX_TRACKED && !map.contains_key(&key) {
        map.retain(|_, c| now - c.last_ms < window);
        if map.len() >= MAX_TRACKED {
            if let Some(oldest) = map.iter().min_by_key(|(_, c)| c.last_ms).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
    }
    let c = map.entry(key).or_default();
    if now - c.last_ms >= window {
        c.failures = 0;
    }
    c.failures += 1;
    c.last_ms = now;
    c.failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(ThrottleConfig {
            account_free_failures: 2,
            account_lockout_failures: 5,
            address_free_failures: 3,
            address_lockout_failures: 7,
            lockout_secs: 60,
            window_secs: 60,
            base_delay_ms: 100,
            max_delay_ms: 250,
        })
    }

    #[test]
    fn delays_grow_then_the_account_locks() {
        let t = throttle();
        let delays: Vec<u64> = (0..5)
            .map(|_| t.failure(Some("Bob"), None))
            .map(|f| f.delay.as_millis() as u64)
            .collect();
        assert_eq!(delays, vec![0, 0, 100, 200, 250]);
        // The fifth failure locked the account and reset its count.
        let f = t.failure(Some("bob"), None);
        assert!(!f.account_locked);
        assert_eq!(f.delay, Duration::ZERO);
    }

    #[test]
    fn the_lock_is_reported_once_and_success_resets() {
        let t = throttle();
        let locks = (0..5)
            .filter(|_| t.failure(Some("a"), None).account_locked)
            .count();
        assert_eq!(locks, 1);
        t.failure(Some("b"), None);
        t.failure(Some("b"), None);
        t.success(Some("B"));
        assert_eq!(t.failure(Some("b"), None).delay, Duration::ZERO);
    }

    #[test]
    fn addresses_are_blocked_across_accounts() {
        let t = throttle();
        let addr: IpAddr = "10.0.0.1".parse().unwrap();
        let blocked = (0..7)
            .map(|i| t.failure(Some(&format!("user{i}")), Some(addr)))
            .filter(|f| f.address_blocked)
            .count();
        assert_eq!(blocked, 1);
    }
}
