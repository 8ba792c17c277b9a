//! The attempt store of one node: budgets in memory, durable locks also written to the metadata
//! store's settings (`lockout.account.<key>`) so that a restart keeps them and `vestibule user
//! unlock`, run beside the server, ends them.
//!
//! Every decision is made under one mutex, so reserving is atomic. The settings are read outside
//! it: a key not known to be locked is looked up there at most once per [`UNLOCKED_TTL_MS`] (a
//! lock made before a restart, or by another node on the same metadata store); a lock this node
//! made is trusted from memory until it has been written, and once written it is confirmed
//! against the settings on each attempt, so an unlock by the CLI takes effect at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::store::{AttemptStore, Budget, MetadataStore, Reservation, Settled, StoreResult};

/// Keys kept at most; past this, keys with nothing to remember are dropped, then the quietest.
const MAX_TRACKED: usize = 100_000;
const LOCK_PREFIX: &str = "lockout.";
/// How long a key read as not locked in the settings is taken as not locked without reading again.
pub const UNLOCKED_TTL_MS: i64 = 1000;

/// The settings key of a durable lock.
pub fn lock_setting(key: &str) -> String {
    format!("{LOCK_PREFIX}{key}")
}

#[derive(Debug, Default)]
struct Entry {
    failures: u64,
    last_failure_ms: i64,
    /// Places held: ticket and until when.
    held: Vec<(u64, i64)>,
    locked_until_ms: i64,
    /// The lock is in the settings (so the settings say whether it still holds).
    lock_written: bool,
    /// When the settings last said this key was not locked.
    seen_unlocked_ms: Option<i64>,
}

impl Entry {
    fn forget_old(&mut self, budget: &Budget, now: i64) {
        if now - self.last_failure_ms >= budget.window_ms {
            self.failures = 0;
        }
        self.held.retain(|(_, until)| *until > now);
    }

    fn idle(&self, now: i64) -> bool {
        self.held.is_empty() && self.failures == 0 && self.locked_until_ms <= now
    }
}

pub struct MemoryAttempts {
    entries: Mutex<HashMap<String, Entry>>,
    /// Where durable locks are written; `None` = locks live in memory only.
    settings: Option<Arc<dyn MetadataStore>>,
}

/// What must be read from the settings before deciding.
enum Look {
    Nothing,
    /// Whether this node's written lock (ending then) still stands.
    Confirm(i64),
    /// Whether a lock this node does not know of stands.
    Read,
}

impl MemoryAttempts {
    pub fn new(settings: Option<Arc<dyn MetadataStore>>) -> Self {
        MemoryAttempts {
            entries: Mutex::new(HashMap::new()),
            settings,
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves counters that are still counters.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn settings_for(&self, budget: &Budget) -> Option<&dyn MetadataStore> {
        self.settings.as_deref().filter(|_| budget.durable)
    }

    async fn stored_lock(store: &dyn MetadataStore, key: &str) -> StoreResult<Option<i64>> {
        Ok(store
            .setting(&lock_setting(key))
            .await?
            .and_then(|v| v.parse::<i64>().ok()))
    }
}

/// The entry of `key`, made room for.
fn entry<'m>(map: &'m mut HashMap<String, Entry>, key: &str, now: i64) -> &'m mut Entry {
    if map.len() >= MAX_TRACKED && !map.contains_key(key) {
        map.retain(|_, e| !e.idle(now));
        if map.len() >= MAX_TRACKED {
            let quietest = map
                .iter()
                .filter(|(_, e)| e.held.is_empty() && e.locked_until_ms <= now)
                .min_by_key(|(_, e)| e.last_failure_ms)
                .map(|(k, _)| k.clone());
            if let Some(k) = quietest {
                map.remove(&k);
            }
        }
    }
    map.entry(key.to_owned()).or_default()
}

#[async_trait]
impl AttemptStore for MemoryAttempts {
    /// This process's memory answers whenever the process does; the locks it writes through go
    /// to the metadata store, which the readiness check pings on its own.
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn reserve(
        &self,
        key: &str,
        ticket: u64,
        budget: &Budget,
        now: i64,
        hold_until: i64,
    ) -> StoreResult<Reservation> {
        if let Some(store) = self.settings_for(budget) {
            let look = {
                let map = self.entries();
                match map.get(key) {
                    Some(e) if e.locked_until_ms > now && !e.lock_written => return Ok(Reservation::Locked),
                    Some(e) if e.locked_until_ms > now => Look::Confirm(e.locked_until_ms),
                    Some(e) if e.seen_unlocked_ms.is_some_and(|at| now - at < UNLOCKED_TTL_MS) => {
                        Look::Nothing
                    }
                    _ => Look::Read,
                }
            };
            match look {
                Look::Nothing => {}
                Look::Confirm(until) => {
                    if Self::stored_lock(store, key).await?.is_some_and(|s| s > now) {
                        return Ok(Reservation::Locked);
                    }
                    // Unlocked by someone else (the CLI): the settings were read after the lock
                    // was written, so their answer is the newer.
                    let mut map = self.entries();
                    if let Some(e) = map.get_mut(key).filter(|e| e.locked_until_ms == until) {
                        e.locked_until_ms = 0;
                        e.lock_written = false;
                        e.failures = 0;
                        e.seen_unlocked_ms = Some(now);
                    }
                }
                Look::Read => {
                    let stored = Self::stored_lock(store, key).await?;
                    let locked = {
                        let mut map = self.entries();
                        let e = entry(&mut map, key, now);
                        match stored {
                            Some(until) if until > now => {
                                if until > e.locked_until_ms {
                                    e.locked_until_ms = until;
                                    e.lock_written = true;
                                }
                                true
                            }
                            _ => {
                                e.seen_unlocked_ms = Some(now);
                                false
                            }
                        }
                    };
                    if locked {
                        return Ok(Reservation::Locked);
                    }
                    if stored.is_some() {
                        // An expired lock goes, so the settings do not keep every name ever locked.
                        store.set_setting(&lock_setting(key), None).await?;
                    }
                }
            }
        }
        let mut map = self.entries();
        let e = entry(&mut map, key, now);
        if e.locked_until_ms > now {
            return Ok(Reservation::Locked);
        }
        e.forget_old(budget, now);
        if budget.limit > 0 && e.failures + e.held.len() as u64 >= budget.limit {
            return Ok(Reservation::Full);
        }
        e.held.push((ticket, hold_until));
        Ok(Reservation::Taken)
    }

