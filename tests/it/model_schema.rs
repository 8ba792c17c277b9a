//! The schema lock, reloads and their tasks (`/api/model/schema/lock`, `/api/model/schema/reload`,
//! `/api/model/tasks/{id}`) against the real binary, on SQLite and PostgreSQL: each endpoint's
//! answers and its errors in MicroStrategy's body; a lock that keeps every other session's commits
//! and direct changes out until it is unlocked or its session ends (logout, expiry) while its own
//! session works on; an administrator's forced unlock, audited; one lock seen by two nodes on one
//! PostgreSQL; reloads synchronous and asynchronous, followed to the end; a reload of a model
//! broken behind the server's back, failed with its errors; a task whose server stopped.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::model::{start, start_with, Backend, Model};
use crate::common::mstr::assert_mstr_error;
use crate::common::{json, mstr_login, send, wait_for, MstrSession, ADMIN_PASSWORD};

const PASSWORD: &str = "schema-pass-1";

fn lock_url(m: &Model) -> String {
    m.url("/api/model/schema/lock")
}

async fn lock_status(m: &Model, s: &MstrSession) -> Value {
    let (status, body) = json(send(s.get(&lock_url(m)).header("X-MSTR-ProjectID", &m.project)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn lock(m: &Model, s: &MstrSession, kind: &str) -> reqwest::Response {
    send(
        s.post(&lock_url(m))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({ "lockType": kind })),
    )
    .await
}

/// Unlocks as mstrio does: no `lockType`.
async fn unlock(m: &Model, s: &MstrSession) -> reqwest::Response {
    send(s.delete(&lock_url(m)).header("X-MSTR-ProjectID", &m.project)).await
}

/// A user with the schema privileges (and the one to make folders), not the administration one.
fn modeler(m: &Model, name: &str) {
    m.server.add_user(name, PASSWORD);
    let out = m.server.cli(
        &["user", "grant", name, "SCHEMA_EDIT", "CREATE_APPLICATION_OBJECTS"],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A changeset of `s` with a new table staged in it: (changeset, table).
async fn staged_table(m: &Model, s: &MstrSession, name: &str) -> (String, String) {
    let cs = m.changeset(s).await;
    let table = m.table_in(s, &cs, name, &[("ID", "integer")]).await;
    (cs, table)
}

fn refused_as_locked(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 409, "{what}: {body}");
    assert_eq!(body["code"], "ERR001", "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|t| t.contains("is locked")),
        "{what}: {body}"
    );
    assert_eq!(
        body["ticketId"].as_str().map(str::len),
        Some(32),
        "{what}: {body}"
    );
}

async fn lock_endpoints(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let admin = &m.admin;
    modeler(&m, "bob");
    m.server.add_user("viewer", PASSWORD);

    // Unlocked: only `lockType`.
    assert_eq!(lock_status(&m, admin).await, json!({"lockType": "none"}));

    // The project header: required, an existing project, a valid id.
    assert_mstr_error(send(admin.get(&lock_url(&m))).await, 400, "ERR007").await;
    let unknown = "0123456789ABCDEF0123456789ABCDEF";
    assert_mstr_error(
        send(admin.get(&lock_url(&m)).header("X-MSTR-ProjectID", unknown)).await,
        404,
        "ERR004",
    )
    .await;
    assert_mstr_error(
        send(admin.get(&lock_url(&m)).header("X-MSTR-ProjectID", "nope")).await,
        400,
        "ERR006",
    )
    .await;
    assert_mstr_error(
        send(
            admin
                .post(&lock_url(&m))
                .header("X-MSTR-ProjectID", unknown)
                .json(&json!({"lockType": "absolute_individual"})),
        )
        .await,
        404,
        "ERR004",
    )
    .await;
    assert_mstr_error(
        send(
            admin
                .post(&lock_url(&m))
                .json(&json!({"lockType": "absolute_individual"})),
        )
        .await,
        400,
        "ERR007",
    )
    .await;

    // Bodies: lockType required, one of the three, nothing else.
    let post = |body: Value| {
        send(
            admin
                .post(&lock_url(&m))
                .header("X-MSTR-ProjectID", &m.project)
                .json(&body),
        )
    };
    assert_mstr_error(post(json!({})).await, 400, "ERR007").await;
    let e = assert_mstr_error(post(json!({"lockType": "none"})).await, 400, "ERR006").await;
    assert!(e["message"].as_str().unwrap().contains("lockType"), "{e}");
    assert_mstr_error(post(json!({"lockType": 3})).await, 400, "ERR006").await;
    assert_mstr_error(
        post(json!({"lockType": "absolute_individual", "owner": "x"})).await,
        400,
        "ERR006",
    )
    .await;
    assert_mstr_error(post(json!(["absolute_individual"])).await, 400, "ERR006").await;
    let malformed = send(
        admin
            .post(&lock_url(&m))
            .header("X-MSTR-ProjectID", &m.project)
            .header("Content-Type", "application/json")
            .body("{\"lockType\":"),
    )
    .await;
    assert_mstr_error(malformed, 400, "ERR006").await;
    assert_eq!(
        lock_status(&m, admin).await["lockType"],
        "none",
        "nothing was locked"
    );

    // Privileges: a user without the schema privilege may not read, lock or unlock.
    let viewer = mstr_login(&m.server, "viewer", PASSWORD).await;
    assert_mstr_error(
        send(viewer.get(&lock_url(&m)).header("X-MSTR-ProjectID", &m.project)).await,
        403,
        "ERR014",
    )
    .await;
    assert_mstr_error(lock(&m, &viewer, "absolute_individual").await, 403, "ERR014").await;
    assert_mstr_error(unlock(&m, &viewer).await, 403, "ERR014").await;

    // Locked: 201 and no body; the status names the holder.
    let bob = mstr_login(&m.server, "bob", PASSWORD).await;
    let resp = send(
        bob.post(&lock_url(&m))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({"lockType": "absolute_individual", "comment": "migrating"})),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.text().await.unwrap(), "");
    let status = lock_status(&m, admin).await;
    assert_eq!(status["lockType"], "absolute_individual", "{status}");
    assert_eq!(status["ownerName"], "bob", "{status}");
    assert_eq!(status["comment"], "migrating", "{status}");
    assert_eq!(status["machineName"], "127.0.0.1", "{status}");
    let owner = status["ownerId"].as_str().unwrap();
    assert!(
        owner.len() == 32 && owner.chars().all(|c| c.is_ascii_hexdigit()),
        "{status}"
    );
    // mstrio's DatetimeFormats.YMDHMS: %Y-%m-%dT%H:%M:%S%z.
    let created = status["dateCreated"].as_str().unwrap().to_string();
    let b = created.as_bytes();
    assert!(
        created.len() == 24
            && created.ends_with("+0000")
            && b[4] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':',
        "{created}"
    );

    // The holder locking again: success, the type it asks for now, the same time.
    assert_eq!(lock(&m, &bob, "exclusive_constituent").await.status(), 201);
    let again = lock_status(&m, &bob).await;
    assert_eq!(again["lockType"], "exclusive_constituent", "{again}");
    assert_eq!(again["dateCreated"], created.as_str(), "{again}");

    // Another session, even an administrator's: refused, and the lock is unchanged.
    let e = assert_mstr_error(lock(&m, admin, "absolute_individual").await, 409, "ERR001").await;
    assert!(e["message"].as_str().unwrap().contains("bob"), "{e}");
    let bob2 = mstr_login(&m.server, "bob", PASSWORD).await;
    assert_mstr_error(lock(&m, &bob2, "absolute_individual").await, 409, "ERR001").await;
    assert_eq!(lock_status(&m, admin).await, again);

    // Methods the path does not have.
    let put = send(
        admin
            .put(&lock_url(&m))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({"lockType": "absolute_individual"})),
    )
    .await;
    assert_mstr_error(put, 405, "ERR001").await;
    assert_mstr_error(
        send(admin.patch(&m.url("/api/model/schema/reload"))).await,
        405,
        "ERR001",
    )
    .await;
    assert_mstr_error(
        send(admin.delete(&m.url("/api/model/tasks/0123456789ABCDEF0123456789ABCDEF"))).await,
        405,
        "ERR001",
    )
    .await;

    // Unlocking: a bad lockType, another type than the lock's, another session without the
    // administration privilege: each refused, the lock stays.
    let del = |s: &MstrSession, q: &str| {
        send(
            s.delete(&format!("{}{q}", lock_url(&m)))
                .header("X-MSTR-ProjectID", &m.project),
        )
    };
    assert_mstr_error(del(&bob, "?lockType=everything").await, 400, "ERR006").await;
    assert_mstr_error(del(&bob, "?lockType=absolute_individual").await, 409, "ERR001").await;
    let e = assert_mstr_error(unlock(&m, &bob2).await, 403, "ERR017").await;
    assert!(e["message"].as_str().unwrap().contains("administrator"), "{e}");
    assert_eq!(lock_status(&m, admin).await["lockType"], "exclusive_constituent");

    // The holder unlocks: 200, no body; again (nothing locked) is fine too.
    let resp = del(&bob, "?lockType=exclusive_constituent").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "");
    assert_eq!(lock_status(&m, admin).await, json!({"lockType": "none"}));
    assert_eq!(unlock(&m, &bob).await.status(), 200);
    assert_eq!(
        unlock(&m, &viewer).await.status(),
        403,
        "still needs the privilege"
    );
}
both_backends!(
    schema_lock_endpoints_answer_and_refuse_in_mstr_bodies,
    lock_endpoints
);

