//! MicroStrategy error paths against the real binary: unknown routes, malformed and missing input,
//! and garbage of every kind, all answered in the `{code, message, ticketId}` shape, never a 500.

use serde_json::json as j;

use crate::common::mstr::{assert_mstr_error, delegate, form_login, status_of, LIB};
use crate::common::{client, json, mstr_login, raw_request, send, TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn mstr_unknown_routes_answer_err004() {
    let server = TestServer::start();
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    for path in [
        "/api/nothing",
        "/MicroStrategyLibrary/api/nothing/here",
        "/MicroStrategyLibrary/api/auth",
        "/api/sessions/userInfo/extra",
        "/nothing",
        "/MicroStrategyLibrary/nothing",
    ] {
        assert_mstr_error(
            client().get(server.url(path)).send().await.unwrap(),
            404,
            "ERR004",
        )
        .await;
        assert_mstr_error(s.get(&server.url(path)).send().await.unwrap(), 404, "ERR004").await;
    }
    // A known path with the wrong method is not a 500 either, and answers in the same shape.
    let resp = send(client().get(server.url(&format!("{LIB}/auth/login")))).await;
    let (st, body) = json(resp).await;
    assert_eq!(st, 405, "{body}");
    assert!(body["code"].is_string() && body["ticketId"].is_string(), "{body}");
}

#[tokio::test]
async fn mstr_bad_json_is_err006_and_missing_fields_err007() {
    let server = TestServer::start();
    let login = server.url(&format!("{LIB}/auth/login"));
    for bad in [
        "{\"loginMode\": 1, \"username\": ",
        "[1, 2, 3]",
        "\"a string\"",
        "42",
        "{\"loginMode\": 1, \"username\": \"administrator\", \"password\": \"x\"} trailing",
    ] {
        let resp = send(
            client()
                .post(&login)
                .header("Content-Type", "application/json")
                .body(bad),
        )
        .await;
        assert_mstr_error(resp, 400, "ERR006").await;
    }
    for body in [
        j!({"loginMode": "one", "username": "administrator", "password": "x"}),
        j!({"loginMode": 1.5, "username": "administrator", "password": "x"}),
        j!({"loginMode": 99999999999i64, "username": "administrator", "password": "x"}),
        j!({"loginMode": [1], "username": "administrator", "password": "x"}),
        j!({"loginMode": 1, "username": {"a": 1}, "password": "x"}),
        j!({"loginMode": 1, "username": "administrator", "password": ["x"]}),
        j!({"loginMode": 1, "username": "administrator", "password": "x", "applicationType": "web"}),
    ] {
        let resp = client().post(&login).json(&body).send().await.unwrap();
        assert_mstr_error(resp, 400, "ERR006").await;
    }
    for body in [
        j!({"loginMode": 1, "password": "x"}),
        j!({"loginMode": 1, "username": "", "password": "x"}),
        j!({"loginMode": 1, "username": null, "password": "x"}),
        j!({}),
    ] {
        let resp = client().post(&login).json(&body).send().await.unwrap();
        assert_mstr_error(resp, 400, "ERR007").await;
    }
    let resp = send(
        client()
            .post(&login)
            .form(&[("loginMode", "1"), ("password", "x")]),
    )
    .await;
    assert_mstr_error(resp, 400, "ERR007").await;
    // An empty body names no user.
    let resp = client().post(&login).send().await.unwrap();
    assert_mstr_error(resp, 400, "ERR007").await;
    // The delegate endpoint reads its body the same way.
    let resp = send(
        client()
            .post(server.url(&format!("{LIB}/auth/delegate")))
            .header("Content-Type", "application/json")
            .body("{nope"),
    )
    .await;
    assert_mstr_error(resp, 400, "ERR006").await;
}

/// A small deterministic generator, so a failure can be reproduced.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[tokio::test]
async fn mstr_garbage_never_gets_a_500() {
    let server = TestServer::start();
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let mut rng = Lcg(0x5eed);
    let endpoints = [
        ("POST", "/auth/login"),
        ("POST", "/auth/logout"),
        ("POST", "/auth/delegate"),
        ("POST", "/auth/identityToken"),
        ("GET", "/auth/identityToken"),
        ("DELETE", "/auth/identityToken"),
        ("POST", "/auth/apiTokens"),
        ("GET", "/sessions"),
        ("PUT", "/sessions"),
        ("GET", "/sessions/userInfo"),
        ("GET", "/sessions/privileges"),
        ("GET", "/status"),
        ("GET", "/projects"),
    ];
    let content_types = [
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=xyz"),
        Some("application/json; charset=utf-16"),
        Some("\u{1}garbage/type"),
        Some("garbage/typ\u{e9}"),
    ];
    let mut checked = 0;
    for (method, path) in endpoints {
        for ct in content_types {
            for len in [1usize, 17, 300, 5000] {
                let body = rng.bytes(len);
                // Logging out with garbage would rightly end the session the loop uses.
                let authed_too = path != "/auth/logout";
                for authed in [false, authed_too] {
                    let url = server.url(&format!("{LIB}{path}"));
                    if let Some(ct) = ct.filter(|ct| ct.chars().any(char::is_control)) {
                        // reqwest refuses a control character in a header, so the request is
                        // written to the socket as it is. The HTTP parser refuses it with a 400
                        // before any route sees it.
                        let mut head = format!(
                            "{method} {LIB}{path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {ct}",
                            server.addr()
                        );
                        if authed {
                            head.push_str(&format!("\r\nX-MSTR-AuthToken: {}", s.token));
                        }
                        let (status, b) = raw_request(&server, head.as_bytes(), &body).await;
                        let b = String::from_utf8_lossy(&b);
                        assert_eq!(status, 400, "{method} {path} ({ct:?}, {len} bytes): {b}");
                        checked += 1;
                        continue;
                    }
                    let mut req = if authed {
                        s.client
                            .request(method.parse().unwrap(), &url)
                            .header("X-MSTR-AuthToken", &s.token)
                    } else {
                        client().request(method.parse().unwrap(), &url)
                    };
                    if let Some(ct) = ct {
                        req = req.header("Content-Type", ct);
                    }
                    let resp = req.body(body.clone()).send().await.unwrap();
                    let status = resp.status().as_u16();
                    let (_, b) = json(resp).await;
                    assert!(
                        status < 500,
                        "{method} {path} ({ct:?}, {len} bytes): {status} {b}"
                    );
                    if status >= 400 {
                        assert!(
                            b["code"].is_string() && b["ticketId"].is_string(),
                            "{method} {path}: error not in the MicroStrategy shape: {status} {b}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500);
    // The session survived all of it.
    assert_eq!(status_of(&s, &server.url(&format!("{LIB}/sessions"))).await, 200);
}

#[tokio::test]
async fn mstr_huge_fields_and_bodies_are_refused_cleanly() {
    let server = TestServer::start();
    let login = server.url(&format!("{LIB}/auth/login"));
    let big = "a".repeat(1 << 20);
    for body in [
        j!({"loginMode": 1, "username": big, "password": "x"}),
        j!({"loginMode": 1, "username": "administrator", "password": big}),
        j!({"loginMode": 4096, "username": big}),
    ] {
        let resp = client().post(&login).json(&body).send().await.unwrap();
        assert_mstr_error(resp, 401, "ERR003").await;
    }
    let resp = delegate(&server, &j!({"loginMode": -1, "identityToken": big})).await;
    assert_mstr_error(resp, 401, "ERR003").await;
    let resp = send(
        client()
            .get(server.url(&format!("{LIB}/auth/identityToken")))
            .header("X-MSTR-IdentityToken", "b".repeat(8000)),
    )
    .await;
    assert_mstr_error(resp, 401, "ERR003").await;
    // A body far over any sane login: refused in the dialect's shape, not by the framework.
    let huge = "x".repeat(3 << 20);
    let resp = send(
        client()
            .post(&login)
            .header("Content-Type", "application/json")
            .body(huge),
    )
    .await;
    let b = assert_mstr_error(resp, 413, "ERR006").await;
    assert!(b["message"].as_str().unwrap().contains("length limit"), "{b}");
    // Deeply nested JSON does not blow the stack.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let resp = send(
        client()
            .post(&login)
            .header("Content-Type", "application/json")
            .body(nested),
    )
    .await;
    assert_mstr_error(resp, 400, "ERR006").await;
    // The server is still up and working.
    mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn mstr_store_outage_answers_503_err016() {
    use std::io::BufRead;
    let server = TestServer::start_with(&[("VESTIBULE_STORE_TIMEOUT_SECS", "1")]);
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let db = server.data_dir().join("vestibule.db");
    assert!(db.exists());
    // Another process takes the file's write lock and keeps it until its stdin ends.
    let script = "import sqlite3, sys\n\
                  c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
                  c.execute('BEGIN EXCLUSIVE')\n\
                  print('locked', flush=True)\n\
                  sys.stdin.read()\n\
                  c.execute('COMMIT')\n";
    let mut locker = std::process::Command::new("python3")
        .args(["-c", script, db.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (needed to hold a SQLite lock)");
    let mut line = String::new();
    std::io::BufReader::new(locker.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    // A login must write its session durably: it cannot, so it answers 503, not 500.
    let url = server.url(&format!("{LIB}/auth/login"));
    let resp = form_login(&client(), &url, "administrator", ADMIN_PASSWORD).await;
    let body = assert_mstr_error(resp, 503, "ERR016").await;
    assert!(
        !body["message"].as_str().unwrap().contains("locked"),
        "no storage details: {body}"
    );
    // Session checks are served from memory meanwhile.
    assert_eq!(status_of(&s, &server.url(&format!("{LIB}/sessions"))).await, 200);
    drop(locker.stdin.take());
    assert!(locker.wait().unwrap().success());
    // Once the lock is gone, logins work again.
    mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
}
