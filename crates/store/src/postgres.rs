//! The PostgreSQL store, for scale-out: the directory (`MetadataStore`) and the model
//! (`ModelStore`), each in SQL shared with the embedded SQLite store ([`crate::sql::metadata`],
//! [`crate::sql::model`]); only the pool, the migrations and the commit lock are PostgreSQL's own.
//! Sessions stay in their own store (embedded or Redis).
//!
//! Commits of changesets take a table lock on `model_objects`, so commits from every node take
//! turns and a version check cannot race another node's write.
//!
//! Nodes starting together take turns at the migrations and the first start through
//! [`PgStartLock`], a session-level advisory lock on a connection of its own.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use vestibule_core::error::StoreError;
use vestibule_core::store::StoreResult;

use crate::sql::{map_err, numbered};

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
        crate::upgrade_documents!(pool, numbered).await?;
        Ok(PostgresStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The advisory-lock key of the first start: the bytes of "vestibul". Advisory locks are per
/// database, so nodes share it only when they share a database.
pub const START_LOCK_KEY: i64 = i64::from_be_bytes(*b"vestibul");

/// The first-start lock of one PostgreSQL database: held by one process at a time, from before
/// the migrations until the first start's work is done. A session-level advisory lock on a
/// connection outside the pool, so that it is held whatever the pool's connections do, and so
/// that PostgreSQL releases it when the connection closes: a process that dies holding it holds
/// it no longer.
pub struct PgStartLock {
    conn: PgConnection,
}

impl PgStartLock {
    /// Waits (at most `wait`) for the lock of the database at `url`; connecting may take
    /// `timeout`.
    pub async fn acquire(url: &str, timeout: Duration, wait: Duration) -> StoreResult<PgStartLock> {
        let unavailable =
            |e: sqlx::Error| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}"));
        let options = PgConnectOptions::from_str(url).map_err(unavailable)?;
        let mut conn = tokio::time::timeout(timeout, options.connect())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "cannot connect to PostgreSQL: no answer within {} s",
                    timeout.as_secs()
                ))
            })?
            .map_err(unavailable)?;
        // lock_timeout bounds the wait for an advisory lock as for any other.
        sqlx::query(&format!("SET lock_timeout = {}", wait.as_millis()))
            .execute(&mut conn)
            .await
            .map_err(map_err)?;
        match sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(START_LOCK_KEY)
            .execute(&mut conn)
            .await
        {
            Ok(_) => Ok(PgStartLock { conn }),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                Err(StoreError::Unavailable(format!(
                    "another vestibule process has been migrating or starting on this database for \
                     over {} s (it holds advisory lock {START_LOCK_KEY}); try again when it is done",
                    wait.as_secs()
                )))
            }
            Err(e) => Err(map_err(e)),
        }
    }

    /// Releases the lock and closes its connection. Closing alone would release it too, so a
    /// failure here only costs a log line.
    pub async fn release(mut self) {
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(START_LOCK_KEY)
            .execute(&mut self.conn)
            .await;
        if let Err(e) = unlocked {
            tracing::warn!(error = %e, "releasing the first-start lock failed; closing its connection releases it");
        }
        if let Err(e) = self.conn.close().await {
            tracing::debug!(error = %e, "closing the first-start lock's connection");
        }
    }
}

crate::impl_metadata_store!(PostgresStore, numbered);

crate::impl_model_store!(
    PostgresStore,
    numbered,
    Some("LOCK TABLE model_objects IN SHARE ROW EXCLUSIVE MODE")
);
