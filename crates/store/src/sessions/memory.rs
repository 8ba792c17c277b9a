//! The in-memory session map: sharded by the token hash, with expiry checked on every read.
//!
//! A live session costs what a server holding millions of them can afford (issue 20: at most
//! 256 bytes each at a million), so the map keeps a compact record, not a `Session`:
//! - the key is the first 16 bytes of the token's SHA-256 ([`TokenKey`]): finding a session by
//!   another token needs a second preimage of 128 bits of SHA-256, the same work as guessing a
//!   token, and two live tokens sharing a key (about 2^-65 at ten million sessions) are beyond
//!   concern; the full hash stays in the durable file and in the `Session`s handed out (the caller
//!   holds the token);
//! - the cookie is its 16-byte tag ([`CookieTag`]), the last-active time only the atomic (when
//!   to persist it follows from the time itself), the expiry is packed into one word, and the
//!   rare object scope (ThoughtSpot object tokens) lives in a side map.
//!
//! The key is already random, so the map hashes it by taking its first eight bytes instead of
//! hashing it again. A session's last-active time is an atomic, so a session check needs only a
//! shard's read lock.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::RwLock;

use vestibule_core::credential::Admission;
use vestibule_core::ids::Guid;
use vestibule_core::secret::{CookieTag, SecretHash};
use vestibule_core::session::{Expiry, Grant, Scope, Session};

const SHARDS: usize = 64;

