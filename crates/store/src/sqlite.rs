//! The embedded default store: one SQLite file in the data directory.
//!
//! It holds the directory (`MetadataStore`, shared SQL in [`crate::sql::metadata`]) and the model (`ModelStore`, [`crate::sql::model`]) and the durable
//! copies of sessions and grants. WAL journaling with
//! `synchronous=NORMAL` means a committed write survives the process being killed (only a power
//! loss could take the last transactions), at a fraction of the cost of syncing every commit.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    Sqlite, SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};

use vestibule_core::error::StoreError;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Grant, Session};
use vestibule_core::store::StoreResult;

use crate::codec;
use crate::sql::metadata::Columns;
use crate::sql::{map_err, same};

pub const DB_FILE: &str = "vestibule.db";

/// The data directory's first-start lock file (see [`lock_start`]).
pub const START_LOCK: &str = "start.lock";

/// Sessions per multi-row insert (11 parameters each, far below SQLite's limit).
pub const SESSION_ROWS: usize = 64;

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    data_dir: std::sync::Arc<Path>,
}

/// A statement with its bound arguments.
type Statement<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

impl SqliteStore {
    /// Opens (creating if needed) the database file in `data_dir` and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> StoreResult<SqliteStore> {
        SqliteStore::open_with_timeout(data_dir, Duration::from_secs(10)).await
    }

    /// As [`SqliteStore::open`]; an operation waits at most `timeout` for a lock or a connection
    /// before it fails as unavailable.
    pub async fn open_with_timeout(data_dir: &Path, timeout: Duration) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(map_err)?
            .filename(data_dir.join(DB_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(timeout)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A connection to a local file does not go stale the way a network one does; the
            // default ping before each acquire was a round trip to the connection's worker thread
            // on every query (the session writer's every batch included).
            .test_before_acquire(false)
            .acquire_timeout(timeout)
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot open {}: {e}", data_dir.join(DB_FILE).display()))
            })?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Other(format!("migrating the embedded store failed: {e}")))?;
        crate::upgrade_documents!(pool, same).await?;
        Ok(SqliteStore {
            pool,
            data_dir: data_dir.into(),
        })
    }

    /// The data directory the file is in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The rows a query returns, each decoded by `decode`.
    async fn all<T>(
        &self,
        q: Statement<'_>,
        decode: fn(&SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(decode).collect()
    }

    // --- durable copies of sessions and grants, used by `embedded` ---
    //
    // Each write comes in two forms: on the pool (its own transaction), and `*_in` on a connection
    // the caller holds, so that the embedded store's writer can group many in one transaction.

    /// A connection of the caller's own, taken out of the pool (which may open another in its
    /// place): one that keeps its page cache and prepared statements for a single writer.
    pub async fn own_connection(&self) -> StoreResult<SqliteConnection> {
        Ok(self.pool.acquire().await.map_err(map_err)?.detach())
    }

    /// Begins a transaction on a pooled connection.
    pub async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
        self.pool.begin().await.map_err(map_err)
    }

    /// Saves sessions at their rows with multi-row statements: one round trip to SQLite's worker
    /// thread per [`SESSION_ROWS`] sessions instead of one per session. A row saved again is
    /// replaced; later entries win, as one by one.
    ///
    /// Sessions are addressed by row, never by token hash: rows are handed out in increasing
    /// order, so new sessions append to the end of the table. An index on the random token hash
    /// put every new session on a different page, which made each mint write kilobytes to the WAL.
    pub async fn save_sessions_in(
        conn: &mut SqliteConnection,
        sessions: &[(i64, &Session)],
    ) -> StoreResult<()> {
        for chunk in sessions.chunks(SESSION_ROWS) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO sessions (id, token_hash, cookie_hash, user_id, login_mode, scope, \
                 created_ms, last_active_ms, expiry_kind, server_secs, http_secs, expires_ms) ",
            );
            q.push_values(chunk, |mut row, (id, s)| {
                let (kind, server, http) = codec::expiry_to(s.expiry);
                row.push_bind(*id)
                    .push_bind(s.token.to_hex())
                    .push_bind(s.cookie.map(|c| c.to_hex()))
                    .push_bind(s.user_id.to_hex())
                    .push_bind(s.login_mode)
                    .push_bind(codec::scope_to(s.scope))
                    .push_bind(s.created_ms)
                    .push_bind(s.last_active_ms)
                    .push_bind(kind)
                    .push_bind(server)
                    .push_bind(http)
                    .push_bind(s.expires_ms());
            });
            q.build().execute(&mut *conn).await.map_err(map_err)?;
        }
        Ok(())
    }

    /// New last-active times of sessions at their rows; an UPDATE, so a session deleted meanwhile
    /// is not brought back.
    pub async fn save_activity_in(
        conn: &mut SqliteConnection,
        sessions: &[(i64, &Session)],
    ) -> StoreResult<()> {
        for (id, s) in sessions {
            sqlx::query("UPDATE sessions SET last_active_ms = ?, expires_ms = ? WHERE id = ?")
                .bind(s.last_active_ms)
                .bind(s.expires_ms())
                .bind(*id)
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    /// Deletes the sessions at these rows.
    pub async fn delete_sessions_in(conn: &mut SqliteConnection, rows: &[i64]) -> StoreResult<()> {
        for chunk in rows.chunks(SESSION_ROWS) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new("DELETE FROM sessions WHERE id IN (");
            let mut ids = q.separated(",");
            for id in chunk {
                ids.push_bind(*id);
            }
            q.push(")");
            q.build().execute(&mut *conn).await.map_err(map_err)?;
        }
        Ok(())
    }

    pub async fn delete_expired(&self, now_ms: i64) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        Self::delete_expired_in(&mut conn, now_ms).await
    }

    pub async fn delete_expired_in(conn: &mut SqliteConnection, now_ms: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE expires_ms <= ?")
            .bind(now_ms)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM grants WHERE expires_ms <= ?")
            .bind(now_ms)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// Hands each live session, with its row, to `each` as the rows are read: a server starting
    /// on a file of millions of sessions never holds them twice. The rows come in chunks of
    /// [`LIVE_CHUNK`] in row order, and the next chunk is read (on SQLite's worker thread) while
    /// this one is decoded.
    pub async fn each_live_session(
        &self,
        now_ms: i64,
        mut each: impl FnMut(i64, Session),
    ) -> StoreResult<usize> {
        let read = |after: i64| {
            let pool = self.pool.clone();
            tokio::spawn(async move {
                let (last, rows): (Option<i64>, Option<String>) = sqlx::query_as(LIVE_SESSIONS)
                    .bind(after)
                    .bind(now_ms)
                    .bind(LIVE_CHUNK)
                    .fetch_one(&pool)
                    .await
                    .map_err(map_err)?;
                StoreResult::Ok(last.zip(rows))
            })
        };
        let stopped = |e: tokio::task::JoinError| StoreError::Other(format!("reading sessions: {e}"));
        let mut next = read(i64::MIN);
        let mut n = 0;
        while let Some((last, rows)) = next.await.map_err(stopped)?? {
            next = read(last);
            for packed in rows.split('\n') {
                let (row, session) = packed_session(packed)
                    .ok_or_else(|| StoreError::Other("bad session row in store".into()))?;
                each(row, session);
                n += 1;
            }
        }
        Ok(n)
    }

    /// How many live sessions the file holds.
    pub async fn live_session_count(&self, now_ms: i64) -> StoreResult<usize> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE expires_ms > ?")
            .bind(now_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The live sessions with their rows.
    pub async fn live_sessions(&self, now_ms: i64) -> StoreResult<Vec<(i64, Session)>> {
        let mut all = Vec::new();
        self.each_live_session(now_ms, |row, s| all.push((row, s)))
            .await?;
        Ok(all)
    }

    /// The highest session row in use (0 when there is none); new rows go above it.
    pub async fn last_session_row(&self) -> StoreResult<i64> {
        let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM sessions")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(max.unwrap_or(0))
    }

    pub async fn save_grant(&self, g: &Grant) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        Self::save_grant_in(&mut conn, g).await
    }

    pub async fn save_grant_in(conn: &mut SqliteConnection, g: &Grant) -> StoreResult<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO grants (hash, kind, user_id, scope, created_ms, expires_ms, origin) VALUES (?,?,?,?,?,?,?)",
        )
        .bind(g.hash.to_hex())
        .bind(g.kind.as_str())
        .bind(g.user_id.to_hex())
        .bind(codec::scope_to(g.scope))
        .bind(g.created_ms)
        .bind(g.expires_ms)
        .bind(g.origin.map(|o| o.to_hex()))
        .execute(conn)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub async fn delete_grant(&self, hash: &SecretHash) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        Self::delete_grant_in(&mut conn, hash).await
    }

    pub async fn delete_grant_in(conn: &mut SqliteConnection, hash: &SecretHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM grants WHERE hash = ?")
            .bind(hash.to_hex())
            .execute(conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub async fn live_grants(&self, now_ms: i64) -> StoreResult<Vec<Grant>> {
        self.all(
            sqlx::query("SELECT * FROM grants WHERE expires_ms > ?").bind(now_ms),
            grant_row,
        )
        .await
    }
}

/// Waits (at most `wait`) for the exclusive lock on the data directory's [`START_LOCK`], and
/// returns the file holding it: a server and a command-line tool opening one directory at once
/// take turns at the migrations and the first start. The lock goes with the file, or with the
/// process.
pub async fn lock_start(data_dir: &Path, wait: Duration) -> StoreResult<std::fs::File> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot create data directory {}: {e}",
            data_dir.display()
        ))
    })?;
    let path = data_dir.join(START_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Unavailable(format!(
                    "another vestibule process has been migrating or starting on {} for over {} s \
                     (it holds {START_LOCK}); try again when it is done",
                    data_dir.display(),
                    wait.as_secs()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )))
            }
        }
    }
}

