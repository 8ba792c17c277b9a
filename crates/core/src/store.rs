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

    /// Writes whatever is only in memory to durable storage (called on shutdown).
    async fn flush(&self) -> StoreResult<()>;

    /// Whether the session with this token hash is live, without touching it.
    async fn is_live(&self, token: &SecretHash, now_ms: i64) -> StoreResult<bool>;
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
    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()>;
}
