//! Opens the stores a configuration names.

use std::sync::Arc;
use std::time::Duration;

use vestibule_core::clock::now_ms;
use vestibule_core::config::Config;
use vestibule_core::error::StoreError;
use vestibule_core::model_store::ModelStore;
use vestibule_core::store::{AttemptStore, MetadataStore, SessionStore, StoreResult};

use crate::postgres::{PgStartLock, PostgresStore};
use crate::sessions::embedded::EmbeddedSessions;
use crate::sessions::redis::RedisSessions;
use crate::sqlite::{lock_start, SqliteStore};
use crate::start::{StartLock, START_WAIT};

pub struct Stores {
    pub metadata: Arc<dyn MetadataStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// The model (projects' folders, tables, attributes, changesets): in the metadata store.
    pub model: Arc<dyn ModelStore>,
    /// The failed-login budgets, when they are shared (sessions in Redis); `None` = the core
    /// keeps them in memory, with account locks in the metadata store.
    pub attempts: Option<Arc<dyn AttemptStore>>,
    /// Taken before the migrations; release it once the first start's work is done.
    pub start: StartLock,
}

/// Who opens the stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener {
    /// A server: it creates sessions, so it must be the only one writing sessions to the
    /// embedded file (it takes the data directory's session lock).
    Server,
    /// A command-line tool beside a running server: it may end sessions but never creates them.
    Tool,
}

/// Opens the metadata and session stores of `config`, creating the data directory and running
/// migrations as needed, under the first-start lock (returned held, in [`Stores::start`]).
pub async fn open(config: &Config, opener: Opener) -> StoreResult<Stores> {
    let timeout = Duration::from_secs(config.store.timeout_secs);
    let file = lock_start(&config.data_dir, START_WAIT).await?;
    // The embedded file is opened in every case: it keeps the sessions' durable copies.
    let sqlite = SqliteStore::open_with_timeout(&config.data_dir, timeout).await?;
    let (sessions, attempts) = open_sessions(config, &sqlite, opener).await?;
    let metadata = &config.store.metadata;
    if metadata.starts_with("postgres://") || metadata.starts_with("postgresql://") {
        let lock = PgStartLock::acquire(metadata, timeout, START_WAIT).await?;
        let pg = PostgresStore::connect(metadata, timeout).await?;
        return Ok(Stores {
            metadata: Arc::new(pg.clone()),
            sessions,
            model: Arc::new(pg),
            attempts,
            start: StartLock {
                file,
                postgres: Some(lock),
            },
        });
    }
    if metadata != "embedded" {
        return Err(StoreError::Unavailable(format!(
            "store.metadata '{metadata}': neither 'embedded' nor a postgres:// URL"
        )));
    }
    Ok(Stores {
        metadata: Arc::new(sqlite.clone()),
        sessions,
        model: Arc::new(sqlite),
        attempts,
        start: StartLock { file, postgres: None },
    })
}

/// The session store: Redis or a Redis Cluster (with the failed-login budgets beside it) when
/// `store.sessions` is a URL, else memory with durable copies in the embedded SQLite file.
async fn open_sessions(
    config: &Config,
    sqlite: &SqliteStore,
    opener: Opener,
) -> StoreResult<(Arc<dyn SessionStore>, Option<Arc<dyn AttemptStore>>)> {
    if config.store.sessions == "embedded" {
        let flush = Duration::from_millis(config.session.flush_interval_ms);
        let store = match opener {
            Opener::Server => EmbeddedSessions::open_exclusive(sqlite.clone(), flush, now_ms()).await?,
            Opener::Tool => EmbeddedSessions::open(sqlite.clone(), flush, now_ms()).await?,
        };
        return Ok((store, None));
    }
    let timeout = Duration::from_secs(config.store.timeout_secs);
    let mut redis = RedisSessions::connect(&config.store.sessions, timeout)
        .await?
        .wait_for_replicas(config.store.redis_wait_replicas);
    // A server keeps a copy of the sessions it serves; a tool only invalidates the servers'.
    if opener == Opener::Server {
        redis = redis.with_local_copy(config.store.redis_cache_sessions);
    }
    let attempts: Arc<dyn AttemptStore> = Arc::new(redis.attempts());
    Ok((Arc::new(redis), Some(attempts)))
}