crate::impl_metadata_store!(SqliteStore, same);

fn grant_row(r: &SqliteRow) -> StoreResult<Grant> {
    Ok(Grant {
        hash: r.hash("hash")?,
        kind: codec::grant_kind(&r.text("kind")?)?,
        user_id: r.guid("user_id")?,
        scope: codec::scope_from(r.text_or_null("scope")?.as_deref())?,
        created_ms: r.int("created_ms")?,
        expires_ms: r.int("expires_ms")?,
        origin: r.text_or_null("origin")?.map(|o| codec::hash(&o)).transpose()?,
    })
}

/// Live sessions per chunk of [`LIVE_SESSIONS`].
const LIVE_CHUNK: i64 = 4096;

/// The next chunk of live sessions after a row: the chunk's last row, and its sessions as one
/// text, a line per session of its columns separated by spaces (`-` for NULL).
///
/// A start reads every row. sqlx copies each value of a row out of SQLite on its own (an
/// allocation, a reference count and a free under SQLite's mutex) and hands each row from its
/// worker thread to the caller with a wake-up: for rows of twelve small values, that cost more
/// than decoding them. A chunk is one value and one hand-over. No column holds a space or a line
/// break (hex digits, integers, `idle`/`absolute`), so the text splits back without escaping.
const LIVE_SESSIONS: &str = "SELECT max(id), group_concat(packed, char(10)) FROM (\
     SELECT id, printf('%d %s %s %s %d %s %d %d %s %s %s %d', id, token_hash, \
     ifnull(cookie_hash, '-'), user_id, login_mode, ifnull(scope, '-'), created_ms, last_active_ms, \
     expiry_kind, ifnull(server_secs, '-'), ifnull(http_secs, '-'), expires_ms) AS packed \
     FROM sessions WHERE id > ? AND expires_ms > ? ORDER BY id LIMIT ?)";

