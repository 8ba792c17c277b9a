//! The embedded session store: sessions served from memory, with durable copies in the SQLite file.
//!
//! A new session, a logout and a grant are written through before the request returns, so a
//! kill -9 loses none of them. Keep-alive times change on every request, so they are batched: the
//! memory map signals a session at most once per flush interval, and a background task writes the
//! batch. After a crash a session can therefore look up to one flush interval older than it was.
//!
//! # Group commit
//!
//! A SQLite commit costs far more than the insert it commits (the WAL append and its locking),
//! and SQLite admits one writer at a time, so one transaction per new session capped minting at a
//! few thousand per second. Every write therefore goes to one writer task through a channel, each
//! with a oneshot for its answer. The writer takes whatever is queued (at most [`MAX_BATCH`]
//! operations), applies it in ONE transaction, commits, then applies the same operations to the
//! memory map in the same order and answers every caller. Under load a commit carries hundreds of
//! writes; an idle server commits each write alone.
//!
//! Durability: a caller waits for its answer, and the answer comes only after the
//! transaction holding its write committed. The memory map changes only after the commit (file
//! first, then memory), and since the writer does it, a caller that gives up waiting
//! (a dropped request) cannot leave the memory and the file disagreeing. If a batch fails, its
//! operations are retried one transaction each (unless the file is unavailable), so one bad write
//! does not fail its neighbours.
//!
//! # Rows
//!
//! The file keeps sessions by row, not by token hash (see `SqliteStore::save_sessions_in`): the
//! writer hands each new session the next row number, memory keeps it beside the session, and
//! logouts, keep-alives and a user's logout address the file by those rows. Memory holds every
//! session the file holds (those loaded at start and those committed since; expired ones until
//! the sweep deletes them from both), so it always knows the rows to write.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot, Mutex};

use vestibule_core::credential::Admission;
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Grant, Session};
use vestibule_core::store::{SessionStore, StoreResult};

use crate::sessions::memory::{MemorySessions, TokenKey};
use crate::sqlite::SqliteStore;

/// The lock file in the data directory held by the server whose sessions the file keeps.
pub const SESSIONS_LOCK: &str = "sessions.lock";

/// The most operations one transaction carries.
pub const MAX_BATCH: usize = 512;

/// How many operations may wait for the writer before callers wait to queue.
const QUEUE: usize = 8 * MAX_BATCH;

/// A write of the session store, applied to the file and then to memory.
enum Op {
    Insert(Session),
    Remove(SecretHash),
    RemoveUser(Guid),
    InsertGrant(Grant),
    RemoveGrant(SecretHash),
    /// New last-active times (memory has them already).
    Activity(Vec<Session>),
    /// Drops what expired before the time from the file (memory sweeps itself).
    DeleteExpired(i64),
}

/// What an operation did to memory: sessions or grants removed (0/1 for a single one).
type Reply = StoreResult<usize>;

struct Request {
    op: Op,
    reply: oneshot::Sender<Reply>,
}

pub struct EmbeddedSessions {
    mem: Arc<MemorySessions>,
    /// A server's hold on the file's sessions (see [`EmbeddedSessions::open_exclusive`]).
    _lock: Option<std::fs::File>,
    writes: mpsc::Sender<Request>,
    dirty: mpsc::UnboundedSender<SecretHash>,
    /// Hashes received but not yet written; shared with `flush`.
    pending: Arc<Mutex<(mpsc::UnboundedReceiver<SecretHash>, HashSet<SecretHash>)>>,
    granularity_ms: i64,
}

impl EmbeddedSessions {
    /// Loads the live sessions and grants from the file and starts the writer and the activity
    /// flusher.
    pub async fn open(db: SqliteStore, flush_interval: Duration, now_ms: i64) -> StoreResult<Arc<Self>> {
        Self::open_with(db, flush_interval, now_ms, None).await
    }

    /// As [`EmbeddedSessions::open`], for a server: takes the data directory's session lock
    /// first, and fails if another server holds it. Memory is the only record of which rows a
    /// server has handed out, so two servers writing new sessions to one file would overwrite
    /// each other's. (A command-line tool opens without the lock: it ends sessions, by the rows
    /// the file holds, but never creates any.)
    pub async fn open_exclusive(
        db: SqliteStore,
        flush_interval: Duration,
        now_ms: i64,
    ) -> StoreResult<Arc<Self>> {
        let lock = lock_sessions(db.data_dir())?;
        Self::open_with(db, flush_interval, now_ms, Some(lock)).await
    }

