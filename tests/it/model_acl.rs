//! Object ACLs over HTTP: the `acl` of `GET /api/objects/{id}`, its changes through
//! `PUT /api/objects/{id}` (ADD, REMOVE, REPLACE), and what they allow two non-admin users in a
//! group: reading, listing, changing in a changeset and at commit, using a table, deleting and
//! changing the ACL itself; the administrator passes every check. On SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::model::{start, Backend, Model};
use crate::common::{json, mstr_login, MstrSession};

const PASSWORD: &str = "acl-test-password";

/// The id in a CLI line "added … 'name' (ID)".
fn id_in(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .split(['(', ')'])
        .nth(1)
        .expect("an id in the CLI's output")
        .to_string()
}

async fn info(m: &Model, s: &MstrSession, id: &str, kind: u32) -> (u16, Value) {
    json(
        s.get(&m.url(&format!("/api/objects/{id}?type={kind}")))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn put(m: &Model, s: &MstrSession, id: &str, kind: u32, body: Value) -> (u16, Value) {
    json(
        s.put(&m.url(&format!("/api/objects/{id}?type={kind}")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The body mstrio-py's `acl_add` / `acl_remove` / `acl_alter` send for one trustee.
fn acl(op: &str, trustee: &str, rights: u32, denied: bool) -> Value {
    json!({"acl": [{"op": op, "trustee": trustee, "rights": rights, "type": 1,
                    "denied": denied, "inheritable": null}]})
}

fn entry<'a>(info: &'a Value, trustee: &str, deny: bool) -> Option<&'a Value> {
    info["acl"]
        .as_array()
        .expect("an acl list")
        .iter()
        .find(|e| e["trusteeId"] == trustee && e["deny"] == deny)
}

fn listed(list: &Value, key: &str, id: &str) -> bool {
    list[key]
        .as_array()
        .expect("a list")
        .iter()
        .any(|o| o["information"]["objectId"] == id)
}

async fn attributes(m: &Model, s: &MstrSession) -> Value {
    let (status, list) = json(
        s.get(&m.url("/api/model/attributes"))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{list}");
    list
}

fn denied(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 403, "{what}: {body}");
    assert_eq!(body["code"], "ERR017", "{what}: {body}");
}

async fn object_acls(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let alice = id_in(&m.server.cli(
        &["user", "add", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
    let bob = id_in(&m.server.cli(
        &["user", "add", "bob", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
    let modelers = id_in(&m.server.cli(&["group", "add", "Modelers"], ""));
    let out = m
        .server
        .cli(&["group", "add-member", "Modelers", "alice", "bob"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = m.server.cli(&["group", "grant", "Modelers", "SCHEMA_EDIT"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (table, attr) = m.subcategory().await;
    let a = mstr_login(&m.server, "alice", PASSWORD).await;
    let b = mstr_login(&m.server, "bob", PASSWORD).await;

    // The default rule, written out: the owner (the administrator) Full Control, Everyone all
    // but Control.
    let (status, before) = info(&m, &m.admin, &attr, 12).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["acg"], 255);
    let admin_id = before["owner"]["id"].as_str().unwrap().to_string();
    let owner = entry(&before, &admin_id, false).expect("the owner's entry");
    assert_eq!(
        (
            owner["rights"].clone(),
            owner["trusteeType"].clone(),
            owner["trusteeSubtype"].clone(),
            owner["type"].clone()
        ),
        (json!(255), json!(34), json!(8704), json!(1))
    );
    let everyone = before["acl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["trusteeName"] == "Everyone")
        .expect("Everyone's entry");
    assert_eq!(
        (everyone["rights"].clone(), everyone["trusteeSubtype"].clone()),
        (json!(223), json!(8705))
    );
    let everyone = everyone["trusteeId"].as_str().unwrap().to_string();
    let (_, as_alice) = info(&m, &a, &attr, 12).await;
    assert_eq!(as_alice["acg"], 223, "{as_alice}");

    // Without Control a user cannot change the ACL.
    let (status, body) = put(&m, &a, &attr, 12, acl("ADD", &alice, 255, false)).await;
    denied(status, &body, "alice adds herself Full Control");

    // The administrator: Everyone out, the group View (199), alice Write and Delete on top.
    let (status, body) = put(&m, &m.admin, &attr, 12, acl("REPLACE", &everyone, 0, false)).await;
    assert_eq!(status, 200, "{body}");
    assert!(entry(&body, &everyone, false).is_none(), "{body}");
    let (status, body) = put(&m, &m.admin, &attr, 12, acl("ADD", &modelers, 199, false)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = put(&m, &m.admin, &attr, 12, acl("ADD", &alice, 8 | 16, false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(entry(&body, &modelers, false).unwrap()["trusteeName"], "Modelers");
    assert_eq!(entry(&body, &alice, false).unwrap()["rights"], 24);
    let (_, as_bob) = info(&m, &b, &attr, 12).await;
    assert_eq!(as_bob["acg"], 199, "{as_bob}");

    // alice may rename it (Write), bob may read it but not change or delete it.
    let (status, body) = put(&m, &a, &attr, 12, json!({"name": "Subcategory (alice)"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = put(&m, &b, &attr, 12, json!({"name": "Subcategory (bob)"})).await;
    denied(status, &body, "bob renames");
    assert!(body["message"].as_str().unwrap().contains("Write"), "{body}");
    let (status, _) = m.get_attribute(&b, &attr, None, "").await;
    assert_eq!(status, 200);
    let cs = m.changeset(&b).await;
    let (status, body) = m
        .patch_attribute(&b, &attr, &cs, &json!({"information": {"name": "by bob"}}))
        .await;
    denied(status, &body, "bob changes it in a changeset");
    let status = b
        .delete(&m.url(&format!("/api/objects/{attr}?type=12")))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 403, "bob deletes it");

    // A denial through the user wins over the group's grant: bob no longer sees it.
    let (status, body) = put(&m, &m.admin, &attr, 12, acl("ADD", &bob, 255, true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(entry(&body, &bob, true).unwrap()["rights"], 255);
    let (status, body) = info(&m, &b, &attr, 12).await;
    denied(status, &body, "bob reads the info");
    assert!(
        !body["message"].as_str().unwrap().contains("Subcategory"),
        "no name without Browse: {body}"
    );
    let (status, body) = m.get_attribute(&b, &attr, None, "").await;
    denied(status, &body, "bob reads the definition");
    assert!(!listed(&attributes(&m, &b).await, "attributes", &attr));
    assert!(listed(&attributes(&m, &a).await, "attributes", &attr));
    // REMOVE takes the denial away again.
    let (status, _) = put(&m, &m.admin, &attr, 12, acl("REMOVE", &bob, 255, true)).await;
    assert_eq!(status, 200);
    assert_eq!(info(&m, &b, &attr, 12).await.0, 200);

    // A change staged with Write is checked again at commit: revoked since, it is refused.
    let cs = m.changeset(&a).await;
    let (status, body) = m
        .patch_attribute(
            &a,
            &attr,
            &cs,
            &json!({"information": {"description": "by alice"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = put(&m, &m.admin, &attr, 12, acl("REMOVE", &alice, 8, false)).await;
    assert_eq!(status, 200);
    let (status, body) = m.commit(&a, &cs).await;
    denied(status, &body, "alice commits after losing Write");

    // Use: the table without Use for the group cannot be used in a new attribute.
    let (status, body) = put(&m, &m.admin, &table, 15, acl("REPLACE", &everyone, 0, false)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = put(&m, &m.admin, &table, 15, acl("ADD", &modelers, 1 | 4, false)).await;
    assert_eq!(status, 200);
    let cs = m.changeset(&a).await;
    let body = m.attribute_body("Category", &table, "LU_SUBCATEG", "CATEGORY_ID", "CATEGORY_ID");
    let (status, created) = m.post_attribute(&a, &cs, &body).await;
    denied(status, &created, "alice uses a table without Use");
    assert!(created["message"].as_str().unwrap().contains("Use"), "{created}");
    let (status, _) = put(&m, &m.admin, &table, 15, acl("ADD", &modelers, 64, false)).await;
    assert_eq!(status, 200);
    let (status, created) = m.post_attribute(&a, &cs, &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(m.commit(&a, &cs).await.0, 201);
    // A new object's ACL: the default rule, its owner alice.
    let new = created["information"]["objectId"].as_str().unwrap();
    let (_, made) = info(&m, &a, new, 12).await;
    assert_eq!(entry(&made, &alice, false).unwrap()["rights"], 255, "{made}");
    assert_eq!(made["acg"], 255);

    // The administrator passes every check, even with no entry of its own.
    let (status, body) = put(&m, &m.admin, &attr, 12, acl("REMOVE", &admin_id, 255, false)).await;
    assert_eq!(status, 200, "{body}");
    assert!(entry(&body, &admin_id, false).is_none());
    assert_eq!(body["acg"], 255);
    let (status, body) = put(&m, &m.admin, &attr, 12, json!({"name": "Subcategory"})).await;
    assert_eq!(status, 200, "{body}");

    // Bad operations get the dialect's 400.
    for bad in [
        acl("ADD", &alice, 256, false),
        acl("MERGE", &alice, 1, false),
        acl("ADD", "0123456789ABCDEF0123456789ABCDEF", 1, false),
        json!({"acl": [{"op": "ADD", "rights": 1}]}),
        json!({"acl": [], "propagateACLToChildren": true}),
    ] {
        let (status, body) = put(&m, &m.admin, &attr, 12, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "ERR006", "{bad}: {body}");
    }

    // Delete needs Write as well: alice, who lost Write, may delete it once she has it again.
    let delete = |s: &MstrSession| {
        s.delete(&m.url(&format!("/api/objects/{attr}?type=12")))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
    };
    let (status, body) = json(delete(&a).await.unwrap()).await;
    denied(status, &body, "alice deletes without Write");
    let (status, _) = put(&m, &m.admin, &attr, 12, acl("ADD", &alice, 8, false)).await;
    assert_eq!(status, 200);
    assert_eq!(delete(&a).await.unwrap().status().as_u16(), 204);
}
both_backends!(model_acl_object_access, object_acls);
