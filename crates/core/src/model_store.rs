//! The model's storage trait: committed objects, changesets and their staged changes, and the
//! atomic commit. Each backend (SQLite, PostgreSQL) implements only this and the journal's
//! [`JournalStore`]. Every write that changes the committed model writes its change journal
//! entry in its own transaction, so the entry is there exactly when the change is.

use async_trait::async_trait;

use crate::ids::Guid;
pub use crate::journal_store::JournalStore;
use crate::model::journal::{Author, JournalEntry};
use crate::model::reload::SchemaTask;
use crate::model::schema_lock::SchemaLock;
use crate::model::types::{Changeset, ModelObject, ObjectKind, StagedChange};
use crate::store::StoreResult;

/// Why the store refused a write; nothing was written. Every check is made inside the write's
/// own transaction, after the lock that orders writers (PostgreSQL) or the write that takes the
/// file's write lock (SQLite), so writers on any number of nodes get the outcomes one node gives.
/// The schema lock is checked there too: a lock placed takes the same turn as a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitRefusal {
    /// Another write changed (or deleted, or made) this object since it was read.
    Conflict(Guid),
    /// An object of the same kind and name already exists in the folder.
    DuplicateName(String),
    /// `user` (named `user_name`) needs `missing`, a `kind`, which is gone as the write would
    /// leave the model.
    Missing {
        user: Guid,
        user_name: String,
        missing: Guid,
        kind: ObjectKind,
    },
    /// The object to delete is still needed by `user` (a `user_kind` named `user_name`).
    InUse {
        user_name: String,
        user_kind: ObjectKind,
    },
    /// The project's schema is locked by another session (whose liveness the caller judges:
    /// the store knows no sessions).
    Locked(SchemaLock),
}

/// What [`ModelStore::delete_project`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectDeletion {
    /// The project is gone, with `objects` model objects (its system folders not counted).
    Deleted { objects: usize },
    /// Nothing was deleted: the project holds `objects` model objects besides its system folders.
    Refused { objects: usize },
    /// There was no such project.
    NotFound,
}

#[async_trait]
pub trait ModelStore: JournalStore {
    /// A committed object of `project`. Ids are unique within a project; the system folders have
    /// the same well-known ids in every project, as in MicroStrategy.
    async fn object(&self, project: Guid, id: Guid) -> StoreResult<Option<ModelObject>>;
    /// The generation of `project`'s committed objects: every write of them (`commit`, the
    /// direct writes below, `delete_project`, from any node or the command line) raises it
    /// inside its own transaction, so a reader that finds the generation it cached under knows
    /// its copy is still what is committed. 0 for a project never written.
    async fn generation(&self, project: Guid) -> StoreResult<i64>;
    /// The projects that hold an object with this id (one, except for the system folders).
    async fn holders(&self, id: Guid) -> StoreResult<Vec<Guid>>;
    /// Committed objects of a project, optionally of one kind, ordered by name.
    async fn objects(&self, project: Guid, kind: Option<ObjectKind>) -> StoreResult<Vec<ModelObject>>;
    /// Writes objects directly, outside any changeset (folder trees, CLI tables); each replaces
    /// any committed object with its id. All or nothing.
    async fn put_objects(&self, objects: &[ModelObject]) -> StoreResult<()>;
    /// Replaces every committed object of `project` with `objects`, in one transaction (the
    /// upgrade of a project's folder tree to the well-known ids).
    async fn replace_project(&self, project: Guid, objects: &[ModelObject]) -> StoreResult<()>;
    /// Writes a new committed object and its journal `entry`, if what it needs
    /// ([`ModelObject::needs`]) is there (`Missing`), its name is free in its folder
    /// (`DuplicateName`) and the project's schema is not locked by a session other than `session`
    /// (the hex hash of the writer's token: `Locked`).
    async fn insert_object(
        &self,
        object: &ModelObject,
        session: &str,
        entry: &JournalEntry,
    ) -> StoreResult<Result<(), CommitRefusal>>;
    /// Replaces the committed object `object.info.id` if its version is still `expected`
    /// (`Conflict` otherwise, and when it is gone), and writes its journal `entry` (made from the
    /// object of version `expected`); a name taken in its folder is `DuplicateName`; a schema
    /// locked by a session other than `session` is `Locked`.
    async fn update_object(
        &self,
        object: &ModelObject,
        expected: Guid,
        session: &str,
        entry: &JournalEntry,
    ) -> StoreResult<Result<(), CommitRefusal>>;
    /// Deletes a committed object unless another object depends on it
    /// ([`ModelObject::depends_on`]: `InUse`) or the schema is locked by a session other than
    /// `session` (`Locked`), with the journal entry of the delete by `author`; `Ok(false)` when
    /// there is no such object.
    async fn delete_unused(
        &self,
        project: Guid,
        id: Guid,
        session: &str,
        author: &Author,
    ) -> StoreResult<Result<bool, CommitRefusal>>;