    async fn open_with(
        db: SqliteStore,
        flush_interval: Duration,
        now_ms: i64,
        lock: Option<std::fs::File>,
    ) -> StoreResult<Arc<Self>> {
        db.delete_expired(now_ms).await?;
        let mem = Arc::new(MemorySessions::with_capacity(
            db.live_session_count(now_ms).await?,
        ));
        db.each_live_session(now_ms, |row, s| mem.insert_at(s, row))
            .await?;
        let last_row = db.last_session_row().await?;
        for g in db.live_grants(now_ms).await? {
            mem.insert_grant(g);
        }
        let conn = db.own_connection().await?;
        let (writes, queue) = mpsc::channel(QUEUE);
        // The writer ends when the store (the only sender) is dropped.
        tokio::spawn(writer(conn, mem.clone(), queue, last_row));
        let (tx, rx) = mpsc::unbounded_channel();
        let store = Arc::new(EmbeddedSessions {
            mem,
            _lock: lock,
            writes,
            dirty: tx,
            pending: Arc::new(Mutex::new((rx, HashSet::new()))),
            granularity_ms: flush_interval.as_millis().max(1) as i64,
        });
        let weak = Arc::downgrade(&store);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(flush_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(store) = weak.upgrade() else { break };
                if let Err(e) = store.write_activity().await {
                    tracing::warn!(error = %e, "writing session activity failed; will retry");
                }
            }
        });
        Ok(store)
    }

    /// Hands `op` to the writer and waits until it is committed (and applied to memory).
    async fn write(&self, op: Op) -> Reply {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the session writer has stopped".into());
        self.writes
            .send(Request { op, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Writes the keep-alive times signalled since the last write.
    async fn write_activity(&self) -> StoreResult<()> {
        let mut pending = self.pending.lock().await;
        let (rx, set) = &mut *pending;
        while let Ok(h) = rx.try_recv() {
            set.insert(h);
        }
        if set.is_empty() {
            return Ok(());
        }
        let sessions: Vec<Session> = set.iter().filter_map(|h| self.mem.peek(h)).collect();
        self.write(Op::Activity(sessions)).await?;
        set.clear();
        Ok(())
    }
}

/// Takes the data directory's session lock (released when the file closes, a kill -9 included).
fn lock_sessions(data_dir: &std::path::Path) -> StoreResult<std::fs::File> {
    let path = data_dir.join(SESSIONS_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "the data directory {} is in use by another vestibule server; give each server its own \
             data_dir, or share sessions through Redis (docs/scale-out.md)",
            data_dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Unavailable(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// The single writer: drains the queue, commits each batch in one transaction, then updates memory
/// and answers. It writes on a connection of its own: a pooled one each batch was a different
/// connection each time (the pool hands out its idle connections in turn), whose page cache
/// another connection's commits had made stale, so every batch read the pages it appends to
/// again.
async fn writer(
    mut db: SqliteConnection,
    mem: Arc<MemorySessions>,
    mut queue: mpsc::Receiver<Request>,
    last_row: i64,
) {
    let mut rows = Rows { last: last_row };
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
    loop {
        if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        let result = commit(&mut db, &mem, &mut rows, batch.iter().map(|r| &r.op)).await;
        match result {
            Ok(placed) => {
                for (r, row) in batch.drain(..).zip(placed) {
                    let n = apply(&mem, r.op, row);
                    // The caller may have stopped waiting; its write stands all the same.
                    let _ = r.reply.send(Ok(n));
                }
            }
            // The file cannot be written at all: every operation gets the error.
            Err(StoreError::Unavailable(msg)) => {
                for r in batch.drain(..) {
                    let _ = r.reply.send(Err(StoreError::Unavailable(msg.clone())));
                }
            }
            Err(e) if batch.len() == 1 => {
                if let Some(r) = batch.pop() {
                    let _ = r.reply.send(Err(e));
                }
            }
            // Some operation failed: give each its own transaction, so only the bad one fails.
            Err(_) => {
                for r in batch.drain(..) {
                    let answer = match commit(&mut db, &mem, &mut rows, std::iter::once(&r.op)).await {
                        Ok(placed) => Ok(apply(&mem, r.op, placed.first().copied().flatten())),
                        Err(e) => Err(e),
                    };
                    let _ = r.reply.send(answer);
                }
            }
        }
    }
}

/// Row numbers for new sessions: above every row the file has held since it was opened, never
/// reused (a failed transaction's numbers are skipped).
struct Rows {
    last: i64,
}

impl Rows {
    fn next(&mut self) -> i64 {
        self.last += 1;
        self.last
    }
}

/// Where each session touched by a batch is in the file, as the batch goes: memory as of the last
/// commit, overlaid with the batch's own inserts and removals.
struct Placement<'a> {
    mem: &'a MemorySessions,
    /// `Some((row, user))` for a session the batch inserted, `None` for one it removed.
    /// By the key memory holds sessions under.
    changed: HashMap<TokenKey, Option<(i64, Guid)>>,
}

impl Placement<'_> {
    fn row(&self, token: &SecretHash) -> Option<i64> {
        match self.changed.get(&TokenKey::of(token)) {
            Some(changed) => changed.map(|(row, _)| row),
            None => self.mem.row_of(token),
        }
    }

    fn remove(&mut self, token: SecretHash) -> Option<i64> {
        let row = self.row(&token);
        self.changed.insert(TokenKey::of(&token), None);
        row
    }

    /// The rows of a user's sessions, which the batch then counts as removed: those in memory
    /// the batch has not touched, and those the batch itself inserted.
    fn remove_user(&mut self, user: Guid) -> Vec<i64> {
        let mut gone = Vec::new();
        for (token, row) in self.mem.rows_of_user(user) {
            if let std::collections::hash_map::Entry::Vacant(e) = self.changed.entry(token) {
                e.insert(None);
                gone.push(row);
            }
        }
        for changed in self.changed.values_mut() {
            if let Some((row, u)) = *changed {
                if u == user {
                    gone.push(row);
                    *changed = None;
                }
            }
        }
        gone
    }
}

/// Applies `ops` to the file in one transaction; for each operation, the row of the session it
/// inserted (`None` for other operations).
async fn commit<'a>(
    db: &mut SqliteConnection,
    mem: &MemorySessions,
    rows: &mut Rows,
    ops: impl Iterator<Item = &'a Op>,
) -> StoreResult<Vec<Option<i64>>> {
    let mut tx = db.begin().await.map_err(crate::sql::map_err)?;
    let mut place = Placement {
        mem,
        changed: HashMap::new(),
    };
    let mut placed = Vec::new();
    // Consecutive inserts (the common case: a burst of logins or mints) go as multi-row inserts.
    let mut inserts: Vec<(i64, &Session)> = Vec::new();
    for op in ops {
        if let Op::Insert(s) = op {
            // A session saved again keeps its row.
            let row = place.row(&s.token).unwrap_or_else(|| rows.next());
            place
                .changed
                .insert(TokenKey::of(&s.token), Some((row, s.user_id)));
            inserts.push((row, s));
            placed.push(Some(row));
            continue;
        }
        placed.push(None);
        if !inserts.is_empty() {
            SqliteStore::save_sessions_in(&mut tx, &inserts).await?;
            inserts.clear();
        }
        match op {
            Op::Insert(_) => {}
            Op::Remove(h) => {
                let gone: Vec<i64> = place.remove(*h).into_iter().collect();
                SqliteStore::delete_sessions_in(&mut tx, &gone).await?;
            }
            Op::RemoveUser(u) => {
                let gone = place.remove_user(*u);
                SqliteStore::delete_sessions_in(&mut tx, &gone).await?;
            }
            Op::InsertGrant(g) => SqliteStore::save_grant_in(&mut tx, g).await?,
            Op::RemoveGrant(h) => SqliteStore::delete_grant_in(&mut tx, h).await?,
            Op::Activity(sessions) => {
                let at: Vec<(i64, &Session)> = sessions
                    .iter()
                    .filter_map(|s| Some((place.row(&s.token)?, s)))
                    .collect();
                SqliteStore::save_activity_in(&mut tx, &at).await?;
            }
            Op::DeleteExpired(now) => SqliteStore::delete_expired_in(&mut tx, *now).await?,
        }
    }
    if !inserts.is_empty() {
        SqliteStore::save_sessions_in(&mut tx, &inserts).await?;
    }
    tx.commit().await.map_err(crate::sql::map_err)?;
    Ok(placed)
}

/// Applies a committed operation to memory; what it removed. `row` is where an inserted session
/// was written.
fn apply(mem: &MemorySessions, op: Op, row: Option<i64>) -> usize {
    match op {
        Op::Insert(s) => {
            mem.insert_at(s, row.unwrap_or(0));
            0
        }
        Op::Remove(h) => usize::from(mem.remove(&h)),
        Op::RemoveUser(u) => mem.remove_user(u),
        Op::InsertGrant(g) => {
            mem.insert_grant(g);
            0
        }
        Op::RemoveGrant(h) => usize::from(mem.remove_grant(&h)),
        Op::Activity(_) | Op::DeleteExpired(_) => 0,
    }
}

#[async_trait]
impl SessionStore for EmbeddedSessions {
    async fn insert(&self, session: Session) -> StoreResult<()> {
        self.write(Op::Insert(session)).await?;
        Ok(())
    }

    async fn touch_if(
        &self,
        token: &SecretHash,
        now_ms: i64,
        admission: &Admission<'_>,
    ) -> StoreResult<Option<Session>> {
        Ok(self
            .mem
            .touch(token, now_ms, self.granularity_ms, admission)
            .map(|t| {
                if t.persist {
                    // The receiver lives as long as `self`; a failed send cannot happen here.
                    let _ = self.dirty.send(t.session.token);
                }
                t.session
            }))
    }

    async fn remove(&self, token: &SecretHash) -> StoreResult<bool> {
        Ok(self.write(Op::Remove(*token)).await? > 0)
    }

    async fn remove_user(&self, user: Guid) -> StoreResult<usize> {
        self.write(Op::RemoveUser(user)).await
    }

    async fn sweep(&self, now_ms: i64) -> StoreResult<usize> {
        let n = self.mem.sweep(now_ms);
        // Pending activity first, so the file does not delete a session the memory still keeps.
        self.write_activity().await?;
        self.write(Op::DeleteExpired(now_ms)).await?;
        Ok(n)
    }

    async fn count(&self) -> StoreResult<usize> {
        Ok(self.mem.len())
    }

    async fn ping(&self) -> StoreResult<()> {
        // An empty batch through the writer: one transaction on the file, as a login's would be.
        self.write(Op::Activity(Vec::new())).await.map(|_| ())
    }

    async fn insert_grant(&self, grant: Grant) -> StoreResult<()> {
        self.write(Op::InsertGrant(grant)).await?;
        Ok(())
    }

    async fn grant(&self, hash: &SecretHash, now_ms: i64) -> StoreResult<Option<Grant>> {
        Ok(self.mem.grant(hash, now_ms))
    }

    async fn remove_grant(&self, hash: &SecretHash) -> StoreResult<bool> {
        Ok(self.write(Op::RemoveGrant(*hash)).await? > 0)
    }

    /// Kept in memory only: one node, and what it guards (an assertion's short life) is over
    /// by the time a restarted node is back.
    async fn first_sight(&self, hash: &SecretHash, expires_ms: i64, now_ms: i64) -> StoreResult<bool> {
        Ok(self.mem.first_sight(hash, expires_ms, now_ms))
    }

    async fn flush(&self) -> StoreResult<()> {
        self.write_activity().await
    }

    async fn is_live(&self, token: &SecretHash, now_ms: i64) -> StoreResult<bool> {
        Ok(self.mem.peek(token).is_some_and(|s| s.is_live(now_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vestibule_core::session::{Expiry, Scope};

    fn session(user: Guid) -> Session {
        Session {
            token: SecretHash::of(&vestibule_core::secret::new_auth_token()),
            cookie: None,
            user_id: user,
            login_mode: 1,
            scope: Scope::Full,
            created_ms: 1,
            last_active_ms: 1,
            expiry: Expiry::Absolute { expires_ms: i64::MAX },
        }
    }

    /// Removals in the same transaction as the inserts they undo find the rows the batch itself
    /// handed out; the file then holds what memory holds.
    #[tokio::test]
    async fn a_batch_removes_what_it_inserted_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(dir.path()).await.unwrap();
        let mem = MemorySessions::default();
        let (u1, u2) = (Guid::random(), Guid::random());
        let (a, b, c, d) = (session(u1), session(u1), session(u2), session(u1));
        let kept = session(u1);
        mem.insert_at(kept.clone(), 7);
        let mut tx = db.begin().await.unwrap();
        SqliteStore::save_sessions_in(&mut tx, &[(7, &kept)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let ops = vec![
            Op::Insert(a.clone()),
            Op::Insert(b.clone()),
            Op::Remove(a.token),
            Op::Insert(c.clone()),
            Op::RemoveUser(u1),
            Op::Insert(d.clone()),
            Op::Insert(d.clone()),
        ];
        let mut rows = Rows { last: 7 };
        let mut conn = db.own_connection().await.unwrap();
        let placed = commit(&mut conn, &mem, &mut rows, ops.iter()).await.unwrap();
        assert_eq!(
            placed,
            vec![Some(8), Some(9), None, Some(10), None, Some(11), Some(11)]
        );
        for (op, row) in ops.into_iter().zip(placed) {
            apply(&mem, op, row);
        }
        let mut in_file: Vec<(i64, SecretHash)> = db
            .live_sessions(2)
            .await
            .unwrap()
            .into_iter()
            .map(|(row, s)| (row, s.token))
            .collect();
        in_file.sort_by_key(|(row, _)| *row);
        assert_eq!(in_file, vec![(10, c.token), (11, d.token)]);
        assert_eq!(mem.len(), 2);
        assert_eq!(mem.row_of(&c.token), Some(10));
        assert_eq!(mem.row_of(&d.token), Some(11));
    }
}
