//! The first-start lock: processes opening the same stores at once (nodes of a cluster on one
//! PostgreSQL database, a server and a command-line tool on one data directory) take turns at
//! the migrations and the first start's work, so each later one finds it done. [`crate::open`]
//! takes it before migrating; the caller releases it once the first start is done.
//!
//! It is two locks, always taken in this order: the data directory's `start.lock` file
//! ([`crate::sqlite::lock_start`]), then, when the directory is in PostgreSQL, the database's
//! advisory lock ([`PgStartLock`]). Each is also released by its holder's death, so a process
//! killed while starting blocks nobody.

use std::time::Duration;

use crate::postgres::PgStartLock;

/// How long a process waits for another's turn: migrations and a first start take seconds, so
/// this much means the holder is stuck.
pub const START_WAIT: Duration = Duration::from_secs(120);

/// Held until [`StartLock::release`] (or until dropped, which releases it too).
pub struct StartLock {
    pub(crate) file: std::fs::File,
    pub(crate) postgres: Option<PgStartLock>,
}

impl StartLock {
    /// Lets the next process take its turn.
    pub async fn release(self) {
        if let Some(pg) = self.postgres {
            pg.release().await;
        }
        drop(self.file);
    }
}
