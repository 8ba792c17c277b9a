//! Opens the stores a configuration names.

use std::sync::Arc;
use std::time::Duration;

use vestibule_core::clock::now_ms;
use vestibule_core::config::Config;
use vestibule_core::error::StoreError;
use vestibule_core::store::{MetadataStore, SessionStore, StoreResult};

use crate::embedded::EmbeddedSessions;
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
    if config.store.sessions != "embedded" {
        return Err(StoreError::Unavailable(format!(
            "store.sessions '{}': only the embedded store is built into this version",
            config.store.sessions
        )));
    }
    let sqlite = SqliteStore::open(&config.data_dir).await?;
    let sessions = EmbeddedSessions::open(
        sqlite.clone(),
        Duration::from_millis(config.session.flush_interval_ms),
        now_ms(),
    )
    .await?;
    Ok(Stores {
        metadata: Arc::new(sqlite),
        sessions,
    })
}
