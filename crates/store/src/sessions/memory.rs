//! The in-memory session map: sharded by the token hash, with expiry checked on every read.
//!
//! The key is already a SHA-256, so the map hashes it by taking its first eight bytes instead of
//! hashing it again. A session's last-active time is an atomic, so a session check needs only a
//! shard's read lock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::RwLock;

use vestibule_core::credential::Admission;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Expiry, Grant, Session};

const SHARDS: usize = 64;

/// Hashes a `SecretHash` key by its leading bytes: they are uniformly random already.
#[derive(Default)]
pub struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length then its bytes; keep the first eight bytes seen after it.
        for b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_usize(&mut self, _: usize) {}
}

type Map<V> = HashMap<SecretHash, V, BuildHasherDefault<PrehashedHasher>>;

struct Entry {
    session: Session,
    /// The session's row in the durable file (its SQLite rowid), so that the file is written by
    /// row and needs no index on the random token hash; 0 when there is no file.
    row: i64,
    last_active_ms: AtomicI64,
    /// The last-active time last handed out for persisting; see [`Touched::persist`].
    persisted_ms: AtomicI64,
}

/// The result of a touch: the session as it is now, and whether its new activity should be
/// written to durable storage.
pub struct Touched {
    pub session: Session,
    pub persist: bool,
}

pub struct MemorySessions {
    shards: Box<[RwLock<Map<Entry>>]>,
    grants: RwLock<Map<Grant>>,
    /// What `first_sight` recorded, with when it may be forgotten.
    seen: RwLock<Map<i64>>,
}

impl Default for MemorySessions {
    fn default() -> Self {
        MemorySessions {
            shards: (0..SHARDS).map(|_| RwLock::new(Map::default())).collect(),
            grants: RwLock::new(Map::default()),
            seen: RwLock::new(Map::default()),
        }
    }
}

fn shard_of(h: &SecretHash) -> usize {
    h.0[31] as usize % SHARDS
}

impl MemorySessions {
    fn shard(&self, h: &SecretHash) -> &RwLock<Map<Entry>> {
        &self.shards[shard_of(h)]
    }

    pub fn insert(&self, session: Session) {
        self.insert_at(session, 0)
    }

    /// Inserts (or replaces) a session that the durable file keeps at `row`.
    pub fn insert_at(&self, session: Session, row: i64) {
        let entry = Entry {
            row,
            last_active_ms: AtomicI64::new(session.last_active_ms),
            persisted_ms: AtomicI64::new(session.last_active_ms),
            session,
        };
        let mut shard = self
            .shard(&entry.session.token)
            .write()
            .unwrap_or_else(|e| e.into_inner());
        shard.insert(entry.session.token, entry);
    }

    /// The live session if `admission` admits it, marked active at `now_ms`. `persist` is true
    /// at most once per `granularity_ms` of activity, for the caller to write the new time through.
    pub fn touch(
        &self,
        token: &SecretHash,
        now_ms: i64,
        granularity_ms: i64,
        admission: &Admission<'_>,
    ) -> Option<Touched> {
        let shard = self.shard(token).read().unwrap_or_else(|e| e.into_inner());
        let entry = shard.get(token)?;
        if !admission.admits(entry.session.cookie.as_ref()) {
            return None;
        }
        let mut session = entry.session.clone();
        session.last_active_ms = entry.last_active_ms.load(Ordering::Relaxed);
        if !session.is_live(now_ms) {
            return None;
        }
        let mut persist = false;
        if matches!(session.expiry, Expiry::Idle { .. }) {
            entry.last_active_ms.fetch_max(now_ms, Ordering::Relaxed);
            session.last_active_ms = session.last_active_ms.max(now_ms);
            let persisted = entry.persisted_ms.load(Ordering::Relaxed);
            persist = now_ms - persisted >= granularity_ms
                && entry
                    .persisted_ms
                    .compare_exchange(persisted, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok();
        }
        Some(Touched { session, persist })
    }

    /// The session as it is now, live or not, without touching it.
    pub fn peek(&self, token: &SecretHash) -> Option<Session> {
        let shard = self.shard(token).read().unwrap_or_else(|e| e.into_inner());
        shard.get(token).map(|e| {
            let mut s = e.session.clone();
            s.last_active_ms = e.last_active_ms.load(Ordering::Relaxed);
            s
        })
    }

    /// The file row of a session held here, live or not.
    pub fn row_of(&self, token: &SecretHash) -> Option<i64> {
        let shard = self.shard(token).read().unwrap_or_else(|e| e.into_inner());
        shard.get(token).map(|e| e.row)
    }

    /// The tokens and file rows of a user's sessions held here, live or not.
    pub fn rows_of_user(&self, user: Guid) -> Vec<(SecretHash, i64)> {
        let mut rows = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.read().unwrap_or_else(|e| e.into_inner());
            rows.extend(
                shard
                    .iter()
                    .filter(|(_, e)| e.session.user_id == user)
                    .map(|(h, e)| (*h, e.row)),
            );
        }
        rows
    }