    async fn settle(
        &self,
        key: &str,
        ticket: u64,
        failed: bool,
        forget: bool,
        budget: &Budget,
        now: i64,
    ) -> StoreResult<Settled> {
        let mut out = Settled::default();
        let lock_until = {
            let mut map = self.entries();
            let e = entry(&mut map, key, now);
            e.held.retain(|(t, _)| *t != ticket);
            if failed {
                e.forget_old(budget, now);
                e.failures += 1;
                e.last_failure_ms = now;
                out.failures = e.failures;
                if budget.limit > 0 && e.failures >= budget.limit {
                    e.failures = 0;
                    e.locked_until_ms = now + budget.lockout_ms;
                    e.lock_written = false;
                    e.seen_unlocked_ms = None;
                    out.locked = true;
                }
            } else if forget {
                e.failures = 0;
            }
            out.locked.then_some(e.locked_until_ms)
        };
        if let (Some(until), Some(store)) = (lock_until, self.settings_for(budget)) {
            store
                .set_setting(&lock_setting(key), Some(&until.to_string()))
                .await?;
            let mut map = self.entries();
            if let Some(e) = map.get_mut(key).filter(|e| e.locked_until_ms == until) {
                e.lock_written = true;
            }
        }
        Ok(out)
    }

    async fn unlock(&self, key: &str, now: i64) -> StoreResult<bool> {
        let mut was = {
            let mut map = self.entries();
            match map.get_mut(key) {
                Some(e) => {
                    let was = e.locked_until_ms > now;
                    e.locked_until_ms = 0;
                    e.lock_written = false;
                    e.failures = 0;
                    was
                }
                None => false,
            }
        };
        if let Some(store) = &self.settings {
            was |= Self::stored_lock(store.as_ref(), key)
                .await?
                .is_some_and(|u| u > now);
            store.set_setting(&lock_setting(key), None).await?;
        }
        Ok(was)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(limit: u64) -> Budget {
        Budget {
            limit,
            window_ms: 60_000,
            lockout_ms: 60_000,
            durable: false,
        }
    }

    #[tokio::test]
    async fn places_held_count_against_the_budget() {
        let m = MemoryAttempts::new(None);
        let b = budget(3);
        let admitted = {
            let mut n = 0;
            for t in 0..10 {
                if m.reserve("k", t, &b, 1000, 61_000).await.unwrap() == Reservation::Taken {
                    n += 1;
                }
            }
            n
        };
        assert_eq!(admitted, 3);
        // A success frees its place; two failures and one more make the limit and lock.
        assert!(!m.settle("k", 0, false, true, &b, 1000).await.unwrap().locked);
        assert_eq!(
            m.reserve("k", 10, &b, 1000, 61_000).await.unwrap(),
            Reservation::Taken
        );
        assert!(!m.settle("k", 1, true, false, &b, 1000).await.unwrap().locked);
        assert!(!m.settle("k", 2, true, false, &b, 1000).await.unwrap().locked);
        let s = m.settle("k", 10, true, false, &b, 1000).await.unwrap();
        assert_eq!(
            s,
            Settled {
                failures: 3,
                locked: true
            }
        );
        assert_eq!(
            m.reserve("k", 11, &b, 2000, 62_000).await.unwrap(),
            Reservation::Locked
        );
        // The lock ends by itself, and the count starts afresh.
        assert_eq!(
            m.reserve("k", 12, &b, 61_001, 121_000).await.unwrap(),
            Reservation::Taken
        );
    }

    #[tokio::test]
    async fn a_place_never_settled_is_given_back_at_its_hold_time() {
        let m = MemoryAttempts::new(None);
        let b = budget(1);
        assert_eq!(m.reserve("k", 1, &b, 0, 5000).await.unwrap(), Reservation::Taken);
        assert_eq!(
            m.reserve("k", 2, &b, 4999, 9999).await.unwrap(),
            Reservation::Full
        );
        assert_eq!(
            m.reserve("k", 3, &b, 5000, 9999).await.unwrap(),
            Reservation::Taken
        );
    }

    #[tokio::test]
    async fn unlock_ends_a_lock() {
        let m = MemoryAttempts::new(None);
        let b = budget(1);
        assert_eq!(m.reserve("k", 1, &b, 0, 5000).await.unwrap(), Reservation::Taken);
        assert!(m.settle("k", 1, true, false, &b, 0).await.unwrap().locked);
        assert_eq!(m.reserve("k", 2, &b, 1, 5000).await.unwrap(), Reservation::Locked);
        assert!(m.unlock("k", 2).await.unwrap());
        assert_eq!(m.reserve("k", 3, &b, 3, 5000).await.unwrap(), Reservation::Taken);
    }
}
