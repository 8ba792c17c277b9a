//! The upgrade of stored model documents of an older shape, run by both SQL backends when they
//! open, after the schema migrations and under the same first-start lock: logical tables that
//! held their physical table inside become a logical table and a physical table object
//! (`vestibule_core::model::legacy`), committed ones and those staged in changesets alike, in
//! one transaction. What is upgraded is not found again, so it runs once; a physical table
//! already there is left as it is, so running it again changes nothing.

/// What only the older table documents hold (a JSON key, quoted; a name holding it would be
/// written with escaped quotes, so no newer document matches).
pub const LEGACY_TABLE_MARK: &str = "%\"physical_name\"%";

/// Upgrades the older documents in `$pool` (a pool of either backend; `$q` rewrites `?`
/// placeholders for it); evaluates to how many were upgraded.
#[macro_export]
macro_rules! upgrade_documents {
    ($pool:expr, $q:path) => {
        async {
            use $crate::sql::map_err;
            let mut tx = $pool.begin().await.map_err(map_err)?;
            let mut upgraded = 0usize;
            let committed: Vec<(String,)> = sqlx::query_as(&$q(
                "SELECT body FROM model_objects WHERE kind = 'table' AND body LIKE ?",
            ))
            .bind($crate::sql::upgrade::LEGACY_TABLE_MARK)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
            for (body,) in committed {
                let Some((logical, physical)) = vestibule_core::model::legacy::upgrade_table(&body) else {
                    continue;
                };
                sqlx::query(&$q(
                    "INSERT INTO model_objects (id, project_id, kind, name_key, folder_id, version, body) \
                     VALUES (?,?,?,?,?,?,?) ON CONFLICT (project_id, id) DO NOTHING",
                ))
                .bind(physical.info.id.to_hex())
                .bind(physical.info.project.to_hex())
                .bind(physical.info.kind.as_str())
                .bind(physical.name_key())
                .bind("")
                .bind(physical.info.version.to_hex())
                .bind($crate::sql::model::to_json(&physical)?)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                sqlx::query(&$q(
                    "UPDATE model_objects SET body = ? WHERE project_id = ? AND id = ?",
                ))
                .bind($crate::sql::model::to_json(&logical)?)
                .bind(logical.info.project.to_hex())
                .bind(logical.info.id.to_hex())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                $crate::bump_generation!(tx, $q, logical.info.project.to_hex());
                upgraded += 1;
            }
            let staged: Vec<(String, String, Option<String>, String)> = sqlx::query_as(&$q(
                "SELECT changeset_id, object_id, base_version, body FROM changeset_changes WHERE body LIKE ?",
            ))
            .bind($crate::sql::upgrade::LEGACY_TABLE_MARK)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
            for (changeset, object, base, body) in staged {
                let Some((logical, physical)) = vestibule_core::model::legacy::upgrade_table(&body) else {
                    continue;
                };
                sqlx::query(&$q(
                    "UPDATE changeset_changes SET body = ? WHERE changeset_id = ? AND object_id = ?",
                ))
                .bind($crate::sql::model::to_json(&logical)?)
                .bind(&changeset)
                .bind(&object)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                // A table made in the changeset: its physical table is made there too. One that
                // was committed before has its physical table among the committed objects.
                if base.is_none() {
                    sqlx::query(&$q(
                        "INSERT INTO changeset_changes (changeset_id, object_id, base_version, body) \
                         VALUES (?, ?, NULL, ?) ON CONFLICT (changeset_id, object_id) DO NOTHING",
                    ))
                    .bind(&changeset)
                    .bind(physical.info.id.to_hex())
                    .bind($crate::sql::model::to_json(&physical)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                upgraded += 1;
            }
            tx.commit().await.map_err(map_err)?;
            if upgraded > 0 {
                tracing::info!(
                    upgraded,
                    "logical tables upgraded: their physical tables are objects now"
                );
            }
            Ok::<usize, vestibule_core::error::StoreError>(upgraded)
        }
    };
}
