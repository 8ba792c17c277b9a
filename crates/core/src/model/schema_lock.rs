//! The schema lock of a project: at most one, held by the session that placed it. While it is
//! held, schema changes by any other session are refused — changeset commits and the direct
//! changes outside changesets alike — and the holder's own session may go on changing the schema
//! (lock, change, reload, unlock is how scripts use it).
//!
//! The lock is a row in the model store, so every node sharing the store sees one lock. Each write
//! checks it inside its own store transaction ([`ModelStore`]), after the step that orders
//! writers, so no change slips past a lock placed meanwhile on another node. A lock whose session
//! has ended (logout, expiry) no longer counts: that is decided whenever the lock is met — read,
//! or refusing a write — and its row is dropped then (and by the background sweep).
//!
//! [`ModelStore`]: crate::model_store::ModelStore

use crate::clock::{now_ms, rfc3339_ms};
use crate::core::Principal;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::service::ModelService;
use crate::model_store::CommitRefusal;
use crate::privilege::Privilege;
use crate::secret::SecretHash;
use crate::store::StoreResult;

/// The kinds of lock a client may place. They are stored and reported as given, and each keeps
/// every other session from changing the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockType {
    AbsoluteIndividual,
    ExclusiveConstituent,
    AbsoluteConstituent,
}

impl LockType {
    pub const ALL: [LockType; 3] = [
        LockType::AbsoluteIndividual,
        LockType::ExclusiveConstituent,
        LockType::AbsoluteConstituent,
    ];

    /// The stored name (also the wire's).
    pub fn as_str(self) -> &'static str {
        match self {
            LockType::AbsoluteIndividual => "absolute_individual",
            LockType::ExclusiveConstituent => "exclusive_constituent",
            LockType::AbsoluteConstituent => "absolute_constituent",
        }
    }

    pub fn parse(s: &str) -> Option<LockType> {
        LockType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A project's schema lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaLock {
    pub project: Guid,
    pub kind: LockType,
    /// Hash (hex) of the token of the session holding it, as changesets keep theirs.
    pub session: String,
    pub user: Guid,
    /// The holder's display name when the lock was placed.
    pub user_name: String,
    /// Where the lock was placed from: the client's address as the server saw it.
    pub machine: String,
    pub comment: String,
    pub created_ms: i64,
}

/// How often a write met a lock whose session had ended, dropped it and tried again, before it
/// gives up (only a stream of locks placed and abandoned at once could need more than one).
const LOCK_TRIES: usize = 4;

/// The answer to a schema change the lock refuses.
pub(crate) fn locked(lock: &SchemaLock) -> CoreError {
    CoreError::Conflict(format!(
        "The schema of project '{}' is locked ({}) by another session of '{}' since {}; \
         schema changes are refused until it is unlocked. Nothing was changed",
        lock.project,
        lock.kind.as_str(),
        lock.user_name,
        rfc3339_ms(lock.created_ms)
    ))
}

impl ModelService {
    /// Whether the session with this token hash (hex) is live. A service without a session store
    /// (made alone, as in unit tests) counts every holder live, which keeps locks until unlocked.
    pub(crate) async fn session_is_live(&self, session: &str) -> Result<bool> {
        let Some(sessions) = &self.sessions else {
            return Ok(true);
        };
        match SecretHash::from_hex(session) {
            Some(hash) => Ok(sessions.is_live(&hash, now_ms()).await?),
            None => Ok(false),
        }
    }

    /// A lock met in the store: `Some` while its session lives; a lock whose session has ended
    /// is dropped (only that one: a lock placed since by another session stays) and is `None`.
    async fn live(&self, lock: SchemaLock) -> Result<Option<SchemaLock>> {
        if self.session_is_live(&lock.session).await? {
            return Ok(Some(lock));
        }
        self.store()
            .remove_schema_lock(lock.project, &lock.session)
            .await?;
        Ok(None)
    }

    /// The project's schema lock, if its session is live.
    pub async fn schema_lock(&self, project: Guid) -> Result<Option<SchemaLock>> {
        match self.store().schema_lock(project).await? {
            Some(lock) => self.live(lock).await,
            None => Ok(None),
        }
    }

    /// Checks that the caller may manage `project`'s schema: a session not limited to one
    /// object, the schema privilege, and a project that exists.
    pub async fn require_schema_project(&self, caller: &Principal, project: Guid) -> Result<()> {
        caller.require_full_scope()?;
        caller.require(Privilege::SCHEMA_EDIT)?;
        if self
            .directory
            .list_projects()
            .await?
            .iter()
            .any(|p| p.id == project)
        {
            Ok(())
        } else {
            Err(CoreError::NotFound(format!(
                "The project with id '{project}' could not be found"
            )))
        }
    }

