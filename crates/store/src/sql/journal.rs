//! The change journal in SQL, for both SQL backends: [`insert_journal!`] writes an entry inside
//! the transaction of the model write it records (`sql::model`), [`impl_journal_store!`]
//! implements `JournalStore` (searching and purging) for a store type with a `pool()`.
//!
//! An entry is a JSON document (the core's serde form) with the columns a search narrows by
//! beside it; `change_journal_objects` indexes the objects each entry names. The transaction
//! number is the row id the database gives, so it grows with every entry on every node.

use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::journal_store::JournalQuery;
use vestibule_core::model::journal::JournalEntry;

pub fn to_json(e: &JournalEntry) -> Result<String, StoreError> {
    serde_json::to_string(e).map_err(|e| StoreError::Other(format!("encoding a journal entry: {e}")))
}

/// The entry of a row: its number and its document.
pub fn entry(id: i64, body: &str) -> Result<JournalEntry, StoreError> {
    let mut e: JournalEntry = serde_json::from_str(body)
        .map_err(|e| StoreError::Other(format!("bad journal entry in store: {e}")))?;
    e.id = id;
    Ok(e)
}

/// A value bound to a query built at run time.
pub enum Arg {
    Text(String),
    Int(i64),
}

/// `column IN (?, ?, …)` for `values`, its arguments pushed on `args`.
fn any_of(column: &str, values: &[Guid], args: &mut Vec<Arg>) -> String {
    let marks = vec!["?"; values.len()].join(", ");
    args.extend(values.iter().map(|v| Arg::Text(v.to_hex())));
    format!("{column} IN ({marks})")
}

/// The `WHERE` of a search (with `?` placeholders) and its arguments, in order.
pub fn search_where(q: &JournalQuery) -> (String, Vec<Arg>) {
    let mut parts: Vec<String> = Vec::new();
    let mut args = Vec::new();
    if !q.projects.is_empty() {
        parts.push(any_of("project_id", &q.projects, &mut args));
    }
    for (bound, sql) in [
        (q.first_id, "id >= ?"),
        (q.last_id, "id <= ?"),
        (q.from_ms, "at_ms >= ?"),
        (q.to_ms, "at_ms <= ?"),
    ] {
        if let Some(v) = bound {
            parts.push(sql.to_owned());
            args.push(Arg::Int(v));
        }
    }
    if !q.objects.is_empty() {
        let inner = any_of("object_id", &q.objects, &mut args);
        parts.push(format!(
            "id IN (SELECT entry_id FROM change_journal_objects WHERE {inner})"
        ));
    }
    if parts.is_empty() {
        ("1 = 1".to_owned(), args)
    } else {
        (parts.join(" AND "), args)
    }
}

/// The `WHERE` of a purge and its arguments: the entries of `projects` (`None`: all; none
/// given: nothing) written before `before_ms`.
pub fn purge_where(projects: Option<&[Guid]>, before_ms: Option<i64>) -> (String, Vec<Arg>) {
    let mut parts = Vec::new();
    let mut args = Vec::new();
    match projects {
        Some([]) => parts.push("1 = 0".to_owned()),
        Some(ids) => parts.push(any_of("project_id", ids, &mut args)),
        None => {}
    }
    if let Some(t) = before_ms {
        parts.push("at_ms < ?".to_owned());
        args.push(Arg::Int(t));
    }
    if parts.is_empty() {
        ("1 = 1".to_owned(), args)
    } else {
        (parts.join(" AND "), args)
    }
}

/// Binds `$args` (a `Vec<Arg>`) to the query `$query` in order.
#[macro_export]
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for a in $args {
            query = match a {
                $crate::sql::journal::Arg::Text(s) => query.bind(s),
                $crate::sql::journal::Arg::Int(i) => query.bind(i),
            };
        }
        query
    }};
}

/// Writes journal entry `$e` inside transaction `$tx`, with the objects it names.
#[macro_export]
macro_rules! insert_journal {
    ($tx:ident, $q:path, $e:expr) => {{
        let e: &vestibule_core::model::journal::JournalEntry = $e;
        let (entry_id,): (i64,) = sqlx::query_as(&$q(
            "INSERT INTO change_journal (project_id, at_ms, body) VALUES (?,?,?) RETURNING id",
        ))
        .bind(e.project.to_hex())
        .bind(e.at_ms)
        .bind($crate::sql::journal::to_json(e)?)
        .fetch_one(&mut *$tx)
        .await
        .map_err($crate::sql::map_err)?;
        for o in &e.objects {
            sqlx::query(&$q(
                "INSERT INTO change_journal_objects (entry_id, object_id) VALUES (?,?) ON CONFLICT DO NOTHING",
            ))
            .bind(entry_id)
            .bind(o.id.to_hex())
            .execute(&mut *$tx)
            .await
            .map_err($crate::sql::map_err)?;
        }
    }};
}

