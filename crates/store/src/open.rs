//! Opens the stores a configuration names.

use std::sync::Arc;
use std::time::Duration;

use vestibule_core::clock::now_ms;
use vestibule_core::config::Config;
use vestibule_core::error::StoreError;
use vestibule_core::store::{MetadataStore, SessionStore, StoreResult};

use crate::embedded::EmbeddedSessions;
use crate::redis::RedisSessions;
use crate::sqlite::SqliteStore;

pub struct Stores {
    pub metadata: Arc<dyn MetadataStore>,
    pub sessions: Arc<dyn SessionStore>,
}

/// Opens the metadata and session stores of `config`, creating the data directory and running
/// migrations as needed.
pub async fn open(config: &Config) -> StoreResult<Stores> {
    if config.store.metadata != "embedded" {
        return Err(StoreError::Unavailable(format!(
            "store.metadata '{}': only the embedded store is built into this version",
            config.store.metadata
        )));
    }
    let sqlite = SqliteStore::open(&config.data_dir).await?;
    let sessions = open_sessions(config, &sqlite).await?;
    Ok(Stores {
        metadata: Arc::new(sqlite),
        sessions,
    })
}

/// The session store: Redis when `store.sessions` is a URL, else memory with durable copies in the
/// embedded SQLite file.
async fn open_sessions(config: &Config, sqlite: &SqliteStore) -> StoreResult<Arc<dyn SessionStore>> {
    if config.store.sessions == "embedded" {
        let store = EmbeddedSessions::open(
            sqlite.clone(),
            Duration::from_millis(config.session.flush_interval_ms),
            now_ms(),
        )
        .await?;
        return Ok(store);
    }
    let timeout = Duration::from_secs(config.store.timeout_secs);
    Ok(Arc::new(RedisSessions::connect(&config.store.sessions, timeout).await?))
}