    pub fn remove(&self, token: &SecretHash) -> bool {
        let mut shard = self.shard(token).write().unwrap_or_else(|e| e.into_inner());
        shard.remove(token).is_some()
    }

    pub fn remove_user(&self, user: Guid) -> usize {
        self.retain(|s| s.user_id != user)
    }

    /// Drops expired sessions and grants; returns how many sessions went.
    pub fn sweep(&self, now_ms: i64) -> usize {
        let n = self.retain(|s| s.is_live(now_ms));
        let mut grants = self.grants.write().unwrap_or_else(|e| e.into_inner());
        grants.retain(|_, g| g.expires_ms > now_ms);
        drop(grants);
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, until| *until > now_ms);
        n
    }

    fn retain(&self, keep: impl Fn(&Session) -> bool) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
            let before = shard.len();
            shard.retain(|_, e| {
                let mut s = e.session.clone();
                s.last_active_ms = e.last_active_ms.load(Ordering::Relaxed);
                keep(&s)
            });
            removed += before - shard.len();
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map(|m| m.len()).unwrap_or(0))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn insert_grant(&self, grant: Grant) {
        let mut grants = self.grants.write().unwrap_or_else(|e| e.into_inner());
        grants.insert(grant.hash, grant);
    }

    pub fn grant(&self, hash: &SecretHash, now_ms: i64) -> Option<Grant> {
        let grants = self.grants.read().unwrap_or_else(|e| e.into_inner());
        grants.get(hash).filter(|g| g.expires_ms > now_ms).cloned()
    }

    pub fn remove_grant(&self, hash: &SecretHash) -> bool {
        let mut grants = self.grants.write().unwrap_or_else(|e| e.into_inner());
        grants.remove(hash).is_some()
    }

    /// `true` when `hash` was not recorded (or its record expired), recording it until
    /// `expires_ms`.
    pub fn first_sight(&self, hash: &SecretHash, expires_ms: i64, now_ms: i64) -> bool {
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        match seen.get(hash) {
            Some(until) if *until > now_ms => false,
            _ => {
                seen.insert(*hash, expires_ms);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vestibule_core::session::Scope;

    fn session(token: &str, now: i64, secs: u32) -> Session {
        Session {
            token: SecretHash::of(token),
            cookie: None,
            user_id: Guid::random(),
            login_mode: 1,
            scope: Scope::Full,
            created_ms: now,
            last_active_ms: now,
            expiry: Expiry::Idle {
                server_secs: secs,
                http_secs: secs + 1,
            },
        }
    }

    #[test]
    fn touch_extends_idle_sessions_and_expiry_is_checked() {
        let m = MemorySessions::default();
        m.insert(session("a", 0, 10));
        let h = SecretHash::of("a");
        assert!(m.touch(&h, 9_000, 1000, &Admission::ANY).is_some());
        // Touched at 9 s, so alive until 19 s.
        assert!(m.touch(&h, 18_000, 1000, &Admission::ANY).is_some());
        assert!(m.touch(&h, 28_001, 1000, &Admission::ANY).is_none());
        assert_eq!(m.sweep(28_001), 1);
        assert!(m.is_empty());
    }

    #[test]
    fn absolute_sessions_are_not_extended() {
        let m = MemorySessions::default();
        let mut s = session("b", 0, 10);
        s.expiry = Expiry::Absolute { expires_ms: 5_000 };
        m.insert(s);
        let h = SecretHash::of("b");
        assert!(m.touch(&h, 4_000, 1000, &Admission::ANY).is_some());
        assert!(m.touch(&h, 5_000, 1000, &Admission::ANY).is_none());
    }

    #[test]
    fn persist_is_signalled_once_per_granularity() {
        let m = MemorySessions::default();
        m.insert(session("c", 0, 100));
        let h = SecretHash::of("c");
        assert!(!m.touch(&h, 500, 1000, &Admission::ANY).unwrap().persist);
        assert!(m.touch(&h, 1000, 1000, &Admission::ANY).unwrap().persist);
        assert!(!m.touch(&h, 1500, 1000, &Admission::ANY).unwrap().persist);
        assert!(m.touch(&h, 2100, 1000, &Admission::ANY).unwrap().persist);
    }
}
