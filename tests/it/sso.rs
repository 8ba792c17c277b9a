//! Single sign-on end to end: the real `vestibule` binary, configured by a TOML file with an
//! `[[sso.oidc]]` provider, and a real OpenID Connect provider (panva's oidc-provider,
//! compat/oidc_idp.mjs; set up by `common::oidc`), driven by a cookie-keeping client that follows
//! every redirect by hand.

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};

// A browser without JavaScript: keeps cookies, follows nothing by itself.
use crate::common::client as browser;
use crate::common::oidc::{free_port, setup, setup_with, Idp, CALLBACK, CONTEXT};
use crate::common::TestServer;

fn location(r: &reqwest::Response, base: &Url) -> Url {
    let l = r
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_else(|| panic!("no Location ({})", r.status()));
    base.join(l).expect("Location URL")
}

/// From the provider's authorization URL through its development login and consent pages to
/// the callback URL on vestibule (not yet requested). `abort` declines instead.
async fn at_provider(browser: &reqwest::Client, start: Url, login: &str, abort: bool) -> Url {
    let mut url = start;
    for _ in 0..20 {
        if url.path() == CALLBACK {
            return url;
        }
        let r = browser
            .get(url.clone())
            .send()
            .await
            .expect("GET at the provider");
        if r.status().is_redirection() {
            url = location(&r, &url);
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let page = r.text().await.expect("page");
        let form: Vec<(&str, &str)> = if page.contains(r#"name="prompt" value="login""#) {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else if page.contains(r#"name="prompt" value="consent""#) {
            vec![("prompt", "consent")]
        } else {
            panic!("unexpected page at {url}:\n{page}");
        };
        let r = if abort {
            let abort = url.join(&format!("{}/abort", url.path())).expect("abort URL");
            browser.get(abort).send().await.expect("abort")
        } else {
            browser.post(url.clone()).form(&form).send().await.expect("POST")
        };
        assert!(r.status().is_redirection(), "{url}: {}", r.status());
        url = location(&r, &url);
    }
    panic!("the provider did not send the browser back");
}

/// Starts the MicroStrategy sign-in with `loginMode=4194304`: the provider's URL.
async fn mstr_start(server: &TestServer, browser: &reqwest::Client) -> Url {
    mstr_start_cookie(server, browser).await.0
}

/// As [`mstr_start`], with the flow cookie (`name=value`).
async fn mstr_start_cookie(server: &TestServer, browser: &reqwest::Client) -> (Url, String) {
    let r = browser
        .post(server.url(&format!("{CONTEXT}/auth/login")))
        .form(&[("loginMode", "4194304"), ("provider", "corp")])
        .send()
        .await
        .expect("POST auth/login");
    assert_eq!(r.status(), StatusCode::FOUND);
    let cookie = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("vestibule_sso="))
        .expect("the flow cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(cookie.contains(&format!("Path={CALLBACK}")), "{cookie}");
    let pair = cookie.split(';').next().unwrap_or("").to_string();
    (location(&r, &Url::parse(&server.base).expect("base")), pair)
}

async fn assert_error_page(r: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(r.status(), status);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(r.headers().get(LOCATION).is_none());
    let page = r.text().await.expect("page");
    assert!(page.contains("id=\"sso-error\""), "{page}");
    page
}

/// The browser's session cookies give an auth token (`GET /api/auth/token`), and the token opens
/// `userInfo`: what `userInfo` says.
async fn user_info_by_token(server: &TestServer, b: &reqwest::Client) -> serde_json::Value {
    let r = b
        .get(server.url(&format!("{CONTEXT}/api/auth/token")))
        .send()
        .await
        .expect("auth/token");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let token = mstr_token_of(&r);
    let r = b
        .get(server.url(&format!("{CONTEXT}/api/sessions/userInfo")))
        .header("X-MSTR-AuthToken", &token)
        .send()
        .await
        .expect("userInfo");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

fn mstr_token_of(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-mstr-authtoken")
        .and_then(|v| v.to_str().ok())
        .expect("X-MSTR-AuthToken")
        .to_string()
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules/oidc-provider is missing (bash scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn sso_microstrategy_sign_in_makes_a_session_a_token_and_a_user() {
    let s = setup(true);
    let server = &s.server;
    let b = browser();

    // The sign-in page lists the provider.
    let page = b
        .get(server.url(&format!("{CONTEXT}/auth/login")))
        .send()
        .await
        .expect("GET auth/login");
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("page");
    assert!(page.contains("Sign in with Corporate sign-in"), "{page}");
    assert!(page.contains("name=\"loginMode\" value=\"4194304\""), "{page}");

    let start = mstr_start(server, &b).await;
    assert!(start.as_str().starts_with(&s.idp.issuer), "{start}");
    let callback = at_provider(&b, start, "alice", false).await;
    let r = b.get(callback).send().await.expect("callback");
    assert_eq!(r.status(), StatusCode::FOUND, "{:?}", r.text().await);
    let target = location(&r, &Url::parse(&server.base).expect("base"));
    assert_eq!(target.path(), format!("{CONTEXT}/auth/signed-in"));

    // The session cookies give the auth token; the token is the provider's user.
    let info = user_info_by_token(server, &b).await;
    assert_eq!(info["username"], "alice");
    assert_eq!(info["fullName"], "Alice Example");
    assert_eq!(info["email"], "alice@example.com");

    // Made by the sign-in, linked to the provider's subject, a member of the mapped group.
    let users = String::from_utf8_lossy(&server.cli(&["user", "list"], "").stdout).to_string();
    assert!(
        users
            .lines()
            .any(|l| l.contains("alice") && l.contains("oidc:corp:alice")),
        "{users}"
    );
    let groups = String::from_utf8_lossy(&server.cli(&["group", "list"], "").stdout).to_string();
    let analysts = groups
        .split('\n')
        .skip_while(|l| !l.ends_with(" Analysts"))
        .nth(1)
        .unwrap_or("");
    assert!(analysts.contains("alice"), "{groups}");

    // The signed-in page names the user and makes a personal API token, shown once.
    let r = b.get(target).send().await.expect("signed-in");
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.expect("page");
    assert!(
        page.contains("Alice Example") && page.contains("/api-docs"),
        "{page}"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf field")
        .to_string();
    let r = b
        .post(server.url(&format!("{CONTEXT}/auth/signed-in/api-token")))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .expect("api token, bad csrf");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = b
        .post(server.url(&format!("{CONTEXT}/auth/signed-in/api-token")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("api token");
    assert_eq!(r.status(), StatusCode::CREATED);
    let page = r.text().await.expect("page");
    let api_token = page
        .split("id=\"api-token\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the token")
        .to_string();

    // mstrio-py's API-token login: loginMode 4096, the token in `username`, JSON.
    let r = crate::common::client()
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"loginMode": 4096, "applicationType": 76, "username": api_token}))
        .send()
        .await
        .expect("login 4096");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    assert!(s.audited(|e| e["event"] == "login_succeeded"
        && e["login_mode"] == 4194304
        && e["provider"] == "corp"
        && e["subject"] == "alice"
        && e["user"] == "alice"));
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules/oidc-provider is missing (bash scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn sso_thoughtspot_sign_in_makes_a_cookie_session_and_returns_to_the_path() {
    let s = setup(true);
    let server = &s.server;
    let b = browser();
    let base = Url::parse(&server.base).expect("base");
    let r = b
        .get(server.url("/callosum/v1/oidc/login?targetURLPath=%2Fts-after&forceSAMLAutoRedirect=true"))
        .send()
        .await
        .expect("oidc/login");
    assert_eq!(r.status(), StatusCode::FOUND);
    let start = location(&r, &base);
    let callback = at_provider(&b, start, "bob", false).await;
    let r = b.get(callback).send().await.expect("callback");
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r, &base).as_str(), server.url("/ts-after"));

    let r = b
        .get(server.url("/callosum/v1/session/info"))
        .header("X-Requested-By", "ThoughtSpot")
        .send()
        .await
        .expect("session/info");
    assert_eq!(r.status(), StatusCode::OK);
    let info: serde_json::Value = r.json().await.expect("json");
    assert_eq!(info["userName"], "bob", "{info}");
    let r = b
        .get(server.url("/callosum/v1/session/isactive"))
        .header("X-Requested-By", "ThoughtSpot")
        .send()
        .await
        .expect("isactive");
    assert!(r.status().is_success());

    let r = b
        .get(server.url("/api/rest/2.0/auth/session/token"))
        .send()
        .await
        .expect("session/token");
    assert_eq!(r.status(), StatusCode::OK);
    let t: serde_json::Value = r.json().await.expect("json");
    assert_eq!(t["valid_for_username"], "bob");
    let bearer = t["token"].as_str().expect("token").to_string();
    let r = crate::common::client()
        .get(server.url("/api/rest/2.0/auth/session/user"))
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("session/user");
    assert_eq!(r.status(), StatusCode::OK);
    let u: serde_json::Value = r.json().await.expect("json");
    assert_eq!(u["name"], "bob");

    // An absolute target on an allowed origin (the SDK's redirect mode) is where it ends.
    let b = browser();
    let target = "https://app.example.com/embed#?tsSSOMarker=5e16222e";
    let r = b
        .get(server.url("/callosum/v1/oidc/login"))
        .query(&[("targetURLPath", target)])
        .send()
        .await
        .expect("oidc/login, allowed origin");
    assert_eq!(r.status(), StatusCode::FOUND);
    let callback = at_provider(&b, location(&r, &base), "bob", false).await;
    let r = b.get(callback).send().await.expect("callback");
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers().get(LOCATION).and_then(|l| l.to_str().ok()),
        Some(target)
    );

    // An absolute target on another origin is refused, without a redirect.
    let r = b
        .get(server.url("/callosum/v1/oidc/login?targetURLPath=https%3A%2F%2Fevil.example%2F"))
        .send()
        .await
        .expect("oidc/login, absolute");
    assert_error_page(r, StatusCode::BAD_REQUEST).await;
    let r = b
        .get(server.url("/callosum/v1/oidc/login?targetURLPath=%2F%2Fevil.example%2F"))
        .send()
        .await
        .expect("oidc/login, scheme-relative");
    assert_error_page(r, StatusCode::BAD_REQUEST).await;
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules/oidc-provider is missing (bash scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn sso_refuses_replays_forgeries_refusals_and_strangers() {
    let s = setup(true);
    let server = &s.server;
    // A callback used twice with its flow cookie: the second finds its flow used up.
    let b = browser();
    let (start, flow) = mstr_start_cookie(server, &b).await;
    let callback = at_provider(&b, start, "alice", false).await;
    let plain = crate::common::client();
    let r = plain
        .get(callback.clone())
        .header("Cookie", &flow)
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), StatusCode::FOUND);
    let r = plain
        .get(callback.clone())
        .header("Cookie", &flow)
        .send()
        .await
        .expect("replay");
    let page = assert_error_page(r, StatusCode::BAD_REQUEST).await;
    assert!(page.contains("already used"), "{page}");
    // Without the flow cookie, and with another flow's cookie (its state is not this one).
    let r = plain.get(callback.clone()).send().await.expect("no cookie");
    assert_error_page(r, StatusCode::BAD_REQUEST).await;
    let b2 = browser();
    let _ = mstr_start(server, &b2).await;
    let r = b2
        .get(callback.clone())
        .send()
        .await
        .expect("another flow's cookie");
    let page = assert_error_page(r, StatusCode::BAD_REQUEST).await;
    assert!(page.contains("state"), "{page}");
    // None of the flow's secrets reaches a log: not the cookie, the code or the state.
    let secrets: Vec<String> = callback
        .query_pairs()
        .filter(|(k, _)| k == "code" || k == "state")
        .map(|(_, v)| v.into_owned())
        .chain([flow.split_once('=').map_or(String::new(), |(_, v)| v.to_string())])
        .collect();
    assert_eq!(secrets.len(), 3);
    let audit = std::fs::read_to_string(&s.audit).unwrap_or_default();
    let logs = format!("{}\n{audit}", server.stderr());
    for secret in &secrets {
        assert!(
            !secret.is_empty() && !logs.contains(secret.as_str()),
            "a flow secret is in the logs"
        );
    }

    // A flow cookie changed by its holder (here: its return target) matches no kept flow.
    let b7 = browser();
    let (start, flow) = mstr_start_cookie(server, &b7).await;
    let callback = at_provider(&b7, start, "alice", false).await;
    let (name, value) = flow.split_once('=').expect("name=value");
    let bytes: Vec<u8> = (0..value.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&value[i..i + 2], 16).expect("hex"))
        .collect();
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).expect("the flow's JSON");
    json["r"] = "/elsewhere".into();
    let changed: String = serde_json::to_vec(&json)
        .expect("json")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let r = plain
        .get(callback.clone())
        .header("Cookie", format!("{name}={changed}"))
        .send()
        .await
        .expect("changed cookie");
    let page = assert_error_page(r, StatusCode::BAD_REQUEST).await;
    assert!(page.contains("unknown, expired or already used"), "{page}");
    // The unchanged cookie still finishes that sign-in.
    let r = plain
        .get(callback)
        .header("Cookie", &flow)
        .send()
        .await
        .expect("unchanged cookie");
    assert_eq!(r.status(), StatusCode::FOUND);

    // A missing or unknown state.
    let b4 = browser();
    let _ = mstr_start(server, &b4).await;
    let r = b4
        .get(server.url(&format!("{CALLBACK}?code=abc")))
        .send()
        .await
        .expect("no state");
    assert_error_page(r, StatusCode::BAD_REQUEST).await;

    // The user declines at the provider: error=access_denied.
    let b5 = browser();
    let callback = at_provider(&b5, mstr_start(server, &b5).await, "alice", true).await;
    assert!(callback.query().unwrap_or("").contains("error="), "{callback}");
    let r = b5.get(callback).send().await.expect("declined");
    let page = assert_error_page(r, StatusCode::BAD_REQUEST).await;
    assert!(page.contains("access_denied"), "{page}");

    // The REST login cannot do a browser sign-in.
    let r = crate::common::client()
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"loginMode": 4194304}))
        .send()
        .await
        .expect("login 4194304");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["code"], "ERR003");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("/MicroStrategyLibrary/auth/login"),
        "{body}"
    );

    // An SSO user has no password here.
    let r = crate::common::client()
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"loginMode": 1, "username": "alice", "password": "any"}))
        .send()
        .await
        .expect("password login");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A local user of the provider's name is never taken over.
    server.add_user("bob", "bob-password-1");
    let b6 = browser();
    let callback = at_provider(&b6, mstr_start(server, &b6).await, "bob", false).await;
    let r = b6.get(callback).send().await.expect("bob");
    assert_error_page(r, StatusCode::UNAUTHORIZED).await;

    assert!(
        s.audited(|e| e["event"] == "login_failed" && e["login_mode"] == 4194304 && e["provider"] == "corp")
    );
    assert!(s.audited(|e| e["event"] == "login_failed"
        && e["login_mode"] == 4194304
        && e.get("provider").is_none()));
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules/oidc-provider is missing (bash scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn sso_without_auto_create_refuses_unknown_users_and_a_provider_down_is_a_503() {
    let mut s = setup(false);
    let server = &s.server;
    let b = browser();
    let callback = at_provider(&b, mstr_start(server, &b).await, "alice", false).await;
    let r = b.get(callback).send().await.expect("callback");
    let page = assert_error_page(r, StatusCode::UNAUTHORIZED).await;
    assert!(page.contains("no such user"), "{page}");
    let users = String::from_utf8_lossy(&server.cli(&["user", "list"], "").stdout).to_string();
    assert!(!users.contains("alice"), "{users}");

    // The provider goes down between its login page and the callback: the code exchange cannot
    // reach it, a 503 page.
    let b = browser();
    let callback = at_provider(&b, mstr_start(&s.server, &b).await, "alice", false).await;
    s.idp.stop();
    let r = b.get(callback).send().await.expect("callback, provider down");
    assert_error_page(r, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(s.audited(|e| e["event"] == "login_failed"
        && e["reason"] == "unavailable"
        && e["provider"] == "corp"));

    // A provider that is down when a sign-in starts: a 503 page, and the server started anyway.
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let idp = Idp::start(&format!("{public}{CALLBACK}"));
    let issuer = idp.issuer.clone();
    drop(idp);
    let dead = Idp::down(issuer);
    let down = setup_with(dead, &public, port, true);
    let r = browser()
        .post(down.server.url(&format!("{CONTEXT}/auth/login")))
        .form(&[("loginMode", "4194304")])
        .send()
        .await
        .expect("start, provider down");
    assert_error_page(r, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(down.audited(|e| e["event"] == "login_failed"
        && e["reason"] == "unavailable"
        && e["provider"] == "corp"));
}

/// The sign-in page's password form: its CSRF token, then the session a REST login makes.
#[tokio::test]
async fn sso_sign_in_page_password_form_makes_a_browser_session() {
    let server = TestServer::start();
    let b = browser();
    let page = b
        .get(server.url(&format!("{CONTEXT}/auth/login")))
        .send()
        .await
        .expect("GET auth/login")
        .text()
        .await
        .expect("page");
    assert!(!page.contains("4194304"), "no provider, no button: {page}");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf field")
        .to_string();
    let login = |csrf: String| {
        b.post(server.url(&format!("{CONTEXT}/auth/login"))).form(&[
            ("loginMode", "1".to_string()),
            ("username", "administrator".to_string()),
            ("password", crate::common::ADMIN_PASSWORD.to_string()),
            ("csrf", csrf),
        ])
    };
    let r = login("forged".into()).send().await.expect("forged csrf");
    assert_error_page(r, StatusCode::BAD_REQUEST).await;
    let r = login(csrf).send().await.expect("login");
    assert_eq!(r.status(), StatusCode::FOUND);
    user_info_by_token(&server, &b).await;
    // Without the browser's cookies there is no token to give.
    let r = crate::common::client()
        .get(server.url(&format!("{CONTEXT}/api/auth/token")))
        .send()
        .await
        .expect("auth/token, no cookies");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