/// The Everyone group's id, from an object's ACL.
async fn everyone(m: &Model, attr: &str) -> String {
    let (st, info) = json(
        send(
            m.admin
                .get(&m.url(&format!("/api/objects/{attr}?type=12")))
                .header("X-MSTR-ProjectID", &m.project),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{info}");
    info["acl"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["trusteeName"] == "Everyone"))
        .and_then(|e| e["trusteeId"].as_str())
        .unwrap_or_else(|| panic!("Everyone's entry: {info}"))
        .to_string()
}

/// The schema changes `s` makes: a commit of `cs`, properties of `attr`, its ACL (when
/// `acl_trustee` is given: it needs Control), a copy of `table`, a folder made:
/// `(what, status, body)` of each.
async fn changes_by(
    m: &Model,
    s: &MstrSession,
    cs: &str,
    attr: &str,
    table: &str,
    acl_trustee: Option<&str>,
) -> Vec<(String, u16, Value)> {
    let mut out = Vec::new();
    let (st, body) = m.commit(s, cs).await;
    out.push(("a changeset commit".to_string(), st, body));
    let project = m.project.as_str();
    let (st, body) = json(
        send(
            s.put(&m.url(&format!("/api/objects/{attr}?type=12")))
                .header("X-MSTR-ProjectID", project)
                .json(&json!({"description": "changed"})),
        )
        .await,
    )
    .await;
    out.push(("PUT /api/objects (properties)".into(), st, body));
    if let Some(trustee) = acl_trustee {
        let entry = json!({"op": "ADD", "trustee": trustee, "rights": 1, "denied": false, "inheritable": false, "type": 1});
        let (st, body) = json(
            send(
                s.put(&m.url(&format!("/api/objects/{attr}?type=12")))
                    .header("X-MSTR-ProjectID", project)
                    .json(&json!({ "acl": [entry] })),
            )
            .await,
        )
        .await;
        out.push(("PUT /api/objects (acl)".into(), st, body));
    }
    let (st, body) = json(
        send(
            s.post(&m.url(&format!("/api/objects/{table}/copy?type=15")))
                .header("X-MSTR-ProjectID", project)
                .json(&json!({})),
        )
        .await,
    )
    .await;
    out.push(("a copy".into(), st, body));
    let (st, body) = json(
        send(
            s.post(&m.url("/api/folders"))
                .header("X-MSTR-ProjectID", project)
                .json(&json!({"name": format!("F {}", rand_suffix()), "parent": m.attributes_folder})),
        )
        .await,
    )
    .await;
    out.push(("a folder made".into(), st, body));
    out
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::SeqCst).to_string()
}

