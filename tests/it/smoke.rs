//! The smallest end-to-end check: the binary starts, logs in and answers a session check.

use crate::common::{json, mstr_login, TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn login_and_session_check() {
    let server = TestServer::start();
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let (status, body) = json(
        s.get(&server.url("/MicroStrategyLibrary/api/sessions"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["fullName"], "Administrator");
    assert!(body["timeout"].as_i64().unwrap() > 0);
}
