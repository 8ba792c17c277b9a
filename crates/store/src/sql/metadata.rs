//! The directory in SQL, written once for both SQL backends: [`impl_metadata_store!`] implements
//! `MetadataStore` for a store type with a `pool()` of either SQLite or PostgreSQL, and the row
//! decoders here read a row of either. Queries are written with `?` placeholders (the PostgreSQL
//! instance rewrites them to `$1, $2, …`) and in SQL both dialects accept: upserts are
//! `INSERT … ON CONFLICT`, which the bundled SQLite (3.46) has had since 3.24.

use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Executor, IntoArguments, Pool, Row, Type};

use vestibule_core::directory::{ApiToken, Group, Project, User, UserSource};
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::store::StoreResult;

use crate::codec;
use crate::sql::map_err;

/// Column `name` of a row of either backend.
pub fn col<'r, R, T>(r: &'r R, name: &str) -> StoreResult<T>
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    r.try_get(name).map_err(map_err)
}

/// The columns the stores read, by name: text and 64-bit integers, maybe null, and the hex forms
/// of ids and hashes. Implemented for the rows of every backend whose driver decodes those types.
pub trait Columns {
    fn text(&self, name: &str) -> StoreResult<String>;
    fn text_or_null(&self, name: &str) -> StoreResult<Option<String>>;
    fn int(&self, name: &str) -> StoreResult<i64>;
    fn int_or_null(&self, name: &str) -> StoreResult<Option<i64>>;

    /// A GUID column, stored as hex.
    fn guid(&self, name: &str) -> StoreResult<Guid> {
        codec::guid(&self.text(name)?)
    }

    /// A secret-hash column, stored as hex.
    fn hash(&self, name: &str) -> StoreResult<SecretHash> {
        codec::hash(&self.text(name)?)
    }
}

impl<R> Columns for R
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, name: &str) -> StoreResult<String> {
        col(self, name)
    }

    fn text_or_null(&self, name: &str) -> StoreResult<Option<String>> {
        col(self, name)
    }

    fn int(&self, name: &str) -> StoreResult<i64> {
        col(self, name)
    }

    fn int_or_null(&self, name: &str) -> StoreResult<Option<i64>> {
        col(self, name)
    }
}

pub fn user_row(r: &impl Columns) -> StoreResult<User> {
    let source = r.text("source")?;
    Ok(User {
        id: r.guid("id")?,
        username: r.text("username")?,
        full_name: r.text("full_name")?,
        email: r.text("email")?,
        enabled: r.int("enabled")? != 0,
        source: UserSource::parse(&source)
            .ok_or_else(|| StoreError::Other(format!("bad user source in store: {source}")))?,
        password_hash: r.text_or_null("password_hash")?,
        created_ms: r.int("created_ms")?,
        modified_ms: r.int("modified_ms")?,
    })
}

pub fn group_row(r: &impl Columns) -> StoreResult<Group> {
    Ok(Group {
        id: r.guid("id")?,
        name: r.text("name")?,
        description: r.text("description")?,
        created_ms: r.int("created_ms")?,
    })
}

pub fn project_row(r: &impl Columns) -> StoreResult<Project> {
    Ok(Project {
        id: r.guid("id")?,
        name: r.text("name")?,
        description: r.text("description")?,
        created_ms: r.int("created_ms")?,
    })
}

/// The token whose hash is `hash` (the row's key, so not read back).
pub fn api_token_row(r: &impl Columns, hash: &SecretHash) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        hash: *hash,
        user_id: r.guid("user_id")?,
        created_ms: r.int("created_ms")?,
        expires_ms: r.int_or_null("expires_ms")?,
    })
}

/// Runs a statement on the pool (its result has the number of rows it changed).
pub async fn exec<'q, DB>(
    pool: &Pool<DB>,
    q: Query<'q, DB, DB::Arguments<'q>>,
) -> StoreResult<DB::QueryResult>
where
    DB: Database,
    DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    q.execute(pool).await.map_err(map_err)
}

/// The rows a query returns, each decoded by `decode`.
pub async fn all<'q, DB, T>(
    pool: &Pool<DB>,
    q: Query<'q, DB, DB::Arguments<'q>>,
    decode: impl Fn(&DB::Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>>
where
    DB: Database,
    DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let rows = q.fetch_all(pool).await.map_err(map_err)?;
    rows.iter().map(decode).collect()
}