/// Implements `JournalStore` for `$store` (which has `fn pool(&self)`); `$q` turns a
/// `?`-placeholder query into the backend's; `$lock` is the statement that orders the model's
/// writers, taken by a purge too so that it and the writes it races are ordered alike.
#[macro_export]
macro_rules! impl_journal_store {
    ($store:ty, $q:path, $lock:expr) => {
        #[async_trait::async_trait]
        impl vestibule_core::journal_store::JournalStore for $store {
            async fn journal(
                &self,
                query: &vestibule_core::journal_store::JournalQuery,
            ) -> vestibule_core::store::StoreResult<Vec<vestibule_core::model::journal::JournalEntry>> {
                let (filter, args) = $crate::sql::journal::search_where(query);
                let sql = $q(&format!(
                    "SELECT id, body FROM change_journal WHERE {filter} ORDER BY id DESC"
                ))
                .to_string();
                let rows: Vec<(i64, String)> =
                    $crate::bind_args!(sqlx::query_as(&sql), args)
                        .fetch_all(self.pool())
                        .await
                        .map_err($crate::sql::map_err)?;
                rows.iter()
                    .map(|(id, body)| $crate::sql::journal::entry(*id, body))
                    .collect()
            }

            async fn journal_last_id(&self) -> vestibule_core::store::StoreResult<i64> {
                let (last,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM change_journal")
                    .fetch_one(self.pool())
                    .await
                    .map_err($crate::sql::map_err)?;
                Ok(last)
            }

            async fn purge_journal(
                &self,
                projects: Option<&[vestibule_core::ids::Guid]>,
                before_ms: Option<i64>,
                left: &[vestibule_core::model::journal::JournalEntry],
            ) -> vestibule_core::store::StoreResult<u64> {
                let mut tx = self.pool().begin().await.map_err($crate::sql::map_err)?;
                if let Some(lock) = $lock {
                    sqlx::query(lock).execute(&mut *tx).await.map_err($crate::sql::map_err)?;
                }
                let (filter, args) = $crate::sql::journal::purge_where(projects, before_ms);
                let objects = $q(&format!(
                    "DELETE FROM change_journal_objects WHERE entry_id IN (SELECT id FROM change_journal WHERE {filter})"
                ))
                .to_string();
                $crate::bind_args!(sqlx::query(&objects), args)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?;
                let (filter, args) = $crate::sql::journal::purge_where(projects, before_ms);
                let entries = $q(&format!("DELETE FROM change_journal WHERE {filter}")).to_string();
                let gone = $crate::bind_args!(sqlx::query(&entries), args)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::map_err)?
                    .rows_affected();
                for e in left {
                    $crate::insert_journal!(tx, $q, e);
                }
                tx.commit().await.map_err($crate::sql::map_err)?;
                Ok(gone)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_and_purges_narrow_by_what_is_given() {
        let (w, args) = search_where(&JournalQuery::default());
        assert_eq!((w.as_str(), args.len()), ("1 = 1", 0));
        let q = JournalQuery {
            projects: vec![Guid([1; 16]), Guid([2; 16])],
            objects: vec![Guid([3; 16])],
            first_id: Some(4),
            to_ms: Some(9),
            ..JournalQuery::default()
        };
        let (w, args) = search_where(&q);
        assert_eq!(
            w,
            "project_id IN (?, ?) AND id >= ? AND at_ms <= ? AND id IN \
             (SELECT entry_id FROM change_journal_objects WHERE object_id IN (?))"
        );
        assert_eq!(args.len(), 5);
        assert!(matches!(args[2], Arg::Int(4)));
        assert_eq!(purge_where(Some(&[]), None).0, "1 = 0");
        assert_eq!(purge_where(None, Some(5)).0, "at_ms < ?");
        assert_eq!(purge_where(None, None).0, "1 = 1");
    }
}
