//! The model store in SQL, written once for both SQL backends: [`impl_model_store!`] implements
//! `ModelStore` for a store type with a `pool()` of either SQLite or PostgreSQL. Queries are
//! written with `?` placeholders; the PostgreSQL instance rewrites them to `$1, $2, …`.
//!
//! Objects are JSON documents (the core's serde form) with the columns needed for lookups and
//! for the unique name per folder kept beside them.

use vestibule_core::error::StoreError;
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
                tx.commit().await.map_err($crate::sql::map_err)
            }

            async fn insert_object(
                &self,
                o: &vestibule_core::model::types::ModelObject,
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
                .bind($crate::codec::name_key(&o.info.name))
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
                if let Some(refusal) = $crate::missing_reference!(tx, $q, o) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                $crate::insert_journal!(tx, $q, entry);
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(Ok(()))
            }

            async fn update_object(
                &self,
                o: &vestibule_core::model::types::ModelObject,
                expected: vestibule_core::ids::Guid,
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
                .bind($crate::codec::name_key(&o.info.name))
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
                if let Some(refusal) = $crate::missing_reference!(tx, $q, o) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                $crate::insert_journal!(tx, $q, entry);
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(Ok(()))
            }

            async fn delete_unused(
                &self,
                project: vestibule_core::ids::Guid,
                id: vestibule_core::ids::Guid,
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
                // The object as the delete finds it, for its journal entry.
                let (body,): (String,) =
                    sqlx::query_as(&$q("SELECT body FROM model_objects WHERE project_id = ? AND id = ?"))
                        .bind(project.to_hex())
                        .bind(id.to_hex())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($crate::sql::map_err)?;
                let gone = $crate::sql::model::from_json(&body)?;
                if let Some(refusal) = $crate::first_dependent!(
                    tx,
                    $q,
                    &project.to_hex(),
                    |other: &vestibule_core::model::types::ModelObject| other.depends_on(id)
                ) {
                    tx.rollback().await.map_err($crate::sql::map_err)?;
                    return Ok(Err(refusal));
                }
                sqlx::query(&$q("DELETE FROM model_objects WHERE project_id = ? AND id = ?"))
                    .bind(project.to_hex())
                    .bind(id.to_hex())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                let entry = vestibule_core::model::journal::JournalEntry::of_delete(author, &gone);
                $crate::insert_journal!(tx, $q, &entry);
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
                let project: (String,) = sqlx::query_as(&$q("SELECT project_id FROM changesets WHERE id = ?"))
                    .bind(changeset.to_hex())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
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
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(Ok(()))
            }
        }

        $crate::impl_journal_store!($store, $q, $lock);
    };
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
        .bind($crate::codec::name_key(&o.info.name))
        .bind(o.info.folder.map(|f| f.to_hex()).unwrap_or_default())
        .bind(o.info.version.to_hex())
        .bind($crate::sql::model::to_json(o)?)
        .execute(&mut *$tx)
        .await
        .map_err($crate::sql::map_err)?;
    }};
}
