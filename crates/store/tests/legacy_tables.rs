//! The upgrade of logical tables stored before physical tables were objects: a store holding
//! such documents (committed, and staged in changesets) is opened, and its logical tables are
//! over physical table objects made from them; opening it again changes nothing; the upgraded
//! tables commit and delete as new ones do. On SQLite always, on PostgreSQL when
//! `VESTIBULE_TEST_POSTGRES_URL` is set.

use std::time::Duration;

use serde_json::json;

use vestibule_core::ids::Guid;
use vestibule_core::model::folders::TABLES_FOLDER;
use vestibule_core::model::types::*;
use vestibule_core::model_store::{CommitRefusal, ModelStore};
use vestibule_store::sqlite::SqliteStore;

/// What is written in the older shape before the store is opened again.
struct Seed {
    project: Guid,
    /// A committed table over `physical`.
    table: Guid,
    physical: Guid,
    version: Guid,
    /// A table made in changeset `made_in`, over `staged_physical`.
    staged_table: Guid,
    staged_physical: Guid,
    made_in: Guid,
    /// A changeset holding a changed copy of `table`.
    changed_in: Guid,
}

impl Seed {
    fn new() -> Seed {
        Seed {
            project: Guid::random(),
            table: Guid::random(),
            physical: Guid::random(),
            version: Guid::random(),
            staged_table: Guid::random(),
            staged_physical: Guid::random(),
            made_in: Guid::random(),
            changed_in: Guid::random(),
        }
    }

    /// A logical table as vestibule stored it before: its physical table inside.
    fn legacy(&self, id: Guid, name: &str, physical: Guid, version: Guid) -> String {
        json!({
            "info": {"id": id, "project": self.project, "kind": "table", "name": name,
                     "description": "", "folder": TABLES_FOLDER, "hidden": false, "comments": [],
                     "owner": null, "created_ms": 1, "modified_ms": 2, "version": version, "acl": null},
            "body": {"kind": "table", "physical_name": name.to_uppercase(), "namespace": "dbo",
                     "columns": [{"id": Guid::random(), "name": "CUST_CITY_ID",
                                  "data_type": {"type": "integer", "precision": 4, "scale": -2147483648i64}}],
                     "physical_id": physical}
        })
        .to_string()
    }

    fn folder(&self) -> String {
        let f = ModelObject {
            info: ObjectInfo {
                id: TABLES_FOLDER,
                project: self.project,
                kind: ObjectKind::Folder,
                name: "Tables".into(),
                description: String::new(),
                folder: None,
                hidden: false,
                comments: Vec::new(),
                owner: None,
                created_ms: 1,
                modified_ms: 1,
                version: Guid::random(),
                acl: None,
            },
            body: Body::Folder,
        };
        serde_json::to_string(&f).unwrap()
    }
}

/// Writes the seed's rows through `$pool` (`$q` rewrites the placeholders for the backend).
macro_rules! seed {
    ($pool:expr, $q:path, $s:expr) => {{
        let s: &Seed = $s;
        let object = $q("INSERT INTO model_objects (id, project_id, kind, name_key, folder_id, version, body) VALUES (?,?,?,?,?,?,?)");
        for (id, kind, name, folder, version, body) in [
            (TABLES_FOLDER, "folder", "tables", String::new(), Guid::random(), s.folder()),
            (
                s.table,
                "table",
                "city sales",
                TABLES_FOLDER.to_hex(),
                s.version,
                s.legacy(s.table, "City Sales", s.physical, s.version),
            ),
        ] {
            sqlx::query(&object)
                .bind(id.to_hex())
                .bind(s.project.to_hex())
                .bind(kind)
                .bind(name)
                .bind(folder)
                .bind(version.to_hex())
                .bind(body)
                .execute($pool)
                .await
                .unwrap();
        }
        let changeset = $q("INSERT INTO changesets (id, project_id, user_id, session_hash, schema_edit, status, created_ms, modified_ms) \
                            VALUES (?,?,?,?,?,?,?,?)");
        let change = $q("INSERT INTO changeset_changes (changeset_id, object_id, base_version, body) VALUES (?,?,?,?)");
        for (cs, id, base, body) in [
            (
                s.made_in,
                s.staged_table,
                None,
                s.legacy(s.staged_table, "Staged", s.staged_physical, Guid::random()),
            ),
            (
                s.changed_in,
                s.table,
                Some(s.version.to_hex()),
                s.legacy(s.table, "City Sales 2", s.physical, Guid::random()),
            ),
        ] {
            sqlx::query(&changeset)
                .bind(cs.to_hex())
                .bind(s.project.to_hex())
                .bind(Guid::random().to_hex())
                .bind("session")
                .bind(1i64)
                .bind("Ready")
                .bind(1i64)
                .bind(1i64)
                .execute($pool)
                .await
                .unwrap();
            sqlx::query(&change)
                .bind(cs.to_hex())
                .bind(id.to_hex())
                .bind(base)
                .bind(body)
                .execute($pool)
                .await
                .unwrap();
        }
    }};
}