/// `-` for NULL.
fn null(v: &str) -> Option<&str> {
    (v != "-").then_some(v)
}

fn packed_session(packed: &str) -> Option<(i64, Session)> {
    let mut f = packed.split(' ');
    let mut next = || f.next();
    let int = |v: Option<&str>| v?.parse::<i64>().ok();
    let id = int(next())?;
    let token = codec::hash(next()?).ok()?;
    let cookie = null(next()?).map(codec::cookie).transpose().ok()?;
    let user_id = codec::guid(next()?).ok()?;
    let login_mode = next()?.parse().ok()?;
    let scope = codec::scope_from(null(next()?)).ok()?;
    let created_ms = int(next())?;
    let last_active_ms = int(next())?;
    let kind = next()?;
    let server = null(next()?).map(str::parse).transpose().ok()?;
    let http = null(next()?).map(str::parse).transpose().ok()?;
    let expires_ms = int(next())?;
    if next().is_some() {
        return None;
    }
    let expiry = codec::expiry_from(kind, server, http, expires_ms).ok()?;
    let session = Session {
        token,
        cookie,
        user_id,
        login_mode,
        scope,
        created_ms,
        last_active_ms,
        expiry,
    };
    Some((id, session))
}

crate::impl_model_store!(SqliteStore, same, None::<&str>);

#[cfg(test)]
mod tests {
    use super::*;
    use vestibule_core::ids::Guid;
    use vestibule_core::secret::CookieTag;
    use vestibule_core::session::{Expiry, Scope};

