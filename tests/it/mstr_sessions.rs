//! MicroStrategy `/api/sessions*`, `/api/status` and `/api/projects` against the real binary:
//! the bodies clients read, the token-and-cookie binding, and short configured timeouts.

use std::time::{Duration, Instant};

use crate::common::mstr::{
    assert_mstr_error, delegate, form_login, get_json, identity_token, session_of, short_timeout_server,
    status_of, token_of, LIB,
};
use crate::common::{
    client, json, live_sessions, mstr_login, send, wait_until_swept, MstrSession, TestServer, ADMIN_PASSWORD,
};

#[tokio::test]
async fn mstr_session_info_keep_alive_and_user_info() {
    let server = TestServer::start_with(&[
        ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "600"),
        ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "900"),
    ]);
    server.add_user("erin", "erin-pass");
    let out = server.cli(&["user", "list"], "");
    assert!(out.status.success());
    let s = mstr_login(&server, "erin", "erin-pass").await;
    // A session made under /api (its cookie has Path=/) serves there the same way.
    let c = client();
    let resp = form_login(&c, &server.url("/api/auth/login"), "erin", "erin-pass").await;
    assert_eq!(resp.status(), 204);
    let s_api = session_of(c, &resp);
    for (prefix, s) in [(LIB, &s), ("/api", &s_api)] {
        let (st, info) = get_json(s, &server.url(&format!("{prefix}/sessions"))).await;
        assert_eq!(st, 200, "{info}");
        assert_eq!(info["timeout"], 600, "{info}");
        assert!(info["timeout"].is_i64());
        assert_eq!(info["fullName"], "erin");
        assert_eq!(info["initials"], "E");
        assert_eq!(info["workingSet"], 10);
        assert_eq!(info["maxSearch"], 3);
        assert_eq!(info["locale"], 1033);
        let id = info["id"].as_str().unwrap();
        assert_eq!(id.len(), 32);

        let resp = send(s.put(&server.url(&format!("{prefix}/sessions")))).await;
        assert_eq!(resp.status(), 204);

        let (st, user) = get_json(s, &server.url(&format!("{prefix}/sessions/userInfo"))).await;
        assert_eq!(st, 200, "{user}");
        assert_eq!(user["id"], id);
        assert_eq!(user["fullName"], "erin");
        assert_eq!(user["initials"], "E");
        assert_eq!(user["username"], "erin");
    }
    // Without a session every one of them answers ERR009.
    for (method, path) in [
        ("GET", "/sessions"),
        ("PUT", "/sessions"),
        ("GET", "/sessions/userInfo"),
        ("GET", "/sessions/privileges"),
        ("GET", "/sessions/privileges/1"),
        ("GET", "/projects"),
        ("POST", "/auth/logout"),
    ] {
        let req = client().request(method.parse().unwrap(), server.url(&format!("{LIB}{path}")));
        assert_mstr_error(req.send().await.unwrap(), 401, "ERR009").await;
    }
}

