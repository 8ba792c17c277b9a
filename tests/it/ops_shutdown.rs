//! Graceful shutdown: a SIGTERM while a request is in flight lets it finish, the sessions'
//! keep-alive times are flushed to the store, and the process exits 0.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::ops::{parse_prometheus, sample};
use crate::common::{client, TestServer, ADMIN_PASSWORD};

/// The idle timeout of the sessions here: the session kept alive must outlive its login-time
/// copy by more than the restart takes.
const TIMEOUT_SECS: u64 = 4;
/// The flush interval, which is also the granularity of recorded keep-alives: a keep-alive later
/// than this after the login is one the store must write.
const FLUSH_MS: u64 = 1500;

/// Polls `/metrics` until `n` requests are in flight (the scrape itself is one of them).
async fn wait_in_flight(server: &TestServer, n: f64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = client()
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let in_flight = sample(&parse_prometheus(&text), "vestibule_http_requests_in_flight").unwrap();
        if in_flight >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{n} requests never were in flight");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls until the server stops accepting connections: its shutdown has begun.
async fn wait_not_accepting(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the server kept accepting after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_flushes_sessions_and_exits_0() {
    let timeout = TIMEOUT_SECS.to_string();
    let http_timeout = (TIMEOUT_SECS + 1).to_string();
    let flush = FLUSH_MS.to_string();
    let mut server = TestServer::start_with(&[
        ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", &timeout),
        ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", &http_timeout),
        ("VESTIBULE_SESSION_FLUSH_INTERVAL_MS", &flush),
    ]);
    let c = client();
    let login = |c: &reqwest::Client| {
        c.post(server.url("/api/auth/login"))
            .json(
                &serde_json::json!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD}),
            )
            .send()
    };
    let resp = login(&c).await.unwrap();
    let logged_in = Instant::now();
    assert_eq!(resp.status(), 204);
    let token = resp.headers()["x-mstr-authtoken"].to_str().unwrap().to_string();

    // A login whose body is only half sent: in flight until the test sends the rest.
    let body = serde_json::json!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD})
        .to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut slow = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        server.addr(),
        body.len()
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    wait_in_flight(&server, 2.0).await;

    // A keep-alive later than the flush granularity: only a flush writes its time. The periodic
    // flush comes FLUSH_MS after the server's start, so the SIGTERM below is well before it.
    tokio::time::sleep_until((logged_in + Duration::from_millis(FLUSH_MS + 100)).into()).await;
    let r = c
        .put(server.url("/api/sessions"))
        .header("X-MSTR-AuthToken", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "keep-alive: {:?}", r.text().await);
    let kept_alive = Instant::now();

    server.send_sigterm();
    wait_not_accepting(&server.addr()).await;
    slow.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    slow.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 204"),
        "the in-flight login did not complete: {answer}"
    );
    let in_flight_token = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-mstr-authtoken: "))
        .unwrap_or_else(|| panic!("no token in {answer}"))
        .trim()
        .to_string();
    let in_flight_cookie = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie in {answer}"))
        .to_string();

    let status = tokio::task::block_in_place(|| server.wait_exit());
    assert!(
        status.success(),
        "exit status after SIGTERM: {status:?}\n{}",
        server.stderr()
    );
    assert_eq!(status.code(), Some(0));
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());

    tokio::task::block_in_place(|| server.restart());
    // The session made during shutdown is valid after the restart.
    let r = client()
        .get(server.url("/api/sessions"))
        .header("X-MSTR-AuthToken", &in_flight_token)
        .header("Cookie", &in_flight_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the in-flight login's session was lost: {:?}",
        r.text().await
    );

    // Past the login-time copy's end, before the kept-alive one's: only the shutdown flush can
    // have written the keep-alive.
    let login_copy_ends = logged_in + Duration::from_secs(TIMEOUT_SECS);
    let kept_alive_ends = kept_alive + Duration::from_secs(TIMEOUT_SECS);
    tokio::time::sleep_until((login_copy_ends + Duration::from_millis(300)).into()).await;
    let r = c
        .get(server.url("/api/sessions"))
        .header("X-MSTR-AuthToken", &token)
        .send()
        .await
        .unwrap();
    assert!(
        Instant::now() + Duration::from_millis(300) < kept_alive_ends,
        "the restart took too long to tell the two copies apart"
    );
    assert_eq!(
        r.status(),
        200,
        "the keep-alive before the SIGTERM was not flushed: {:?}",
        r.text().await
    );
}
