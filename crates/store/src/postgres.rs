//! The PostgreSQL store, for scale-out: the directory (`MetadataStore`) and the model
//! (`ModelStore`), each in SQL shared with the embedded SQLite store ([`crate::sql::metadata`],
//! [`crate::sql::model`]); only the pool, the migrations and the commit lock are PostgreSQL's own.
//! Sessions stay in their own store (embedded or Redis).
//!
//! Commits of changesets take a table lock on `model_objects`, so commits from every node take
//! turns and a version check cannot race another node's write.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use vestibule_core::error::StoreError;
use vestibule_core::store::StoreResult;

use crate::sql::numbered;

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and brings the schema up to date.
    pub async fn connect(url: &str, timeout: Duration) -> StoreResult<PostgresStore> {
        // An idle connection is pinged before it is handed out (sqlx's default, stated here so
        // it stays): one that died while idle (PostgreSQL restarted) is dropped and a new one
        // opened within the same acquire timeout, so no query meets it. A connection that dies
        // during a query is not retried: a write transaction must not run twice.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .test_before_acquire(true)
            .acquire_timeout(timeout)
            .connect(url)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migrating the PostgreSQL store failed: {e}")))?;
        Ok(PostgresStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

crate::impl_metadata_store!(PostgresStore, numbered);

crate::impl_model_store!(
    PostgresStore,
    numbered,
    Some("LOCK TABLE model_objects IN SHARE ROW EXCLUSIVE MODE")
);