/// Hashes a key by its leading bytes: they are uniformly random already.
#[derive(Default)]
pub struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; N]` hashes as its length then its bytes; keep the first eight bytes seen after it.
        for b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_usize(&mut self, _: usize) {}
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<PrehashedHasher>>;

/// The key a session is held under: the first 16 bytes of its token's hash (see the module).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TokenKey([u8; 16]);

impl TokenKey {
    pub fn of(token: &SecretHash) -> TokenKey {
        let mut k = [0; 16];
        k.copy_from_slice(&token.0[..16]);
        TokenKey(k)
    }
}

/// `Entry::flags`: the session is bound to a cookie (`cookie` holds its tag).
const COOKIE: u8 = 1;
/// `Entry::flags`: the expiry is absolute (`expiry` holds its time in ms), else idle.
const ABSOLUTE: u8 = 2;
/// `Entry::flags`: the scope is one object, kept in `MemorySessions::objects`.
const OBJECT: u8 = 4;

/// A session as the map keeps it (72 bytes; the token is the key).
struct Entry {
    last_active_ms: AtomicI64,
    /// The session's row in the durable file (its SQLite rowid), so that the file is written by
    /// row and needs no index on the random token hash; 0 when there is no file.
    row: i64,
    created_ms: i64,
    /// An idle expiry as `server_secs << 32 | http_secs`, an absolute one as its time in ms.
    expiry: i64,
    user_id: Guid,
    cookie: [u8; 16],
    login_mode: i32,
    flags: u8,
}

impl Entry {
    fn new(session: &Session, row: i64) -> Entry {
        let mut flags = 0;
        let expiry = match session.expiry {
            Expiry::Idle {
                server_secs,
                http_secs,
            } => (i64::from(server_secs) << 32) | i64::from(http_secs),
            Expiry::Absolute { expires_ms } => {
                flags |= ABSOLUTE;
                expires_ms
            }
        };
        let cookie = match session.cookie {
            Some(c) => {
                flags |= COOKIE;
                c.0
            }
            None => [0; 16],
        };
        if matches!(session.scope, Scope::Object(_)) {
            flags |= OBJECT;
        }
        Entry {
            last_active_ms: AtomicI64::new(session.last_active_ms),
            row,
            created_ms: session.created_ms,
            expiry,
            user_id: session.user_id,
            cookie,
            login_mode: session.login_mode,
            flags,
        }
    }

    fn expiry(&self) -> Expiry {
        if self.flags & ABSOLUTE != 0 {
            Expiry::Absolute {
                expires_ms: self.expiry,
            }
        } else {
            Expiry::Idle {
                server_secs: (self.expiry >> 32) as u32,
                http_secs: (self.expiry & 0xFFFF_FFFF) as u32,
            }
        }
    }

    fn cookie(&self) -> Option<CookieTag> {
        (self.flags & COOKIE != 0).then_some(CookieTag(self.cookie))
    }

    /// The session this entry holds, for `token` (whose key it is held under) and with `scope`.
    fn session(&self, token: SecretHash, scope: Scope) -> Session {
        Session {
            token,
            cookie: self.cookie(),
            user_id: self.user_id,
            login_mode: self.login_mode,
            scope,
            created_ms: self.created_ms,
            last_active_ms: self.last_active_ms.load(Ordering::Relaxed),
            expiry: self.expiry(),
        }
    }
}

/// The result of a touch: the session as it is now, and whether its new activity should be
/// written to durable storage.
pub struct Touched {
    pub session: Session,
    pub persist: bool,
}

pub struct MemorySessions {
    shards: Box<[RwLock<Map<TokenKey, Entry>>]>,
    /// The object of each object-scoped session.
    objects: RwLock<Map<TokenKey, Guid>>,
    grants: RwLock<Map<SecretHash, Grant>>,
    /// What `first_sight` recorded, with when it may be forgotten.
    seen: RwLock<Map<SecretHash, i64>>,
}

impl Default for MemorySessions {
    fn default() -> Self {
        MemorySessions::with_capacity(0)
    }
}

impl MemorySessions {
    /// A map with room for about `sessions` sessions before any shard grows (a start that knows
    /// how many it loads skips the doublings, and the tables they leave behind).
    pub fn with_capacity(sessions: usize) -> Self {
        let per_shard = sessions.div_ceil(SHARDS);
        MemorySessions {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(Map::with_capacity_and_hasher(per_shard, Default::default())))
                .collect(),
            objects: RwLock::new(Map::default()),
            grants: RwLock::new(Map::default()),
            seen: RwLock::new(Map::default()),
        }
    }
}

fn shard_of(k: &TokenKey) -> usize {
    k.0[15] as usize % SHARDS
}

impl MemorySessions {
    fn shard(&self, k: &TokenKey) -> &RwLock<Map<TokenKey, Entry>> {
        &self.shards[shard_of(k)]
    }

    /// The scope of the entry held under `key`.
    fn scope_of(&self, key: &TokenKey, entry: &Entry) -> Scope {
        if entry.flags & OBJECT == 0 {
            return Scope::Full;
        }
        let objects = self.objects.read().unwrap_or_else(|e| e.into_inner());
        // Written before the entry and removed after it, so it is there.
        objects.get(key).map_or(Scope::Full, |o| Scope::Object(*o))
    }

    pub fn insert(&self, session: Session) {
        self.insert_at(session, 0)
    }

    /// Inserts (or replaces) a session that the durable file keeps at `row`.
    pub fn insert_at(&self, session: Session, row: i64) {
        let key = TokenKey::of(&session.token);
        let entry = Entry::new(&session, row);
        if let Scope::Object(object) = session.scope {
            let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
            objects.insert(key, object);
        }
        let mut shard = self.shard(&key).write().unwrap_or_else(|e| e.into_inner());
        let replaced = shard.insert(key, entry);
        drop(shard);
        if replaced.is_some_and(|e| e.flags & OBJECT != 0) && !matches!(session.scope, Scope::Object(_)) {
            self.forget_objects(&[key]);
        }
    }

    /// Inserts (or replaces) `session` if `still()` holds once its shard is locked for writing,
    /// so a caller can refuse an insert that something done meanwhile made stale; a shard that
    /// holds its share of `capacity` sessions is emptied first. Returns whether it was inserted.
    pub fn insert_while(&self, session: Session, capacity: usize, still: impl FnOnce() -> bool) -> bool {
        let key = TokenKey::of(&session.token);
        let entry = Entry::new(&session, 0);
        let mut shard = self.shard(&key).write().unwrap_or_else(|e| e.into_inner());
        if !still() {
            return false;
        }
        let mut forget = Vec::new();
        if shard.len() >= capacity.div_ceil(SHARDS) && !shard.contains_key(&key) {
            forget.extend(
                shard
                    .iter()
                    .filter(|(_, e)| e.flags & OBJECT != 0)
                    .map(|(k, _)| *k),
            );
            shard.clear();
        }
        // Shard, then objects: the order every reader takes them in.
        if let Scope::Object(object) = session.scope {
            let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
            objects.insert(key, object);
        }
        if shard.insert(key, entry).is_some_and(|e| e.flags & OBJECT != 0)
            && !matches!(session.scope, Scope::Object(_))
        {
            forget.push(key);
        }
        drop(shard);
        self.forget_objects(&forget);
        true
    }

    /// Empties the map of sessions (grants and first sightings stay).
    pub fn clear_sessions(&self) {
        self.retain(|_, _| false);
    }

    fn forget_objects(&self, keys: &[TokenKey]) {
        if keys.is_empty() {
            return;
        }
        let mut objects = self.objects.write().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            objects.remove(k);
        }
    }

    /// The live session if `admission` admits it, marked active at `now_ms`. `persist` is true
    /// for the touch that first moves the last-active time into a new `granularity_ms` window
    /// (of the clock), so at most once per window, for the caller to write the new time through.
    pub fn touch(
        &self,
        token: &SecretHash,
        now_ms: i64,
        granularity_ms: i64,
        admission: &Admission<'_>,
    ) -> Option<Touched> {
        self.touch_windowed(token, now_ms, admission, |_| granularity_ms)
    }

    /// [`touch`](Self::touch), with the window chosen for each session from its expiry.
    pub fn touch_windowed(
        &self,
        token: &SecretHash,
        now_ms: i64,
        admission: &Admission<'_>,
        granularity_ms: impl Fn(Expiry) -> i64,
    ) -> Option<Touched> {
        let key = TokenKey::of(token);
        let shard = self.shard(&key).read().unwrap_or_else(|e| e.into_inner());
        let entry = shard.get(&key)?;
        if !admission.admits(entry.cookie().as_ref()) {
            return None;
        }
        let mut session = entry.session(*token, self.scope_of(&key, entry));
        if !session.is_live(now_ms) {
            return None;
        }
        let mut persist = false;
        if entry.flags & ABSOLUTE == 0 {
            let before = entry.last_active_ms.fetch_max(now_ms, Ordering::Relaxed);
            session.last_active_ms = before.max(now_ms);
            // Only one touch moves the time out of a window, so only one persists it.
            let window = granularity_ms(session.expiry).max(1);
            persist = now_ms.div_euclid(window) > before.div_euclid(window);
        }
        Some(Touched { session, persist })
    }

    /// The session as it is now, live or not, without touching it.
    pub fn peek(&self, token: &SecretHash) -> Option<Session> {
        let key = TokenKey::of(token);
        let shard = self.shard(&key).read().unwrap_or_else(|e| e.into_inner());
        shard.get(&key).map(|e| e.session(*token, self.scope_of(&key, e)))
    }

    /// The file row of a session held here, live or not.
    pub fn row_of(&self, token: &SecretHash) -> Option<i64> {
        let key = TokenKey::of(token);
        let shard = self.shard(&key).read().unwrap_or_else(|e| e.into_inner());
        shard.get(&key).map(|e| e.row)
    }

    /// The keys and file rows of a user's sessions held here, live or not.
    pub fn rows_of_user(&self, user: Guid) -> Vec<(TokenKey, i64)> {
        let mut rows = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.read().unwrap_or_else(|e| e.into_inner());
            rows.extend(
                shard
                    .iter()
                    .filter(|(_, e)| e.user_id == user)
                    .map(|(k, e)| (*k, e.row)),
            );
        }
        rows
    }

    pub fn remove(&self, token: &SecretHash) -> bool {
        let key = TokenKey::of(token);
        let mut shard = self.shard(&key).write().unwrap_or_else(|e| e.into_inner());
        let removed = shard.remove(&key);
        drop(shard);
        if removed.as_ref().is_some_and(|e| e.flags & OBJECT != 0) {
            self.forget_objects(&[key]);
        }
        removed.is_some()
    }

    pub fn remove_user(&self, user: Guid) -> usize {
        self.retain(|e, _| e.user_id != user)
    }

    /// Drops expired sessions and grants; returns how many sessions went.
    pub fn sweep(&self, now_ms: i64) -> usize {
        let n = self.retain(|e, key| {
            // The scope does not decide liveness; the token is not held (its key is).
            let mut token = SecretHash([0; 32]);
            token.0[..16].copy_from_slice(&key.0);
            e.session(token, Scope::Full).is_live(now_ms)
        });
        let mut grants = self.grants.write().unwrap_or_else(|e| e.into_inner());
        grants.retain(|_, g| g.expires_ms > now_ms);
        drop(grants);
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, until| *until > now_ms);
        n
    }

    fn retain(&self, keep: impl Fn(&Entry, &TokenKey) -> bool) -> usize {
        let mut removed = 0;
        let mut objects = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
            let before = shard.len();
            shard.retain(|k, e| {
                let kept = keep(e, k);
                if !kept && e.flags & OBJECT != 0 {
                    objects.push(*k);
                }
                kept
            });
            removed += before - shard.len();
        }
        self.forget_objects(&objects);
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
    fn a_session_comes_back_as_it_went_in() {
        let m = MemorySessions::default();
        let object = Guid::random();
        let mut s = session("d", 1_000, 30);
        s.cookie = Some(CookieTag::of("cookie"));
        s.login_mode = 4_194_304;
        m.insert_at(s.clone(), 42);
        assert_eq!(m.peek(&s.token), Some(s.clone()));
        assert_eq!(m.row_of(&s.token), Some(42));
        let mut t = session("e", 2_000, 0);
        t.expiry = Expiry::Absolute { expires_ms: 9_000 };
        t.scope = Scope::Object(object);
        m.insert(t.clone());
        assert_eq!(m.peek(&t.token), Some(t.clone()));
        assert_eq!(m.rows_of_user(s.user_id), vec![(TokenKey::of(&s.token), 42)]);
        // The object of a removed or expired session goes with it.
        assert_eq!(m.sweep(9_000), 1);
        assert!(m.objects.read().unwrap().is_empty());
        assert!(m.peek(&t.token).is_none());
        assert!(m.remove(&s.token));
        assert!(m.is_empty());
    }

    #[test]
    fn a_session_is_held_in_72_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 72);
        assert_eq!(std::mem::size_of::<TokenKey>(), 16);
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