    /// Every shape of session comes back from the packed rows as it was saved: with and without
    /// a cookie, an object scope, both expiries, a negative login mode.
    #[tokio::test]
    async fn live_sessions_come_back_as_they_were_saved() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(dir.path()).await.unwrap();
        let base = Session {
            token: SecretHash::of("a"),
            cookie: None,
            user_id: Guid::random(),
            login_mode: 1,
            scope: Scope::Full,
            created_ms: 1_000,
            last_active_ms: 2_000,
            expiry: Expiry::Idle {
                server_secs: 600,
                http_secs: 1_800,
            },
        };
        let bound = Session {
            token: SecretHash::of("b"),
            cookie: Some(CookieTag::of("jsessionid")),
            login_mode: -1,
            ..base.clone()
        };
        let object = Session {
            token: SecretHash::of("c"),
            scope: Scope::Object(Guid::random()),
            expiry: Expiry::Absolute {
                expires_ms: 9_000_000,
            },
            login_mode: 64,
            ..base.clone()
        };
        let saved = [(1, &base), (2, &bound), (3, &object)];
        let mut tx = db.begin().await.unwrap();
        SqliteStore::save_sessions_in(&mut tx, &saved).await.unwrap();
        tx.commit().await.unwrap();
        let mut back = db.live_sessions(0).await.unwrap();
        back.sort_by_key(|(row, _)| *row);
        let expected: Vec<(i64, Session)> = saved.iter().map(|(r, s)| (*r, (*s).clone())).collect();
        assert_eq!(back, expected);
        assert_eq!(db.live_session_count(0).await.unwrap(), 3);
        // Only the idle sessions outlive 1 800 s after their activity; the absolute one lives on.
        assert_eq!(db.live_session_count(2_000 + 600_000).await.unwrap(), 1);
    }

    /// A cookie stored as a full 64-digit hash (as earlier versions wrote it) is read as its tag;
    /// a malformed row is an error, not a session.
    #[tokio::test]
    async fn old_cookie_hashes_are_read_as_tags_and_bad_rows_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(dir.path()).await.unwrap();
        let s = Session {
            token: SecretHash::of("t"),
            cookie: Some(CookieTag::of("c")),
            user_id: Guid::random(),
            login_mode: 1,
            scope: Scope::Full,
            created_ms: 1,
            last_active_ms: 1,
            expiry: Expiry::Absolute { expires_ms: i64::MAX },
        };
        let mut tx = db.begin().await.unwrap();
        SqliteStore::save_sessions_in(&mut tx, &[(1, &s)]).await.unwrap();
        tx.commit().await.unwrap();
        sqlx::query("UPDATE sessions SET cookie_hash = ? WHERE id = 1")
            .bind(SecretHash::of("c").to_hex())
            .execute(db.pool())
            .await
            .unwrap();
        assert_eq!(db.live_sessions(0).await.unwrap(), vec![(1, s)]);
        sqlx::query("UPDATE sessions SET user_id = 'not-an-id' WHERE id = 1")
            .execute(db.pool())
            .await
            .unwrap();
        assert!(db.live_sessions(0).await.is_err());
    }

    /// Chunks follow one another by row, expired rows among them skipped, and every live session
    /// is read once.
    #[tokio::test]
    async fn live_sessions_are_read_in_chunks_without_loss() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(dir.path()).await.unwrap();
        let user = Guid::random();
        let n = 2 * LIVE_CHUNK as usize + 5;
        let sessions: Vec<Session> = (0..n)
            .map(|i| Session {
                token: SecretHash::of(&i.to_string()),
                cookie: None,
                user_id: user,
                login_mode: 1,
                scope: Scope::Full,
                created_ms: 1,
                last_active_ms: 1,
                // Every third session has expired by the time they are read.
                expiry: Expiry::Absolute {
                    expires_ms: if i % 3 == 0 { 50 } else { 1_000 },
                },
            })
            .collect();
        let rows: Vec<(i64, &Session)> = sessions.iter().zip(1..).map(|(s, r)| (r * 2, s)).collect();
        let mut tx = db.begin().await.unwrap();
        SqliteStore::save_sessions_in(&mut tx, &rows).await.unwrap();
        tx.commit().await.unwrap();
        let mut back = db.live_sessions(100).await.unwrap();
        back.sort_by_key(|(row, _)| *row);
        let expected: Vec<(i64, Session)> = rows
            .iter()
            .filter(|(_, s)| s.expires_ms() > 100)
            .map(|(r, s)| (*r, (*s).clone()))
            .collect();
        assert_eq!(back.len(), n - n.div_ceil(3));
        assert_eq!(back, expected);
    }

    #[test]
    fn a_packed_row_needs_every_field_and_no_more() {
        let row = format!(
            "7 {} - {} 1 - 5 6 idle 60 120 9",
            SecretHash::of("t").to_hex(),
            Guid::random().to_hex()
        );
        let (id, s) = packed_session(&row).unwrap();
        assert_eq!((id, s.created_ms, s.last_active_ms), (7, 5, 6));
        assert!(packed_session(&format!("{row} 1")).is_none());
        assert!(packed_session(row.rsplit_once(' ').unwrap().0).is_none());
        assert!(packed_session(&row.replace("idle", "sometimes")).is_none());
        assert!(packed_session("").is_none());
    }
}
