//! `/health/live`, `/health/ready` and `vestibule healthcheck` against the real binary: ready on
//! the embedded store; not ready, naming the dependency, while a Redis session store or the LDAP
//! directory is stopped, and ready again once it is back; the probes write no access line.

use serde_json::Value;

use crate::common::ldap::Slapd;
use crate::common::redis::OwnRedis;
use crate::common::{client, TestServer};

async fn get(server: &TestServer, path: &str) -> (u16, Value) {
    let resp = client().get(server.url(path)).send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

/// `vestibule healthcheck` with `args`: its exit code and what it printed.
fn healthcheck(server: &TestServer, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["healthcheck"];
    all.extend_from_slice(args);
    let out = server.cli(&all, "");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test]
async fn health_probes_answer_on_the_embedded_store() {
    let server = TestServer::start_with(&[("VESTIBULE_LOG_LEVEL", "info,vestibule::access=debug")]);
    let (status, body) = get(&server, "/health/live").await;
    assert_eq!((status, &body["status"]), (200, &Value::from("live")), "{body}");
    let (status, body) = get(&server, "/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    for dep in ["metadata", "sessions", "login_budgets"] {
        assert_eq!(body["checks"][dep], "ok", "{dep}: {body}");
    }
    assert!(
        body["checks"].get("ldap").is_none(),
        "no directory is configured: {body}"
    );

    let url = server.url("/health/ready");
    let (code, text) = healthcheck(&server, &["--url", &url]);
    assert_eq!(code, Some(0), "{text}");
    // Without --url it asks the configured listen address: the test server's own.
    let listen = server.base.trim_start_matches("http://").to_string();
    let out = server
        .command()
        .args(["healthcheck"])
        .env("VESTIBULE_LISTEN", &listen)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Nothing answers on a port nobody listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let (code, text) = healthcheck(
        &server,
        &[
            "--url",
            &format!("http://{free}/health/ready"),
            "--timeout-secs",
            "2",
        ],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no answer"), "{text}");

    // A probe every few seconds would drown the access log: a normal request is logged, a probe not.
    client()
        .get(server.url("/api/status"))
        .send()
        .await
        .expect("send");
    let mut server = server;
    server.stop();
    let log = server.stderr();
    assert!(
        log.contains("/api/status"),
        "the access line of a normal request: {log}"
    );
    assert!(!log.contains("/health/"), "no access line for the probes: {log}");
}

#[tokio::test]
#[cfg_attr(
    not(test_redis_server),
    ignore = "redis-server is not installed (scripts/ci-install.sh)"
)]
async fn readiness_names_a_stopped_session_store_until_it_is_back() {
    let mut redis = OwnRedis::start("ops_health::readiness_names_a_stopped_session_store_until_it_is_back");
    let server = TestServer::start_with(&[
        ("VESTIBULE_STORE_SESSIONS", &redis.url()),
        ("VESTIBULE_STORE_TIMEOUT_SECS", "1"),
    ]);
    let (status, body) = get(&server, "/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["sessions"], "ok", "{body}");

    redis.kill();
    let started = std::time::Instant::now();
    let (status, body) = get(&server, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_ne!(body["checks"]["sessions"], "ok", "{body}");
    assert_eq!(
        body["checks"]["metadata"], "ok",
        "the SQLite store still answers: {body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered within its timeout"
    );
    let (code, text) = healthcheck(&server, &["--url", &server.url("/health/ready")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("503") && text.contains("sessions"), "{text}");
    let (status, _) = get(&server, "/health/live").await;
    assert_eq!(status, 200, "the process itself is live");

    let redis = tokio::task::spawn_blocking(move || {
        redis.start_again();
        redis
    })
    .await
    .expect("restart");
    let mut ready = false;
    for _ in 0..50 {
        if get(&server, "/health/ready").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once Redis is back");
    drop(redis);
}

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
async fn readiness_names_a_stopped_directory() {
    let mut slapd = Slapd::start("ops_health::readiness_names_a_stopped_directory");
    let server = crate::ldap::server_for(&slapd, &[]);
    let (status, body) = get(&server, "/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["ldap"], "ok", "{body}");
    slapd.stop();
    let (status, body) = get(&server, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_ne!(body["checks"]["ldap"], "ok", "{body}");
    assert_eq!(body["checks"]["sessions"], "ok", "{body}");
    slapd.start_again();
    let (status, body) = get(&server, "/health/ready").await;
    assert_eq!(status, 200, "ready once the directory is back: {body}");
}
