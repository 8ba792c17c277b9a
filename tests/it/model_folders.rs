//! Folders, search and copies over HTTP: the system folders' well-known ids in every project (and
//! the project header they need), folder contents with totals, making, moving and deleting
//! folders, the metadata search's parameters and its refusals, `PUT /api/objects` refusing what
//! it does not change, and copies. Each test runs on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::json;
use crate::common::model::{start, Backend, Model};

const ROOT: &str = "D43364C684E34A5F9B2F9AD7108F7828";
const PUBLIC_OBJECTS: &str = "98FE182C2A10427EACE0CD30B6768258";

async fn get(m: &Model, path: &str, project: Option<&str>) -> (u16, Value, Option<String>) {
    let mut req = m.admin.get(&m.url(path));
    if let Some(p) = project {
        req = req.header("X-MSTR-ProjectID", p);
    }
    let resp = req.send().await.expect("request");
    let total = resp
        .headers()
        .get("x-mstr-total-count")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let (status, body) = json(resp).await;
    (status, body, total)
}

async fn send(m: &Model, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
    json(
        m.admin
            .request(method, m.url(path))
            .header("X-MSTR-ProjectID", &m.project)
            .json(body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn system_folders(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    assert_eq!(m.attributes_folder.len(), 32);
    let out = m.server.cli(&["project", "add", "Sales"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, projects, _) = get(&m, "/api/projects", None).await;
    let sales = projects
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "Sales"))
        .and_then(|p| p["id"].as_str())
        .expect("the Sales project")
        .to_owned();
    // The same well-known ids in both projects, each named in its own.
    for (project, name) in [(m.project.as_str(), "Default Project"), (sales.as_str(), "Sales")] {
        let (status, root, _) = get(&m, &format!("/api/objects/{ROOT}?type=8"), Some(project)).await;
        assert_eq!(status, 200, "{root}");
        assert_eq!(root["name"], name);
        let (status, top, total) = get(&m, "/api/folders", Some(project)).await;
        assert_eq!(status, 200, "{top}");
        assert_eq!(names(&top), ["Public Objects", "Schema Objects"]);
        assert_eq!(total.as_deref(), Some("2"));
        let (_, attrs, _) = get(&m, "/api/folders/preDefined/26/id", Some(project)).await;
        assert_eq!(attrs["id"], m.attributes_folder.as_str());
    }
    let (_, public, _) = get(
        &m,
        &format!("/api/objects/{PUBLIC_OBJECTS}?type=8"),
        Some(&m.project),
    )
    .await;
    assert_eq!(public["ancestors"][0]["id"], ROOT);
    // Without the header a system folder is ambiguous; a project's own object is not.
    let (status, body, _) = get(&m, &format!("/api/objects/{ROOT}?type=8"), None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("ERR007")), "{body}");
    let (status, body, _) = get(&m, "/api/folders", None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("ERR007")), "{body}");
    let (status, body, _) = get(&m, "/api/folders/preDefined/9999", Some(&m.project)).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ERR004")), "{body}");

    // Making, paging, moving and deleting folders.
    let (status, a) = send(
        &m,
        reqwest::Method::POST,
        "/api/folders",
        &json!({"name": "A", "parent": PUBLIC_OBJECTS}),
    )
    .await;
    assert_eq!(status, 201, "{a}");
    let a = a["id"].as_str().expect("an id").to_owned();
    let (status, b) = send(
        &m,
        reqwest::Method::POST,
        "/api/folders",
        &json!({"name": "B", "description": "b", "parent": a}),
    )
    .await;
    assert_eq!(status, 201, "{b}");
    let b = b["id"].as_str().expect("an id").to_owned();
    let (status, dup) = send(
        &m,
        reqwest::Method::POST,
        "/api/folders",
        &json!({"name": "a", "parent": PUBLIC_OBJECTS}),
    )
    .await;
    assert_eq!((status, dup["code"].as_str()), (409, Some("ERR015")), "{dup}");
    let (status, bad) = send(&m, reqwest::Method::POST, "/api/folders", &json!({"name": "C"})).await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("ERR007")), "{bad}");
    let (status, bad) = send(
        &m,
        reqwest::Method::POST,
        "/api/folders",
        &json!({"name": "", "parent": a}),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    let (_, page, total) = get(
        &m,
        &format!("/api/folders/{PUBLIC_OBJECTS}?offset=1&limit=1"),
        Some(&m.project),
    )
    .await;
    assert_eq!(total.as_deref(), Some("3"));
    assert_eq!(names(&page), ["Metrics"]);
    let (status, moved) = send(
        &m,
        reqwest::Method::PUT,
        &format!("/api/objects/{a}?type=8"),
        &json!({"folderId": b}),
    )
    .await;
    assert_eq!(
        (status, moved["code"].as_str()),
        (400, Some("ERR006")),
        "a folder into its own child: {moved}"
    );
    let (status, moved) = send(
        &m,
        reqwest::Method::PUT,
        &format!("/api/objects/{ROOT}?type=8"),
        &json!({"name": "X"}),
    )
    .await;
    assert_eq!(status, 400, "renaming the root: {moved}");
    let (status, gone) = send(
        &m,
        reqwest::Method::DELETE,
        &format!("/api/folders/{a}"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 400, "a folder that holds one: {gone}");
    let (status, _) = send(
        &m,
        reqwest::Method::DELETE,
        &format!("/api/folders/{b}"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = send(
        &m,
        reqwest::Method::DELETE,
        &format!("/api/folders/{a}"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, gone) = send(
        &m,
        reqwest::Method::DELETE,
        &format!("/api/folders/{PUBLIC_OBJECTS}"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 400, "a system folder: {gone}");
}
both_backends!(model_folders_well_known_ids_and_folder_api, system_folders);

async fn search_and_copy(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, attr) = m.subcategory().await;
    let store = |query: &str, body: Value| {
        let url = m.url(&format!("/api/v2/metadataSearches/results?{query}"));
        let req = m
            .admin
            .post(&url)
            .header("X-MSTR-ProjectID", &m.project)
            .json(&body);
        async move { json(req.send().await.expect("search")).await }
    };
    let results = |id: String, extra: &'static str| {
        let url = m.url(&format!("/api/metadataSearches/results?searchId={id}{extra}"));
        let req = m.admin.get(&url).header("X-MSTR-ProjectID", &m.project);
        async move {
            let resp = req.send().await.expect("results");
            let total = resp
                .headers()
                .get("x-mstr-total-count")
                .map(|v| v.to_str().unwrap_or_default().to_owned());
            let (s, b) = json(resp).await;
            (s, b, total)
        }
    };
    let (status, stored) = store(
        "name=subcat&pattern=4&type=12&domain=2",
        json!({"matchExactName": false}),
    )
    .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["totalItems"], 1);
    let (status, found, total) = results(
        stored["id"].as_str().expect("id").to_owned(),
        "&offset=0&limit=10",
    )
    .await;
    assert_eq!((status, total.as_deref()), (200, Some("1")), "{found}");
    assert_eq!(found[0]["id"], attr.as_str());
    assert_eq!(found[0]["ancestors"][0]["id"], ROOT);
    // Exactly, a type it does not hold, dependents of the table, dependencies of the attribute.
    let count = |q: &'static str| {
        let store = &store;
        async move { store(q, json!({})).await.1["totalItems"].as_u64() }
    };
    assert_eq!(count("name=subcat&pattern=2").await, Some(0));
    assert_eq!(count("name=SUBCATEGORY&pattern=2").await, Some(1));
    assert_eq!(count("type=3").await, Some(0));
    let (_, deps) = store(&format!("usesObject={table};15&scope=standalone"), json!({})).await;
    assert_eq!(deps["totalItems"], 1, "{deps}");
    let (_, deps) = store("", json!({"usedByObject": [format!("{attr};12")]})).await;
    assert_eq!(deps["totalItems"], 1, "{deps}");
    let (_, root) = store(&format!("root={}&type=12", m.attributes_folder), json!({})).await;
    assert_eq!(root["totalItems"], 1, "{root}");
    // Refusals, each a 400 in MicroStrategy's body that names what is wrong.
    for (query, body, word) in [
        ("pattern=9", json!({}), "pattern"),
        ("type=attribute", json!({}), "type"),
        ("root=nope", json!({}), "root"),
        ("domain=4", json!({}), "domain"),
        ("visibility=some", json!({}), "visibility"),
        (
            "beginModificationTime=yesterday",
            json!({}),
            "beginModificationTime",
        ),
        ("uses=12", json!({}), "uses"),
        ("", json!({"nonsense": 1}), "nonsense"),
        (
            &format!("usesObject={attr};12&usedByObject={attr};12"),
            json!({}),
            "usedByObject",
        ),
    ] {
        let (status, err) = store(query, body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("ERR006")),
            "{query}: {err}"
        );
        assert!(
            err["message"].as_str().unwrap_or_default().contains(word),
            "{query}: {err}"
        );
    }
    let (status, err, _) = results("bm90IGEgc2VhcmNo".into(), "").await;
    assert_eq!((status, err["code"].as_str()), (404, Some("ERR004")), "{err}");

    // PUT refuses a field it does not change, and honours the long description and the folder.
    let path = format!("/api/objects/{attr}?type=12");
    let (status, err) = send(&m, reqwest::Method::PUT, &path, &json!({"abbreviation": "SC"})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("abbreviation"),
        "{err}"
    );
    let (status, changed) = send(
        &m,
        reqwest::Method::PUT,
        &path,
        &json!({"longDescription": "long", "folderId": PUBLIC_OBJECTS}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["comments"], json!(["long"]));
    assert_eq!(changed["ancestors"][1]["id"], PUBLIC_OBJECTS);
    let (status, err) = send(&m, reqwest::Method::PUT, &path, &json!({"folderId": attr})).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("ERR004")), "{err}");

    // Copies.
    let copy_path = format!("/api/objects/{attr}/copy?type=12");
    let (status, copy) = send(
        &m,
        reqwest::Method::POST,
        &copy_path,
        &json!({"name": null, "folderId": null}),
    )
    .await;
    assert_eq!(status, 201, "{copy}");
    assert_eq!(copy["name"], "Subcategory (1)");
    assert_ne!(copy["id"], attr.as_str());
    let (status, named) = send(
        &m,
        reqwest::Method::POST,
        &copy_path,
        &json!({"name": "Subcategory (1)"}),
    )
    .await;
    assert_eq!((status, named["code"].as_str()), (409, Some("ERR015")), "{named}");
    let (status, t) = send(
        &m,
        reqwest::Method::POST,
        &format!("/api/objects/{table}/copy?type=15"),
        &json!({}),
    )
    .await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["name"], "LU_SUBCATEG (1)");
    let (status, f) = send(
        &m,
        reqwest::Method::POST,
        &format!("/api/objects/{}/copy?type=8", m.attributes_folder),
        &json!({}),
    )
    .await;
    assert_eq!(status, 400, "{f}");
    let copied = m
        .get_attribute(&m.admin, copy["id"].as_str().unwrap_or_default(), None, "")
        .await;
    assert_eq!(copied.0, 200, "{}", copied.1);
    assert_eq!(copied.1["forms"].as_array().map(Vec::len), Some(2));
}
both_backends!(model_folders_search_put_and_copy, search_and_copy);