async fn lock_blocks_others(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    modeler(&m, "bob");
    let (table, attr) = m.subcategory().await;
    // A folder to delete and a table to delete, made before the lock.
    let (st, folder) = json(
        send(
            m.admin
                .post(&m.url("/api/folders"))
                .header("X-MSTR-ProjectID", &m.project)
                .json(&json!({"name": "Doomed", "parent": m.attributes_folder})),
        )
        .await,
    )
    .await;
    assert_eq!(st, 201, "{folder}");
    let folder = folder["id"].as_str().unwrap().to_string();
    let spare = m.table("SPARE", &[("ID", "integer")]).await;
    let everyone = everyone(&m, &attr).await;

    let holder = mstr_login(&m.server, "administrator", ADMIN_PASSWORD).await;
    let bob = mstr_login(&m.server, "bob", PASSWORD).await;
    let (bob_cs, bob_table) = staged_table(&m, &bob, "BOBS").await;
    assert_eq!(lock(&m, &holder, "absolute_individual").await.status(), 201);

    // Every other session is refused, the administrator's own other session too (only it may
    // change an ACL at all).
    for (s, acl) in [(&bob, None), (&m.admin, Some(everyone.as_str()))] {
        let (cs, _) = staged_table(&m, s, &format!("T{}", rand_suffix())).await;
        for (what, st, body) in changes_by(&m, s, &cs, &attr, &table, acl).await {
            refused_as_locked(st, &body, &what);
        }
        for (path, what) in [
            (format!("/api/objects/{folder}?type=8"), "a folder deleted"),
            (format!("/api/folders/{folder}"), "a folder deleted (folders API)"),
            (format!("/api/objects/{spare}?type=15"), "a table deleted"),
        ] {
            let (st, body) =
                json(send(s.delete(&m.url(&path)).header("X-MSTR-ProjectID", &m.project)).await).await;
            refused_as_locked(st, &body, what);
        }
    }
    // Nothing of it happened.
    let (st, t) = json(
        send(
            m.admin
                .get(&m.url(&format!("/api/model/tables/{bob_table}")))
                .header("X-MSTR-ProjectID", &m.project),
        )
        .await,
    )
    .await;
    assert_eq!(st, 404, "the refused commit wrote nothing: {t}");
    let (_, a) = m.get_attribute(&m.admin, &attr, None, "").await;
    assert!(a["information"]["description"].is_null(), "{a}");
    for path in [
        format!("/api/objects/{folder}?type=8"),
        format!("/api/objects/{spare}?type=15"),
    ] {
        let st = send(m.admin.get(&m.url(&path)).header("X-MSTR-ProjectID", &m.project))
            .await
            .status();
        assert_eq!(st, 200, "{path} is still there");
    }

    // The holder's own session changes the schema: the same kinds of change all go through.
    let (cs, _) = staged_table(&m, &holder, "HOLDERS").await;
    for (what, st, body) in changes_by(&m, &holder, &cs, &attr, &table, Some(&everyone)).await {
        assert!(st == 200 || st == 201, "the holder's {what}: {st} {body}");
    }

    // Unlocked: bob's waiting changeset commits now.
    assert_eq!(unlock(&m, &holder).await.status(), 200);
    let (st, body) = m.commit(&bob, &bob_cs).await;
    assert_eq!(st, 201, "{body}");
    let st = send(
        bob.delete(&m.url(&format!("/api/objects/{spare}?type=15")))
            .header("X-MSTR-ProjectID", &m.project),
    )
    .await
    .status();
    assert_eq!(st, 204);
}
both_backends!(
    a_lock_refuses_other_sessions_changes_until_unlocked,
    lock_blocks_others
);

