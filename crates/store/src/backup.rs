//! A consistent copy of the embedded store, taken while a server runs on it (`vestibule backup`).
//!
//! The server's whole state is the one SQLite file [`DB_FILE`] in the data directory: the
//! directory, the model and the durable copies of sessions and grants (the lock files beside it
//! hold no state). `VACUUM INTO` copies it inside one read transaction, so the copy is the file as
//! of one moment, whatever the server writes meanwhile (WAL readers never block the writer). It
//! is written beside the target and linked into place once complete and synced, so the target
//! never holds half a copy and is never replaced.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

use vestibule_core::error::StoreError;
use vestibule_core::store::StoreResult;

use crate::sql::map_err;
use crate::sqlite::DB_FILE;

/// What a backup holds, counted in the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    pub bytes: u64,
    pub users: i64,
    pub groups: i64,
    pub projects: i64,
    pub model_objects: i64,
    pub sessions: i64,
}

/// Copies the embedded store of `data_dir` to `to`, which must not exist; waits at most
/// `timeout` for SQLite's locks.
pub async fn backup_embedded(data_dir: &Path, to: &Path, timeout: Duration) -> StoreResult<BackupSummary> {
    let db = data_dir.join(DB_FILE);
    if !db.is_file() {
        return Err(StoreError::NotFound(format!(
            "embedded store {} (is --data-dir or data_dir right?)",
            db.display()
        )));
    }
    if to.exists() {
        return Err(StoreError::Duplicate(format!(
            "{} (a backup never replaces a file; name a new one)",
            to.display()
        )));
    }
    let partial = partial_name(to);
    let result = copy(&db, &partial, timeout).await;
    let result = match result {
        // A hard link fails if the target appeared meanwhile: never replaces it.
        Ok(()) => std::fs::hard_link(&partial, to).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::Duplicate(format!("{} (a backup never replaces a file)", to.display()))
            } else {
                StoreError::Other(format!("cannot write {}: {e}", to.display()))
            }
        }),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&partial);
    result?;
    summarize(to, timeout).await
}

/// The file the copy is written to before it is linked at `to`: beside it, so on one file system.
fn partial_name(to: &Path) -> PathBuf {
    let mut name = to.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".partial-{}", std::process::id()));
    to.with_file_name(name)
}

async fn copy(db: &Path, partial: &Path, timeout: Duration) -> StoreResult<()> {
    let _ = std::fs::remove_file(partial);
    let mut conn = SqliteConnectOptions::from_str("sqlite:")
        .map_err(map_err)?
        .filename(db)
        .create_if_missing(false)
        // The server keeps the file in WAL mode; saying so again changes nothing.
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(timeout)
        .connect()
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", db.display())))?;
    let target = partial
        .to_str()
        .ok_or_else(|| StoreError::Other(format!("{}: not a UTF-8 path", partial.display())))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await
        .map_err(|e| StoreError::Other(format!("copying {} failed: {e}", db.display())))?;
    conn.close().await.map_err(map_err)?;
    // VACUUM INTO does not sync what it wrote.
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Other(format!("cannot sync {}: {e}", partial.display())))?;
    Ok(())
}

/// Checks the copy (SQLite's quick check) and counts what it holds.
async fn summarize(file: &Path, timeout: Duration) -> StoreResult<BackupSummary> {
    let mut conn = SqliteConnectOptions::from_str("sqlite:")
        .map_err(map_err)?
        .filename(file)
        .read_only(true)
        .busy_timeout(timeout)
        .connect()
        .await
        .map_err(|e| StoreError::Other(format!("cannot open the copy {}: {e}", file.display())))?;
    let (check,): (String,) = sqlx::query_as("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await
        .map_err(map_err)?;
    if check != "ok" {
        return Err(StoreError::Other(format!(
            "the copy {} fails SQLite's check: {check}",
            file.display()
        )));
    }
    let summary = BackupSummary {
        bytes: 0,
        users: count(&mut conn, "users").await?,
        groups: count(&mut conn, "groups").await?,
        projects: count(&mut conn, "projects").await?,
        model_objects: count(&mut conn, "model_objects").await?,
        sessions: count(&mut conn, "sessions").await?,
    };
    conn.close().await.map_err(map_err)?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(BackupSummary { bytes, ..summary })
}

async fn count(conn: &mut sqlx::SqliteConnection, table: &str) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(conn)
        .await
        .map_err(map_err)?;
    Ok(n)
}
