//! `/metrics`: Prometheus text format, requests by route template (never raw paths) and status,
//! the latency histogram, live sessions, logins by dialect, mode and result, the process and the
//! build.

use crate::common::ops::{parse_prometheus, sample};
use crate::common::{client, mstr_login, TestServer, ADMIN_PASSWORD};

async fn scrape(server: &TestServer) -> (String, Vec<(String, f64)>) {
    let resp = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "content-type {ct}");
    let text = resp.text().await.unwrap();
    let samples = parse_prometheus(&text);
    (text, samples)
}

#[tokio::test]
async fn metrics_count_routes_statuses_logins_and_sessions() {
    let server = TestServer::start();
    let session = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let bad = client()
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"loginMode": 1, "username": "administrator", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let raw_id = "0123456789ABCDEF0123456789ABCDEF";
    let r = session
        .get(&server.url(&format!("/MicroStrategyLibrary/api/sessions/privileges/{raw_id}")))
        .send()
        .await
        .unwrap();
    // Not a privilege id: the route matches, the id does not.
    assert_eq!(r.status(), 404);
    let privilege_status = r.status().as_u16();
    for _ in 0..3 {
        let r = session
            .get(&server.url("/MicroStrategyLibrary/api/sessions"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = client()
        .get(server.url("/no/such/place/42"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let (text, samples) = scrape(&server).await;
    let get = |s: &str| sample(&samples, s).unwrap_or_else(|| panic!("missing {s} in:\n{text}"));

    assert_eq!(
        get(
            r#"vestibule_http_requests_total{route="/MicroStrategyLibrary/api/auth/login",method="POST",status="204"}"#
        ),
        1.0
    );
    assert_eq!(
        get(r#"vestibule_http_requests_total{route="/api/auth/login",method="POST",status="401"}"#),
        1.0
    );
    assert_eq!(
        get(
            r#"vestibule_http_requests_total{route="/MicroStrategyLibrary/api/sessions",method="GET",status="200"}"#
        ),
        3.0
    );
    // The template, not the raw path.
    assert_eq!(
        get(&format!(
            r#"vestibule_http_requests_total{{route="/MicroStrategyLibrary/api/sessions/privileges/{{id}}",method="GET",status="{privilege_status}"}}"#
        )),
        1.0
    );
    assert!(!text.contains(raw_id), "a raw path leaked into the labels");
    assert!(
        !text.contains("/no/such/place"),
        "an unmatched raw path leaked into the labels"
    );
    assert_eq!(
        get(r#"vestibule_http_requests_total{route="unmatched",method="GET",status="404"}"#),
        1.0
    );

    // The histogram: cumulative buckets ending in +Inf equal to the count.
    let route = r#"route="/MicroStrategyLibrary/api/sessions""#;
    let inf = get(&format!(
        r#"vestibule_http_request_duration_seconds_bucket{{{route},le="+Inf"}}"#
    ));
    assert_eq!(inf, 3.0);
    assert_eq!(
        get(&format!(
            "vestibule_http_request_duration_seconds_count{{{route}}}"
        )),
        3.0
    );
    assert!(get(&format!("vestibule_http_request_duration_seconds_sum{{{route}}}")) > 0.0);
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(s, _)| {
            s.starts_with(&format!(
                "vestibule_http_request_duration_seconds_bucket{{{route},"
            ))
        })
        .map(|(_, v)| *v)
        .collect();
    assert!(buckets.len() > 5);
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]),
        "buckets not cumulative: {buckets:?}"
    );
    // The scrape itself is in flight while it renders.
    assert!(get("vestibule_http_requests_in_flight") >= 1.0);

    // Logins by mode and result; this process made exactly these.
    assert_eq!(
        get(r#"vestibule_logins_total{dialect="mstr",mode="standard",result="ok"}"#),
        1.0
    );
    assert_eq!(
        get(r#"vestibule_logins_total{dialect="mstr",mode="standard",result="failed"}"#),
        1.0
    );
    assert_eq!(
        get(r#"vestibule_logins_total{dialect="mstr",mode="ldap",result="ok"}"#),
        0.0
    );
    assert!(sample(&samples, "vestibule_lockouts_total").is_some());
    assert_eq!(get("vestibule_sessions_live"), 1.0);

    let r = session
        .post(&server.url("/MicroStrategyLibrary/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, samples) = scrape(&server).await;
    assert_eq!(sample(&samples, "vestibule_sessions_live"), Some(0.0));
}

#[tokio::test]
async fn metrics_count_lockouts() {
    let server = TestServer::start_with(&[
        ("VESTIBULE_THROTTLE_ACCOUNT_LOCKOUT_FAILURES", "2"),
        ("VESTIBULE_THROTTLE_ACCOUNT_FREE_FAILURES", "5"),
        ("VESTIBULE_THROTTLE_BASE_DELAY_MS", "1"),
        ("VESTIBULE_THROTTLE_MAX_DELAY_MS", "1"),
    ]);
    let (_, samples) = scrape(&server).await;
    assert_eq!(sample(&samples, "vestibule_lockouts_total"), Some(0.0));
    for _ in 0..2 {
        let r = client()
            .post(server.url("/api/auth/login"))
            .json(&serde_json::json!({"loginMode": 1, "username": "administrator", "password": "wrong"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let (text, samples) = scrape(&server).await;
    assert_eq!(sample(&samples, "vestibule_lockouts_total"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &samples,
            r#"vestibule_logins_total{dialect="mstr",mode="standard",result="failed"}"#
        ),
        Some(2.0)
    );
}

/// ThoughtSpot logins (password, trusted authentication) are counted under their dialect.
#[tokio::test]
async fn thoughtspot_logins_are_counted_by_dialect() {
    let server = TestServer::start();
    let c = client();
    let v2 = server.url("/api/rest/2.0/auth/session/login");
    let ok = c
        .post(&v2)
        .json(&serde_json::json!({"username": "administrator", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    let bad = c
        .post(&v2)
        .json(&serde_json::json!({"username": "administrator", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    crate::common::ts::trusted_auth(&server, "enable");
    let wrong_key = c
        .post(server.url("/api/rest/2.0/auth/token/full"))
        .json(&serde_json::json!({"username": "administrator", "secret_key": "b0cb26a0-351e-40b4-9e42-00fa2265d50c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
    let (text, samples) = scrape(&server).await;
    let get = |name: &str| sample(&samples, name).unwrap_or_else(|| panic!("{name} missing:\n{text}"));
    assert_eq!(
        get(r#"vestibule_logins_total{dialect="thoughtspot",mode="standard",result="ok"}"#),
        1.0
    );
    assert_eq!(
        get(r#"vestibule_logins_total{dialect="thoughtspot",mode="standard",result="failed"}"#),
        1.0
    );
    assert_eq!(
        get(r#"vestibule_logins_total{dialect="thoughtspot",mode="trusted",result="failed"}"#),
        1.0
    );
    assert_eq!(
        get(r#"vestibule_logins_total{dialect="mstr",mode="standard",result="ok"}"#),
        0.0
    );
}

#[tokio::test]
async fn metrics_describe_the_build_and_the_process() {
    let server = TestServer::start();
    let (text, samples) = scrape(&server).await;
    let build = samples
        .iter()
        .find(|(s, _)| s.starts_with("vestibule_build_info{"))
        .unwrap_or_else(|| panic!("no build info:\n{text}"));
    assert!(
        build
            .0
            .contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{}",
        build.0
    );
    assert_eq!(build.1, 1.0);
    let get = |name: &str| sample(&samples, name).unwrap_or_else(|| panic!("{name} missing:\n{text}"));
    assert!(get("process_resident_memory_bytes") > 1_000_000.0);
    assert!(get("process_open_fds") >= 3.0);
    assert!(get("process_max_fds") >= get("process_open_fds"));
    assert!(get("process_threads") >= 2.0);
    assert!(get("process_cpu_seconds_total") >= 0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = get("process_start_time_seconds");
    assert!(
        started <= now + 2.0 && started > now - 600.0,
        "started {started}, now {now}"
    );
}