async fn lock_dies_with_session(backend: Backend, test: &str) {
    // A short server timeout (the HTTP one must be longer) and a frequent sweep.
    let m = start_with(
        backend,
        test,
        &[
            ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "2"),
            ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "3"),
        ],
    )
    .await;
    modeler(&m, "bob");
    let bob = mstr_login(&m.server, "bob", PASSWORD).await;

    // Logout: the lock goes with the session at once.
    let holder = mstr_login(&m.server, "administrator", ADMIN_PASSWORD).await;
    assert_eq!(lock(&m, &holder, "absolute_individual").await.status(), 201);
    let (cs, _) = staged_table(&m, &bob, "AFTER_LOGOUT").await;
    let (st, body) = m.commit(&bob, &cs).await;
    refused_as_locked(st, &body, "commit while locked");
    let out = send(holder.post(&m.url("/api/auth/logout"))).await;
    assert_eq!(out.status(), 204);
    assert_eq!(lock_status(&m, &bob).await, json!({"lockType": "none"}));
    let (st, body) = m.commit(&bob, &cs).await;
    assert_eq!(st, 201, "after the holder logged out: {body}");

    // Expiry: a holder that goes idle past the server timeout holds nothing. Bob stays active
    // by asking; the holder does nothing.
    let holder = mstr_login(&m.server, "administrator", ADMIN_PASSWORD).await;
    assert_eq!(lock(&m, &holder, "absolute_individual").await.status(), 201);
    let (cs, _) = staged_table(&m, &bob, "AFTER_EXPIRY").await;
    let (st, body) = m.commit(&bob, &cs).await;
    refused_as_locked(st, &body, "commit while locked");
    wait_for("the idle holder's lock to end", || async {
        lock_status(&m, &bob).await["lockType"] == "none"
    })
    .await;
    let (st, body) = m.commit(&bob, &cs).await;
    assert_eq!(st, 201, "after the holder's session expired: {body}");
    assert_eq!(
        send(holder.get(&m.url("/api/sessions"))).await.status(),
        401,
        "the holder's session has indeed expired"
    );
}
both_backends!(
    a_lock_ends_with_its_session_logout_or_expiry,
    lock_dies_with_session
);

