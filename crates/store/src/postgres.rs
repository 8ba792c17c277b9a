//! The PostgreSQL store, for scale-out: the directory (`MetadataStore`, mirroring the embedded
//! SQLite store query for query) and the model (`ModelStore`, shared SQL in [`crate::model_sql`]).
//! Sessions stay in their own store (embedded or Redis).
//!
//! Commits of changesets take a table lock on `model_objects`, so commits from every node take
//! turns and a version check cannot race another node's write.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::Row;

use vestibule_core::directory::{ApiToken, Group, Project, User, UserSource};
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::store::{MetadataStore, StoreResult};

use crate::codec;
use crate::model_sql::numbered;
use crate::sqlite::map_err;

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` and brings the schema up to date.
    pub async fn connect(url: &str, timeout: Duration) -> StoreResult<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
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

crate::impl_model_store!(
    PostgresStore,
    numbered,
    Some("LOCK TABLE model_objects IN SHARE ROW EXCLUSIVE MODE")
);

fn user_row(r: &PgRow) -> StoreResult<User> {
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

fn group_row(r: &PgRow) -> StoreResult<Group> {
    Ok(Group {
        id: codec::guid(&r.try_get::<String, _>("id").map_err(map_err)?)?,
        name: r.try_get("name").map_err(map_err)?,
        description: r.try_get("description").map_err(map_err)?,
        created_ms: r.try_get("created_ms").map_err(map_err)?,
    })
}

#[async_trait]
impl MetadataStore for PostgresStore {
    async fn create_user(&self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, username, username_key, full_name, email, enabled, source, password_hash, created_ms, modified_ms) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
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
            "UPDATE users SET username = $1, username_key = $2, full_name = $3, email = $4, enabled = $5, source = $6, \
             password_hash = $7, modified_ms = $8 WHERE id = $9",
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
        sqlx::query("SELECT * FROM users WHERE username_key = $1")
            .bind(codec::name_key(username))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    async fn user_by_id(&self, id: Guid) -> StoreResult<Option<User>> {
        sqlx::query("SELECT * FROM users WHERE id = $1")
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
        sqlx::query(
            "INSERT INTO groups (id, name, name_key, description, created_ms) VALUES ($1,$2,$3,$4,$5)",
        )
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
        sqlx::query("SELECT * FROM groups WHERE name_key = $1")
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
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2"
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
            "SELECT g.* FROM groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name_key",
        )
        .bind(user.to_hex())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(group_row).collect()
    }

    async fn members_of(&self, group: Guid) -> StoreResult<Vec<Guid>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT user_id FROM group_members WHERE group_id = $1")
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
                "INSERT INTO privileges (holder_id, privilege_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            } else {
                "DELETE FROM privileges WHERE holder_id = $1 AND privilege_id = $2"
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
            sqlx::query_as("SELECT privilege_id FROM privileges WHERE holder_id = $1 ORDER BY privilege_id")
                .bind(holder.to_hex())
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(rows.into_iter().map(|(p,)| p as u32).collect())
    }

    async fn effective_privileges(&self, user: Guid) -> StoreResult<Vec<u32>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT privilege_id FROM privileges WHERE holder_id = $1 \
             OR holder_id IN (SELECT group_id FROM group_members WHERE user_id = $1) ORDER BY privilege_id",
        )
        .bind(user.to_hex())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows.into_iter().map(|(p,)| p as u32).collect())
    }

    async fn create_project(&self, p: &Project) -> StoreResult<()> {
        sqlx::query("INSERT INTO projects (id, name, description, created_ms) VALUES ($1,$2,$3,$4)")
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
        sqlx::query("INSERT INTO api_tokens (hash, user_id, created_ms, expires_ms) VALUES ($1,$2,$3,$4)")
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
        let row = sqlx::query("SELECT * FROM api_tokens WHERE hash = $1")
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
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(row.map(|(v,)| v))
    }

    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        match value {
            Some(v) => sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(v),
            None => sqlx::query("DELETE FROM settings WHERE key = $1").bind(key),
        }
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
