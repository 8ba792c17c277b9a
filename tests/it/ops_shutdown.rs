//! Graceful shutdown: a SIGTERM while a slow request is in flight lets it finish, the sessions are
//! flushed to the store, and the process exits 0.

use std::time::Duration;

use crate::common::{client, TestServer, ADMIN_PASSWORD};
use crate::ops_kit::{parse_prometheus, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_flushes_sessions_and_exits_0() {
    // Expensive password hashing makes a login slow enough to be caught in flight; a flush
    // interval of an hour leaves the shutdown flush as the only one.
    let mut server = TestServer::start_with(&[
        ("VESTIBULE_PASSWORD_MEMORY_KIB", "65536"),
        ("VESTIBULE_PASSWORD_ITERATIONS", "12"),
        ("VESTIBULE_SESSION_FLUSH_INTERVAL_MS", "3600000"),
    ]);
    let c = client();
    let login = {
        let c = c.clone();
        let url = server.url("/api/auth/login");
        tokio::spawn(async move {
            c.post(url)
                .json(&serde_json::json!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD}))
                .send()
                .await
        })
    };

    // Wait until the login is being served: the scrape itself is the other request in flight.
    let mut caught = false;
    for _ in 0..2000 {
        let text = client()
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let in_flight = sample(&parse_prometheus(&text), "vestibule_http_requests_in_flight").unwrap();
        if in_flight >= 2.0 {
            caught = true;
            break;
        }
        if login.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        caught,
        "the login finished before it could be seen in flight; make the hashing slower"
    );

    let status = tokio::task::block_in_place(|| server.terminate());
    let resp = login.await.unwrap().expect("the in-flight login was answered");
    assert_eq!(resp.status(), 204, "the in-flight login did not complete");
    let token = resp.headers()["x-mstr-authtoken"].to_str().unwrap().to_string();
    assert!(
        status.success(),
        "exit status after SIGTERM: {status:?}\n{}",
        server.stderr()
    );
    assert_eq!(status.code(), Some(0));
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());

    // The session made during shutdown was flushed: after a restart it is still valid (the
    // client still holds its cookie).
    tokio::task::block_in_place(|| server.restart());
    let r = c
        .get(server.url("/api/sessions"))
        .header("X-MSTR-AuthToken", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the session did not survive the shutdown: {:?}",
        r.text().await
    );
}