/// The upgraded store as its users see it: after the first open (`fresh`) and after every one.
async fn check(store: &dyn ModelStore, s: &Seed) {
    let table = store
        .object(s.project, s.table)
        .await
        .unwrap()
        .expect("the table");
    assert_eq!(table.info.kind, ObjectKind::Table);
    assert_eq!(table.info.version, s.version, "the table's version stays");
    assert_eq!(table.table().map(|t| t.physical_id), Some(s.physical));
    let physical = store
        .object(s.project, s.physical)
        .await
        .unwrap()
        .expect("its physical table");
    assert_eq!(physical.info.kind, ObjectKind::PhysicalTable);
    assert_eq!(physical.info.name, "CITY SALES");
    assert_eq!(physical.info.folder, None);
    let p = physical.physical_table().expect("a physical table body");
    assert_eq!(
        (p.table_name.as_str(), p.namespace.as_str()),
        ("CITY SALES", "dbo")
    );
    assert!(p.column("cust_city_id").is_some());
    assert_eq!(store.holders(s.physical).await.unwrap(), vec![s.project]);

    let made = store.staged(s.made_in).await.unwrap();
    let ids: Vec<Guid> = made.iter().map(|c| c.id).collect();
    assert!(
        ids.contains(&s.staged_table) && ids.contains(&s.staged_physical),
        "{ids:?}"
    );
    assert_eq!(made.len(), 2);
    let staged_physical = made.iter().find(|c| c.id == s.staged_physical).unwrap();
    assert_eq!(staged_physical.base_version, None);
    assert_eq!(
        staged_physical.object.as_ref().map(|o| o.info.kind),
        Some(ObjectKind::PhysicalTable)
    );
    let changed = store.staged(s.changed_in).await.unwrap();
    assert_eq!(
        changed.len(),
        1,
        "a changed table's physical table is the committed one"
    );
    assert_eq!(
        changed[0]
            .object
            .as_ref()
            .and_then(|o| o.table())
            .map(|t| t.physical_id),
        Some(s.physical)
    );
}

/// Checks the upgraded store, opens it again (`reopen`) and checks that nothing changed, then
/// commits and deletes the upgraded tables.
async fn upgraded<F, Fut>(first: Box<dyn ModelStore>, s: &Seed, reopen: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Box<dyn ModelStore>>,
{
    check(first.as_ref(), s).await;
    let before = first.objects(s.project, None).await.unwrap();
    drop(first);
    let store = reopen().await;
    check(store.as_ref(), s).await;
    assert_eq!(
        store.objects(s.project, None).await.unwrap(),
        before,
        "opened again: no change"
    );

    assert_eq!(store.commit(s.made_in, 3, &author()).await.unwrap(), Ok(()));
    let staged = store
        .object(s.project, s.staged_table)
        .await
        .unwrap()
        .expect("committed");
    assert_eq!(staged.table().map(|t| t.physical_id), Some(s.staged_physical));
    assert_eq!(
        store
            .delete_unused(s.project, s.staged_physical, "", &author())
            .await
            .unwrap(),
        Err(CommitRefusal::InUse {
            user_name: "Staged".into(),
            user_kind: ObjectKind::Table
        })
    );
    // A deleted table takes its physical table with it, being its last.
    assert_eq!(
        store
            .delete_unused(s.project, s.table, "", &author())
            .await
            .unwrap(),
        Ok(true)
    );
    assert!(store.object(s.project, s.physical).await.unwrap().is_none());
    assert!(store
        .object(s.project, s.staged_physical)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn sqlite_upgrades_legacy_tables_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Seed::new();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    seed!(store.pool(), vestibule_store::sql::same, &s);
    drop(store);
    let path = dir.path().to_path_buf();
    let first = SqliteStore::open(&path).await.unwrap();
    upgraded(Box::new(first), &s, || async move {
        Box::new(SqliteStore::open(&path).await.unwrap()) as Box<dyn ModelStore>
    })
    .await;
}

#[tokio::test]
#[cfg_attr(not(test_postgres), ignore = "VESTIBULE_TEST_POSTGRES_URL is not set")]
async fn postgres_upgrades_legacy_tables_once() {
    use vestibule_store::postgres::PostgresStore;
    let admin_url = std::env::var("VESTIBULE_TEST_POSTGRES_URL").expect("VESTIBULE_TEST_POSTGRES_URL");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let name = format!(
        "vst_legacy_{}_{}",
        std::process::id(),
        Guid::random().to_hex().to_lowercase()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin_url);
    let url = format!("{base}/{name}");
    let timeout = Duration::from_secs(10);
    let s = Seed::new();
    let store = PostgresStore::connect(&url, timeout).await.unwrap();
    seed!(store.pool(), vestibule_store::sql::numbered, &s);
    store.pool().close().await;
    let first = PostgresStore::connect(&url, timeout).await.unwrap();
    let u = url.clone();
    upgraded(Box::new(first), &s, || async move {
        Box::new(PostgresStore::connect(&u, timeout).await.unwrap()) as Box<dyn ModelStore>
    })
    .await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

/// The writer of this test's store calls: no session holds a schema lock here, so any will do.
fn author() -> vestibule_core::model::journal::Author {
    vestibule_core::model::journal::Author {
        user: vestibule_core::ids::Guid::random(),
        user_name: "tester".into(),
        session: String::new(),
        machine: "test".into(),
        source: "test".into(),
        comment: None,
        at_ms: 3,
    }
}
