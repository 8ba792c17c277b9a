//! The storage traits. Each backend (embedded SQLite with in-memory sessions, Redis, PostgreSQL)
//! implements only these; the services above never see which one is in use.

use async_trait::async_trait;

use crate::accounts::{ApiToken, Group, Project, User};
use crate::credential::Admission;
use crate::error::StoreError;
use crate::ids::Guid;
use crate::secret::SecretHash;
use crate::session::{Grant, Session};

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// Live sessions and grants. Expiry is data, not timers: every read checks it, and [`sweep`]
/// removes what has expired.
///
/// [`sweep`]: SessionStore::sweep
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session durably before returning.
    async fn insert(&self, session: Session) -> StoreResult<()>;
    /// The live session with this token if `admission` admits its cookie, then marked active at
    /// `now_ms` (an `Idle` session's timeouts start again); `None` if unknown, expired or not
    /// admitted, and then nothing is changed. Deciding and touching are one step, so a request that
    /// may not use a session never extends it.
    async fn touch_if(
        &self,
        token: &SecretHash,
        now_ms: i64,
        admission: &Admission<'_>,
    ) -> StoreResult<Option<Session>>;
    /// [`SessionStore::touch_if`] whatever the session's cookie.
    async fn touch(&self, token: &SecretHash, now_ms: i64) -> StoreResult<Option<Session>> {
        self.touch_if(token, now_ms, &Admission::ANY).await
    }
    /// Removes a session; `true` if it existed.
    async fn remove(&self, token: &SecretHash) -> StoreResult<bool>;
    /// Removes every session of a user; returns how many.
    async fn remove_user(&self, user: Guid) -> StoreResult<usize>;
    /// Removes expired sessions and grants; returns how many sessions went.
    async fn sweep(&self, now_ms: i64) -> StoreResult<usize>;
    /// The number of live sessions.
    async fn count(&self) -> StoreResult<usize>;

    async fn insert_grant(&self, grant: Grant) -> StoreResult<()>;
    /// The unexpired grant with this hash.
    async fn grant(&self, hash: &SecretHash, now_ms: i64) -> StoreResult<Option<Grant>>;
    async fn remove_grant(&self, hash: &SecretHash) -> StoreResult<bool>;
    /// Records `hash` as seen until `expires_ms`: `true` the first time, `false` while it is
    /// recorded (of requests racing with one hash, exactly one is told `true`, on every node
    /// sharing the store). A replay cache: a SAML assertion's id is accepted once.
    async fn first_sight(&self, hash: &SecretHash, expires_ms: i64, now_ms: i64) -> StoreResult<bool>;

    /// Writes whatever is only in memory to durable storage (called on shutdown).
    async fn flush(&self) -> StoreResult<()>;

    /// Whether the session with this token hash is live, without touching it.
    async fn is_live(&self, token: &SecretHash, now_ms: i64) -> StoreResult<bool>;

    /// A round trip to the store (through its write path where it has one): `Ok` when it
    /// answers. For the readiness check (`/health/ready`).
    async fn ping(&self) -> StoreResult<()>;
}

