//! The change journal's storage trait: reading entries and purging them. Entries are written by
//! the model store's own writes, inside their transactions ([`ModelStore`]), never on their own.
//!
//! [`ModelStore`]: crate::model_store::ModelStore

use async_trait::async_trait;

use crate::ids::Guid;
use crate::model::journal::JournalEntry;
use crate::store::StoreResult;

/// What the store narrows a search of the journal to; every part left empty (or `None`) matches
/// anything. Bounds are inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalQuery {
    /// Entries of these projects.
    pub projects: Vec<Guid>,
    /// Entries that touched one of these objects.
    pub objects: Vec<Guid>,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

#[async_trait]
pub trait JournalStore: Send + Sync + 'static {
    /// The entries that match, newest first, each with its transaction number.
    async fn journal(&self, query: &JournalQuery) -> StoreResult<Vec<JournalEntry>>;
    /// The newest entry's transaction number; 0 when there is none.
    async fn journal_last_id(&self) -> StoreResult<i64>;
    /// In one transaction: deletes the entries of `projects` (`None`: of every project) written
    /// before `before_ms` (`None`: all), then writes `left` (the entries that record the purge).
    /// Answers how many entries were deleted.
    async fn purge_journal(
        &self,
        projects: Option<&[Guid]>,
        before_ms: Option<i64>,
        left: &[JournalEntry],
    ) -> StoreResult<u64>;
}
