//! The model store in SQL, written once for both SQL backends: [`impl_model_store!`] implements
//! `ModelStore` for a store type with a `pool()` of either SQLite or PostgreSQL. Queries are
//! written with `?` placeholders; the PostgreSQL instance rewrites them to `$1, $2, …`.
//!
//! Objects are JSON documents (the core's serde form) with the columns needed for lookups and
//! for the unique name per folder kept beside them.

use vestibule_core::error::StoreError;
use vestibule_core::model::reload::SchemaTask;
use vestibule_core::model::schema_lock::{LockType, SchemaLock};
use vestibule_core::model::types::{Changeset, ChangesetStatus, ModelObject, StagedChange};

pub fn to_json(o: &ModelObject) -> Result<String, StoreError> {
    serde_json::to_string(o).map_err(|e| StoreError::Other(format!("encoding a model object: {e}")))
}

pub fn from_json(s: &str) -> Result<ModelObject, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Other(format!("bad model object in store: {e}")))
}

pub fn status(s: &str) -> Result<ChangesetStatus, StoreError> {
    ChangesetStatus::parse(s).ok_or_else(|| StoreError::Other(format!("bad changeset status in store: {s}")))
}

/// The refusal of a write whose object's name is taken in its folder.
pub fn duplicate(o: &ModelObject) -> vestibule_core::model_store::CommitRefusal {
    vestibule_core::model_store::CommitRefusal::DuplicateName(format!(
        "an {} named '{}' already exists in its folder",
        o.info.kind.as_str(),
        o.info.name
    ))
}

/// The staged change of a row (object id, base version, body).
pub fn staged(id: &str, base: Option<String>, body: Option<String>) -> Result<StagedChange, StoreError> {
    Ok(StagedChange {
        id: crate::codec::guid(id)?,
        base_version: base.map(|b| crate::codec::guid(&b)).transpose()?,
        object: body.map(|b| from_json(&b)).transpose()?,
    })
}

/// The columns of a `changesets` row, in `SELECT id, project_id, user_id, session_hash,
/// schema_edit, status, created_ms, modified_ms, journal_comment` order.
pub type ChangesetRow = (
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    i64,
    Option<String>,
);

pub fn changeset(r: ChangesetRow) -> Result<Changeset, StoreError> {
    Ok(Changeset {
        id: crate::codec::guid(&r.0)?,
        project: crate::codec::guid(&r.1)?,
        user: crate::codec::guid(&r.2)?,
        session: r.3,
        schema_edit: r.4 != 0,
        status: status(&r.5)?,
        created_ms: r.6,
        modified_ms: r.7,
        comment: r.8,
    })
}

/// The columns of a `schema_locks` row, in `SELECT project_id, lock_type, session_hash, user_id,
/// user_name, machine_name, comment, created_ms` order.
pub type LockRow = (String, String, String, String, String, String, String, i64);

/// The columns of a lock, in [`LockRow`] order.
pub const LOCK_COLUMNS: &str =
    "project_id, lock_type, session_hash, user_id, user_name, machine_name, comment, created_ms";

pub fn schema_lock(r: LockRow) -> Result<SchemaLock, StoreError> {
    Ok(SchemaLock {
        project: crate::codec::guid(&r.0)?,
        kind: LockType::parse(&r.1)
            .ok_or_else(|| StoreError::Other(format!("bad schema lock type in store: {}", r.1)))?,
        session: r.2,
        user: crate::codec::guid(&r.3)?,
        user_name: r.4,
        machine: r.5,
        comment: r.6,
        created_ms: r.7,
    })
}

pub fn task_json(t: &SchemaTask) -> Result<String, StoreError> {
    serde_json::to_string(t).map_err(|e| StoreError::Other(format!("encoding a schema task: {e}")))
}

/// A task from its row: the body, with the heartbeat its column keeps (renewed apart from it).
pub fn task(body: &str, heartbeat_ms: i64) -> Result<SchemaTask, StoreError> {
    let mut t: SchemaTask = serde_json::from_str(body)
        .map_err(|e| StoreError::Other(format!("bad schema task in store: {e}")))?;
    t.heartbeat_ms = heartbeat_ms;
    Ok(t)
}