/// Users, groups, privileges, projects, API tokens and settings.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn update_user(&self, user: &User) -> StoreResult<()>;
    /// Case-insensitive.
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: Guid) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;

    async fn create_group(&self, group: &Group) -> StoreResult<()>;
    /// Case-insensitive.
    async fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>>;
    async fn list_groups(&self) -> StoreResult<Vec<Group>>;
    async fn set_membership(&self, group: Guid, user: Guid, member: bool) -> StoreResult<()>;
    async fn groups_of(&self, user: Guid) -> StoreResult<Vec<Group>>;
    async fn members_of(&self, group: Guid) -> StoreResult<Vec<Guid>>;
    /// Deletes a user with its memberships, privileges, API tokens and access properties, in one
    /// transaction; `false` if there was no such user. Its sessions are the session store's.
    async fn delete_user(&self, user: Guid) -> StoreResult<bool>;
    /// Deletes a group with its memberships and privileges, in one transaction; `false` if there
    /// was no such group.
    async fn delete_group(&self, group: Guid) -> StoreResult<bool>;

    /// Grants (`granted = true`) or revokes privileges held directly by a user or a group.
    async fn set_privileges(&self, holder: Guid, privileges: &[u32], granted: bool) -> StoreResult<()>;
    /// Privileges held directly by a user or group.
    async fn privileges_of(&self, holder: Guid) -> StoreResult<Vec<u32>>;
    /// A user's own privileges and those of its groups.
    async fn effective_privileges(&self, user: Guid) -> StoreResult<Vec<u32>>;

    async fn create_project(&self, project: &Project) -> StoreResult<()>;
    async fn list_projects(&self) -> StoreResult<Vec<Project>>;

    async fn insert_api_token(&self, token: &ApiToken) -> StoreResult<()>;
    async fn api_token(&self, hash: &SecretHash) -> StoreResult<Option<ApiToken>>;

    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// A read through the store: `Ok` when it answers (`/health/ready`).
    async fn ping(&self) -> StoreResult<()>;
    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()>;

    /// The access properties `user` holds (the core's document) and their version.
    async fn user_access(&self, user: Guid) -> StoreResult<Option<(String, i64)>>;
    /// Writes `user`'s access properties if they are still at version `expected` (`None`: the
    /// user has none yet); `false` when another writer changed them first.
    async fn put_user_access(
        &self,
        user: Guid,
        body: &str,
        expected: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Stores what the bearer token `token` carries until `expires_ms` (and forgets what expired
    /// tokens carried).
    async fn insert_token_access(
        &self,
        token: &SecretHash,
        user: Guid,
        expires_ms: i64,
        body: &str,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// What the unexpired token `token` carries.
    async fn token_access(&self, token: &SecretHash, now_ms: i64) -> StoreResult<Option<String>>;
}

/// The rules of one failed-login budget (an account's or a client address's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Failures, plus attempts being judged, that the key may have within the window; reaching it
    /// in failures locks the key. `0` = no limit (failures are still counted, for delays).
    pub limit: u64,
    /// Failures older than this (after the key's latest failure) are forgotten.
    pub window_ms: i64,
    /// How long a lock lasts.
    pub lockout_ms: i64,
    /// Whether a lock must outlive the process (accounts: `vestibule user unlock` and a restart
    /// see it). A store shared by all nodes keeps every lock anyway.
    pub durable: bool,
}

/// What settling a failed attempt led to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// The key's failures in the window, this one included.
    pub failures: u64,
    /// This failure reached the limit: the key is locked from now, and its count starts afresh.
    pub locked: bool,
}

/// What asking for a place in a budget got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The place is the attempt's.
    Taken,
    /// The key is locked: refuse the attempt.
    Locked,
    /// Attempts being judged hold the rest of the budget: ask again when one may have settled.
    Full,
}

/// Failed-login budgets: each attempt takes a place in its keys' budgets **before** it is judged,
/// atomically with the check, so however many arrive at once no more than `limit` are judged
/// within a window; judging settles the place. In memory for one node, in Redis for many.
#[async_trait]
pub trait AttemptStore: Send + Sync + 'static {
    /// Takes a place for `ticket` in `key`'s budget unless the key is locked or its failures and
    /// places held reach the limit. The place is held until settled, or until `hold_until_ms` if
    /// the attempt is never settled (a node that died while judging).
    async fn reserve(
        &self,
        key: &str,
        ticket: u64,
        budget: &Budget,
        now_ms: i64,
        hold_until_ms: i64,
    ) -> StoreResult<Reservation>;

    /// Gives back `ticket`'s place. A failure is counted (and may lock the key); a success with
    /// `forget` clears the key's failures.
    async fn settle(
        &self,
        key: &str,
        ticket: u64,
        failed: bool,
        forget: bool,
        budget: &Budget,
        now_ms: i64,
    ) -> StoreResult<Settled>;

    /// Ends `key`'s lock and forgets its failures; `true` if it was locked.
    async fn unlock(&self, key: &str, now_ms: i64) -> StoreResult<bool>;

    /// A round trip to the store: `Ok` when it answers (`/health/ready`).
    async fn ping(&self) -> StoreResult<()>;
}
