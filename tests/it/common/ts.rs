//! Helpers of the ThoughtSpot tests: paths, trusted-auth setup through the CLI, logins as the
//! official clients do them, and checks of the v1 and v2 error bodies.

use serde_json::Value;

use crate::common::{client, json, TestServer};

pub const V1: &str = "/callosum/v1/tspublic/v1";
pub const V1_ALIAS: &str = "/callosum/v1";
pub const V2: &str = "/api/rest/2.0";

/// Runs `vestibule trusted-auth <action>` and returns the key it printed (enable, rotate).
pub fn trusted_auth(server: &TestServer, action: &str) -> String {
    let out = server.cli(&["trusted-auth", action], "");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "trusted-auth {action} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or("").trim().to_string()
}

/// A POST through client `c` with the `X-Requested-By` header (v1 CSRF check), as the clients send it.
pub fn csrf_post(c: &reqwest::Client, url: String) -> reqwest::RequestBuilder {
    c.post(url).header("X-Requested-By", "ThoughtSpot")
}

/// A v1 password login with a cookie jar, as the Python client does it.
pub async fn v1_login(server: &TestServer, user: &str, password: &str) -> reqwest::Client {
    let c = client();
    let resp = csrf_post(&c, server.url(&format!("{V1}/session/login")))
        .form(&[
            ("username", user),
            ("password", password),
            ("rememberme", "false"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "{:?}", resp.text().await);
    c
}

/// Mints a v1 trusted token.
pub async fn v1_token(server: &TestServer, key: &str, form: &[(&str, &str)]) -> (u16, String) {
    let mut fields = vec![("secret_key", key)];
    fields.extend_from_slice(form);
    let resp = client()
        .post(server.url(&format!("{V1}/session/auth/token")))
        .header("Accept", "text/plain")
        .form(&fields)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

/// A `POST` to the v2 endpoint `path` from a fresh client.
pub fn v2_request(server: &TestServer, path: &str) -> reqwest::RequestBuilder {
    client().post(server.url(&format!("{V2}{path}")))
}

/// `POST auth/token/full` (or another token endpoint) with a JSON body.
pub async fn v2_post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    json(
        client()
            .post(server.url(&format!("{V2}{path}")))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A full-access v2 token for `user`, made with its password.
pub async fn v2_token(server: &TestServer, user: &str, password: &str) -> String {
    let (status, body) = v2_post(
        server,
        "/auth/token/full",
        serde_json::json!({"username": user, "password": password}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// A GET with a bearer token and no cookies.
pub async fn bearer_get(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    json(
        client()
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Checks a v1 error response: status, JSON content type, code, ids, and `debug` as a JSON array
/// in a string. Returns the messages.
pub async fn v1_error(resp: reqwest::Response, status: u16, code: u64) -> Vec<String> {
    assert_eq!(resp.status().as_u16(), status);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["incident_id_guid"].as_str().unwrap().len(), 36, "{body}");
    assert!(body["trace_id_guid"].is_string(), "{body}");
    serde_json::from_str(body["debug"].as_str().expect("debug is a string")).expect("debug is a JSON array")
}

/// Checks a v2 error response; returns the messages.
pub async fn v2_error(resp: reqwest::Response, status: u16, code: u64) -> Vec<String> {
    assert_eq!(resp.status().as_u16(), status);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    let body: Value = resp.json().await.unwrap();
    let m = &body["error"]["message"];
    assert_eq!(m["code"], code, "{body}");
    assert_eq!(m["debug"]["code"], code, "{body}");
    assert!(
        m["incident_id_guid"].is_string() && m["debug"]["trace_id_guid"].is_string(),
        "{body}"
    );
    serde_json::from_str(m["debug"]["debug"].as_str().expect("debug.debug is a string"))
        .expect("a JSON array")
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The value of cookie `name` among `Set-Cookie` headers.
pub fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}