/// The row a query returns, if any, decoded by `decode`.
pub async fn one<'q, DB, T>(
    pool: &Pool<DB>,
    q: Query<'q, DB, DB::Arguments<'q>>,
    decode: impl FnOnce(&DB::Row) -> StoreResult<T>,
) -> StoreResult<Option<T>>
where
    DB: Database,
    DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let row = q.fetch_optional(pool).await.map_err(map_err)?;
    row.as_ref().map(decode).transpose()
}

/// A privilege id as stored (an integer column).
pub fn privilege_row(r: &impl Columns) -> StoreResult<u32> {
    Ok(r.int("privilege_id")? as u32)
}

/// Implements `MetadataStore` for `$store` (which has `fn pool(&self) -> &Pool<_>`); `$q` turns a
/// `?`-placeholder query into the backend's.
#[macro_export]
macro_rules! impl_metadata_store {
    ($store:ty, $q:path) => {
        // A block of its own, so the impl can have its imports.
        const _: () = {
            use sqlx::query;
            use vestibule_core::directory::{ApiToken, Group, Project, User};
            use vestibule_core::error::StoreError;
            use vestibule_core::ids::Guid;
            use vestibule_core::secret::SecretHash;
            use vestibule_core::store::{MetadataStore, StoreResult};

            use $crate::codec;
            use $crate::sql::metadata::{
                all, api_token_row, exec, group_row, one, privilege_row, project_row, user_row, Columns,
            };
            use $crate::sql::map_err;

            impl $store {
                /// Deletes the row of `id` by `parent` after its rows in other tables (`children`),
                /// in one transaction; `true` if the row was there.
                async fn delete_with_rows(&self, id: Guid, children: &[&str], parent: &str) -> StoreResult<bool> {
                    let id = id.to_hex();
                    let mut tx = self.pool().begin().await.map_err(map_err)?;
                    for child in children {
                        query(&$q(child)).bind(&id).execute(&mut *tx).await.map_err(map_err)?;
                    }
                    let done = query(&$q(parent))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    Ok(done.rows_affected() > 0)
                }
            }

            #[async_trait::async_trait]
            impl MetadataStore for $store {
                async fn create_user(&self, u: &User) -> StoreResult<()> {
                    let q = $q("INSERT INTO users (id, username, username_key, full_name, email, enabled, \
                                source, password_hash, created_ms, modified_ms) \
                                VALUES (?,?,?,?,?,?,?,?,?,?)");
                    let q = query(&q)
                        .bind(u.id.to_hex())
                        .bind(&u.username)
                        .bind(codec::name_key(&u.username))
                        .bind(&u.full_name)
                        .bind(&u.email)
                        .bind(i64::from(u.enabled))
                        .bind(u.source.as_str().into_owned())
                        .bind(&u.password_hash)
                        .bind(u.created_ms)
                        .bind(u.modified_ms);
                    exec(self.pool(), q).await?;
                    Ok(())
                }

                async fn update_user(&self, u: &User) -> StoreResult<()> {
                    let q = $q("UPDATE users SET username = ?, username_key = ?, full_name = ?, email = ?, \
                                enabled = ?, source = ?, password_hash = ?, modified_ms = ? WHERE id = ?");
                    let q = query(&q)
                        .bind(&u.username)
                        .bind(codec::name_key(&u.username))
                        .bind(&u.full_name)
                        .bind(&u.email)
                        .bind(i64::from(u.enabled))
                        .bind(u.source.as_str().into_owned())
                        .bind(&u.password_hash)
                        .bind(u.modified_ms)
                        .bind(u.id.to_hex());
                    if exec(self.pool(), q).await?.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("user {}", u.id)));
                    }
                    Ok(())
                }

                async fn user_by_name(&self, username: &str) -> StoreResult<Option<User>> {
                    let q = $q("SELECT * FROM users WHERE username_key = ?");
                    one(self.pool(), query(&q).bind(codec::name_key(username)), user_row).await
                }

                async fn user_by_id(&self, id: Guid) -> StoreResult<Option<User>> {
                    let q = $q("SELECT * FROM users WHERE id = ?");
                    one(self.pool(), query(&q).bind(id.to_hex()), user_row).await
                }

                async fn list_users(&self) -> StoreResult<Vec<User>> {
                    all(self.pool(), query("SELECT * FROM users ORDER BY username_key"), user_row).await
                }

                async fn create_group(&self, g: &Group) -> StoreResult<()> {
                    let q = $q("INSERT INTO groups (id, name, name_key, description, created_ms) \
                                VALUES (?,?,?,?,?)");
                    let q = query(&q)
                        .bind(g.id.to_hex())
                        .bind(&g.name)
                        .bind(codec::name_key(&g.name))
                        .bind(&g.description)
                        .bind(g.created_ms);
                    exec(self.pool(), q).await?;
                    Ok(())
                }

                async fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>> {
                    let q = $q("SELECT * FROM groups WHERE name_key = ?");
                    one(self.pool(), query(&q).bind(codec::name_key(name)), group_row).await
                }

                async fn list_groups(&self) -> StoreResult<Vec<Group>> {
                    all(self.pool(), query("SELECT * FROM groups ORDER BY name_key"), group_row).await
                }

                async fn set_membership(&self, group: Guid, user: Guid, member: bool) -> StoreResult<()> {
                    let q = $q(if member {
                        "INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
                    } else {
                        "DELETE FROM group_members WHERE group_id = ? AND user_id = ?"
                    });
                    exec(self.pool(), query(&q).bind(group.to_hex()).bind(user.to_hex())).await?;
                    Ok(())
                }

                async fn groups_of(&self, user: Guid) -> StoreResult<Vec<Group>> {
                    let q = $q("SELECT g.* FROM groups g JOIN group_members m ON m.group_id = g.id \
                                WHERE m.user_id = ? ORDER BY g.name_key");
                    all(self.pool(), query(&q).bind(user.to_hex()), group_row).await
                }

                async fn members_of(&self, group: Guid) -> StoreResult<Vec<Guid>> {
                    let q = $q("SELECT user_id FROM group_members WHERE group_id = ?");
                    all(self.pool(), query(&q).bind(group.to_hex()), |r| r.guid("user_id")).await
                }

                async fn delete_user(&self, user: Guid) -> StoreResult<bool> {
                    self.delete_with_rows(
                        user,
                        &[
                            "DELETE FROM group_members WHERE user_id = ?",
                            "DELETE FROM privileges WHERE holder_id = ?",
                            "DELETE FROM api_tokens WHERE user_id = ?",
                            "DELETE FROM user_access WHERE user_id = ?",
                            "DELETE FROM token_access WHERE user_id = ?",
                        ],
                        "DELETE FROM users WHERE id = ?",
                    )
                    .await
                }

                async fn delete_group(&self, group: Guid) -> StoreResult<bool> {
                    self.delete_with_rows(
                        group,
                        &[
                            "DELETE FROM group_members WHERE group_id = ?",
                            "DELETE FROM privileges WHERE holder_id = ?",
                        ],
                        "DELETE FROM groups WHERE id = ?",
                    )
                    .await
                }

                async fn set_privileges(
                    &self,
                    holder: Guid,
                    privileges: &[u32],
                    granted: bool,
                ) -> StoreResult<()> {
                    let q = $q(if granted {
                        "INSERT INTO privileges (holder_id, privilege_id) VALUES (?, ?) \
                         ON CONFLICT DO NOTHING"
                    } else {
                        "DELETE FROM privileges WHERE holder_id = ? AND privilege_id = ?"
                    });
                    let mut tx = self.pool().begin().await.map_err(map_err)?;
                    for p in privileges {
                        query(&q)
                            .bind(holder.to_hex())
                            .bind(i64::from(*p))
                            .execute(&mut *tx)
                            .await
                            .map_err(map_err)?;
                    }
                    tx.commit().await.map_err(map_err)
                }

                async fn privileges_of(&self, holder: Guid) -> StoreResult<Vec<u32>> {
                    let q = $q("SELECT privilege_id FROM privileges WHERE holder_id = ? \
                                ORDER BY privilege_id");
                    all(self.pool(), query(&q).bind(holder.to_hex()), privilege_row).await
                }

                async fn effective_privileges(&self, user: Guid) -> StoreResult<Vec<u32>> {
                    // The user's id twice: `numbered` has no way to name one parameter twice.
                    let q = $q("SELECT DISTINCT privilege_id FROM privileges WHERE holder_id = ? \
                                OR holder_id IN (SELECT group_id FROM group_members WHERE user_id = ?) \
                                ORDER BY privilege_id");
                    let q = query(&q).bind(user.to_hex()).bind(user.to_hex());
                    all(self.pool(), q, privilege_row).await
                }

                async fn create_project(&self, p: &Project) -> StoreResult<()> {
                    let q = $q("INSERT INTO projects (id, name, description, created_ms) VALUES (?,?,?,?)");
                    let q = query(&q)
                        .bind(p.id.to_hex())
                        .bind(&p.name)
                        .bind(&p.description)
                        .bind(p.created_ms);
                    exec(self.pool(), q).await?;
                    Ok(())
                }

                async fn list_projects(&self) -> StoreResult<Vec<Project>> {
                    let q = query("SELECT * FROM projects ORDER BY created_ms, name");
                    all(self.pool(), q, project_row).await
                }

                async fn insert_api_token(&self, t: &ApiToken) -> StoreResult<()> {
                    let q = $q("INSERT INTO api_tokens (hash, user_id, created_ms, expires_ms) \
                                VALUES (?,?,?,?)");
                    let q = query(&q)
                        .bind(t.hash.to_hex())
                        .bind(t.user_id.to_hex())
                        .bind(t.created_ms)
                        .bind(t.expires_ms);
                    exec(self.pool(), q).await?;
                    Ok(())
                }

                async fn api_token(&self, hash: &SecretHash) -> StoreResult<Option<ApiToken>> {
                    let q = $q("SELECT * FROM api_tokens WHERE hash = ?");
                    one(self.pool(), query(&q).bind(hash.to_hex()), |r| api_token_row(r, hash)).await
                }

                async fn ping(&self) -> StoreResult<()> {
                    // A read of a table (not a bare SELECT 1): a database that is locked or
                    // lost its files fails it as a request's reads would.
                    let q = $q("SELECT value FROM settings WHERE key = ?");
                    one(self.pool(), query(&q).bind("health"), |r| r.text("value")).await.map(|_| ())
                }

                async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
                    let q = $q("SELECT value FROM settings WHERE key = ?");
                    one(self.pool(), query(&q).bind(key), |r| r.text("value")).await
                }

                async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
                    match value {
                        Some(v) => {
                            let q = $q("INSERT INTO settings (key, value) VALUES (?, ?) \
                                        ON CONFLICT (key) DO UPDATE SET value = excluded.value");
                            exec(self.pool(), query(&q).bind(key).bind(v)).await?;
                        }
                        None => {
                            let q = $q("DELETE FROM settings WHERE key = ?");
                            exec(self.pool(), query(&q).bind(key)).await?;
                        }
                    }
                    Ok(())
                }

                async fn user_access(&self, user: Guid) -> StoreResult<Option<(String, i64)>> {
                    let q = $q("SELECT body, version FROM user_access WHERE user_id = ?");
                    one(self.pool(), query(&q).bind(user.to_hex()), |r| {
                        Ok((r.text("body")?, r.int("version")?))
                    })
                    .await
                }

                async fn put_user_access(
                    &self,
                    user: Guid,
                    body: &str,
                    expected: Option<i64>,
                    now_ms: i64,
                ) -> StoreResult<bool> {
                    // A version check in the statement itself: of two writers that read the same
                    // version, the database lets exactly one through.
                    let q = match expected {
                        None => {
                            let q = $q("INSERT INTO user_access (user_id, body, version, modified_ms) \
                                        VALUES (?, ?, 1, ?) ON CONFLICT (user_id) DO NOTHING");
                            exec(self.pool(), query(&q).bind(user.to_hex()).bind(body.to_owned()).bind(now_ms)).await?
                        }
                        Some(v) => {
                            let q = $q("UPDATE user_access SET body = ?, version = version + 1, modified_ms = ? \
                                        WHERE user_id = ? AND version = ?");
                            let q = query(&q).bind(body.to_owned()).bind(now_ms).bind(user.to_hex()).bind(v);
                            exec(self.pool(), q).await?
                        }
                    };
                    Ok(q.rows_affected() == 1)
                }

                async fn insert_token_access(
                    &self,
                    token: &SecretHash,
                    user: Guid,
                    expires_ms: i64,
                    body: &str,
                    now_ms: i64,
                ) -> StoreResult<()> {
                    let purge = $q("DELETE FROM token_access WHERE expires_ms <= ?");
                    exec(self.pool(), query(&purge).bind(now_ms)).await?;
                    let q = $q("INSERT INTO token_access (token_hash, user_id, expires_ms, body) VALUES (?, ?, ?, ?)");
                    let q = query(&q)
                        .bind(token.to_hex())
                        .bind(user.to_hex())
                        .bind(expires_ms)
                        .bind(body.to_owned());
                    exec(self.pool(), q).await?;
                    Ok(())
                }

                async fn token_access(&self, token: &SecretHash, now_ms: i64) -> StoreResult<Option<String>> {
                    let q = $q("SELECT body FROM token_access WHERE token_hash = ? AND expires_ms > ?");
                    one(self.pool(), query(&q).bind(token.to_hex()).bind(now_ms), |r| r.text("body")).await
                }
            }
        };
    };
}
