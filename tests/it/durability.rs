//! Sessions survive restarts (after SIGTERM and after kill -9), logouts stay logged out, and many
//! concurrent logins all get their own session.

use std::collections::HashSet;

use crate::common::mstr::{
    api_token, delegate, form_login, get_json, identity_token, jsessionid, json_login, session_of, LIB,
};
use crate::common::ADMIN_PASSWORD;
use crate::common::{client, mstr_login, send, MstrSession, TestServer};

/// The status of a session check. Sent twice at most: right after a restart, a client's pooled
/// keep-alive connection still points at the old process and fails before reaching the server.
pub async fn check(server: &TestServer, s: &MstrSession) -> u16 {
    let req = s.get(&server.url(&format!("{LIB}/sessions")));
    let again = req.try_clone().unwrap();
    match req.send().await {
        Ok(r) => r.status().as_u16(),
        Err(e) if e.is_request() => again.send().await.unwrap().status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

async fn restart_keeps_live_sessions(kill9: bool) {
    let mut server = TestServer::start();
    server.add_user("gina", "gina-pass");
    let a = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let b = mstr_login(&server, "gina", "gina-pass").await;
    let gone = mstr_login(&server, "gina", "gina-pass").await;
    // Activity right before the crash, and a logout that must stay done.
    assert_eq!(
        a.put(&server.url(&format!("{LIB}/sessions")))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let resp = send(gone.post(&server.url(&format!("{LIB}/auth/logout")))).await;
    assert_eq!(resp.status(), 204);
    let identity = identity_token(&b, &server).await;
    let api_token = api_token(&a, &server).await;

    if kill9 {
        server.kill9_and_restart();
    } else {
        server.restart();
    }

    assert_eq!(check(&server, &a).await, 200);
    assert_eq!(check(&server, &b).await, 200);
    let (st, info) = get_json(&b, &server.url(&format!("{LIB}/sessions/userInfo"))).await;
    assert_eq!(st, 200);
    assert_eq!(info["username"], "gina");
    assert_eq!(check(&server, &gone).await, 401);
    // The identity token and the API token also survived.
    let resp = delegate(
        &server,
        &serde_json::json!({"loginMode": "-1", "identityToken": identity}),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let resp = json_login(
        &server,
        &serde_json::json!({"loginMode": 4096, "username": api_token}),
    )
    .await;
    assert_eq!(resp.status(), 204);
    // A session made after the restart works, and the first one still does after a second crash.
    let c2 = mstr_login(&server, "gina", "gina-pass").await;
    server.kill9_and_restart();
    assert_eq!(check(&server, &a).await, 200);
    assert_eq!(check(&server, &c2).await, 200);
}

#[tokio::test]
async fn durability_kill9_restart_loses_no_live_session() {
    restart_keeps_live_sessions(true).await;
}

#[tokio::test]
async fn durability_sigterm_restart_loses_no_live_session() {
    restart_keeps_live_sessions(false).await;
}

#[tokio::test]
async fn durability_sigterm_exits_cleanly() {
    let mut server = TestServer::start();
    mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let status = server.terminate();
    assert!(
        status.success(),
        "exit status {status:?}; stderr:\n{}",
        server.stderr()
    );
}

#[tokio::test]
async fn durability_fifty_concurrent_logins_get_distinct_sessions() {
    // The default (OWASP) argon2id cost, so the hashes really queue on the bounded pool.
    let server = TestServer::start_with(&[
        ("VESTIBULE_PASSWORD_MEMORY_KIB", "19456"),
        ("VESTIBULE_PASSWORD_ITERATIONS", "2"),
    ]);
    server.add_user("hank", "hank-pass");
    let logins = (0..50).map(|i| {
        let (user, pass) = if i % 2 == 0 {
            ("administrator", ADMIN_PASSWORD)
        } else {
            ("hank", "hank-pass")
        };
        mstr_login(&server, user, pass)
    });
    let sessions = futures::future::join_all(logins).await;
    let tokens: HashSet<&str> = sessions.iter().map(|s| s.token.as_str()).collect();
    assert_eq!(tokens.len(), 50);
    let checks = futures::future::join_all(sessions.iter().map(|s| check(&server, s))).await;
    assert!(checks.iter().all(|&c| c == 200), "{checks:?}");
}

#[tokio::test]
async fn durability_store_keeps_only_hashes_of_secrets() {
    let server = TestServer::start();
    let c = client();
    let url = server.url(&format!("{LIB}/auth/login"));
    let resp = form_login(&c, &url, "administrator", ADMIN_PASSWORD).await;
    let cookie = jsessionid(&resp);
    let s = session_of(c, &resp);
    let token = s.token.clone();
    let identity = identity_token(&s, &server).await;
    let api_token = api_token(&s, &server).await;
    // Every byte the store wrote (the database, its WAL and anything else in the data directory).
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(server.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 1000);
    let text = String::from_utf8_lossy(&bytes);
    for (what, secret) in [
        ("auth token", &token),
        ("session cookie", &cookie),
        ("identity token", &identity),
        ("API token", &api_token),
        ("password", &ADMIN_PASSWORD.to_string()),
    ] {
        assert!(
            !text.contains(secret.as_str()),
            "the {what} is stored in the clear"
        );
    }
}
