//! `x-request-id`: every answer carries one (routes, fallbacks, the explorer, `/metrics`); a
//! well-formed incoming id is kept, anything else replaced.

use std::collections::BTreeSet;

use crate::common::{client, TestServer};

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let server = TestServer::start();
    let c = client();
    let mut ids = BTreeSet::new();
    for (method, path) in [
        ("GET", "/api/status"),
        ("GET", "/api/sessions"),
        ("GET", "/no/such/path"),
        ("GET", "/api/no/such/path"),
        ("DELETE", "/api/auth/login"),
        ("GET", "/api-docs/openapi.json"),
        ("GET", "/api-docs/"),
        ("GET", "/metrics"),
        ("GET", "/callosum/v1/tspublic/v1/session/info"),
    ] {
        let resp = c
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                server.url(path),
            )
            .send()
            .await
            .unwrap();
        let id = resp
            .headers()
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{method} {path} ({}) has no x-request-id", resp.status()))
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert!(ids.insert(id), "an id was reused");
    }
}

#[tokio::test]
async fn incoming_ids_are_kept_only_when_well_formed() {
    let server = TestServer::start();
    let c = client();
    let ask = |id: String| {
        let c = c.clone();
        let url = server.url("/api/status");
        async move {
            c.get(url)
                .header("x-request-id", id)
                .send()
                .await
                .unwrap()
                .headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(ask("lb-7f3a.91:x_y".into()).await, "lb-7f3a.91:x_y");
    let long = "a".repeat(65);
    assert_ne!(ask(long.clone()).await, long);
    assert_ne!(ask("has space".into()).await, "has space");
    assert_ne!(ask("quote\"d".into()).await, "quote\"d");
}
