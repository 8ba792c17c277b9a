//! The embedded default store: one SQLite file in the data directory.
//!
//! It holds the directory and the durable copies of sessions and grants. WAL journaling with
//! `synchronous=NORMAL` means a committed write survives the process being killed (only a power
//! loss could take the last transactions), at a fraction of the cost of syncing every commit.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::Row;

use vestibule_core::directory::{ApiToken, Group, Project, User, UserSource};
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Grant, Session};
use vestibule_core::store::{MetadataStore, StoreResult};

use crate::codec;

pub const DB_FILE: &str = "vestibule.db";

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// Maps a sqlx error to the store's error: connection trouble is "unavailable" (503), a unique
/// violation is a duplicate, the rest is internal.
pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Duplicate(db.message().to_owned())
        }
        // Busy or locked (another process holds the file past the busy timeout), read-only, I/O
        // error, disk full, cannot open: the file is there but not usable right now.
        sqlx::Error::Database(db)
            if db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 8 | 10 | 13 | 14)) =>
        {
            StoreError::Unavailable(db.message().to_owned())
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

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
        Ok(SqliteStore { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    // --- durable copies of sessions and grants, used by `embedded` ---

    pub async fn save_session(&self, s: &Session) -> StoreResult<()> {
        let (kind, server, http) = codec::expiry_to(s.expiry);
        sqlx::query(
            "INSERT OR REPLACE INTO sessions (token_hash, cookie_hash, user_id, login_mode, scope, created_ms, \
             last_active_ms, expiry_kind, server_secs, http_secs, expires_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(s.token.to_hex())
        .bind(s.cookie.map(|c| c.to_hex()))
        .bind(s.user_id.to_hex())
        .bind(s.login_mode)
        .bind(codec::scope_to(s.scope))
        .bind(s.created_ms)
        .bind(s.last_active_ms)
        .bind(kind)
        .bind(server)
        .bind(http)
        .bind(s.expires_ms())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Writes new last-active times of many sessions in one transaction.
    pub async fn save_activity(&self, sessions: &[Session]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for s in sessions {
            sqlx::query("UPDATE sessions SET last_active_ms = ?, expires_ms = ? WHERE token_hash = ?")
                .bind(s.last_active_ms)
                .bind(s.expires_ms())
                .bind(s.token.to_hex())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    pub async fn delete_session(&self, token: &SecretHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token.to_hex())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub async fn delete_user_sessions(&self, user: Guid) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.to_hex())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub async fn delete_expired(&self, now_ms: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE expires_ms <= ?")
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM grants WHERE expires_ms <= ?")
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub async fn live_sessions(&self, now_ms: i64) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query("SELECT * FROM sessions WHERE expires_ms > ?")
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(session_row).collect()
    }

    pub async fn save_grant(&self, g: &Grant) -> StoreResult<()> {
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
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub async fn delete_grant(&self, hash: &SecretHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM grants WHERE hash = ?")
            .bind(hash.to_hex())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub async fn live_grants(&self, now_ms: i64) -> StoreResult<Vec<Grant>> {
        let rows = sqlx::query("SELECT * FROM grants WHERE expires_ms > ?")
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(Grant {
                    hash: codec::hash(&r.try_get::<String, _>("hash").map_err(map_err)?)?,
                    kind: codec::grant_kind(&r.try_get::<String, _>("kind").map_err(map_err)?)?,
                    user_id: codec::guid(&r.try_get::<String, _>("user_id").map_err(map_err)?)?,
                    scope: codec::scope_from(r.try_get("scope").map_err(map_err)?)?,
                    created_ms: r.try_get("created_ms").map_err(map_err)?,
                    expires_ms: r.try_get("expires_ms").map_err(map_err)?,
                    origin: r
                        .try_get::<Option<String>, _>("origin")
                        .map_err(map_err)?
                        .map(|o| codec::hash(&o))
                        .transpose()?,
                })
            })
            .collect()
    }
}

fn session_row(r: &SqliteRow) -> StoreResult<Session> {
    let expires_ms: i64 = r.try_get("expires_ms").map_err(map_err)?;
    Ok(Session {
        token: codec::hash(&r.try_get::<String, _>("token_hash").map_err(map_err)?)?,
        cookie: r
            .try_get::<Option<String>, _>("cookie_hash")
            .map_err(map_err)?
            .map(|c| codec::hash(&c))
            .transpose()?,
        user_id: codec::guid(&r.try_get::<String, _>("user_id").map_err(map_err)?)?,
        login_mode: r.try_get("login_mode").map_err(map_err)?,
        scope: codec::scope_from(r.try_get("scope").map_err(map_err)?)?,
        created_ms: r.try_get("created_ms").map_err(map_err)?,
        last_active_ms: r.try_get("last_active_ms").map_err(map_err)?,
        expiry: codec::expiry_from(
            &r.try_get::<String, _>("expiry_kind").map_err(map_err)?,
            r.try_get("server_secs").map_err(map_err)?,
            r.try_get("http_secs").map_err(map_err)?,
            expires_ms,
        )?,
    })
}

fn user_row(r: &SqliteRow) -> StoreResult<User> {
    let source: String = r.try_get("source").map_err(map_err)?;
    Ok(User {
        id: codec::guid(&r.try_get::<String, _>("id").map_err(map_err)?)?,
        username: r.try_get("username").map_err(map_err)?,
        full_name: r.try_get("full_name").map_err(map_err)?,
        email: r.try_get("email").map_err(map_err)?,
        enabled: r.try_get::<i64, _>("enabled").map_err(map_err)? != 0,
        source: UserSource::parse(&source)
            .ok_or_else(|| StoreError::Other(format!("bad user source in store: {source}")))?,
        password_hash: r.try_get("password_hash").map_err(map_err)?,
        created_ms: r.try_get("created_ms").map_err(map_err)?,
        modified_ms: r.try_get("modified_ms").map_err(map_err)?,
    })
}

fn group_row(r: &SqliteRow) -> StoreResult<Group> {
    Ok(Group {
        id: codec::guid(&r.try_get::<String, _>("id").map_err(map_err)?)?,
        name: r.try_get("name").map_err(map_err)?,
        description: r.try_get("description").map_err(map_err)?,
        created_ms: r.try_get("created_ms").map_err(map_err)?,
    })
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn create_user(&self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, username, username_key, full_name, email, enabled, source, password_hash, created_ms, modified_ms) \
             VALUES (?,?,?,?,?,?,?,?,?,?)",
        )
        .bind(u.id.to_hex())
        .bind(&u.username)
        .bind(codec::name_key(&u.username))
        .bind(&u.full_name)
        .bind(&u.email)
        .bind(i64::from(u.enabled))
        .bind(u.source.as_str())
        .bind(&u.password_hash)
        .bind(u.created_ms)
        .bind(u.modified_ms)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_user(&self, u: &User) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE users SET username = ?, username_key = ?, full_name = ?, email = ?, enabled = ?, source = ?, \
             password_hash = ?, modified_ms = ? WHERE id = ?",
        )
        .bind(&u.username)
        .bind(codec::name_key(&u.username))
        .bind(&u.full_name)
        .bind(&u.email)
        .bind(i64::from(u.enabled))
        .bind(u.source.as_str())
        .bind(&u.password_hash)
        .bind(u.modified_ms)
        .bind(u.id.to_hex())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {}", u.id)));
        }
        Ok(())
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
        sqlx::query("SELECT * FROM users WHERE username_key = ?")
            .bind(codec::name_key(username))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    async fn user_by_id(&self, id: Guid) -> StoreResult<Option<User>> {
        sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id.to_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY username_key")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(user_row).collect()
    }

    async fn create_group(&self, g: &Group) -> StoreResult<()> {
        sqlx::query("INSERT INTO groups (id, name, name_key, description, created_ms) VALUES (?,?,?,?,?)")
            .bind(g.id.to_hex())
            .bind(&g.name)
            .bind(codec::name_key(&g.name))
            .bind(&g.description)
            .bind(g.created_ms)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>> {
        sqlx::query("SELECT * FROM groups WHERE name_key = ?")
            .bind(codec::name_key(name))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(group_row)
            .transpose()
    }

    async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        let rows = sqlx::query("SELECT * FROM groups ORDER BY name_key")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(group_row).collect()
    }

    async fn set_membership(&self, group: Guid, user: Guid, member: bool) -> StoreResult<()> {
        let q = if member {
            "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)"
        } else {
            "DELETE FROM group_members WHERE group_id = ? AND user_id = ?"
        };
        sqlx::query(q)
            .bind(group.to_hex())
            .bind(user.to_hex())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn groups_of(&self, user: Guid) -> StoreResult<Vec<Group>> {
        let rows = sqlx::query(
            "SELECT g.* FROM groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = ? ORDER BY g.name_key",
        )
        .bind(user.to_hex())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(group_row).collect()
    }

    async fn members_of(&self, group: Guid) -> StoreResult<Vec<Guid>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT user_id FROM group_members WHERE group_id = ?")
            .bind(group.to_hex())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(|(id,)| codec::guid(id)).collect()
    }

    async fn set_privileges(&self, holder: Guid, privileges: &[u32], granted: bool) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for p in privileges {
            let q = if granted {
                "INSERT OR IGNORE INTO privileges (holder_id, privilege_id) VALUES (?, ?)"
            } else {
                "DELETE FROM privileges WHERE holder_id = ? AND privilege_id = ?"
            };
            sqlx::query(q)
                .bind(holder.to_hex())
                .bind(i64::from(*p))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn privileges_of(&self, holder: Guid) -> StoreResult<Vec<u32>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT privilege_id FROM privileges WHERE holder_id = ? ORDER BY privilege_id")
                .bind(holder.to_hex())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(rows.into_iter().map(|(p,)| p as u32).collect())
    }

    async fn effective_privileges(&self, user: Guid) -> StoreResult<Vec<u32>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT privilege_id FROM privileges WHERE holder_id = ?1 \
             OR holder_id IN (SELECT group_id FROM group_members WHERE user_id = ?1) ORDER BY privilege_id",
        )
        .bind(user.to_hex())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(|(p,)| p as u32).collect())
    }

    async fn create_project(&self, p: &Project) -> StoreResult<()> {
        sqlx::query("INSERT INTO projects (id, name, description, created_ms) VALUES (?,?,?,?)")
            .bind(p.id.to_hex())
            .bind(&p.name)
            .bind(&p.description)
            .bind(p.created_ms)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        let rows = sqlx::query("SELECT * FROM projects ORDER BY created_ms, name")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(Project {
                    id: codec::guid(&r.try_get::<String, _>("id").map_err(map_err)?)?,
                    name: r.try_get("name").map_err(map_err)?,
                    description: r.try_get("description").map_err(map_err)?,
                    created_ms: r.try_get("created_ms").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn insert_api_token(&self, t: &ApiToken) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (hash, user_id, created_ms, expires_ms) VALUES (?,?,?,?)")
            .bind(t.hash.to_hex())
            .bind(t.user_id.to_hex())
            .bind(t.created_ms)
            .bind(t.expires_ms)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn api_token(&self, hash: &SecretHash) -> StoreResult<Option<ApiToken>> {
        let row = sqlx::query("SELECT * FROM api_tokens WHERE hash = ?")
            .bind(hash.to_hex())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            Ok(ApiToken {
                hash: *hash,
                user_id: codec::guid(&r.try_get::<String, _>("user_id").map_err(map_err)?)?,
                created_ms: r.try_get("created_ms").map_err(map_err)?,
                expires_ms: r.try_get("expires_ms").map_err(map_err)?,
            })
        })
        .transpose()
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.map(|(v,)| v))
    }

    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        match value {
            Some(v) => sqlx::query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")
                .bind(key)
                .bind(v),
            None => sqlx::query("DELETE FROM settings WHERE key = ?").bind(key),
        }
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
