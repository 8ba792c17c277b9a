//! The kit of the modeling tests: a server on either backend (embedded SQLite, or a fresh
//! PostgreSQL database per test when VESTIBULE_TEST_POSTGRES_URL is set), the administrator's
//! session, the default project, and helpers for changesets, tables and attributes.
//!
//! [`both_backends!`] turns one test body into a `sqlite` and a `postgres` test.
#![allow(dead_code)]

use serde_json::{json, Value};

use crate::common::pg::FreshDb;
use crate::common::{backend_url, json, mstr_login, MstrSession, TestServer, ADMIN_PASSWORD};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$body(Backend)` as two tests, `$name::sqlite` and `$name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$body(
                    $crate::common::model::Backend::Sqlite,
                    concat!(module_path!(), "::sqlite"),
                )
                .await
            }
            #[tokio::test]
            #[cfg_attr(not(test_postgres), ignore = "VESTIBULE_TEST_POSTGRES_URL is not set")]
            async fn postgres() {
                super::$body(
                    $crate::common::model::Backend::Postgres,
                    concat!(module_path!(), "::postgres"),
                )
                .await
            }
        }
    };
}

pub struct Model {
    // The server goes before the database, which is dropped after it.
    pub server: TestServer,
    pub admin: MstrSession,
    pub project: String,
    pub attributes_folder: String,
    _db: Option<FreshDb>,
}

/// Starts a server on `backend` (the PostgreSQL variants are ignored where
/// `VESTIBULE_TEST_POSTGRES_URL` was not set at build time).
pub async fn start(backend: Backend, test: &str) -> Model {
    start_with(backend, test, &[]).await
}

