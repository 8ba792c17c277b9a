//! Helpers of the MicroStrategy tests: the Library path, reading the token and JSESSIONID a login
//! hands out, the error-body check, and the identity/API token and delegation requests that many
//! tests make.

use serde_json::Value;

use super::{client, json, MstrSession, TestServer};

/// The default context path's REST API.
pub const LIB: &str = "/MicroStrategyLibrary/api";

/// The whole `Set-Cookie` header for JSESSIONID in a response.
pub fn session_cookie(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("JSESSIONID="))
        .unwrap_or_else(|| panic!("no JSESSIONID cookie in {:?}", resp.headers()))
        .to_string()
}

/// The value of a `Set-Cookie` header (`NAME=VALUE; attributes` gives `VALUE`).
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_string())
        .unwrap()
}

/// The JSESSIONID value a login handed out.
pub fn jsessionid(resp: &reqwest::Response) -> String {
    cookie_value(&session_cookie(resp))
}

/// The `X-MSTR-AuthToken` header of a login response.
pub fn token_of(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-mstr-authtoken")
        .expect("X-MSTR-AuthToken header")
        .to_str()
        .unwrap()
        .to_string()
}

/// The session a successful login response made for client `c`.
pub fn session_of(c: reqwest::Client, resp: &reqwest::Response) -> MstrSession {
    MstrSession {
        token: token_of(resp),
        client: c,
    }
}

/// A Standard (loginMode 1) form login through client `c` at `url`; the response, unchecked.
pub async fn form_login(c: &reqwest::Client, url: &str, user: &str, password: &str) -> reqwest::Response {
    c.post(url)
        .form(&[("loginMode", "1"), ("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// Asserts a MicroStrategy error body with `status` and `code`.
pub async fn assert_mstr_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    let (s, body) = json(resp).await;
    assert_eq!(s, status, "status; body {body}");
    assert_eq!(body["code"], code, "code; body {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    let ticket = body["ticketId"].as_str().expect("ticketId");
    assert_eq!(ticket.len(), 32, "{body}");
    body
}

/// The status of a GET with the session's token and cookie.
pub async fn status_of(s: &MstrSession, url: &str) -> u16 {
    s.get(url).send().await.unwrap().status().as_u16()
}

/// The id of the session's user, from `sessions/userInfo`.
pub async fn user_id(s: &MstrSession, server: &TestServer) -> String {
    let (st, body) = get_json(s, &server.url(&format!("{LIB}/sessions/userInfo"))).await;
    assert_eq!(st, 200, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// Creates an identity token for the session (asserting 201) and returns it.
pub async fn identity_token(s: &MstrSession, server: &TestServer) -> String {
    let resp = s
        .post(&server.url(&format!("{LIB}/auth/identityToken")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.headers()["x-mstr-identitytoken"]
        .to_str()
        .unwrap()
        .to_string()
}

/// Creates an API token for the session's own user (asserting 201) and returns it.
pub async fn api_token(s: &MstrSession, server: &TestServer) -> String {
    let (st, body) = json(
        s.post(&server.url(&format!("{LIB}/auth/apiTokens")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    body["apiToken"].as_str().unwrap().to_string()
}

/// `POST auth/delegate` with JSON `body` from a fresh client; the response, unchecked.
pub async fn delegate(server: &TestServer, body: &Value) -> reqwest::Response {
    client()
        .post(server.url(&format!("{LIB}/auth/delegate")))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// `POST auth/login` with JSON `body` from a fresh client; the response, unchecked.
pub async fn json_login(server: &TestServer, body: &Value) -> reqwest::Response {
    client()
        .post(server.url(&format!("{LIB}/auth/login")))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A GET with the session's token and cookie: its status and JSON body.
pub async fn get_json(s: &MstrSession, url: &str) -> (u16, Value) {
    json(s.get(url).send().await.unwrap()).await
}

/// A server whose sessions time out after `server_secs` (`http_secs` for the HTTP session) and
/// are swept every second, so expiry tests wait seconds, not minutes.
pub fn short_timeout_server(server_secs: &str, http_secs: &str) -> TestServer {
    TestServer::start_with(&[
        ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", server_secs),
        ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", http_secs),
        ("VESTIBULE_SESSION_SWEEP_INTERVAL_SECS", "1"),
    ])
}

/// `DELETE auth/identityToken` for `identity`, with the session `s`.
pub async fn delete_identity(s: &MstrSession, server: &TestServer, identity: &str) -> reqwest::Response {
    s.delete(&server.url(&format!("{LIB}/auth/identityToken")))
        .header("X-MSTR-IdentityToken", identity)
        .send()
        .await
        .unwrap()
}

/// `GET auth/identityToken` (validate) for `identity`, through client `c`.
pub async fn validate_identity(
    c: &reqwest::Client,
    server: &TestServer,
    identity: &str,
) -> reqwest::Response {
    c.get(server.url(&format!("{LIB}/auth/identityToken")))
        .header("X-MSTR-IdentityToken", identity)
        .send()
        .await
        .unwrap()
}