#[tokio::test]
async fn mstr_privileges_list_and_one() {
    let server = TestServer::start();
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let (st, body) = get_json(&admin, &server.url(&format!("{LIB}/sessions/privileges"))).await;
    assert_eq!(st, 200, "{body}");
    let list = body["privileges"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|p| p["id"].as_str().unwrap()).collect();
    // The administrator holds all of them, administration (7) included.
    assert!(ids.contains(&"1") && ids.contains(&"7"), "{body}");
    for p in list {
        assert!(p["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(p["description"].is_string());
        assert_eq!(p["isUserLevelAllowed"], true);
        assert!(p["projects"].as_array().is_some_and(|a| !a.is_empty()), "{p}");
    }

    server.add_user("frank", "frank-pass");
    let frank = mstr_login(&server, "frank", "frank-pass").await;
    let (_, body) = get_json(&frank, &server.url(&format!("{LIB}/sessions/privileges"))).await;
    let ids: Vec<&str> = body["privileges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"1"), "{body}");
    assert!(
        !ids.contains(&"7"),
        "a plain user must not hold administration: {body}"
    );
    let (st, one) = get_json(&frank, &server.url(&format!("{LIB}/sessions/privileges/7"))).await;
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["id"], "7");
    assert_eq!(one["isUserLevelAllowed"], false);
    let (st, one) = get_json(&admin, &server.url(&format!("{LIB}/sessions/privileges/7"))).await;
    assert_eq!(st, 200);
    assert_eq!(one["isUserLevelAllowed"], true);
    for bad in ["99999", "abc", "-1", "0", "1.5", "%20"] {
        assert_mstr_error(
            send(admin.get(&server.url(&format!("{LIB}/sessions/privileges/{bad}")))).await,
            404,
            "ERR004",
        )
        .await;
    }

    // A grant through the CLI shows up (after the directory's short cache).
    let out = server.cli(&["user", "grant", "frank", "SCHEMA_EDIT"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut seen = false;
    for _ in 0..40 {
        let (_, one) = get_json(&frank, &server.url(&format!("{LIB}/sessions/privileges/4"))).await;
        if one["isUserLevelAllowed"] == true {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(seen, "the granted privilege never appeared");
}

/// The first nine characters of a version, as mstrio compares them.
fn version_key(v: &str) -> Vec<u32> {
    v[..9].split('.').map(|p| p.parse().unwrap()).collect()
}

#[tokio::test]
async fn mstr_status_reports_versions_without_a_session() {
    let server = TestServer::start();
    for prefix in [LIB, "/api"] {
        let (st, body) = json(
            client()
                .get(server.url(&format!("{prefix}/status")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, 200);
        let iserver = body["iServerVersion"].as_str().unwrap();
        let web = body["webVersion"].as_str().unwrap();
        // mstrio logs in twice below 11.5.0600.
        assert!(version_key(iserver) >= vec![11, 5, 600], "{iserver}");
        assert!(version_key(web) >= vec![11, 5, 600], "{web}");
        assert!(body["deploymentType"].is_string());
        assert!(body["upSince"].is_i64() && body["upTime"].is_i64());
    }
}

#[tokio::test]
async fn mstr_projects_lists_the_default_project() {
    let server = TestServer::start();
    let out = server.cli(&["project", "add", "Second"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let (st, body) = get_json(&s, &server.url(&format!("{LIB}/projects"))).await;
    assert_eq!(st, 200, "{body}");
    let projects = body.as_array().unwrap();
    let names: Vec<&str> = projects.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"Default Project") && names.contains(&"Second"),
        "{body}"
    );
    for p in projects {
        assert_eq!(p["id"].as_str().unwrap().len(), 32);
    }
}

#[tokio::test]
async fn mstr_token_is_bound_to_its_cookie() {
    let server = TestServer::start();
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let url = server.url(&format!("{LIB}/sessions"));
    // Token alone (a client without the cookie jar).
    let alone = send(
        reqwest::Client::new()
            .get(&url)
            .header("X-MSTR-AuthToken", &s.token),
    )
    .await;
    assert_mstr_error(alone, 401, "ERR009").await;
    // Token with another session's cookie.
    let wrong = send(
        reqwest::Client::new()
            .get(&url)
            .header("X-MSTR-AuthToken", &s.token)
            .header("Cookie", "JSESSIONID=0123456789ABCDEF0123456789ABCDEF"),
    )
    .await;
    assert_mstr_error(wrong, 401, "ERR009").await;
    // Unknown, empty, oversized and non-ASCII tokens.
    for token in ["unknown", " ", &"x".repeat(5000)] {
        let resp = send(s.client.get(&url).header("X-MSTR-AuthToken", token)).await;
        assert_mstr_error(resp, 401, "ERR009").await;
    }
    let resp = send(s.client.get(&url).header(
        "X-MSTR-AuthToken",
        reqwest::header::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
    ))
    .await;
    assert_mstr_error(resp, 401, "ERR009").await;
    // Still fine with both.
    assert_eq!(status_of(&s, &url).await, 200);
}

#[tokio::test]
async fn mstr_token_without_cookie_is_accepted_when_configured() {
    let server = TestServer::start_with(&[("VESTIBULE_SESSION_REQUIRE_COOKIE", "false")]);
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let url = server.url(&format!("{LIB}/sessions"));
    let alone = send(
        reqwest::Client::new()
            .get(&url)
            .header("X-MSTR-AuthToken", &s.token),
    )
    .await;
    assert_eq!(alone.status(), 200);
    // Also under /api, where the Library-path cookie is not sent.
    let (st, _) = get_json(&s, &server.url("/api/sessions/userInfo")).await;
    assert_eq!(st, 200);
    // A wrong cookie is still refused.
    let wrong = send(
        reqwest::Client::new()
            .get(&url)
            .header("X-MSTR-AuthToken", &s.token)
            .header("Cookie", "JSESSIONID=0123456789ABCDEF0123456789ABCDEF"),
    )
    .await;
    assert_mstr_error(wrong, 401, "ERR009").await;
}

#[tokio::test]
async fn mstr_short_timeouts_expire_sessions() {
    let server = short_timeout_server("1", "2");
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let url = server.url(&format!("{LIB}/sessions"));
    let (st, info) = json(s.get(&url).send().await.unwrap()).await;
    assert_eq!(st, 200);
    assert_eq!(info["timeout"], 1);
    wait_until_swept(&server).await;
    for (method, path) in [
        ("GET", "/sessions"),
        ("PUT", "/sessions"),
        ("GET", "/sessions/userInfo"),
    ] {
        let req = s
            .client
            .request(method.parse().unwrap(), server.url(&format!("{LIB}{path}")))
            .header("X-MSTR-AuthToken", &s.token);
        assert_mstr_error(req.send().await.unwrap(), 401, "ERR009").await;
    }
    // Logging out an expired session answers ERR009, as mstrio's close() expects.
    assert_mstr_error(
        send(s.post(&server.url(&format!("{LIB}/auth/logout")))).await,
        401,
        "ERR009",
    )
    .await;
    // An identity token of an expired session is worthless too.
    let s2 = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let identity = identity_token(&s2, &server).await;
    wait_until_swept(&server).await;
    let resp = delegate(
        &server,
        &serde_json::json!({"loginMode": -1, "identityToken": identity}),
    )
    .await;
    assert_mstr_error(resp, 401, "ERR003").await;
    // Swept sessions are gone from the file, so they do not come back at a restart.
    let deadline = Instant::now() + Duration::from_secs(20);
    while session_rows(&server) > 0 {
        assert!(Instant::now() < deadline, "the sweep left rows in the file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut server = server;
    server.kill9_and_restart();
    assert_eq!(live_sessions(&server).await, 0.0);
    assert_eq!(crate::durability::check(&server, &s2).await, 401);
}

/// The rows of the sessions table in the server's SQLite file, read by Python's sqlite3 (the
/// test does not link a SQLite of its own).
fn session_rows(server: &TestServer) -> usize {
    let db = server.data_dir().join("vestibule.db");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM sessions').fetchone()[0])",
        ])
        .arg(&db)
        .output()
        .expect("python3 (scripts/ci-install.sh installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a row count")
}

#[tokio::test]
async fn mstr_keep_alive_extends_the_session() {
    let server = short_timeout_server("2", "3");
    let kept = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let idle = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let url = server.url(&format!("{LIB}/sessions"));
    // Five seconds of keep-alives every half second: far past the two-second timeout.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let resp = kept.put(&url).send().await.unwrap();
        assert_eq!(resp.status(), 204);
    }
    assert_eq!(status_of(&kept, &url).await, 200);
    assert_eq!(status_of(&idle, &url).await, 401);
}

#[tokio::test]
async fn mstr_client_logged_in_under_both_prefixes_keeps_both_sessions() {
    let server = TestServer::start();
    let c = client();
    let mut tokens = Vec::new();
    for prefix in ["/api", LIB] {
        let url = server.url(&format!("{prefix}/auth/login"));
        let resp = form_login(&c, &url, "administrator", ADMIN_PASSWORD).await;
        assert_eq!(resp.status(), 204);
        tokens.push(token_of(&resp));
    }
    // Under the context path the jar sends both JSESSIONIDs; each token finds its own.
    for token in &tokens {
        let s = MstrSession {
            client: c.clone(),
            token: token.clone(),
        };
        assert_eq!(status_of(&s, &server.url(&format!("{LIB}/sessions"))).await, 200);
    }
    let s = MstrSession {
        client: c.clone(),
        token: tokens[0].clone(),
    };
    assert_eq!(status_of(&s, &server.url("/api/sessions")).await, 200);
    // Under /api only the Path=/ cookie is sent, so the context-path session is refused there.
    let s = MstrSession {
        client: c.clone(),
        token: tokens[1].clone(),
    };
    assert_eq!(status_of(&s, &server.url("/api/sessions")).await, 401);
}

/// The number of rows in the embedded store's `sessions` table, read by another process.
fn stored_sessions(server: &TestServer) -> i64 {
    let db = server.data_dir().join("vestibule.db");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM sessions').fetchone()[0])",
            db.to_str().unwrap(),
        ])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test]
async fn mstr_expired_sessions_are_swept_from_the_store() {
    let server = short_timeout_server("1", "2");
    for _ in 0..3 {
        mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    }
    // Written through at login.
    assert_eq!(stored_sessions(&server), 3);
    // Nobody touches them again: the background sweep removes them from the file.
    let mut left = 3;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = stored_sessions(&server);
        if left == 0 {
            break;
        }
    }
    assert_eq!(left, 0, "expired sessions were not swept");
}