    /// Locks `project`'s schema for the caller's session. The holder locking again keeps its
    /// lock (and its time) with the type asked for now; another live session's lock is a
    /// conflict.
    pub async fn lock_schema(
        &self,
        caller: &Principal,
        project: Guid,
        kind: LockType,
        machine: String,
        comment: String,
    ) -> Result<SchemaLock> {
        self.require_schema_project(caller, project).await?;
        let wanted = SchemaLock {
            project,
            kind,
            session: caller.session.token.to_hex(),
            user: caller.user.user.id,
            user_name: caller.user.user.display_name().to_owned(),
            machine,
            comment,
            created_ms: now_ms(),
        };
        for _ in 0..LOCK_TRIES {
            match self.store().place_schema_lock(&wanted).await? {
                Ok(placed) => return Ok(placed),
                Err(other) => {
                    if let Some(other) = self.live(other).await? {
                        return Err(CoreError::Conflict(format!(
                            "The schema of project '{project}' is already locked ({}) by another session of '{}' \
                             since {}; it can be locked again once that lock is removed",
                            other.kind.as_str(),
                            other.user_name,
                            rfc3339_ms(other.created_ms)
                        )));
                    }
                }
            }
        }
        Err(CoreError::Conflict(
            "The schema lock kept changing while it was placed; try again".into(),
        ))
    }

    /// Removes `project`'s schema lock: the holder's session may, and an administrator may
    /// remove another session's. `kind`, when given, must be the lock's type. `Ok(None)` when
    /// there was no lock; else the lock removed and whether it was another session's.
    pub async fn unlock_schema(
        &self,
        caller: &Principal,
        project: Guid,
        kind: Option<LockType>,
    ) -> Result<Option<(SchemaLock, bool)>> {
        self.require_schema_project(caller, project).await?;
        let mine = caller.session.token.to_hex();
        for _ in 0..LOCK_TRIES {
            let Some(lock) = self.schema_lock(project).await? else {
                return Ok(None);
            };
            if let Some(k) = kind.filter(|k| *k != lock.kind) {
                return Err(CoreError::Conflict(format!(
                    "The schema is locked with '{}', not '{}'; nothing was unlocked",
                    lock.kind.as_str(),
                    k.as_str()
                )));
            }
            let forced = lock.session != mine;
            if forced && !caller.user.has(Privilege::ADMINISTRATION) {
                return Err(CoreError::AccessDenied(format!(
                    "The schema is locked by another session of '{}'; only that session or an \
                     administrator can unlock it",
                    lock.user_name
                )));
            }
            // Removed only if it is still this lock: one placed meanwhile is judged afresh.
            if self.store().remove_schema_lock(project, &lock.session).await? {
                return Ok(Some((lock, forced)));
            }
        }
        Err(CoreError::Conflict(
            "The schema lock kept changing while it was removed; try again".into(),
        ))
    }

    /// Runs a store write that the schema lock may refuse (`CommitRefusal::Locked`): a lock
    /// whose session has ended is dropped and the write tried again; a live one is the answer.
    pub(crate) async fn past_lock<T, F, Fut>(&self, mut write: F) -> Result<Result<T, CommitRefusal>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = StoreResult<Result<T, CommitRefusal>>>,
    {
        for _ in 0..LOCK_TRIES {
            match write().await? {
                Err(CommitRefusal::Locked(lock)) => {
                    if let Some(lock) = self.live(lock).await? {
                        return Err(locked(&lock));
                    }
                }
                other => return Ok(other),
            }
        }
        Err(CoreError::Conflict(
            "The schema lock kept changing while this change was made; nothing was changed, try again".into(),
        ))
    }

    /// Drops the locks whose sessions have ended; returns how many it found.
    pub async fn drop_dead_locks(&self) -> Result<usize> {
        let mut n = 0;
        for lock in self.store().schema_locks().await? {
            if self.live(lock).await?.is_none() {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_types_read_back_what_they_write() {
        for t in LockType::ALL {
            assert_eq!(LockType::parse(t.as_str()), Some(t));
        }
        assert_eq!(LockType::parse("none"), None);
        assert_eq!(LockType::parse("Absolute_Individual"), None);
    }
}