/// Implements `ModelStore` for `$store` (which has `fn pool(&self) -> &Pool<$db>`); `$q` turns
/// a `?`-placeholder query into the backend's; `$lock` is a statement run first in a commit so
/// commits (and direct writes) from every node take turns.
#[macro_export]
macro_rules! impl_model_store {
    ($store:ty, $q:path, $lock:expr) => {
        #[async_trait::async_trait]
        impl vestibule_core::model_store::ModelStore for $store {
            async fn object(
                &self,
                project: vestibule_core::ids::Guid,
                id: vestibule_core::ids::Guid,
            ) -> vestibule_core::store::StoreResult<Option<vestibule_core::model::types::ModelObject>> {
                let row: Option<(String,)> =
                    sqlx::query_as(&$q("SELECT body FROM model_objects WHERE project_id = ? AND id = ?"))
                        .bind(project.to_hex())
                        .bind(id.to_hex())
                    .fetch_optional(self.pool())
                    .await
                    .map_err($crate::sql::map_err)?;
                row.map(|(b,)| $crate::sql::model::from_json(&b)).transpose()
            }

            async fn generation(&self, project: vestibule_core::ids::Guid) -> vestibule_core::store::StoreResult<i64> {
                let row: Option<(i64,)> =
                    sqlx::query_as(&$q("SELECT generation FROM model_generations WHERE project_id = ?"))
                        .bind(project.to_hex())
                        .fetch_optional(self.pool())
                        .await
                        .map_err($crate::sql::map_err)?;
                Ok(row.map_or(0, |(g,)| g))
            }

            async fn objects(
                &self,
                project: vestibule_core::ids::Guid,
                kind: Option<vestibule_core::model::types::ObjectKind>,
            ) -> vestibule_core::store::StoreResult<Vec<vestibule_core::model::types::ModelObject>> {
                let rows: Vec<(String,)> = match kind {
                    Some(k) => sqlx::query_as(&$q(
                        "SELECT body FROM model_objects WHERE project_id = ? AND kind = ? ORDER BY name_key, id",
                    ))
                    .bind(project.to_hex())
                    .bind(k.as_str())
                    .fetch_all(self.pool())
                    .await,
                    None => sqlx::query_as(&$q("SELECT body FROM model_objects WHERE project_id = ? ORDER BY name_key, id"))
                        .bind(project.to_hex())
                        .fetch_all(self.pool())
                        .await,
                }
                .map_err($crate::sql::map_err)?;
                rows.iter().map(|(b,)| $crate::sql::model::from_json(b)).collect()
            }

            async fn holders(
                &self,
                id: vestibule_core::ids::Guid,
            ) -> vestibule_core::store::StoreResult<Vec<vestibule_core::ids::Guid>> {
                let rows: Vec<(String,)> =
                    sqlx::query_as(&$q("SELECT project_id FROM model_objects WHERE id = ? ORDER BY project_id"))
                        .bind(id.to_hex())
                        .fetch_all(self.pool())
                        .await
                        .map_err($crate::sql::map_err)?;
                rows.iter().map(|(p,)| $crate::codec::guid(p)).collect()
            }

            async fn replace_project(
                &self,
                project: vestibule_core::ids::Guid,
                objects: &[vestibule_core::model::types::ModelObject],
            ) -> vestibule_core::store::StoreResult<()> {
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                sqlx::query(&$q("DELETE FROM model_objects WHERE project_id = ?"))
                    .bind(project.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                for o in objects {
                    $crate::upsert!(tx, $q, o);
                }
                $crate::bump_generation!(tx, $q, project.to_hex());
                tx.commit().await.map_err($crate::sql::map_err)
            }

            async fn put_objects(
                &self,
                objects: &[vestibule_core::model::types::ModelObject],
            ) -> vestibule_core::store::StoreResult<()> {
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                for o in objects {
                    $crate::upsert!(tx, $q, o);
                }
                let mut projects: Vec<vestibule_core::ids::Guid> = objects.iter().map(|o| o.info.project).collect();
                projects.sort_unstable_by_key(|p| p.0);
                projects.dedup();
                for p in projects {
                    $crate::bump_generation!(tx, $q, p.to_hex());
                }
                tx.commit().await.map_err($crate::sql::map_err)
            }

            async fn insert_object(
                &self,
                o: &vestibule_core::model::types::ModelObject,
                session: &str,
                entry: &vestibule_core::model::journal::JournalEntry,
            ) -> vestibule_core::store::StoreResult<Result<(), vestibule_core::model_store::CommitRefusal>> {
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                let done = sqlx::query(&$q(
                    "INSERT INTO model_objects (id, project_id, kind, name_key, folder_id, version, body) VALUES (?,?,?,?,?,?,?)",
                ))
                .bind(o.info.id.to_hex())
                .bind(o.info.project.to_hex())
                .bind(o.info.kind.as_str())
                .bind(o.name_key())
                .bind(o.info.folder.map(|f| f.to_hex()).unwrap_or_default())
                .bind(o.info.version.to_hex())
                .bind($crate::sql::model::to_json(o)?)
                .execute(&mut *tx)
                .await
                .map_err($crate::sql::map_err);
                match done {
                    Ok(_) => {}
                    Err(vestibule_core::error::StoreError::Duplicate(_)) => {
                        tx.rollback().await.map_err($crate::sql::map_err)?;
                        return Ok(Err($crate::sql::model::duplicate(o)));
                    }
                    Err(e) => return Err(e),
                }
                if let Some(refusal) = $crate::schema_locked!(tx, $q, o.info.project.to_hex(), session) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                if let Some(refusal) = $crate::missing_reference!(tx, $q, o) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                $crate::insert_journal!(tx, $q, entry);
                $crate::bump_generation!(tx, $q, o.info.project.to_hex());
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(Ok(()))
            }

            async fn update_object(
                &self,
                o: &vestibule_core::model::types::ModelObject,
                expected: vestibule_core::ids::Guid,
                session: &str,
                entry: &vestibule_core::model::journal::JournalEntry,
            ) -> vestibule_core::store::StoreResult<Result<(), vestibule_core::model_store::CommitRefusal>> {
                use vestibule_core::model_store::CommitRefusal;
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                // The version in the WHERE: a write made since the object was read wins, and this
                // one is refused (in SQLite the UPDATE also takes the write lock first).
                let done = sqlx::query(&$q(
                    "UPDATE model_objects SET kind = ?, name_key = ?, folder_id = ?, version = ?, body = ? \
                     WHERE project_id = ? AND id = ? AND version = ?",
                ))
                .bind(o.info.kind.as_str())
                .bind(o.name_key())
                .bind(o.info.folder.map(|f| f.to_hex()).unwrap_or_default())
                .bind(o.info.version.to_hex())
                .bind($crate::sql::model::to_json(o)?)
                .bind(o.info.project.to_hex())
                .bind(o.info.id.to_hex())
                .bind(expected.to_hex())
                .execute(&mut *tx)
                .await
                .map_err($crate::sql::map_err);
                match done {
                    Ok(d) if d.rows_affected() == 0 => {
                        tx.rollback().await.map_err($crate::sql::map_err)?;
                        return Ok(Err(CommitRefusal::Conflict(o.info.id)));
                    }
                    Ok(_) => {}
                    Err(vestibule_core::error::StoreError::Duplicate(_)) => {
                        tx.rollback().await.map_err($crate::sql::map_err)?;
                        return Ok(Err($crate::sql::model::duplicate(o)));
                    }
                    Err(e) => return Err(e),
                }
                if let Some(refusal) = $crate::schema_locked!(tx, $q, o.info.project.to_hex(), session) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                if let Some(refusal) = $crate::missing_reference!(tx, $q, o) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                $crate::insert_journal!(tx, $q, entry);
                $crate::bump_generation!(tx, $q, o.info.project.to_hex());
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(Ok(()))
            }

            async fn delete_unused(
                &self,
                project: vestibule_core::ids::Guid,
                id: vestibule_core::ids::Guid,
                session: &str,
                author: &vestibule_core::model::journal::Author,
            ) -> vestibule_core::store::StoreResult<Result<bool, vestibule_core::model_store::CommitRefusal>> {
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                // A write first (a no-op), so SQLite takes its write lock before the check reads.
                let found =
                    sqlx::query(&$q("UPDATE model_objects SET version = version WHERE project_id = ? AND id = ?"))
                        .bind(project.to_hex())
                        .bind(id.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                if found.rows_affected() == 0 {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Ok(false));
                }
                if let Some(refusal) = $crate::schema_locked!(tx, $q, project.to_hex(), session) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                if let Some(refusal) = $crate::first_dependent!(
                    tx,
                    $q,
                    &project.to_hex(),
                    |other: &vestibule_core::model::types::ModelObject| other.depends_on(id)
                ) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                let (body,): (String,) =
                    sqlx::query_as(&$q("SELECT body FROM model_objects WHERE project_id = ? AND id = ?"))
                        .bind(project.to_hex())
                        .bind(id.to_hex())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($crate::sql::map_err)?;
                let gone = $crate::sql::model::from_json(&body)?;
                sqlx::query(&$q("DELETE FROM model_objects WHERE project_id = ? AND id = ?"))
                    .bind(project.to_hex())
                    .bind(id.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                // What existed only for the deleted object goes with it once nothing else uses
                // it (a logical table's physical table), in the same transaction.
                for owned in gone.owned() {
                    let used = $crate::first_dependent!(
                        tx,
                        $q,
                        &project.to_hex(),
                        |other: &vestibule_core::model::types::ModelObject| other.depends_on(owned)
                    );
                    if used.is_none() {
                        sqlx::query(&$q("DELETE FROM model_objects WHERE project_id = ? AND id = ?"))
                            .bind(project.to_hex())
                            .bind(owned.to_hex())
                            .execute(&mut *tx)
                            .await
                            .map_err($crate::sql::map_err)?;
                    }
                }
                let entry = vestibule_core::model::journal::JournalEntry::of_delete(author, &gone);
                $crate::insert_journal!(tx, $q, &entry);
                $crate::bump_generation!(tx, $q, project.to_hex());
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(Ok(true))
            }

            async fn create_changeset(
                &self,
                cs: &vestibule_core::model::types::Changeset,
            ) -> vestibule_core::store::StoreResult<()> {
                sqlx::query(&$q(
                    "INSERT INTO changesets (id, project_id, user_id, session_hash, schema_edit, status, created_ms, modified_ms) \
                     VALUES (?,?,?,?,?,?,?,?)",
                ))
                .bind(cs.id.to_hex())
                .bind(cs.project.to_hex())
                .bind(cs.user.to_hex())
                .bind(&cs.session)
                .bind(i64::from(cs.schema_edit))
                .bind(cs.status.as_str())
                .bind(cs.created_ms)
                .bind(cs.modified_ms)
                .execute(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                Ok(())
            }

            async fn changeset(
                &self,
                id: vestibule_core::ids::Guid,
            ) -> vestibule_core::store::StoreResult<Option<vestibule_core::model::types::Changeset>> {
                let row: Option<$crate::sql::model::ChangesetRow> = sqlx::query_as(&$q(
                    "SELECT id, project_id, user_id, session_hash, schema_edit, status, created_ms, modified_ms, journal_comment \
                     FROM changesets WHERE id = ?",
                ))
                .bind(id.to_hex())
                .fetch_optional(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                row.map($crate::sql::model::changeset).transpose()
            }

            async fn delete_project(
                &self,
                project: vestibule_core::ids::Guid,
                system: &[vestibule_core::ids::Guid],
                force: bool,
            ) -> vestibule_core::store::StoreResult<vestibule_core::model_store::ProjectDeletion> {
                use vestibule_core::model_store::ProjectDeletion;
                let id = project.to_hex();
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                // A write first: in SQLite it takes the file's write lock, so the count below is
                // the one the deletes act on.
                sqlx::query(&$q("DELETE FROM schema_locks WHERE project_id = ?"))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                let found: Option<(String,)> = sqlx::query_as(&$q("SELECT id FROM projects WHERE id = ?"))
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                if found.is_none() {
                    return Ok(ProjectDeletion::NotFound);
                }
                let ids: Vec<(String,)> = sqlx::query_as(&$q("SELECT id FROM model_objects WHERE project_id = ?"))
                    .bind(&id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                let system: Vec<String> = system.iter().map(|g| g.to_hex()).collect();
                let objects = ids.iter().filter(|(o,)| !system.contains(o)).count();
                if objects > 0 && !force {
                    return Ok(ProjectDeletion::Refused { objects });
                }
                for statement in [
                    "DELETE FROM changeset_changes WHERE changeset_id IN (SELECT id FROM changesets WHERE project_id = ?)",
                    "DELETE FROM changesets WHERE project_id = ?",
                    "DELETE FROM change_journal_objects WHERE entry_id IN (SELECT id FROM change_journal WHERE project_id = ?)",
                    "DELETE FROM change_journal WHERE project_id = ?",
                    "DELETE FROM schema_tasks WHERE project_id = ?",
                    "DELETE FROM model_objects WHERE project_id = ?",
                    "DELETE FROM projects WHERE id = ?",
                ] {
                    sqlx::query(&$q(statement))
                        .bind(&id)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::sql::map_err)?;
                }
                // Raised, not deleted: a node holding the project's objects must find them gone.
                $crate::bump_generation!(tx, $q, id.clone());
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(ProjectDeletion::Deleted { objects })
            }

            async fn delete_changeset(&self, id: vestibule_core::ids::Guid) -> vestibule_core::store::StoreResult<bool> {
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                sqlx::query(&$q("DELETE FROM changeset_changes WHERE changeset_id = ?"))
                    .bind(id.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                let done = sqlx::query(&$q("DELETE FROM changesets WHERE id = ?"))
                    .bind(id.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn changesets(
                &self,
            ) -> vestibule_core::store::StoreResult<Vec<vestibule_core::model::types::Changeset>> {
                let rows: Vec<$crate::sql::model::ChangesetRow> = sqlx::query_as(
                    "SELECT id, project_id, user_id, session_hash, schema_edit, status, created_ms, modified_ms, journal_comment \
                     FROM changesets",
                )
                .fetch_all(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                rows.into_iter().map($crate::sql::model::changeset).collect()
            }

            async fn set_changeset_comment(
                &self,
                id: vestibule_core::ids::Guid,
                comment: &str,
            ) -> vestibule_core::store::StoreResult<bool> {
                let done = sqlx::query(&$q(
                    "UPDATE changesets SET journal_comment = ? WHERE id = ? AND status = 'Ready'",
                ))
                .bind(comment)
                .bind(id.to_hex())
                .execute(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn stage(
                &self,
                changeset: vestibule_core::ids::Guid,
                change: &vestibule_core::model::types::StagedChange,
            ) -> vestibule_core::store::StoreResult<()> {
                let body = change.object.as_ref().map($crate::sql::model::to_json).transpose()?;
                let done = sqlx::query(&$q(
                    "INSERT INTO changeset_changes (changeset_id, object_id, base_version, body) \
                     SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM changesets WHERE id = ? AND status = 'Ready') \
                     ON CONFLICT (changeset_id, object_id) DO UPDATE SET base_version = excluded.base_version, body = excluded.body",
                ))
                .bind(changeset.to_hex())
                .bind(change.id.to_hex())
                .bind(change.base_version.map(|v| v.to_hex()))
                .bind(body)
                .bind(changeset.to_hex())
                .execute(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                if done.rows_affected() == 0 {
                    return Err(vestibule_core::error::StoreError::NotFound(format!(
                        "changeset {changeset} is gone or already committed"
                    )));
                }
                Ok(())
            }

            async fn staged(
                &self,
                changeset: vestibule_core::ids::Guid,
            ) -> vestibule_core::store::StoreResult<Vec<vestibule_core::model::types::StagedChange>> {
                let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(&$q(
                    "SELECT object_id, base_version, body FROM changeset_changes WHERE changeset_id = ? ORDER BY object_id",
                ))
                .bind(changeset.to_hex())
                .fetch_all(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                rows.into_iter()
                    .map(|(id, base, body)| $crate::sql::model::staged(&id, base, body))
                    .collect()
            }

            async fn staged_one(
                &self,
                changeset: vestibule_core::ids::Guid,
                id: vestibule_core::ids::Guid,
            ) -> vestibule_core::store::StoreResult<Option<vestibule_core::model::types::StagedChange>> {
                let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(&$q(
                    "SELECT object_id, base_version, body FROM changeset_changes WHERE changeset_id = ? AND object_id = ?",
                ))
                .bind(changeset.to_hex())
                .bind(id.to_hex())
                .fetch_optional(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                row.map(|(id, base, body)| $crate::sql::model::staged(&id, base, body)).transpose()
            }

            async fn commit(
                &self,
                changeset: vestibule_core::ids::Guid,
                now_ms: i64,
                author: &vestibule_core::model::journal::Author,
            ) -> vestibule_core::store::StoreResult<Result<(), vestibule_core::model_store::CommitRefusal>> {
                use vestibule_core::model_store::CommitRefusal;
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                // A write first, so the embedded store takes its write lock before reading.
                let done = sqlx::query(&$q(
                    "UPDATE changesets SET status = 'Committed', modified_ms = ? WHERE id = ? AND status = 'Ready'",
                ))
                .bind(now_ms)
                .bind(changeset.to_hex())
                .execute(&mut *tx)
                .await
                .map_err($crate::sql::map_err)?;
                if done.rows_affected() == 0 {
                    // Committed meanwhile by another request of the same session: nothing to do.
                    return Ok(Ok(()));
                }
                let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(&$q(
                    "SELECT object_id, base_version, body FROM changeset_changes WHERE changeset_id = ? ORDER BY object_id",
                ))
                .bind(changeset.to_hex())
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::sql::map_err)?;
                let project: (String, String) =
                    sqlx::query_as(&$q("SELECT project_id, session_hash FROM changesets WHERE id = ?"))
                        .bind(changeset.to_hex())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($crate::sql::map_err)?;
                // The lock is read after the write above: a lock placed takes the same turn.
                if let Some(refusal) = $crate::schema_locked!(tx, $q, &project.0, &project.1) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                let mut changes = Vec::with_capacity(rows.len());
                for (id, base, body) in rows {
                    changes.push($crate::sql::model::staged(&id, base, body)?);
                }
                // Each change's committed object as the commit finds it: its version is checked, and
                // it is what the journal entry says was changed or deleted.
                let mut before = Vec::with_capacity(changes.len());
                for c in &changes {
                    let current: Option<(String, String)> =
                        sqlx::query_as(&$q("SELECT version, body FROM model_objects WHERE project_id = ? AND id = ?"))
                            .bind(&project.0)
                            .bind(c.id.to_hex())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::sql::map_err)?;
                    if current.as_ref().map(|(v, _)| v.clone()) != c.base_version.map(|v| v.to_hex()) {
                        tx.rollback().await.map_err($crate::sql::map_err)?;
                        return Ok(Err(CommitRefusal::Conflict(c.id)));
                    }
                    before.push(current.map(|(_, b)| $crate::sql::model::from_json(&b)).transpose()?);
                }
                for c in &changes {
                    match &c.object {
                        None => {
                            sqlx::query(&$q("DELETE FROM model_objects WHERE project_id = ? AND id = ?"))
                                .bind(&project.0)
                                .bind(c.id.to_hex())
                                .execute(&mut *tx)
                                .await
                                .map_err($crate::sql::map_err)?;
                        }
                        Some(o) => {
                            let r: Result<(), vestibule_core::error::StoreError> = async {
                                $crate::upsert!(tx, $q, o);
                                Ok(())
                            }
                            .await;
                            match r {
                                Ok(()) => {}
                                Err(vestibule_core::error::StoreError::Duplicate(_)) => {
                                    tx.rollback().await.map_err($crate::sql::map_err)?;
                                    return Ok(Err($crate::sql::model::duplicate(o)));
                                }
                                Err(e) => return Err(e),
                            }
                        }
                    }
                }
                // The model as the commit leaves it, inside its transaction: what the changes
                // write still has what it uses, and nothing left uses what they delete.
                for c in &changes {
                    if let Some(o) = &c.object {
                        if let Some(refusal) = $crate::missing_reference!(tx, $q, o) {
                            tx.rollback().await.map_err($crate::sql::map_err)?;
                            return Ok(Err(refusal));
                        }
                    }
                }
                let deleted: Vec<vestibule_core::ids::Guid> =
                    changes.iter().filter(|c| c.object.is_none()).map(|c| c.id).collect();
                if !deleted.is_empty() {
                    let uses_deleted = |other: &vestibule_core::model::types::ModelObject| {
                        deleted.iter().any(|d| other.depends_on(*d))
                    };
                    if let Some(refusal) = $crate::first_dependent!(tx, $q, &project.0, uses_deleted) {
                        tx.rollback().await.map_err($crate::sql::map_err)?;
                        return Ok(Err(refusal));
                    }
                }
                let pairs: Vec<_> = before
                    .into_iter()
                    .zip(changes.iter().map(|c| c.object.clone()))
                    .collect();
                if let Some(entry) = vestibule_core::model::journal::JournalEntry::of_commit(
                    author,
                    $crate::codec::guid(&project.0)?,
                    changeset,
                    &pairs,
                ) {
                    $crate::insert_journal!(tx, $q, &entry);
                }
                sqlx::query(&$q("DELETE FROM changeset_changes WHERE changeset_id = ?"))
                    .bind(changeset.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                $crate::bump_generation!(tx, $q, project.0.clone());
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(Ok(()))
            }

            async fn schema_lock(
                &self,
                project: vestibule_core::ids::Guid,
            ) -> vestibule_core::store::StoreResult<Option<vestibule_core::model::schema_lock::SchemaLock>> {
                let row: Option<$crate::sql::model::LockRow> = sqlx::query_as(&$q(&format!(
                    "SELECT {} FROM schema_locks WHERE project_id = ?",
                    $crate::sql::model::LOCK_COLUMNS
                )))
                .bind(project.to_hex())
                .fetch_optional(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                row.map($crate::sql::model::schema_lock).transpose()
            }

            async fn schema_locks(
                &self,
            ) -> vestibule_core::store::StoreResult<Vec<vestibule_core::model::schema_lock::SchemaLock>> {
                let rows: Vec<$crate::sql::model::LockRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM schema_locks ORDER BY project_id",
                    $crate::sql::model::LOCK_COLUMNS
                ))
                .fetch_all(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                rows.into_iter().map($crate::sql::model::schema_lock).collect()
            }

            async fn place_schema_lock(
                &self,
                lock: &vestibule_core::model::schema_lock::SchemaLock,
            ) -> vestibule_core::store::StoreResult<
                Result<vestibule_core::model::schema_lock::SchemaLock, vestibule_core::model::schema_lock::SchemaLock>,
            > {
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                // The turn model writes take, so a write either commits before the lock is
                // placed or sees it.
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                // Another session's lock stays as it is (the WHERE); the holder's takes the type.
                sqlx::query(&$q(&format!(
                    "INSERT INTO schema_locks ({}) VALUES (?,?,?,?,?,?,?,?) \
                     ON CONFLICT (project_id) DO UPDATE SET lock_type = excluded.lock_type \
                     WHERE schema_locks.session_hash = excluded.session_hash",
                    $crate::sql::model::LOCK_COLUMNS
                )))
                .bind(lock.project.to_hex())
                .bind(lock.kind.as_str())
                .bind(&lock.session)
                .bind(lock.user.to_hex())
                .bind(&lock.user_name)
                .bind(&lock.machine)
                .bind(&lock.comment)
                .bind(lock.created_ms)
                .execute(&mut *tx)
                .await
                .map_err($crate::sql::map_err)?;
                let row: $crate::sql::model::LockRow = sqlx::query_as(&$q(&format!(
                    "SELECT {} FROM schema_locks WHERE project_id = ?",
                    $crate::sql::model::LOCK_COLUMNS
                )))
                .bind(lock.project.to_hex())
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::sql::map_err)?;
                tx.commit().await.map_err($crate::sql::map_err)?;
                let stored = $crate::sql::model::schema_lock(row)?;
                Ok(if stored.session == lock.session {
                    Ok(stored)
                } else {
                    Err(stored)
                })
            }

            async fn remove_schema_lock(
                &self,
                project: vestibule_core::ids::Guid,
                session: &str,
            ) -> vestibule_core::store::StoreResult<bool> {
                let done = sqlx::query(&$q("DELETE FROM schema_locks WHERE project_id = ? AND session_hash = ?"))
                    .bind(project.to_hex())
                    .bind(session)
                    .execute(self.pool())
                    .await
                    .map_err($crate::sql::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_task(
                &self,
                t: &vestibule_core::model::reload::SchemaTask,
            ) -> vestibule_core::store::StoreResult<()> {
                sqlx::query(&$q(
                    "INSERT INTO schema_tasks (id, project_id, status, start_ms, heartbeat_ms, body) VALUES (?,?,?,?,?,?)",
                ))
                .bind(t.id.to_hex())
                .bind(t.project.to_hex())
                .bind(t.status.as_str())
                .bind(t.start_ms)
                .bind(t.heartbeat_ms)
                .bind($crate::sql::model::task_json(t)?)
                .execute(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                Ok(())
            }

            async fn task(
                &self,
                id: vestibule_core::ids::Guid,
            ) -> vestibule_core::store::StoreResult<Option<vestibule_core::model::reload::SchemaTask>> {
                let row: Option<(String, i64)> =
                    sqlx::query_as(&$q("SELECT body, heartbeat_ms FROM schema_tasks WHERE id = ?"))
                        .bind(id.to_hex())
                        .fetch_optional(self.pool())
                        .await
                        .map_err($crate::sql::map_err)?;
                row.map(|(b, h)| $crate::sql::model::task(&b, h)).transpose()
            }

            async fn finish_task(
                &self,
                t: &vestibule_core::model::reload::SchemaTask,
            ) -> vestibule_core::store::StoreResult<bool> {
                let done = sqlx::query(&$q(
                    "UPDATE schema_tasks SET status = ?, heartbeat_ms = ?, body = ? WHERE id = ? AND status = 'running'",
                ))
                .bind(t.status.as_str())
                .bind(t.heartbeat_ms)
                .bind($crate::sql::model::task_json(t)?)
                .bind(t.id.to_hex())
                .execute(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn beat_task(
                &self,
                id: vestibule_core::ids::Guid,
                now_ms: i64,
            ) -> vestibule_core::store::StoreResult<()> {
                sqlx::query(&$q("UPDATE schema_tasks SET heartbeat_ms = ? WHERE id = ? AND status = 'running'"))
                    .bind(now_ms)
                    .bind(id.to_hex())
                    .execute(self.pool())
                    .await
                    .map_err($crate::sql::map_err)?;
                Ok(())
            }

            async fn last_task(
                &self,
                project: vestibule_core::ids::Guid,
            ) -> vestibule_core::store::StoreResult<Option<vestibule_core::model::reload::SchemaTask>> {
                let row: Option<(String, i64)> = sqlx::query_as(&$q(
                    "SELECT body, heartbeat_ms FROM schema_tasks WHERE project_id = ? ORDER BY start_ms DESC, id DESC LIMIT 1",
                ))
                .bind(project.to_hex())
                .fetch_optional(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                row.map(|(b, h)| $crate::sql::model::task(&b, h)).transpose()
            }

            async fn stale_tasks(
                &self,
                before_ms: i64,
            ) -> vestibule_core::store::StoreResult<Vec<vestibule_core::model::reload::SchemaTask>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(&$q(
                    "SELECT body, heartbeat_ms FROM schema_tasks WHERE status = 'running' AND heartbeat_ms < ?",
                ))
                .bind(before_ms)
                .fetch_all(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                rows.iter().map(|(b, h)| $crate::sql::model::task(b, *h)).collect()
            }

            async fn drop_tasks_before(&self, before_ms: i64) -> vestibule_core::store::StoreResult<usize> {
                let done = sqlx::query(&$q(
                    "DELETE FROM schema_tasks WHERE status <> 'running' AND start_ms < ? \
                     AND start_ms < (SELECT MAX(u.start_ms) FROM schema_tasks u WHERE u.project_id = schema_tasks.project_id)",
                ))
                .bind(before_ms)
                .execute(self.pool())
                .await
                .map_err($crate::sql::map_err)?;
                Ok(done.rows_affected() as usize)
            }
        }

        $crate::impl_journal_store!($store, $q, $lock);
    };
}

/// The schema lock of project `$project` inside transaction `$tx` when a session other than
/// `$session` holds it, as the refusal to answer with (the caller judges whether that session
/// still lives). Read after the write's first statement, in the turn writers take.
#[macro_export]
macro_rules! schema_locked {
    ($tx:ident, $q:path, $project:expr, $session:expr) => {{
        let row: Option<$crate::sql::model::LockRow> = sqlx::query_as(&$q(&format!(
            "SELECT {} FROM schema_locks WHERE project_id = ? AND session_hash <> ?",
            $crate::sql::model::LOCK_COLUMNS
        )))
        .bind($project)
        .bind($session)
        .fetch_optional(&mut *$tx)
        .await
        .map_err($crate::sql::map_err)?;
        row.map($crate::sql::model::schema_lock)
            .transpose()?
            .map(vestibule_core::model_store::CommitRefusal::Locked)
    }};
}

/// The first reference of `$o` that the model inside transaction `$tx` lacks (gone, or of another
/// kind), as the refusal to answer with.
#[macro_export]
macro_rules! missing_reference {
    ($tx:ident, $q:path, $o:expr) => {{
        let o: &vestibule_core::model::types::ModelObject = $o;
        let mut missing = None;
        for (id, kind) in o.needs() {
            let found: Option<(String,)> = sqlx::query_as(&$q(
                "SELECT kind FROM model_objects WHERE project_id = ? AND id = ?",
            ))
            .bind(o.info.project.to_hex())
            .bind(id.to_hex())
            .fetch_optional(&mut *$tx)
            .await
            .map_err($crate::sql::map_err)?;
            if found.is_none_or(|(k,)| k != kind.as_str()) {
                missing = Some(vestibule_core::model_store::CommitRefusal::Missing {
                    user: o.info.id,
                    user_name: o.info.name.clone(),
                    missing: id,
                    kind,
                });
                break;
            }
        }
        missing
    }};
}

/// The first object of project `$project` inside transaction `$tx` for which `$needs` holds (it
/// depends on something about to go), as the refusal to answer with.
#[macro_export]
macro_rules! first_dependent {
    ($tx:ident, $q:path, $project:expr, $needs:expr) => {{
        let needs = $needs;
        let bodies: Vec<(String,)> =
            sqlx::query_as(&$q("SELECT body FROM model_objects WHERE project_id = ?"))
                .bind($project)
                .fetch_all(&mut *$tx)
                .await
                .map_err($crate::sql::map_err)?;
        let mut found = None;
        for (body,) in &bodies {
            let other = $crate::sql::model::from_json(body)?;
            if needs(&other) {
                found = Some(vestibule_core::model_store::CommitRefusal::InUse {
                    user_name: other.info.name,
                    user_kind: other.info.kind,
                });
                break;
            }
        }
        found
    }};
}

/// Raises the generation of project `$project` (its hex id) inside transaction `$tx`: every
/// write of committed objects does, so nodes caching them know they changed
/// (`vestibule_core::model::committed`).
#[macro_export]
macro_rules! bump_generation {
    ($tx:ident, $q:path, $project:expr) => {{
        let project: String = $project;
        sqlx::query(&$q(
            "INSERT INTO model_generations (project_id, generation) VALUES (?, 1) \
             ON CONFLICT (project_id) DO UPDATE SET generation = model_generations.generation + 1",
        ))
        .bind(project)
        .execute(&mut *$tx)
        .await
        .map_err($crate::sql::map_err)?;
    }};
}

/// Inserts or replaces one object inside transaction `$tx`.
#[macro_export]
macro_rules! upsert {
    ($tx:ident, $q:path, $o:expr) => {{
        let o: &vestibule_core::model::types::ModelObject = $o;
        sqlx::query(&$q(
            "INSERT INTO model_objects (id, project_id, kind, name_key, folder_id, version, body) VALUES (?,?,?,?,?,?,?) \
             ON CONFLICT (project_id, id) DO UPDATE SET kind = excluded.kind, \
             name_key = excluded.name_key, folder_id = excluded.folder_id, version = excluded.version, body = excluded.body",
        ))
        .bind(o.info.id.to_hex())
        .bind(o.info.project.to_hex())
        .bind(o.info.kind.as_str())
        .bind(o.name_key())
        .bind(o.info.folder.map(|f| f.to_hex()).unwrap_or_default())
        .bind(o.info.version.to_hex())
        .bind($crate::sql::model::to_json(o)?)
        .execute(&mut *$tx)
        .await
        .map_err($crate::sql::map_err)?;
    }};
}