async fn forced_unlock(backend: Backend, test: &str) {
    let audit = tempfile::NamedTempFile::new().unwrap();
    let target = format!("file:{}", audit.path().display());
    let m = start_with(backend, test, &[("VESTIBULE_AUDIT_TARGET", &target)]).await;
    modeler(&m, "bob");
    modeler(&m, "carol");
    let bob = mstr_login(&m.server, "bob", PASSWORD).await;
    let carol = mstr_login(&m.server, "carol", PASSWORD).await;
    assert_eq!(lock(&m, &bob, "absolute_individual").await.status(), 201);
    assert_mstr_error(unlock(&m, &carol).await, 403, "ERR017").await;
    // The administrator removes bob's lock; then carol's commit goes through.
    assert_eq!(unlock(&m, &m.admin).await.status(), 200);
    assert_eq!(lock_status(&m, &carol).await, json!({"lockType": "none"}));
    let (cs, _) = staged_table(&m, &carol, "CAROLS").await;
    assert_eq!(m.commit(&carol, &cs).await.0, 201);
    // Carol locks and releases her own.
    assert_eq!(lock(&m, &carol, "absolute_constituent").await.status(), 201);
    assert_eq!(unlock(&m, &carol).await.status(), 200);

    let text = std::fs::read_to_string(audit.path()).unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let schema: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e["event"].as_str().is_some_and(|k| k.starts_with("schema_")))
        .map(|e| {
            assert_eq!(e["project"], m.project.as_str(), "{e}");
            (
                e["event"].as_str().unwrap().to_string(),
                e["user"].as_str().unwrap().to_string(),
                e["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("schema_locked", "bob", "absolute_individual"),
        ("schema_unlocked", "administrator", "forced"),
        ("schema_locked", "carol", "absolute_constituent"),
        ("schema_unlocked", "carol", "released"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(schema, expected, "{text}");
    let forced = events.iter().find(|e| e["reason"] == "forced").unwrap();
    let (_, bob_info) = json(send(bob.get(&m.url("/api/sessions/userInfo"))).await).await;
    assert_eq!(forced["object"], bob_info["id"], "whose lock it was: {forced}");
}
both_backends!(an_administrator_may_remove_another_sessions_lock, forced_unlock);

/// POST a reload; `prefer` adds `Prefer: respond-async`.
async fn reload(m: &Model, s: &MstrSession, body: Value, prefer: bool) -> reqwest::Response {
    let mut req = s
        .post(&m.url("/api/model/schema/reload"))
        .header("X-MSTR-ProjectID", &m.project)
        .json(&body);
    if prefer {
        req = req.header("Prefer", "respond-async");
    }
    send(req).await
}

async fn task(m: &Model, s: &MstrSession, id: &str) -> (u16, Value) {
    json(
        send(
            s.get(&m.url(&format!("/api/model/tasks/{id}")))
                .header("X-MSTR-ProjectID", &m.project),
        )
        .await,
    )
    .await
}

/// Follows a task until it has finished (polling every 50 ms, for at most 20 s); its last answer.
async fn finished(m: &Model, s: &MstrSession, id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (st, body) = task(m, s, id).await;
        assert_eq!(st, 200, "{body}");
        if body["status"] != "running" {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the task did not finish: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn reloads(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    m.subcategory().await;
    let admin = &m.admin;
    let url = m.url("/api/model/schema/reload");
    let unknown = "0123456789ABCDEF0123456789ABCDEF";

    // Errors: the header, the project, the body.
    let all = json!({"updateTypes": ["table_key"]});
    assert_mstr_error(send(admin.post(&url).json(&all)).await, 400, "ERR007").await;
    assert_mstr_error(
        send(admin.post(&url).header("X-MSTR-ProjectID", unknown).json(&all)).await,
        404,
        "ERR004",
    )
    .await;
    assert_mstr_error(reload(&m, admin, json!({}), false).await, 400, "ERR007").await;
    assert_mstr_error(
        reload(&m, admin, json!({"updateTypes": null}), false).await,
        400,
        "ERR007",
    )
    .await;
    assert_mstr_error(
        reload(&m, admin, json!({"updateTypes": "table_key"}), false).await,
        400,
        "ERR006",
    )
    .await;
    assert_mstr_error(
        reload(&m, admin, json!({"updateTypes": [], "x": 1}), true).await,
        400,
        "ERR006",
    )
    .await;
    let e = assert_mstr_error(
        reload(
            &m,
            admin,
            json!({"updateTypes": ["table_key", "warp_speed", "LOGICAL_SIZE"]}),
            true,
        )
        .await,
        400,
        "ERR006",
    )
    .await;
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("'warp_speed'") && message.contains("'LOGICAL_SIZE'"),
        "{e}"
    );
    m.server.add_user("viewer", PASSWORD);
    let viewer = mstr_login(&m.server, "viewer", PASSWORD).await;
    assert_mstr_error(
        reload(&m, &viewer, json!({"updateTypes": []}), false).await,
        403,
        "ERR014",
    )
    .await;
    let (_, last) = json(send(admin.get(&url).header("X-MSTR-ProjectID", &m.project)).await).await;
    assert_eq!(
        last,
        json!({"lastReload": null}),
        "no refused request made a task"
    );

    // Synchronous: 201, no body, the finished task in Location.
    let resp = reload(
        &m,
        admin,
        json!({"updateTypes": ["table_key", "logical_size"]}),
        false,
    )
    .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(resp.text().await.unwrap(), "");
    let id = location
        .strip_prefix("/MicroStrategyLibrary/api/model/tasks/")
        .unwrap_or_else(|| panic!("{location}"))
        .to_string();
    let (st, done) = task(&m, admin, &id).await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["id"], id.as_str());
    assert_eq!(done["task"], "reloadSchema");
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done.get("errors").is_none(), "{done}");
    assert!(
        done["endTime"].as_str().unwrap() >= done["startTime"].as_str().unwrap(),
        "{done}"
    );
    assert_eq!(done["updateTypes"], json!(["table_key", "logical_size"]));
    assert_eq!(done["user"]["name"], "Administrator", "the display name: {done}");
    // The system folders, the table and the attribute at least.
    assert!(done["checkedObjects"].as_u64().unwrap() >= 13, "{done}");

    // Asynchronous: 202 with the running task, followed to its end.
    let resp = reload(&m, admin, json!({"updateTypes": []}), true).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.headers()["preference-applied"], "respond-async");
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let (_, running) = json(resp).await;
    assert_eq!(running["status"], "running", "{running}");
    assert_eq!(running["task"], "reloadSchema");
    assert!(running.get("endTime").is_none(), "{running}");
    let async_id = running["id"].as_str().unwrap().to_string();
    assert!(location.ends_with(&async_id), "{location}");
    let done = finished(&m, admin, &async_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["startTime"], running["startTime"]);
    assert!(done["endTime"].is_string(), "{done}");

    // The project's newest reload is the asynchronous one.
    let (st, last) = json(send(admin.get(&url).header("X-MSTR-ProjectID", &m.project)).await).await;
    assert_eq!(st, 200, "{last}");
    assert_eq!(last["lastReload"]["id"], async_id.as_str(), "{last}");

    // Tasks: the header, unknown ids, another project, the privilege.
    assert_mstr_error(
        send(admin.get(&m.url(&format!("/api/model/tasks/{async_id}")))).await,
        400,
        "ERR007",
    )
    .await;
    assert_mstr_error(
        send(
            admin
                .get(&m.url(&format!("/api/model/tasks/{unknown}")))
                .header("X-MSTR-ProjectID", &m.project),
        )
        .await,
        404,
        "ERR004",
    )
    .await;
    assert_mstr_error(
        send(
            admin
                .get(&m.url("/api/model/tasks/not-a-task"))
                .header("X-MSTR-ProjectID", &m.project),
        )
        .await,
        404,
        "ERR004",
    )
    .await;
    let out = m.server.cli(&["project", "add", "Other"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, projects) = json(send(admin.get(&m.url("/api/projects"))).await).await;
    let other = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Other")
        .and_then(|p| p["id"].as_str())
        .unwrap()
        .to_string();
    assert_mstr_error(
        send(
            admin
                .get(&m.url(&format!("/api/model/tasks/{async_id}")))
                .header("X-MSTR-ProjectID", &other),
        )
        .await,
        404,
        "ERR004",
    )
    .await;
    assert_mstr_error(
        send(
            viewer
                .get(&m.url(&format!("/api/model/tasks/{async_id}")))
                .header("X-MSTR-ProjectID", &m.project),
        )
        .await,
        403,
        "ERR014",
    )
    .await;
}
both_backends!(
    schema_reloads_synchronous_and_asynchronous_with_their_tasks,
    reloads
);

async fn broken_model(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, attr) = m.subcategory().await;
    // The table goes behind the server's back; the attribute still reads it.
    m.sql(&format!("DELETE FROM model_objects WHERE id = '{table}'"));

    let resp = reload(&m, &m.admin, json!({"updateTypes": ["table_key"]}), true).await;
    assert_eq!(resp.status(), 202);
    let (_, running) = json(resp).await;
    let id = running["id"].as_str().unwrap().to_string();
    let done = finished(&m, &m.admin, &id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["endTime"].is_string(), "{done}");
    let errors = done["errors"].as_array().expect("errors");
    let missing = errors
        .iter()
        .find(|e| e["code"] == "ERR004")
        .unwrap_or_else(|| panic!("a missing reference: {done}"));
    assert_eq!(
        missing["additionalProperties"]["objectId"],
        attr.as_str(),
        "{missing}"
    );
    assert_eq!(missing["additionalProperties"]["objectType"], 12, "{missing}");
    assert_eq!(
        missing["additionalProperties"]["objectName"], "Subcategory",
        "{missing}"
    );
    assert_eq!(
        missing["additionalProperties"]["missingObjectId"],
        table.as_str(),
        "{missing}"
    );
    assert!(missing["message"].as_str().unwrap().contains(&table), "{missing}");

    // Synchronous: refused with the problem, and the task (in the message) failed too.
    let e = assert_mstr_error(
        reload(&m, &m.admin, json!({"updateTypes": []}), false).await,
        409,
        "ERR001",
    )
    .await;
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("Subcategory"), "{e}");
    let (_, last) = json(
        send(
            m.admin
                .get(&m.url("/api/model/schema/reload"))
                .header("X-MSTR-ProjectID", &m.project),
        )
        .await,
    )
    .await;
    let last_id = last["lastReload"]["id"].as_str().unwrap();
    assert!(message.contains(last_id), "{e} names {last}");
    assert_eq!(last["lastReload"]["status"], "failed", "{last}");

    // Mended (the attribute goes too), the model reloads clean.
    m.sql(&format!("DELETE FROM model_objects WHERE id = '{attr}'"));
    assert_eq!(
        reload(&m, &m.admin, json!({"updateTypes": []}), false)
            .await
            .status(),
        201
    );
}
both_backends!(a_reload_of_a_broken_model_fails_with_its_errors, broken_model);

async fn interrupted_task(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    // What a node killed in the middle of a reload leaves: a running task whose heartbeat stopped.
    let resp = reload(&m, &m.admin, json!({"updateTypes": []}), false).await;
    assert_eq!(resp.status(), 201);
    let (_, user) = json(send(m.admin.get(&m.url("/api/sessions/userInfo"))).await).await;
    let id = "5C4A1D0E9B8F47A6B3E2D1C0F9E8D7C6";
    let body = json!({
        "id": id, "project": m.project, "user": user["id"], "user_name": "administrator",
        "update_types": ["table_key"], "status": "running", "start_ms": 1_000, "heartbeat_ms": 2_000,
    });
    m.sql(&format!(
        "INSERT INTO schema_tasks (id, project_id, status, start_ms, heartbeat_ms, body) \
         VALUES ('{id}', '{}', 'running', 1000, 2000, '{body}')",
        m.project
    ));
    let (st, t) = task(&m, &m.admin, id).await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["status"], "failed", "{t}");
    assert_eq!(
        t["endTime"], "1970-01-01T00:00:02.000Z",
        "ended at its last heartbeat: {t}"
    );
    assert_eq!(t["errors"][0]["code"], "ERR001", "{t}");
    assert!(
        t["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{t}"
    );
    // Recorded so: the row says failed too.
    assert_eq!(
        m.sql(&format!("SELECT status FROM schema_tasks WHERE id = '{id}'")),
        "failed"
    );
}
both_backends!(a_task_whose_server_stopped_reads_failed, interrupted_task);

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
)]
async fn two_nodes_on_one_postgres_see_one_lock() {
    use crate::common::pg::FreshDb;
    use crate::common::{backend_url, TestServer};
    const TEST: &str = "model_schema::two_nodes_on_one_postgres_see_one_lock";
    let db = FreshDb::create(&backend_url("VESTIBULE_TEST_POSTGRES_URL", TEST)).await;
    let redis = backend_url("VESTIBULE_TEST_REDIS_URL", TEST);
    let env = [
        ("VESTIBULE_STORE_METADATA", db.url.as_str()),
        ("VESTIBULE_STORE_SESSIONS", redis.as_str()),
    ];
    let a = TestServer::start_with(&env);
    let b = TestServer::start_with(&env);
    let url = |n: &TestServer, p: &str| n.url(&format!("/MicroStrategyLibrary{p}"));
    let on_a = mstr_login(&a, "administrator", ADMIN_PASSWORD).await;
    let (_, projects) = json(send(on_a.get(&url(&a, "/api/projects"))).await).await;
    let project = projects[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        send(
            on_a.post(&url(&a, "/api/model/schema/lock"))
                .header("X-MSTR-ProjectID", &project)
                .json(&json!({"lockType": "absolute_individual"})),
        )
        .await
        .status(),
        201
    );
    // Another session, on the other node, sees the lock and is refused.
    let on_b = mstr_login(&b, "administrator", ADMIN_PASSWORD).await;
    let (st, status) = json(
        send(
            on_b.get(&url(&b, "/api/model/schema/lock"))
                .header("X-MSTR-ProjectID", &project),
        )
        .await,
    )
    .await;
    assert_eq!(
        (st, &status["lockType"]),
        (200, &json!("absolute_individual")),
        "{status}"
    );
    let commit_on_b = || async {
        let (st, cs) = json(
            send(
                on_b.post(&url(&b, "/api/model/changesets?schemaEdit=true"))
                    .header("X-MSTR-ProjectID", &project),
            )
            .await,
        )
        .await;
        assert_eq!(st, 201, "{cs}");
        let cs = cs["id"].as_str().unwrap().to_string();
        let (st, t) = json(
            send(
                on_b.post(&url(&b, "/api/model/tables"))
                    .header("X-MSTR-MS-Changeset", &cs)
                    .json(&json!({"information": {"name": format!("T_{}", rand_suffix())},
                                  "physicalTable": {"columns": [{"columnName": "ID", "dataType": {"type": "integer"}}]}})),
            )
            .await,
        )
        .await;
        assert_eq!(st, 201, "{t}");
        json(send(on_b.post(&url(&b, &format!("/api/model/changesets/{cs}/commit")))).await).await
    };
    let (st, body) = commit_on_b().await;
    refused_as_locked(st, &body, "a commit on the other node");
    // The holder's session unlocks through the other node (sessions are shared too).
    let holder_on_b = MstrSession {
        client: on_a.client.clone(),
        token: on_a.token.clone(),
    };
    assert_eq!(
        send(
            holder_on_b
                .delete(&url(&b, "/api/model/schema/lock"))
                .header("X-MSTR-ProjectID", &project)
        )
        .await
        .status(),
        200
    );
    let (st, status) = json(
        send(
            on_a.get(&url(&a, "/api/model/schema/lock"))
                .header("X-MSTR-ProjectID", &project),
        )
        .await,
    )
    .await;
    assert_eq!((st, status), (200, json!({"lockType": "none"})));
    let (st, body) = commit_on_b().await;
    assert_eq!(st, 201, "{body}");
    drop((a, b));
    drop(db);
}
