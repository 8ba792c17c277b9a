//! The embedded session store: sessions served from memory, with durable copies in the SQLite file.
//!
//! A new session, a logout and a grant are written through before the request returns, so a
//! kill -9 loses none of them. Keep-alive times change on every request, so they are batched: the
//! memory map signals a session at most once per flush interval, and a background task writes the
//! batch. After a crash a session can therefore look up to one flush interval older than it was.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, Mutex};

use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Grant, Session};
use vestibule_core::store::{SessionStore, StoreResult};

use crate::memory::MemorySessions;
use crate::sqlite::SqliteStore;

pub struct EmbeddedSessions {
    mem: Arc<MemorySessions>,
    db: SqliteStore,
    dirty: mpsc::UnboundedSender<SecretHash>,
    /// Hashes received but not yet written; shared with `flush`.
    pending: Arc<Mutex<(mpsc::UnboundedReceiver<SecretHash>, HashSet<SecretHash>)>>,
    granularity_ms: i64,
}

impl EmbeddedSessions {
    /// Loads the live sessions and grants from the file and starts the activity writer.
    pub async fn open(db: SqliteStore, flush_interval: Duration, now_ms: i64) -> StoreResult<Arc<Self>> {
        let mem = Arc::new(MemorySessions::default());
        db.delete_expired(now_ms).await?;
        for s in db.live_sessions(now_ms).await? {
            mem.insert(s);
        }
        for g in db.live_grants(now_ms).await? {
            mem.insert_grant(g);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let store = Arc::new(EmbeddedSessions {
            mem,
            db,
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
        self.db.save_activity(&sessions).await?;
        set.clear();
        Ok(())
    }
}

#[async_trait]
impl SessionStore for EmbeddedSessions {
    async fn insert(&self, session: Session) -> StoreResult<()> {
        self.db.save_session(&session).await?;
        self.mem.insert(session);
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
        self.db.delete_session(token).await?;
        Ok(self.mem.remove(token))
    }

    async fn remove_user(&self, user: Guid) -> StoreResult<usize> {
        self.db.delete_user_sessions(user).await?;
        Ok(self.mem.remove_user(user))
    }

    async fn sweep(&self, now_ms: i64) -> StoreResult<usize> {
        let n = self.mem.sweep(now_ms);
        // Pending activity first, so the file does not delete a session the memory still keeps.
        self.write_activity().await?;
        self.db.delete_expired(now_ms).await?;
        Ok(n)
    }

    async fn count(&self) -> StoreResult<usize> {
        Ok(self.mem.len())
    }

    async fn insert_grant(&self, grant: Grant) -> StoreResult<()> {
        self.db.save_grant(&grant).await?;
        self.mem.insert_grant(grant);
        Ok(())
    }

    async fn grant(&self, hash: &SecretHash, now_ms: i64) -> StoreResult<Option<Grant>> {
        Ok(self.mem.grant(hash, now_ms))
    }

    async fn remove_grant(&self, hash: &SecretHash) -> StoreResult<bool> {
        self.db.delete_grant(hash).await?;
        Ok(self.mem.remove_grant(hash))
    }

    async fn flush(&self) -> StoreResult<()> {
        self.write_activity().await
    }

    async fn is_live(&self, token: &SecretHash, now_ms: i64) -> StoreResult<bool> {
        Ok(self.mem.peek(token).is_some_and(|s| s.is_live(now_ms)))
    }
}