    /// Deletes a project (its directory row) with everything it holds: model objects,
    /// changesets, schema lock and tasks, change journal; one transaction, taking the same turn
    /// as model writes. Objects other than `system` (the system folders' ids) are counted there:
    /// unless `force`, a project holding any is `Refused` and nothing is written.
    async fn delete_project(
        &self,
        project: Guid,
        system: &[Guid],
        force: bool,
    ) -> StoreResult<ProjectDeletion>;

    async fn create_changeset(&self, cs: &Changeset) -> StoreResult<()>;
    async fn changeset(&self, id: Guid) -> StoreResult<Option<Changeset>>;
    /// Deletes a changeset and everything staged in it; `false` if there was none.
    async fn delete_changeset(&self, id: Guid) -> StoreResult<bool>;
    /// Every changeset (for dropping those whose session is gone).
    async fn changesets(&self) -> StoreResult<Vec<Changeset>>;
    /// Keeps a change journal comment on a changeset that is not committed yet; `false` if
    /// there is no such changeset.
    async fn set_changeset_comment(&self, id: Guid, comment: &str) -> StoreResult<bool>;

    /// Stages (replaces) one change in a changeset.
    async fn stage(&self, changeset: Guid, change: &StagedChange) -> StoreResult<()>;
    async fn staged(&self, changeset: Guid) -> StoreResult<Vec<StagedChange>>;
    async fn staged_one(&self, changeset: Guid, id: Guid) -> StoreResult<Option<StagedChange>>;

    /// In one transaction: checks that the project's schema is not locked by a session other
    /// than the changeset's (`Locked`), checks every staged change's base version against the
    /// committed object, applies them all, checks that every object the changes write still has
    /// the objects it references and that no object left depends on one the changes delete
    /// (`Missing`), writes the journal entry of what the commit created, changed and deleted
    /// (`JournalEntry::of_commit` by `author`, none when nothing was staged), marks the changeset
    /// committed and clears its staged changes. Nothing is written when a check fails. `now_ms`
    /// and fresh versions are already in the staged objects.
    async fn commit(
        &self,
        changeset: Guid,
        now_ms: i64,
        author: &Author,
    ) -> StoreResult<Result<(), CommitRefusal>>;

    // --- the schema lock: one row per locked project ---------------------------------------

    /// The stored lock of `project`, whether or not its session still lives.
    async fn schema_lock(&self, project: Guid) -> StoreResult<Option<SchemaLock>>;
    /// Every stored lock (for dropping those whose session is gone).
    async fn schema_locks(&self) -> StoreResult<Vec<SchemaLock>>;
    /// Places `lock`, taking the same turn as model writes, unless another session's lock is
    /// stored (`Err` with it; nothing written). The same session's lock takes the new type and
    /// keeps its time. `Ok` with the lock as stored.
    async fn place_schema_lock(&self, lock: &SchemaLock) -> StoreResult<Result<SchemaLock, SchemaLock>>;
    /// Removes `project`'s lock if `session` holds it; whether one went.
    async fn remove_schema_lock(&self, project: Guid, session: &str) -> StoreResult<bool>;

    // --- schema tasks (reloads) ----------------------------------------------------------------

    async fn insert_task(&self, task: &SchemaTask) -> StoreResult<()>;
    async fn task(&self, id: Guid) -> StoreResult<Option<SchemaTask>>;
    /// Records a task's outcome if it is still running; `false` when it had finished already.
    async fn finish_task(&self, task: &SchemaTask) -> StoreResult<bool>;
    /// Marks a running task as still worked on at `now_ms`.
    async fn beat_task(&self, id: Guid, now_ms: i64) -> StoreResult<()>;
    /// The newest task of `project`.
    async fn last_task(&self, project: Guid) -> StoreResult<Option<SchemaTask>>;
    /// The running tasks whose last heartbeat is before `before_ms`.
    async fn stale_tasks(&self, before_ms: i64) -> StoreResult<Vec<SchemaTask>>;
    /// Deletes the finished tasks started before `before_ms`, except each project's newest;
    /// returns how many went.
    async fn drop_tasks_before(&self, before_ms: i64) -> StoreResult<usize>;
}
