//! A request the framework cannot read (a path id that is not UTF-8 once percent-decoded) is
//! answered in the dialect's own JSON error body, not the framework's plain text.

use crate::common::mstr::assert_mstr_error;
use crate::common::ts::{v1_error, v1_login, V1};
use crate::common::{mstr_login, TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn an_invalid_utf8_path_id_gets_the_microstrategy_error_body() {
    let server = TestServer::start();
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let paths = [
        "/api/model/attributes/%FF",
        "/api/model/tables/%FF",
        "/api/model/changesets/%FF",
        "/api/model/systemHierarchy/attributes/%FF/relationships",
        "/api/objects/%FF?type=12",
        "/api/sessions/privileges/%FF",
    ];
    for path in paths {
        let resp = admin
            .get(&server.url(&format!("/MicroStrategyLibrary{path}")))
            .send()
            .await
            .unwrap();
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("application/json"), "{path}: {ct}");
        let body = assert_mstr_error(resp, 400, "ERR006").await;
        let message = body["message"].as_str().unwrap_or("");
        assert!(message.contains("UTF-8"), "{path}: {body}");
    }
    // The same path with a valid id that names nothing is the usual 404.
    let resp = admin
        .get(&server.url("/MicroStrategyLibrary/api/model/changesets/0123456789ABCDEF0123456789ABCDEF"))
        .send()
        .await
        .unwrap();
    assert_mstr_error(resp, 404, "ERR004").await;
}

#[tokio::test]
async fn an_invalid_utf8_path_id_gets_the_thoughtspot_error_body() {
    let server = TestServer::start();
    let c = v1_login(&server, "administrator", ADMIN_PASSWORD).await;
    let resp = c
        .get(server.url(&format!("{V1}/session/orgs/users/%FF")))
        .send()
        .await
        .unwrap();
    let messages = v1_error(resp, 400, 10002).await;
    assert!(messages.iter().any(|m| m.contains("UTF-8")), "{messages:?}");
}
