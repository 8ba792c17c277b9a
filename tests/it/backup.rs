//! `vestibule backup --to FILE` while the server runs and serves requests; the copy restored into
//! a fresh data directory holds every user, group, session and model object of its moment, and
//! nothing made after it. The refusals: an existing FILE, a PostgreSQL store.

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::common::model::{start, Backend};
use crate::common::mstr::{get_json, LIB};
use crate::common::ts::{bearer_get, v2_token, V2};
use crate::common::{client, mstr_login, TestServer};

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A failure: exit 1 and exactly one line on stderr containing `needle`.
fn refused(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got:\n{stderr}");
    assert!(lines[0].contains(needle), "'{needle}' not in: {}", lines[0]);
}

fn names(server: &TestServer, what: &str) -> Vec<Value> {
    let out = stdout_of(&server.cli(&[what, "list", "--json"], ""));
    serde_json::from_str::<Vec<Value>>(&out).unwrap_or_else(|e| panic!("{what} list --json: {e}: {out}"))
}

fn has(list: &[Value], name: &str) -> bool {
    list.iter().any(|v| v["name"] == name)
}

#[tokio::test]
async fn backup_while_serving_then_restore_keeps_users_sessions_and_model() {
    let mut m = start(Backend::Sqlite, "backup::restore").await;
    let server = &m.server;
    server.add_user("ann", "ann-pass-1");
    stdout_of(&server.cli(&["group", "add", "analysts"], ""));
    stdout_of(&server.cli(&["group", "add-member", "analysts", "ann"], ""));
    let (table, attribute) = m.subcategory().await;

    // Live sessions of both dialects.
    let ann = mstr_login(server, "ann", "ann-pass-1").await;
    let (status, ann_before) = get_json(&ann, &server.url(&format!("{LIB}/sessions/userInfo"))).await;
    assert_eq!(status, 200, "{ann_before}");
    let bearer = v2_token(server, "ann", "ann-pass-1").await;
    assert_eq!(
        bearer_get(server, &format!("{V2}/auth/session/user"), &bearer)
            .await
            .0,
        200
    );

    // Requests keep coming while the copy is taken: logins (new sessions written through) and
    // keep-alives of the existing ones.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let load = {
        let (stop, served) = (stop.clone(), served.clone());
        let base = server.base.clone();
        let token = ann.token.clone();
        // ann's own client (its cookie goes with its token); logins on another, so that their
        // cookies do not replace it.
        let ann_client = ann.client.clone();
        tokio::spawn(async move {
            let c = client();
            while !stop.load(Ordering::Relaxed) {
                let login = c
                    .post(format!("{base}{LIB}/auth/login"))
                    .form(&[
                        ("loginMode", "1"),
                        ("username", "ann"),
                        ("password", "ann-pass-1"),
                    ])
                    .send()
                    .await;
                let alive = ann_client
                    .put(format!("{base}{LIB}/sessions"))
                    .header("X-MSTR-AuthToken", &token)
                    .send()
                    .await;
                let (l, a) = (login.expect("a login"), alive.expect("a keep-alive"));
                assert_eq!((l.status().as_u16(), a.status().as_u16()), (204, 204));
                served.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while served.load(Ordering::Relaxed) < 5 {
        assert!(!load.is_finished(), "the requests stopped before the backup");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let backups = tempfile::tempdir().expect("temp dir");
    let file = backups.path().join("vestibule-backup.db");
    let out = {
        let mut cmd = server.command();
        cmd.args(["backup", "--to"]).arg(&file);
        tokio::task::spawn_blocking(move || cmd.output().expect("run vestibule backup"))
            .await
            .expect("backup thread")
    };
    stop.store(true, Ordering::Relaxed);
    // Every request made meanwhile was served (the task asserts each answer).
    load.await.expect("the requests during the backup");
    let said = stdout_of(&out);
    assert!(said.contains("backed up") && said.contains("3 users"), "{said}");

    // An existing file is never replaced.
    let mut again = server.command();
    again.args(["backup", "--to"]).arg(&file);
    refused(&again.output().expect("run"), "exists");

    // What is made after the copy is not in it.
    server.add_user("late", "late-pass-1");
    assert_eq!(m.server.stop().code(), Some(0));

    let restored = TestServer::start_restored(&file, &[]);
    let users = names(&restored, "user");
    assert!(has(&users, "ann") && has(&users, "administrator"), "{users:?}");
    assert!(
        !has(&users, "late"),
        "a user made after the backup is in it: {users:?}"
    );
    let groups = names(&restored, "group");
    let analysts = groups
        .iter()
        .find(|g| g["name"] == "analysts")
        .unwrap_or_else(|| panic!("no group analysts: {groups:?}"));
    assert_eq!(analysts["members"], serde_json::json!(["ann"]));

    // The old sessions still work, with the old tokens: MicroStrategy token (and its cookie,
    // which the client's jar sends to the same host) and the ThoughtSpot bearer token.
    let (status, ann_after) = get_json(&ann, &restored.url(&format!("{LIB}/sessions/userInfo"))).await;
    assert_eq!(status, 200, "the old session after the restore: {ann_after}");
    assert_eq!(ann_after["id"], ann_before["id"]);
    let (status, user) = bearer_get(&restored, &format!("{V2}/auth/session/user"), &bearer).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["name"], "ann");

    // The model: the table and the attribute, through the API in the administrator's old session.
    for (kind, id) in [("tables", &table), ("attributes", &attribute)] {
        let resp = m
            .admin
            .get(&restored.url(&format!("/MicroStrategyLibrary/api/model/{kind}/{id}")))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{kind}/{id} after the restore: {body}");
        assert_eq!(body["information"]["objectId"], id.as_str(), "{body}");
    }
    // Nothing half-written is left beside the copy.
    let left: Vec<_> = std::fs::read_dir(backups.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[tokio::test]
async fn backup_refuses_a_postgres_store_and_a_missing_store_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vestibule"));
        cmd.env_clear();
        for key in ["PATH", "HOME", "TMPDIR"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        cmd.envs(env.iter().copied())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["backup", "--to"])
            .arg(dir.path().join("copy.db"))
            .stdin(Stdio::null())
            .output()
            .expect("run vestibule")
    };
    refused(
        &run(&[("VESTIBULE_STORE_METADATA", "postgres://nobody@127.0.0.1:1/none")]),
        "pg_dump",
    );
    refused(&run(&[]), "vestibule.db");
    assert!(!dir.path().join("copy.db").exists());
    // Refusing made no data directory either.
    assert!(!dir.path().join("data").exists());
}
