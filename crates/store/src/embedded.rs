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
//! writes; an idle server commits each write alone, as before.
//!
//! Durability is unchanged: a caller waits for its answer, and the answer comes only after the
//! transaction holding its write committed. The memory map changes only after the commit, as
//! before (file first, then memory), and since the writer does it, a caller that gives up waiting
//! (a dropped request) cannot leave the memory and the file disagreeing. If a batch fails, its
//! operations are retried one transaction each (unless the file is unavailable), so one bad write
//! does not fail its neighbours.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, Mutex};

use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Grant, Session};
use vestibule_core::store::{SessionStore, StoreResult};

use crate::memory::MemorySessions;
use crate::sqlite::SqliteStore;

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
        let mem = Arc::new(MemorySessions::default());
        db.delete_expired(now_ms).await?;
        for s in db.live_sessions(now_ms).await? {
            mem.insert(s);
        }
        for g in db.live_grants(now_ms).await? {
            mem.insert_grant(g);
        }
        let (writes, queue) = mpsc::channel(QUEUE);
        // The writer ends when the store (the only sender) is dropped.
        tokio::spawn(writer(db, mem.clone(), queue));
        let (tx, rx) = mpsc::unbounded_channel();
        let store = Arc::new(EmbeddedSessions {
            mem,
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

/// The single writer: drains the queue, commits each batch in one transaction, then updates memory
/// and answers.
async fn writer(db: SqliteStore, mem: Arc<MemorySessions>, mut queue: mpsc::Receiver<Request>) {
    let mut batch: Vec<Request> = Vec::with_capacity(MAX_BATCH);
    loop {
        if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        let result = commit(&db, batch.iter().map(|r| &r.op)).await;
        match result {
            Ok(()) => {
                for r in batch.drain(..) {
                    let n = apply(&mem, r.op);
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
                    let answer = match commit(&db, std::iter::once(&r.op)).await {
                        Ok(()) => Ok(apply(&mem, r.op)),
                        Err(e) => Err(e),
                    };
                    let _ = r.reply.send(answer);
                }
            }
        }
    }
}

/// Applies `ops` to the file in one transaction.
async fn commit<'a>(db: &SqliteStore, ops: impl Iterator<Item = &'a Op>) -> StoreResult<()> {
    let mut tx = db.begin().await?;
    // Consecutive inserts (the common case: a burst of logins or mints) go as multi-row inserts.
    let mut inserts: Vec<&Session> = Vec::new();
    for op in ops {
        if let Op::Insert(s) = op {
            inserts.push(s);
            continue;
        }
        if !inserts.is_empty() {
            SqliteStore::save_sessions_in(&mut tx, &inserts).await?;
            inserts.clear();
        }
        match op {
            Op::Insert(_) => {}
            Op::Remove(h) => SqliteStore::delete_session_in(&mut tx, h).await?,
            Op::RemoveUser(u) => SqliteStore::delete_user_sessions_in(&mut tx, *u).await?,
            Op::InsertGrant(g) => SqliteStore::save_grant_in(&mut tx, g).await?,
            Op::RemoveGrant(h) => SqliteStore::delete_grant_in(&mut tx, h).await?,
            Op::Activity(sessions) => SqliteStore::save_activity_in(&mut tx, sessions).await?,
            Op::DeleteExpired(now) => SqliteStore::delete_expired_in(&mut tx, *now).await?,
        }
    }
    if !inserts.is_empty() {
        SqliteStore::save_sessions_in(&mut tx, &inserts).await?;
    }
    tx.commit().await.map_err(crate::sqlite::map_err)
}

/// Applies a committed operation to memory; what it removed.
fn apply(mem: &MemorySessions, op: Op) -> usize {
    match op {
        Op::Insert(s) => {
            mem.insert(s);
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

    async fn touch(&self, token: &SecretHash, now_ms: i64) -> StoreResult<Option<Session>> {
        Ok(self.mem.touch(token, now_ms, self.granularity_ms).map(|t| {
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

    async fn flush(&self) -> StoreResult<()> {
        self.write_activity().await
    }

    async fn is_live(&self, token: &SecretHash, now_ms: i64) -> StoreResult<bool> {
        Ok(self.mem.peek(token).is_some_and(|s| s.is_live(now_ms)))
    }
}
