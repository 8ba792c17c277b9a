//! Structured logs: JSON lines when `log.format = "json"`, a request id on every line written while
//! serving a request (also returned as `x-request-id`), and never a password, token or cookie, even
//! at the debug level.

use std::time::Duration;

use crate::common::{client, TestServer, ADMIN_PASSWORD};

const PASSWORD: &str = "Correct-Horse-9f1e2d";
const WRONG_PASSWORD: &str = "Wrong-Battery-77aa31";

fn json_lines(server: &TestServer) -> Vec<serde_json::Value> {
    server
        .stderr()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn request_id_of(line: &serde_json::Value) -> Option<&str> {
    line.get("span")?.get("request_id")?.as_str()
}

/// Waits until the server has logged the access line of `id` (logs are written asynchronously to
/// the pipe the test reads).
async fn wait_for_line(server: &TestServer, id: &str) {
    for _ in 0..200 {
        if json_lines(server)
            .iter()
            .any(|l| request_id_of(l) == Some(id) && l["fields"]["message"] == "answered")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no access line for request {id}:\n{}", server.stderr());
}

#[tokio::test]
async fn json_logs_carry_request_ids_and_no_secrets() {
    let server = TestServer::start_with(&[
        ("VESTIBULE_LOG_FORMAT", "json"),
        ("VESTIBULE_LOG_LEVEL", "debug"),
        ("VESTIBULE_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    server.add_user("loggeduser", PASSWORD);
    let c = client();

    // A login whose body holds the password, with a caller-chosen request id.
    let resp = c
        .post(server.url("/api/auth/login"))
        .header("x-request-id", "caller-id-123")
        .form(&[
            ("loginMode", "1"),
            ("username", "loggeduser"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["x-request-id"], "caller-id-123");
    let token = resp.headers()["x-mstr-authtoken"].to_str().unwrap().to_string();
    let status_id = c
        .get(server.url("/api/status"))
        .send()
        .await
        .unwrap()
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(status_id.is_some(), "every answer carries x-request-id");

    // A failed login (a warning with a ticket id), with an id that could forge log lines.
    let resp = c
        .post(server.url("/api/auth/login"))
        .header("x-request-id", "evil id\tinjected")
        .json(&serde_json::json!({"loginMode": 1, "username": "loggeduser", "password": WRONG_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let failed_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(failed_id, "evil id\tinjected");
    assert_eq!(failed_id.len(), 16, "a generated id: {failed_id}");

    // Authenticated calls: the token in a header, the cookie from the jar.
    let resp = c
        .get(server.url("/api/sessions"))
        .header("X-MSTR-AuthToken", &token)
        .header("Authorization", "Bearer also-a-secret-value-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ok_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let resp = c
        .post(server.url("/api/auth/identityToken"))
        .header("X-MSTR-AuthToken", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let identity = resp.headers()["x-mstr-identitytoken"]
        .to_str()
        .unwrap()
        .to_string();
    let last = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(ok_id, last, "ids differ between requests");

    wait_for_line(&server, "caller-id-123").await;
    wait_for_line(&server, &failed_id).await;
    wait_for_line(&server, &ok_id).await;
    wait_for_line(&server, &last).await;

    let lines = json_lines(&server);
    // Every line written inside a request names its id; the failed login's warning among them.
    for l in &lines {
        if l.get("span").is_some() {
            assert!(
                request_id_of(l).is_some(),
                "a request line without request_id: {l}"
            );
        }
    }
    let failed = lines
        .iter()
        .find(|l| request_id_of(l) == Some(failed_id.as_str()) && l["fields"]["message"] == "answered")
        .unwrap();
    assert_eq!(failed["fields"]["status"], 401);
    assert_eq!(failed["span"]["route"], "/api/auth/login");
    let access = lines
        .iter()
        .find(|l| request_id_of(l) == Some(ok_id.as_str()) && l["fields"]["message"] == "answered")
        .unwrap();
    assert_eq!(access["span"]["route"], "/api/sessions");
    assert_eq!(access["span"]["method"], "GET");
    assert_eq!(access["fields"]["status"], 200);

    // No secret anywhere in the log.
    let log = server.stderr();
    let all = log.as_str();
    for secret in [
        PASSWORD,
        WRONG_PASSWORD,
        ADMIN_PASSWORD,
        &token,
        &identity,
        "also-a-secret-value-42",
    ] {
        assert!(!all.contains(secret), "the log contains a secret ({secret})");
    }
    assert!(
        !all.to_ascii_lowercase().contains("jsessionid="),
        "the log contains a cookie"
    );
}

#[tokio::test]
async fn text_logs_name_the_request_id_too() {
    let server = TestServer::start_with(&[("VESTIBULE_LOG_LEVEL", "debug")]);
    let resp = client()
        .get(server.url("/api/sessions"))
        .header("x-request-id", "text-req-7")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    for _ in 0..200 {
        if server.stderr().contains("answered") && server.stderr().contains("text-req-7") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let log = server.stderr();
    let ours: Vec<&str> = log.lines().filter(|l| l.contains("text-req-7")).collect();
    assert!(
        ours.iter()
            .any(|l| l.contains("answered") && l.contains("status=401")),
        "{log}"
    );
}

/// Waits until some line of the log contains every one of `parts`, and returns that line.
async fn wait_for_text(server: &TestServer, parts: &[&str]) -> String {
    for _ in 0..200 {
        if let Some(line) = server
            .stderr()
            .lines()
            .find(|l| parts.iter().all(|p| l.contains(p)))
        {
            return line.to_string();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no line with {parts:?}:\n{}", server.stderr());
}

/// The exact shape of a line written in a request, as the `request` span printed it before the
/// request context replaced it (see docs/operations.md).
#[tokio::test]
async fn request_lines_keep_their_shape() {
    let server = TestServer::start_with(&[
        ("VESTIBULE_LOG_LEVEL", "info,vestibule::access=debug"),
        ("VESTIBULE_LOG_ACCESS", "debug"),
    ]);
    client()
        .get(server.url("/api/sessions"))
        .header("x-request-id", "shape-req-1")
        .send()
        .await
        .unwrap();
    let line = wait_for_text(&server, &["shape-req-1", "answered"]).await;
    let (_timestamp, rest) = line.split_once(' ').unwrap();
    assert!(
        rest.starts_with(
            "DEBUG request{request_id=\"shape-req-1\" method=GET route=/api/sessions}: \
             vestibule::access: answered status=401 micros="
        ) && rest.ends_with(" path=/api/sessions client=127.0.0.1"),
        "{line}"
    );
    let serving = wait_for_text(&server, &["serving"]).await;
    assert!(
        serving
            .split_once(' ')
            .unwrap()
            .1
            .starts_with(" INFO vestibule::serve: serving addr="),
        "a line outside a request names none: {serving}"
    );

    let server = TestServer::start_with(&[
        ("VESTIBULE_LOG_LEVEL", "info,vestibule::access=debug"),
        ("VESTIBULE_LOG_ACCESS", "debug"),
        ("VESTIBULE_LOG_FORMAT", "json"),
    ]);
    client()
        .get(server.url("/no/such/path"))
        .header("x-request-id", "shape-req-2")
        .send()
        .await
        .unwrap();
    let line = wait_for_text(&server, &["shape-req-2", "answered"]).await;
    let request = r#"{"method":"GET","request_id":"shape-req-2","route":"unmatched","name":"request"}"#;
    assert!(line.starts_with(r#"{"timestamp":""#), "{line}");
    assert!(
        line.contains(r#"","level":"DEBUG","fields":{"message":"answered","status":404,"micros":"#),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(
            r#"}},"target":"vestibule::access","span":{request},"spans":[{request}]}}"#
        )),
        "{line}"
    );
}

/// sqlx's SQLite driver logs each statement on its own worker thread, in the span that was current
/// when the statement was sent: that is the request's, so statement lines name the request too.
#[tokio::test]
async fn store_statements_name_their_request() {
    let server = TestServer::start_with(&[("VESTIBULE_LOG_LEVEL", "info,sqlx::query=debug")]);
    let resp = client()
        .post(server.url("/api/auth/login"))
        .header("x-request-id", "store-req-1")
        .form(&[
            ("loginMode", "1"),
            ("username", "administrator"),
            ("password", WRONG_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    wait_for_text(&server, &["store-req-1", "answered"]).await;
    // The user's row is read while the request is served.
    wait_for_text(
        &server,
        &[
            "request{request_id=\"store-req-1\" method=POST route=/api/auth/login}: sqlx::query: ",
            "FROM users",
        ],
    )
    .await;
}

/// A login with a wrong password: an audit event and an access line.
async fn failed_login(server: &TestServer) {
    let resp = client()
        .post(server.url("/api/auth/login"))
        .form(&[
            ("loginMode", "1"),
            ("username", "administrator"),
            ("password", WRONG_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// Parses every line of `text` as JSON, naming the stream of a line that is not.
fn every_line_json(stream: &str, text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{stream}: not JSON ({e}): {l}\n{text}")))
        .collect()
}

/// In JSON mode each stream holds one schema: stderr the log lines (start-up lines included),
/// stdout the audit events.
#[tokio::test]
async fn json_mode_keeps_one_schema_per_stream() {
    let mut server = TestServer::start_with(&[
        ("VESTIBULE_LOG_FORMAT", "json"),
        // The first start makes an administrator with a generated password, and says so.
        ("VESTIBULE_ADMIN_PASSWORD", ""),
    ]);
    failed_login(&server).await;
    server.stop();
    let log = every_line_json("stderr", &server.stderr());
    for l in &log {
        for key in ["timestamp", "level", "target"] {
            assert!(l[key].is_string(), "{key} missing: {l}");
        }
        assert!(l["fields"]["message"].is_string(), "message missing: {l}");
    }
    let start: Vec<_> = log.iter().filter(|l| l["target"] == "vestibule::start").collect();
    assert!(
        start.iter().any(|l| l["fields"]["message"] == "listening"
            && l["fields"]["url"].as_str().is_some_and(|u| u == server.base)),
        "{start:?}"
    );
    assert!(
        start.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("first start: created user 'administrator' with password: "))),
        "{start:?}"
    );
    let access = log
        .iter()
        .find(|l| l["fields"]["message"] == "answered")
        .expect("an access line");
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["fields"]["path"], "/api/auth/login");
    assert!(access["span"]["request_id"].is_string(), "{access}");
    let audit = every_line_json("stdout", &server.stdout());
    assert!(
        audit.iter().any(|e| e["event"] == "login_failed"),
        "the audit event of the failed login on stdout: {audit:?}"
    );
}

/// A start that fails in JSON mode says so in one JSON line, and nothing else.
#[test]
fn a_failed_json_start_is_one_json_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["serve", "--listen", &addr])
        .env("VESTIBULE_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = every_line_json("stderr", &stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(
        lines[0]["fields"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot listen")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// The access line at `info`: the path without its query, the client, the user once known, and
/// the trace of a W3C `traceparent`, whose trace goes back on the response.
#[tokio::test]
async fn access_lines_at_info_name_the_client_user_and_trace() {
    let server = TestServer::start();
    let c = client();
    let login = crate::common::mstr::form_login(
        &c,
        &server.url("/api/auth/login"),
        "administrator",
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(login.status(), 204);
    let token = crate::common::mstr::token_of(&login);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let resp = c
        .get(server.url("/api/sessions/userInfo?secretish=not-logged-9d"))
        .header("x-mstr-authtoken", &token)
        .header("x-request-id", "access-req-1")
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer = resp.headers()["traceparent"].to_str().unwrap().to_string();
    let parts: Vec<&str> = answer.split('-').collect();
    assert_eq!(parts.len(), 4, "{answer}");
    assert_eq!((parts[0], parts[1], parts[3]), ("00", trace, "01"), "{answer}");
    assert!(
        parts[2].len() == 16 && parts[2] != "00f067aa0ba902b7",
        "our own span: {answer}"
    );
    let info: serde_json::Value = resp.json().await.unwrap();
    let user_id = info["id"].as_str().unwrap().to_string();

    let line = wait_for_text(&server, &["access-req-1", "answered"]).await;
    assert!(
        line.contains(" INFO request{request_id=\"access-req-1\" method=GET route="),
        "{line}"
    );
    for part in [
        "status=200",
        " path=/api/sessions/userInfo ",
        " client=127.0.0.1",
        &format!(" user_id={user_id}"),
        &format!(" trace_id={trace}"),
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(
        !server.stderr().contains("not-logged-9d"),
        "the query is not logged"
    );

    // A malformed traceparent is ignored: no trace, no answer.
    let resp = c
        .get(server.url("/api/sessions"))
        .header("x-mstr-authtoken", &token)
        .header("traceparent", "00-not-a-trace")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("traceparent").is_none());
    // Health probes write none by default.
    c.get(server.url("/health/live")).send().await.unwrap();
    c.get(server.url("/api/status"))
        .header("x-request-id", "after-health")
        .send()
        .await
        .unwrap();
    wait_for_text(&server, &["after-health", "answered"]).await;
    assert!(
        !server.stderr().contains("path=/health/live"),
        "{}",
        server.stderr()
    );
}

#[tokio::test]
async fn access_lines_follow_their_settings() {
    let quiet = TestServer::start_with(&[("VESTIBULE_LOG_ACCESS", "off")]);
    let c = client();
    c.get(quiet.url("/api/status")).send().await.unwrap();
    let mut quiet = quiet;
    quiet.stop();
    assert!(!quiet.stderr().contains("answered"), "{}", quiet.stderr());

    let probes = TestServer::start_with(&[
        ("VESTIBULE_LOG_ACCESS", "warn"),
        ("VESTIBULE_LOG_ACCESS_HEALTH", "true"),
    ]);
    c.get(probes.url("/health/live"))
        .header("x-request-id", "probe-1")
        .send()
        .await
        .unwrap();
    let line = wait_for_text(&probes, &["probe-1", "answered"]).await;
    assert!(
        line.contains(" WARN ") && line.contains(" path=/health/live "),
        "{line}"
    );

    // A filter that leaves requests' context out of lines: the access line names the request.
    let bare = TestServer::start_with(&[("VESTIBULE_LOG_LEVEL", "warn,vestibule::access=info")]);
    c.get(bare.url("/api/status"))
        .header("x-request-id", "bare-1")
        .send()
        .await
        .unwrap();
    let line = wait_for_text(&bare, &["bare-1", "answered"]).await;
    assert!(
        line.contains(" INFO vestibule::access: answered status=200 ")
            && line.ends_with(" request_id=bare-1 method=GET route=/api/status"),
        "{line}"
    );
}

/// `audit.target = "stderr"` puts the audit events beside the log; stdout keeps only the
/// listening line.
#[tokio::test]
async fn the_audit_log_goes_where_it_is_told() {
    let mut server = TestServer::start_with(&[("VESTIBULE_AUDIT_TARGET", "stderr")]);
    failed_login(&server).await;
    server.stop();
    assert!(
        server
            .stderr()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|e| e["event"] == "login_failed"),
        "{}",
        server.stderr()
    );
    let stdout = server.stdout();
    assert!(
        stdout.lines().all(|l| l.starts_with("vestibule listening on ")),
        "{stdout}"
    );
}
