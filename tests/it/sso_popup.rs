//! The embedding pop-up `{context}/auth/login-dialog.jsp` and what it hands to the page that
//! opened it, over HTTP (the browser runs of the same flows are `sso_browser.rs`): the Embedding
//! SDK's hand-over identity token, bound to its PKCE challenge and exchanged once at
//! `/api/auth/delegate` with the verifier; Library's samples' `{type: "auth-token"}` message; the
//! origins it may post to; and CORS for the pages of `server.allowed_origins`.
//!
//! The browser session comes from the sign-in page's password form, so no provider is needed.

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

// A browser without JavaScript: keeps cookies, follows nothing by itself.
use crate::common::client as browser;
use crate::common::{TestServer, ADMIN_PASSWORD};

const CONTEXT: &str = "/MicroStrategyLibrary";
const EMBEDDER: &str = "http://127.0.0.1:9";
const STRANGER: &str = "http://127.0.0.1:10";

fn server() -> TestServer {
    TestServer::start_with(&[
        ("VESTIBULE_SERVER_ALLOWED_ORIGINS", EMBEDDER),
        ("VESTIBULE_SSO_PUBLIC_URL", "http://127.0.0.1:8"),
    ])
}

/// Signs `b` in as the administrator through the sign-in page's form.
async fn sign_in(server: &TestServer, b: &reqwest::Client) {
    let page = b
        .get(server.url(&format!("{CONTEXT}/auth/login")))
        .send()
        .await
        .expect("GET auth/login")
        .text()
        .await
        .expect("page");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf field")
        .to_string();
    let r = b
        .post(server.url(&format!("{CONTEXT}/auth/login")))
        .form(&[
            ("loginMode", "1"),
            ("username", "administrator"),
            ("password", ADMIN_PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::FOUND);
}

/// The SDK's verifier (56 hex digits) and its S256 challenge.
fn pkce() -> (String, String) {
    use base64::Engine;
    let verifier: String = (0..28).map(|i| format!("{:02x}", (i * 37 + 11) % 256)).collect();
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn dialog_url(server: &TestServer, query: &str) -> String {
    server.url(&format!("{CONTEXT}/auth/login-dialog.jsp?{query}"))
}

/// The `#page-data` JSON of a pop-up's last page.
async fn page_data(r: reqwest::Response) -> Value {
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(csp.contains("script-src 'nonce-"), "only our script runs: {csp}");
    let html = r.text().await.expect("page");
    let json = html
        .split("<script type=\"application/json\" id=\"page-data\">")
        .nth(1)
        .and_then(|r| r.split("</script>").next())
        .unwrap_or_else(|| panic!("no page data in {html}"));
    serde_json::from_str(json).expect("page data is JSON")
}

async fn delegate(server: &TestServer, body: Value) -> reqwest::Response {
    crate::common::client()
        .post(server.url(&format!("{CONTEXT}/api/auth/delegate")))
        .json(&body)
        .send()
        .await
        .expect("delegate")
}

#[tokio::test]
async fn sso_popup_hands_over_an_identity_token_bound_to_the_pkce_challenge() {
    let server = server();
    let b = browser();
    sign_in(&server, &b).await;
    let (verifier, challenge) = pkce();
    let origin = EMBEDDER.replace(':', "%3A").replace('/', "%2F");
    let url = dialog_url(
        &server,
        &format!("loginMode=4194304&callback-origin={origin}&generateIdentityToken=1&codeChallenge={challenge}&codeChallengeMethod=S256"),
    );
    let data = page_data(b.get(&url).send().await.expect("dialog")).await;
    assert_eq!(
        data["targets"],
        json!([EMBEDDER]),
        "posted to the opener's origin only"
    );
    let message = &data["message"];
    assert_eq!(message["codeChallenge"], json!(challenge));
    assert_eq!(message["codeChallengeMethod"], json!("S256"));
    let token = message["identityToken"]
        .as_str()
        .expect("identity token")
        .to_string();

    // Alone, or with another verifier, the token is worth nothing.
    let r = delegate(&server, json!({"loginMode": -1, "identityToken": token})).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let other = format!("{}0", &verifier[1..]);
    let r = delegate(
        &server,
        json!({"loginMode": -1, "identityToken": token, "codeVerifier": other}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = delegate(
        &server,
        json!({"loginMode": -1, "identityToken": token, "codeVerifier": "short"}),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "a verifier RFC 7636 does not allow"
    );
    // With its verifier: a session of the signed-in user, once.
    let r = delegate(
        &server,
        json!({"loginMode": -1, "identityToken": token, "codeVerifier": verifier}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let auth = r
        .headers()
        .get("x-mstr-authtoken")
        .and_then(|v| v.to_str().ok())
        .expect("auth token")
        .to_string();
    let cookie = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("JSESSIONID="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let info: Value = crate::common::client()
        .get(server.url(&format!("{CONTEXT}/api/sessions/userInfo")))
        .header("X-MSTR-AuthToken", &auth)
        .header("Cookie", format!("JSESSIONID={cookie}"))
        .send()
        .await
        .expect("userInfo")
        .json()
        .await
        .expect("userInfo JSON");
    assert_eq!(info["username"], json!("administrator"), "{info}");
    let again = delegate(
        &server,
        json!({"loginMode": -1, "identityToken": token, "codeVerifier": verifier}),
    )
    .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED, "used once");
}

#[tokio::test]
async fn sso_popup_refuses_strange_openers_and_bad_challenges() {
    let server = server();
    let b = browser();
    sign_in(&server, &b).await;
    let (_, challenge) = pkce();
    let stranger = STRANGER.replace(':', "%3A").replace('/', "%2F");
    let embedder = EMBEDDER.replace(':', "%3A").replace('/', "%2F");
    for query in [
        // An origin that is not allowed never gets a token for this browser's user.
        format!("loginMode=4194304&callback-origin={stranger}&generateIdentityToken=1&codeChallenge={challenge}&codeChallengeMethod=S256"),
        format!("loginMode=4194304&callback-origin={embedder}&generateIdentityToken=1&codeChallenge=short&codeChallengeMethod=S256"),
        format!("loginMode=4194304&callback-origin={embedder}&generateIdentityToken=1&codeChallenge={challenge}&codeChallengeMethod=plain"),
        format!("loginMode=4194304&generateIdentityToken=1&codeChallenge={challenge}&codeChallengeMethod=S256"),
        "loginMode=8".to_string(),
    ] {
        let r = b.get(dialog_url(&server, &query)).send().await.expect("dialog");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = r.text().await.expect("page");
        assert!(html.contains("id=\"sso-error\""), "{query}: {html}");
        assert!(!html.contains("identityToken"), "{query}: {html}");
    }
}

#[tokio::test]
async fn sso_popup_without_a_challenge_tells_the_allowed_origins_the_auth_token() {
    let server = server();
    let b = browser();
    sign_in(&server, &b).await;
    let data = page_data(
        b.get(dialog_url(&server, "loginMode=4194304"))
            .send()
            .await
            .expect("dialog"),
    )
    .await;
    // postMessage delivers only to an opener of the named origin: these, and no other.
    assert_eq!(data["targets"], json!([EMBEDDER, "http://127.0.0.1:8"]));
    assert_eq!(data["message"]["type"], json!("auth-token"));
    let token = data["message"]["payload"].as_str().expect("payload").to_string();
    // It is the browser session's token, as `/api/auth/token` gives it.
    let r = b
        .get(server.url(&format!("{CONTEXT}/api/auth/token")))
        .send()
        .await
        .expect("auth/token");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        r.headers().get("x-mstr-authtoken").and_then(|v| v.to_str().ok()),
        Some(token.as_str())
    );

    // Without a session the pop-up starts a sign-in; with no provider configured it says so.
    for mode in ["4194304", "1048576"] {
        let mut r = browser()
            .get(dialog_url(&server, &format!("loginMode={mode}")))
            .send()
            .await
            .expect("dialog, signed out");
        if mode == "1048576" {
            // As Library, a SAML sign-in goes through {context}/saml/authenticate, back to the
            // dialog afterwards.
            assert_eq!(r.status(), StatusCode::FOUND);
            let to = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .expect("Location")
                .to_string();
            assert!(
                to.starts_with(&format!(
                    "{CONTEXT}/saml/authenticate?target=%2FMicroStrategyLibrary%2Fauth%2Flogin-dialog.jsp"
                )),
                "{to}"
            );
            r = browser()
                .get(server.url(&to))
                .send()
                .await
                .expect("saml/authenticate");
        }
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{mode}");
        assert!(r.text().await.expect("page").contains("not configured"), "{mode}");
    }
}

#[tokio::test]
async fn cors_lets_the_allowed_origins_call_with_credentials_and_read_the_token() {
    let server = server();
    let c = crate::common::client();
    let delegate_url = server.url(&format!("{CONTEXT}/api/auth/delegate"));
    // The preflight of the SDK's delegate call.
    let r = c
        .request(Method::OPTIONS, &delegate_url)
        .header(ORIGIN, EMBEDDER)
        .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(ACCESS_CONTROL_REQUEST_HEADERS, "content-type,x-requested-with")
        .send()
        .await
        .expect("preflight");
    assert!(r.status().is_success(), "{}", r.status());
    let h = r.headers();
    assert_eq!(
        h.get(ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.as_bytes()),
        Some(EMBEDDER.as_bytes())
    );
    assert_eq!(
        h.get(ACCESS_CONTROL_ALLOW_CREDENTIALS).map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let allowed = h
        .get(ACCESS_CONTROL_ALLOW_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(
        allowed.contains("content-type") && allowed.contains("x-requested-with"),
        "{allowed}"
    );

    // A login from the page: the token header is readable there.
    let r = c
        .post(server.url("/api/auth/login"))
        .header(ORIGIN, EMBEDDER)
        .json(&json!({"username": "administrator", "password": ADMIN_PASSWORD, "loginMode": 1}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let h = r.headers();
    assert_eq!(
        h.get(ACCESS_CONTROL_ALLOW_ORIGIN).map(|v| v.as_bytes()),
        Some(EMBEDDER.as_bytes())
    );
    let exposed = h
        .get(ACCESS_CONTROL_EXPOSE_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(exposed.contains("x-mstr-authtoken"), "{exposed}");

    // Another origin is not named in Access-Control-Allow-Origin, so the browser keeps the
    // answer from it (tower-http writes Allow-Credentials whatever the origin; alone it allows
    // nothing).
    for method in [Method::OPTIONS, Method::GET] {
        let r = c
            .request(
                method.clone(),
                server.url("/callosum/v1/tspublic/v1/session/isactive"),
            )
            .header(ORIGIN, STRANGER)
            .header(ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .send()
            .await
            .expect("stranger");
        assert!(r.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "{method}");
    }
}

#[tokio::test]
async fn cors_is_off_without_allowed_origins() {
    let server = TestServer::start();
    let r = crate::common::client()
        .request(Method::OPTIONS, server.url("/api/auth/login"))
        .header(ORIGIN, EMBEDDER)
        .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .send()
        .await
        .expect("preflight");
    assert!(r.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

/// `{context}/auth/oidc/logout` without a provider's sign-in: the browser session ends here and
/// the browser lands on the signed-out page (with a provider it goes there through the
/// provider's logout: `sso_embed.rs`).
#[tokio::test]
async fn sso_logout_ends_the_browser_session_and_lands_signed_out() {
    let server = server();
    let b = browser();
    sign_in(&server, &b).await;
    let token_url = server.url(&format!("{CONTEXT}/api/auth/token"));
    let r = b.get(&token_url).send().await.expect("auth/token");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = b
        .get(server.url(&format!("{CONTEXT}/auth/oidc/logout")))
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(format!("{CONTEXT}/auth/signed-out").as_str())
    );
    let cleared: Vec<&str> = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|c| c.contains("Max-Age=0"))
        .collect();
    assert!(
        cleared.iter().any(|c| c.starts_with("iSession="))
            && cleared.iter().any(|c| c.starts_with("JSESSIONID=")),
        "{cleared:?}"
    );
    let page = b
        .get(server.url(&format!("{CONTEXT}/auth/signed-out")))
        .send()
        .await
        .expect("signed-out page")
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"signed-out\""), "{page}");
    let r = b.get(&token_url).send().await.expect("auth/token after logout");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
