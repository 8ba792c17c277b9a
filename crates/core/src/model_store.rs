//! The model's storage trait: committed objects, changesets and their staged changes, and the
//! atomic commit. Each backend (SQLite, PostgreSQL) implements only this.

use async_trait::async_trait;

use crate::ids::Guid;
use crate::model::types::{Changeset, ModelObject, ObjectKind, StagedChange};
use crate::store::StoreResult;

/// The outcome of a commit that the store refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitRefusal {
    /// Another commit changed (or deleted, or made) this object since the changeset read it.
    Conflict(Guid),
    /// An object of the same kind and name already exists in the folder.
    DuplicateName(String),
}

#[async_trait]
pub trait ModelStore: Send + Sync + 'static {
    /// A committed object.
    async fn object(&self, id: Guid) -> StoreResult<Option<ModelObject>>;
    /// Committed objects of a project, optionally of one kind, ordered by name.
    async fn objects(&self, project: Guid, kind: Option<ObjectKind>) -> StoreResult<Vec<ModelObject>>;
    /// Writes objects directly, outside any changeset (folder trees, CLI tables, object
    /// properties); each replaces any committed object with its id. All or nothing.
    async fn put_objects(&self, objects: &[ModelObject]) -> StoreResult<()>;
    /// Deletes a committed object directly.
    async fn delete_object(&self, id: Guid) -> StoreResult<bool>;

    async fn create_changeset(&self, cs: &Changeset) -> StoreResult<()>;
    async fn changeset(&self, id: Guid) -> StoreResult<Option<Changeset>>;
    /// Deletes a changeset and everything staged in it; `false` if there was none.
    async fn delete_changeset(&self, id: Guid) -> StoreResult<bool>;
    /// Every changeset (for dropping those whose session is gone).
    async fn changesets(&self) -> StoreResult<Vec<Changeset>>;

    /// Stages (replaces) one change in a changeset.
    async fn stage(&self, changeset: Guid, change: &StagedChange) -> StoreResult<()>;
    async fn staged(&self, changeset: Guid) -> StoreResult<Vec<StagedChange>>;
    async fn staged_one(&self, changeset: Guid, id: Guid) -> StoreResult<Option<StagedChange>>;

    /// In one transaction: checks every staged change's base version against the committed
    /// object, applies them all, marks the changeset committed and clears its staged changes.
    /// Nothing is written when a check fails. `now_ms` and fresh versions are already in the
    /// staged objects.
    async fn commit(&self, changeset: Guid, now_ms: i64) -> StoreResult<Result<(), CommitRefusal>>;
}