pub async fn start_with(backend: Backend, test: &str, extra: &[(&str, &str)]) -> Model {
    let db = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let url = backend_url("VESTIBULE_TEST_POSTGRES_URL", test);
            Some(FreshDb::create(&url).await)
        }
    };
    let mut env: Vec<(&str, &str)> = extra.to_vec();
    if let Some(db) = &db {
        env.push(("VESTIBULE_STORE_METADATA", db.url.as_str()));
    }
    let server = TestServer::start_with(&env);
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let (status, projects) = json(
        admin
            .get(&server.url("/MicroStrategyLibrary/api/projects"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{projects}");
    let project = projects[0]["id"].as_str().expect("a project").to_string();
    let out = server.cli(&["project", "folders", &project], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let attributes_folder = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.ends_with("/Schema Objects/Attributes"))
        .and_then(|l| l.split_whitespace().next())
        .expect("an Attributes folder")
        .to_string();
    Model {
        server,
        admin,
        project,
        attributes_folder,
        _db: db,
    }
}

impl Model {
    /// Runs one SQL statement on the server's store (the embedded file, or its PostgreSQL
    /// database) behind its back, for the states no API request can make; the output's rows.
    pub fn sql(&self, statement: &str) -> String {
        let out = match &self._db {
            Some(db) => std::process::Command::new("psql")
                .args([db.url.as_str(), "-qtAc", statement])
                .output(),
            None => std::process::Command::new("sqlite3")
                .arg("-cmd")
                .arg(".timeout 10000")
                .arg(self.server.data_dir().join("vestibule.db"))
                .arg(statement)
                .output(),
        }
        .expect("run psql or sqlite3");
        assert!(
            out.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The PostgreSQL database the server keeps its model in (`None` on the embedded store),
    /// for starting another node on it.
    pub fn postgres_url(&self) -> Option<&str> {
        self._db.as_ref().map(|db| db.url.as_str())
    }

    /// A URL under the context path, where mstr_login's session cookie is sent.
    pub fn url(&self, path: &str) -> String {
        self.server.url(&format!("/MicroStrategyLibrary{path}"))
    }

    /// A new changeset of `s`'s session.
    pub async fn changeset(&self, s: &MstrSession) -> String {
        let (status, body) = json(
            s.post(&self.url("/api/model/changesets?schemaEdit=true"))
                .header("X-MSTR-ProjectID", &self.project)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// Commits as mstrio does: no changeset header, `?changesetId=`, body `{}`.
    pub async fn commit(&self, s: &MstrSession, cs: &str) -> (u16, Value) {
        json(
            s.post(&self.url(&format!("/api/model/changesets/{cs}/commit?changesetId={cs}")))
                .json(&json!({}))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Deletes as mstrio does: the misspelt header, the id in the path.
    pub async fn delete_changeset(&self, s: &MstrSession, cs: &str) -> u16 {
        s.delete(&self.url(&format!("/api/model/changesets/{cs}?changesetId={cs}")))
            .header("X-MSTR-MSChanget", cs)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Creates a table inside changeset `cs`; returns its id.
    pub async fn table_in(&self, s: &MstrSession, cs: &str, name: &str, columns: &[(&str, &str)]) -> String {
        let cols: Vec<Value> = columns
            .iter()
            .map(|(n, t)| json!({"columnName": n, "dataType": {"type": t}}))
            .collect();
        let (status, body) = json(
            s.post(&self.url("/api/model/tables"))
                .header("X-MSTR-MS-Changeset", cs)
                .json(&json!({"information": {"name": name}, "physicalTable": {"tableName": name, "columns": cols}}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["information"]["objectId"].as_str().unwrap().to_string()
    }

    /// Creates and commits a table; returns its id.
    pub async fn table(&self, name: &str, columns: &[(&str, &str)]) -> String {
        let cs = self.changeset(&self.admin).await;
        let id = self.table_in(&self.admin, &cs, name, columns).await;
        assert_eq!(self.commit(&self.admin, &cs).await.0, 201);
        assert_eq!(self.delete_changeset(&self.admin, &cs).await, 204);
        id
    }

    /// The body mstrio sends to create an attribute with an ID form (tree) and a DESC form
    /// (tokens) on `table`.
    pub fn attribute_body(
        &self,
        name: &str,
        table: &str,
        table_name: &str,
        id_col: &str,
        desc_col: &str,
    ) -> Value {
        let t = json!({"name": table_name, "subType": "logical_table", "objectId": table});
        json!({
            "information": {"name": name, "subType": "attribute", "isEmbedded": false,
                            "destinationFolderId": self.attributes_folder},
            "forms": [
                {"name": "ID", "category": "ID", "displayFormat": "number",
                 "expressions": [{"expression": {"tree": {"columnName": id_col, "type": "column_reference"}},
                                  "tables": [t], "expressionId": null}],
                 "lookupTable": t, "isFormGroup": false, "isMultilingual": false},
                {"name": "DESC", "category": "DESC", "displayFormat": "text",
                 "expressions": [{"expression": {"tokens": [{"value": desc_col}]}, "tables": [t], "expressionId": null}],
                 "lookupTable": t, "isFormGroup": false, "isMultilingual": false}
            ],
            "attributeLookupTable": t,
            "keyForm": {"name": "ID"},
            "displays": {"reportDisplays": [{"name": "DESC"}], "browseDisplays": [{"name": "DESC"}]},
            "sorts": {"reportSorts": [{"form": {"name": "DESC"}, "ascending": true}]}
        })
    }

    /// POST an attribute body in `cs`.
    pub async fn post_attribute(&self, s: &MstrSession, cs: &str, body: &Value) -> (u16, Value) {
        json(
            s.post(&self.url("/api/model/attributes?showExpressionAs=tree"))
                .header("X-MSTR-ProjectID", &self.project)
                .header("X-MSTR-MS-Changeset", cs)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A table LU_SUBCATEG and a committed attribute "Subcategory" on it: (table id, attribute id).
    pub async fn subcategory(&self) -> (String, String) {
        let table = self
            .table(
                "LU_SUBCATEG",
                &[
                    ("SUBCAT_ID", "integer"),
                    ("SUBCAT_DESC", "n_var_char"),
                    ("CATEGORY_ID", "integer"),
                ],
            )
            .await;
        let cs = self.changeset(&self.admin).await;
        let body = self.attribute_body("Subcategory", &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
        let (status, created) = self.post_attribute(&self.admin, &cs, &body).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(self.commit(&self.admin, &cs).await.0, 201);
        assert_eq!(self.delete_changeset(&self.admin, &cs).await, 204);
        (
            table,
            created["information"]["objectId"].as_str().unwrap().to_string(),
        )
    }

    /// GET an attribute: committed (project header) or inside `cs`; `query` is appended.
    pub async fn get_attribute(
        &self,
        s: &MstrSession,
        id: &str,
        cs: Option<&str>,
        query: &str,
    ) -> (u16, Value) {
        let mut req = s
            .get(&self.url(&format!("/api/model/attributes/{id}{query}")))
            .header("X-MSTR-ProjectID", &self.project);
        if let Some(cs) = cs {
            req = req.header("X-MSTR-MS-Changeset", cs);
        }
        json(req.send().await.unwrap()).await
    }

    pub async fn patch_attribute(&self, s: &MstrSession, id: &str, cs: &str, body: &Value) -> (u16, Value) {
        json(
            s.patch(&self.url(&format!("/api/model/attributes/{id}?showExpressionAs=tree")))
                .header("X-MSTR-MS-Changeset", cs)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// Adds a logical table to the model's project through the CLI (`vestibule table add`), with
/// `columns` as `NAME:type`; returns its id.
pub fn add_table(m: &Model, name: &str, columns: &[&str]) -> String {
    let mut args = vec!["table", "add", m.project.as_str(), name];
    for c in columns {
        args.extend(["--column", *c]);
    }
    let out = m.server.cli(&args, "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .split(['(', ')'])
        .nth(1)
        .expect("the table id in the CLI's output")
        .to_string()
}
