//! Each node keeps a copy of the committed model for reads (`vestibule_core::model::committed`);
//! these tests hold it to its guarantee: a change answered anywhere — a commit on another node,
//! the command line beside a running server — is what the very next GET answers, with no wait
//! and no expiry to sit out.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::model::{self, add_table, Backend, Model};
use crate::common::{json, mstr_login, MstrSession, TestServer, ADMIN_PASSWORD};

/// GET a committed attribute through `node`, with its potential tables.
async fn get_on(m: &Model, node: &TestServer, s: &MstrSession, id: &str) -> (u16, Value) {
    json(
        s.get(&node.url(&format!(
            "/MicroStrategyLibrary/api/model/attributes/{id}?showPotentialTables=true"
        )))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap(),
    )
    .await
}

fn potential_tables(attribute: &Value) -> Vec<String> {
    attribute["forms"][0]["expressions"][0]["potentialTables"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Renames `id` and changes its description in a changeset of `m`'s node, and commits.
async fn rename(m: &Model, id: &str, name: &str) {
    let cs = m.changeset(&m.admin).await;
    let (status, body) = m
        .patch_attribute(
            &m.admin,
            id,
            &cs,
            &json!({"information": {"name": name, "description": format!("now {name}")}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
}

/// The command line (`table add`, `project delete --force`) changes the committed model beside a
/// running server that has read it: the server's next GET answers the change.
async fn command_line_changes_are_answered_at_once(backend: Backend, test: &str) {
    let m = model::start(backend, test).await;
    let (_, id) = m.subcategory().await;
    for _ in 0..2 {
        let (status, got) = get_on(&m, &m.server, &m.admin, &id).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(potential_tables(&got), ["LU_SUBCATEG"]);
    }
    add_table(&m, "LU_SUBCAT_CLI", &["SUBCAT_ID:integer"]);
    let (status, got) = get_on(&m, &m.server, &m.admin, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(potential_tables(&got), ["LU_SUBCAT_CLI", "LU_SUBCATEG"]);

    let out = m.server.cli(&["project", "delete", &m.project, "--force"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, got) = get_on(&m, &m.server, &m.admin, &id).await;
    assert_eq!(status, 404, "{got}");
}

both_backends!(command_line_changes, command_line_changes_are_answered_at_once);

/// Two nodes on one PostgreSQL database, each with sessions of its own: node B reads an
/// attribute (and so holds it), node A commits a change to it, and B's very next GET answers
/// the new definition; the same for the command line.
#[tokio::test]
#[cfg_attr(not(test_postgres), ignore = "VESTIBULE_TEST_POSTGRES_URL is not set")]
async fn a_commit_on_one_node_is_answered_by_the_next_get_on_another() {
    let m = model::start(
        Backend::Postgres,
        "model_cache::a_commit_on_one_node_is_answered_by_the_next_get_on_another",
    )
    .await;
    let url = m.postgres_url().expect("a PostgreSQL database").to_string();
    let b = TestServer::start_with(&[("VESTIBULE_STORE_METADATA", url.as_str())]);
    let on_b = mstr_login(&b, "administrator", ADMIN_PASSWORD).await;
    let (_, id) = m.subcategory().await;
    for _ in 0..2 {
        let (status, got) = get_on(&m, &b, &on_b, &id).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["information"]["name"], "Subcategory");
    }

    for name in ["Subcategory (renamed on A)", "Subcategory (again)"] {
        rename(&m, &id, name).await;
        let (status, got) = get_on(&m, &b, &on_b, &id).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["information"]["name"], name);
        assert_eq!(got["information"]["description"], format!("now {name}"));
    }

    // A's command line, on the same database.
    add_table(&m, "LU_SUBCAT_CLI", &["SUBCAT_ID:integer"]);
    let (_, got) = get_on(&m, &b, &on_b, &id).await;
    assert_eq!(potential_tables(&got), ["LU_SUBCAT_CLI", "LU_SUBCATEG"]);
    let out = m.server.cli(&["project", "delete", &m.project, "--force"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, got) = get_on(&m, &b, &on_b, &id).await;
    assert_eq!(status, 404, "{got}");
}

/// What a node keeps is the definition, never the access decision: once the administrator's GET
/// has been answered (and its body kept), a user the ACL denies is still refused, at the same
/// generation, and the administrator still answered.
async fn access_is_judged_per_request(backend: Backend, test: &str) {
    let m = model::start(backend, test).await;
    let out = m.server.cli(
        &["user", "add", "bob", "--password-stdin"],
        "cache-test-password\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bob_id = String::from_utf8_lossy(&out.stdout)
        .split(['(', ')'])
        .nth(1)
        .expect("bob's id")
        .to_string();
    let (_, id) = m.subcategory().await;
    let (status, body) = json(
        m.admin
            .put(&m.url(&format!("/api/objects/{id}?type=12")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(
                &json!({"acl": [{"op": "ADD", "trustee": bob_id, "rights": 255, "type": 1,
                                   "denied": true, "inheritable": null}]}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let bob = mstr_login(&m.server, "bob", "cache-test-password").await;
    for _ in 0..2 {
        let (status, got) = get_on(&m, &m.server, &m.admin, &id).await;
        assert_eq!(status, 200, "{got}");
        let (status, got) = get_on(&m, &m.server, &bob, &id).await;
        assert_eq!(status, 403, "{got}");
        assert_eq!(got["code"], "ERR017", "{got}");
    }
}

both_backends!(access_per_request, access_is_judged_per_request);
