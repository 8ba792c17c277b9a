//! Opens the stores a configuration names.

use std::sync::Arc;
use std::time::Duration;

use vestibule_core::clock::now_ms;
use vestibule_core::config::Config;
use vestibule_core::error::StoreError;
use vestibule_core::model_store::ModelStore;
use vestibule_core::store::{MetadataStore, SessionStore, StoreResult};

use crate::embedded::EmbeddedSessions;
use crate::postgres::PostgresStore;
use crate::redis::RedisSessions;
use crate::sqlite::SqliteStore;

pub struct Stores {
    pub metadata: Arc<dyn MetadataStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// The model (projects' folders, tables, attributes, changesets): in the metadata store.
    pub model: Arc<dyn ModelStore>,
}

/// Opens the metadata and session stores of `config`, creating the data directory and running
/// migrations as needed.
pub async fn open(config: &Config) -> StoreResult<Stores> {
    let timeout = Duration::from_secs(config.store.timeout_secs);
    // The embedded file is opened in every case: it keeps the sessions' durable copies.
    let sqlite = SqliteStore::open_with_timeout(&config.data_dir, timeout).await?;
    let sessions = open_sessions(config, &sqlite).await?;
    let metadata = &config.store.metadata;
    if metadata.starts_with("postgres://") || metadata.starts_with("postgresql://") {
        let pg = PostgresStore::connect(metadata, timeout).await?;
        return Ok(Stores {
            metadata: Arc::new(pg.clone()),
            sessions,
            model: Arc::new(pg),
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
    Ok(Arc::new(
        RedisSessions::connect(&config.store.sessions, timeout).await?,
    ))
}
