//! Tables and object info: `/api/model/tables` (paged, `fields`, the `X-MSTR-Changeset`
//! spelling), `vestibule table add`, and `/api/objects/{id}?type=N` for projects, folders,
//! attributes and tables (GET, PUT, DELETE). Each test runs on SQLite and PostgreSQL.

use serde_json::json;

use crate::both_backends;
use crate::common::json;
use crate::common::model::{start, Backend};

async fn tables(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let out = m.server.cli(
        &[
            "table",
            "add",
            "Default Project",
            "LU_CALL_CTR",
            "--column",
            "CALL_CTR_ID:integer",
            "--column",
            "CENTER_NAME:n_var_char",
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = m
        .server
        .cli(&["table", "add", "Default Project", "T", "--column", "X"], "");
    assert!(!bad.status.success());
    let bad = m.server.cli(
        &["table", "add", "Default Project", "T", "--column", "X:blob"],
        "",
    );
    assert!(!bad.status.success());
    let cs = m.changeset(&m.admin).await;
    let staged = m
        .table_in(&m.admin, &cs, "LU_REGION", &[("REGION_ID", "integer")])
        .await;
    // mstrio's spelling of the changeset header on tables.
    let (status, inside) = json(
        m.admin
            .get(&m.url("/api/model/tables?fields=information,physicalTable"))
            .header("X-MSTR-Changeset", &cs)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{inside}");
    assert_eq!(inside["total"], 2);
    assert_eq!(
        inside["tables"][1]["physicalTable"]["columns"][0]["columnName"],
        "REGION_ID"
    );
    let (_, outside) = json(
        m.admin
            .get(&m.url("/api/model/tables?limit=1&offset=0"))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(outside["total"], 1);
    assert_eq!(outside["limit"], 1);
    assert_eq!(outside["tables"][0]["information"]["subType"], "logical_table");
    assert_eq!(outside["tables"][0]["information"]["name"], "LU_CALL_CTR");
    assert!(outside["tables"][0].get("physicalTable").is_none());
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    let (status, t) = json(
        m.admin
            .get(&m.url(&format!("/api/model/tables/{staged}")))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["physicalTable"]["tableName"], "LU_REGION");
    assert_eq!(t["physicalTable"]["columns"][0]["dataType"]["type"], "integer");
    assert_eq!(t["attributes"], json!([]));
    // Errors: duplicate name, no columns, unknown table.
    let cs = m.changeset(&m.admin).await;
    let (status, err) = json(
        m.admin.post(&m.url("/api/model/tables")).header("X-MSTR-MS-Changeset", &cs)
            .json(&json!({"information": {"name": "lu_region"}, "physicalTable": {"columns": [{"columnName": "A", "dataType": {"type": "integer"}}]}}))
            .send().await.unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("ERR015")), "{err}");
    let (status, _) = json(
        m.admin
            .post(&m.url("/api/model/tables"))
            .header("X-MSTR-MS-Changeset", &cs)
            .json(&json!({"information": {"name": "Empty"}, "physicalTable": {"columns": []}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let resp = m
        .admin
        .get(&m.url("/api/model/tables/0123456789ABCDEF0123456789ABCDEF"))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = m.admin.get(&m.url("/api/model/tables")).send().await.unwrap();
    assert_eq!(resp.status(), 400, "no project and no changeset");
}
both_backends!(tables_are_listed_paged_and_made_by_api_and_cli, tables);

async fn objects(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, id) = m.subcategory().await;
    let get = |path: String| {
        let req = m.admin.get(&m.url(&path)).header("X-MSTR-ProjectID", &m.project);
        async move { json(req.send().await.unwrap()).await }
    };
    let (status, project) = get(format!("/api/objects/{}?type=32&comments=True", m.project)).await;
    assert_eq!(status, 200, "{project}");
    assert_eq!(project["type"], 32);
    assert_eq!(project["name"], "Default Project");
    let (status, folder) = get(format!(
        "/api/objects/{}?type=8&comments=True",
        m.attributes_folder
    ))
    .await;
    assert_eq!(status, 200, "{folder}");
    assert_eq!(folder["name"], "Attributes");
    assert_eq!(folder["type"], 8);
    let (status, attr) = get(format!("/api/objects/{id}?type=12&comments=true")).await;
    assert_eq!(status, 200, "{attr}");
    assert_eq!(attr["type"], 12);
    assert_eq!(attr["subtype"], 3072);
    assert_eq!(attr["hidden"], false);
    assert_eq!(attr["owner"]["name"], "Administrator");
    let names: Vec<&str> = attr["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Default Project", "Schema Objects", "Attributes"]);
    let (status, t) = get(format!("/api/objects/{table}?type=15")).await;
    assert_eq!((status, t["type"].as_i64()), (200, Some(15)));
    assert_eq!(
        get(format!("/api/objects/{id}?type=8")).await.0,
        404,
        "the type must match"
    );
    assert_eq!(get(format!("/api/objects/{id}")).await.0, 400, "type is required");
    let resp = m
        .admin
        .delete(&m.url(&format!("/api/objects/{}?type=8", m.attributes_folder)))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "the project's folders stay");

    // PUT: hidden, name, description, comments.
    let (status, put) = json(
        m.admin
            .put(&m.url(&format!("/api/objects/{id}?type=12")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({"hidden": true, "name": "Renamed", "description": "d", "comments": ["c1"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["hidden"], true);
    let (_, def) = m.get_attribute(&m.admin, &id, None, "").await;
    assert_eq!(def["information"]["name"], "Renamed");
    assert_eq!(def["information"]["description"], "d");
    let (_, attr) = get(format!("/api/objects/{id}?type=12&comments=True")).await;
    assert_eq!(attr["comments"], json!(["c1"]));
    // A table in use cannot be deleted; the attribute can, then the table.
    let resp = m
        .admin
        .delete(&m.url(&format!("/api/objects/{table}?type=15")))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = m
        .admin
        .delete(&m.url(&format!("/api/objects/{id}?type=12")))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(get(format!("/api/objects/{id}?type=12")).await.0, 404);
    assert_eq!(m.get_attribute(&m.admin, &id, None, "").await.0, 404);
    let resp = m
        .admin
        .delete(&m.url(&format!("/api/objects/{table}?type=15")))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}
both_backends!(objects_are_read_changed_and_deleted, objects);

async fn object_scope(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, id) = m.subcategory().await;
    // A ThoughtSpot object token (REPORT_BOOK_VIEW) limited to the attribute.
    let (status, t) = json(
        crate::common::client()
            .post(m.server.url("/api/rest/2.0/auth/token/object"))
            .json(&json!({"username": "administrator", "password": crate::common::ADMIN_PASSWORD, "object_id": id}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    let token = t["token"].as_str().unwrap().to_string();
    let get = |path: String| {
        let req = crate::common::client()
            .get(m.url(&path))
            .bearer_auth(&token)
            .header("X-MSTR-ProjectID", &m.project);
        async move { json(req.send().await.unwrap()).await }
    };
    let (status, own) = get(format!("/api/model/attributes/{id}")).await;
    assert_eq!(status, 200, "its own object: {own}");
    assert_eq!(get(format!("/api/objects/{id}?type=12")).await.0, 200);
    for path in [
        format!("/api/model/tables/{table}"),
        format!("/api/objects/{table}?type=15"),
        format!("/api/objects/{}?type=32", m.project),
        "/api/model/tables".to_string(),
        "/api/model/attributes".to_string(),
        format!("/api/model/systemHierarchy/attributes/{table}/relationships"),
    ] {
        let (status, err) = get(path.clone()).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (403, Some("ERR017")),
            "{path}: {err}"
        );
    }
}
both_backends!(an_object_scoped_session_reads_only_its_object, object_scope);
