//! The ThoughtSpot v2 `auth/` API against the real binary: session login (with the Python
//! client's string booleans and integer org), user, token, logout; token/full, object, custom,
//! validate and revoke; expiry of short-lived tokens; and the v2 error body on every failure.

use std::time::Duration;

use serde_json::json as j;

use crate::common::ts::*;
use crate::common::{client, fetch_json, json, plain_get, send, wait_for, TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn ts_v2_session_login_user_token_logout() {
    let server = TestServer::start();
    let c = client();
    let resp = send(csrf_post(&c, server.url(&format!("{V2}/auth/session/login")))
        .json(&j!({"username": "administrator", "password": ADMIN_PASSWORD, "remember_me": "true", "org_identifier": 0}))).await;
    assert_eq!(resp.status(), 204);
    assert!(resp.headers().get("content-type").is_none());
    let cookies = set_cookies(&resp);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("JSESSIONID=") && c.contains("Max-Age=604800")),
        "{cookies:?}"
    );

    let (status, user) = fetch_json(&c, server.url(&format!("{V2}/auth/session/user"))).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["name"], "administrator");
    assert_eq!(user["display_name"], "Administrator");
    assert_eq!(user["visibility"], "SHARABLE");
    assert_eq!(user["current_org"]["id"], 0);
    assert_eq!(user["id"].as_str().unwrap().len(), 36);
    assert!(user["privileges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "ADMINISTRATION"));
    assert!(user["user_groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "System Administrators"));

    // From a cookie session, session/token mints a 24 h bearer token of the same user.
    let (status, token) = fetch_json(&c, server.url(&format!("{V2}/auth/session/token"))).await;
    assert_eq!(status, 200, "{token}");
    let life = life_ms(&token);
    assert_eq!(life, 24 * 3600 * 1000);
    assert_eq!(token["valid_for_username"], "administrator");
    assert_eq!(token["valid_for_user_id"], user["id"]);
    let bearer = token["token"].as_str().unwrap().to_string();
    let (status, _) = bearer_get(&server, &format!("{V2}/auth/session/user"), &bearer).await;
    assert_eq!(status, 200);
    // From a bearer token, it answers that token's own details.
    let (_, again) = bearer_get(&server, &format!("{V2}/auth/session/token"), &bearer).await;
    assert_eq!(again["token"], bearer.as_str());
    assert_eq!(
        again["expiration_time_in_millis"],
        token["expiration_time_in_millis"]
    );

    let resp = send(c.post(server.url(&format!("{V2}/auth/session/logout")))).await;
    assert_eq!(resp.status(), 204);
    assert!(resp.headers().get("content-type").is_none());
    let resp = send(c.get(server.url(&format!("{V2}/auth/session/user")))).await;
    v2_error(resp, 401, 10097).await;
    let resp = send(c.post(server.url(&format!("{V2}/auth/session/logout")))).await;
    v2_error(resp, 401, 10097).await;
    // The bearer token minted from the session is its own session and lives on.
    let (status, _) = bearer_get(&server, &format!("{V2}/auth/session/user"), &bearer).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn ts_v2_login_accepts_the_clients_variants_and_refuses_bad_input() {
    let server = TestServer::start();
    for body in [
        j!({"username": "administrator", "password": ADMIN_PASSWORD, "remember_me": true}),
        j!({"username": "administrator", "password": ADMIN_PASSWORD, "remember_me": "false", "org_identifier": "0"}),
        j!({"username": "administrator", "password": ADMIN_PASSWORD, "org_identifier": "Primary"}),
        j!({"username": "administrator", "password": ADMIN_PASSWORD, "remember_me": null}),
    ] {
        let (status, b) = v2_post(&server, "/auth/session/login", body.clone()).await;
        assert_eq!(status, 204, "{body}: {b}");
    }
    let post = |body: serde_json::Value| v2_request(&server, "/auth/session/login").json(&body);
    let wrong = v2_error(
        send(post(j!({"username": "administrator", "password": "nope"}))).await,
        401,
        10097,
    )
    .await;
    let unknown = v2_error(
        send(post(j!({"username": "ghost", "password": "nope"}))).await,
        401,
        10097,
    )
    .await;
    assert_eq!(wrong, unknown);
    v2_error(
        send(post(
            j!({"username": "administrator", "password": ADMIN_PASSWORD, "org_identifier": 7}),
        ))
        .await,
        400,
        10002,
    )
    .await;
    v2_error(
        send(post(
            j!({"username": "administrator", "password": ADMIN_PASSWORD, "remember_me": "maybe"}),
        ))
        .await,
        400,
        10002,
    )
    .await;
    v2_error(send(post(j!({"password": "x"}))).await, 400, 10002).await;
    v2_error(send(post(j!({"username": ["a"]}))).await, 400, 10002).await;
    let resp = send(
        v2_request(&server, "/auth/session/login")
            .header("Content-Type", "application/json")
            .body("{\"username\":"),
    )
    .await;
    v2_error(resp, 400, 10002).await;
    let resp = send(
        v2_request(&server, "/auth/session/login")
            .header("Content-Type", "application/json")
            .body("[1,2]"),
    )
    .await;
    v2_error(resp, 400, 10002).await;
}

#[tokio::test]
async fn ts_v2_bearer_login_turns_a_token_into_a_cookie_session() {
    let server = TestServer::start();
    let token = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let c = client();
    let resp = send(
        c.post(server.url(&format!("{V2}/auth/session/login")))
            .bearer_auth(&token)
            .json(&j!({"remember_me": "true"})),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert!(cookie_value(&set_cookies(&resp), "JSESSIONID").is_some());
    let (status, user) = fetch_json(&c, server.url(&format!("{V2}/auth/session/user"))).await;
    assert_eq!((status, user["name"].as_str()), (200, Some("administrator")));
    let resp = send(
        v2_request(&server, "/auth/session/login")
            .bearer_auth("not-a-token")
            .json(&j!({"remember_me": "true"})),
    )
    .await;
    v2_error(resp, 401, 10097).await;
}

#[tokio::test]
async fn ts_v2_token_full_with_password_or_secret_key() {
    let server = TestServer::start();
    let (status, t) = v2_post(
        &server,
        "/auth/token/full",
        j!({"username": "administrator", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["scope"]["access_type"], "FULL");
    assert_eq!(t["scope"]["org_id"], 0);
    assert!(t["scope"]["metadata_id"].is_null());
    assert_eq!(t["valid_for_username"], "administrator");
    assert_eq!(t["valid_for_user_id"].as_str().unwrap().len(), 36);
    let life = life_ms(&t);
    assert_eq!(life, 300_000, "default validity");
    let (_, t) = v2_post(
        &server,
        "/auth/token/full",
        j!({"username": "administrator", "password": ADMIN_PASSWORD, "validity_time_in_sec": "600", "org_id": 0}),
    )
    .await;
    let life = life_ms(&t);
    assert_eq!(life, 600_000);

    // Secret key: refused (403) while trusted authentication is off.
    let post = |body: serde_json::Value| v2_request(&server, "/auth/token/full").json(&body);
    v2_error(
        send(post(
            j!({"username": "administrator", "secret_key": "b0cb26a0-351e-40b4-9e42-00fa2265d50c"}),
        ))
        .await,
        403,
        10023,
    )
    .await;
    let key = trusted_auth(&server, "enable");
    let (status, t) = v2_post(
        &server,
        "/auth/token/full",
        j!({"username": "administrator", "secret_key": key}),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    let (status, _) = bearer_get(
        &server,
        &format!("{V1}/session/info"),
        t["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200, "a v2 token works on v1");
    v2_error(
        send(post(j!({"username": "administrator", "secret_key": "wrong"}))).await,
        401,
        10097,
    )
    .await;
    // The password takes precedence over the key.
    v2_error(
        send(post(
            j!({"username": "administrator", "password": "wrong", "secret_key": key}),
        ))
        .await,
        401,
        10097,
    )
    .await;
    let msgs = v2_error(send(post(j!({"username": "administrator"}))).await, 400, 10002).await;
    assert!(msgs[0].contains("secret_key or password"), "{msgs:?}");
    v2_error(send(post(j!({"password": ADMIN_PASSWORD}))).await, 400, 10002).await;
    for validity in [j!(0), j!(-5), j!("soon"), j!(400_000_000)] {
        v2_error(
            send(post(j!({"username": "administrator", "password": ADMIN_PASSWORD, "validity_time_in_sec": validity}))).await,
            400,
            10002,
        )
        .await;
    }
    v2_error(
        send(post(
            j!({"username": "administrator", "password": ADMIN_PASSWORD, "org_id": 2}),
        ))
        .await,
        400,
        10002,
    )
    .await;
    // An unknown user with the key: 401 unless auto_create.
    v2_error(
        send(post(j!({"username": "newbie", "secret_key": key}))).await,
        401,
        10097,
    )
    .await;
    let (status, t) = v2_post(
        &server,
        "/auth/token/full",
        j!({"username": "newbie", "secret_key": key, "auto_create": true, "group_identifiers": ["analysts"]}),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["valid_for_username"], "newbie");
}

#[tokio::test]
async fn ts_v2_tokens_are_reusable_until_they_expire() {
    let server = TestServer::start();
    let minting = std::time::Instant::now();
    let (_, t) = v2_post(
        &server,
        "/auth/token/full",
        j!({"username": "administrator", "password": ADMIN_PASSWORD, "validity_time_in_sec": 2}),
    )
    .await;
    let token = t["token"].as_str().unwrap();
    let expires_ms = t["expiration_time_in_millis"].as_i64().unwrap();
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    };
    // Every use answered before the expiry (the server's clock is this machine's) is accepted; on a
    // loaded machine the later ones may come after it.
    let mut accepted = 0;
    for _ in 0..5 {
        let (status, _) = bearer_get(&server, &format!("{V2}/auth/session/user"), token).await;
        if now_ms() < expires_ms {
            assert_eq!(status, 200, "a use answered before the token expired");
        }
        accepted += usize::from(status == 200);
    }
    assert!(accepted >= 1, "the token was never accepted");
    wait_for("the token to expire", || async {
        bearer_get(&server, &format!("{V2}/auth/session/user"), token)
            .await
            .0
            != 200
    })
    .await;
    assert!(minting.elapsed() >= Duration::from_secs(2), "expired early");
    let resp = send(
        client()
            .get(server.url(&format!("{V2}/auth/session/user")))
            .bearer_auth(token),
    )
    .await;
    v2_error(resp, 401, 10097).await;
    // An expired token no longer validates either.
    let other = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let resp = send(
        v2_request(&server, "/auth/token/validate")
            .bearer_auth(&other)
            .json(&j!({"token": token})),
    )
    .await;
    v2_error(resp, 400, 10002).await;
}

#[tokio::test]
async fn ts_v2_object_token_is_limited_to_its_object() {
    let server = TestServer::start();
    let object = "7a9a6715-e154-431b-baaf-7b58246c13dd";
    let (status, t) = v2_post(
        &server,
        "/auth/token/object",
        j!({"username": "administrator", "password": ADMIN_PASSWORD, "object_id": object}),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["scope"]["access_type"], "REPORT_BOOK_VIEW");
    assert_eq!(t["scope"]["metadata_id"], object);
    let token = t["token"].as_str().unwrap();
    let (status, user) = bearer_get(&server, &format!("{V2}/auth/session/user"), token).await;
    assert_eq!(status, 200);
    assert_eq!(user["restricted_object_id"], object);
    let resp = send(
        client()
            .get(server.url(&format!("{V1}/session/orgs")))
            .bearer_auth(token),
    )
    .await;
    v1_error(resp, 403, 10023).await;
    let (status, body) = bearer_get(&server, "/api/projects", token).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ERR017")), "{body}");
    // A cookie session made from it keeps the limit.
    let c = client();
    let resp = send(
        c.post(server.url(&format!("{V2}/auth/session/login")))
            .bearer_auth(token)
            .json(&j!({})),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let resp = send(c.get(server.url(&format!("{V1}/session/orgs")))).await;
    v1_error(resp, 403, 10023).await;
    // And so does a bearer token minted from that session.
    let (_, st) = fetch_json(&c, server.url(&format!("{V2}/auth/session/token"))).await;
    let (status, _) = bearer_get(&server, "/api/projects", st["token"].as_str().unwrap()).await;
    assert_eq!(status, 403);

    let post = |body: serde_json::Value| v2_request(&server, "/auth/token/object").json(&body);
    v2_error(
        send(post(
            j!({"username": "administrator", "password": ADMIN_PASSWORD}),
        ))
        .await,
        400,
        10002,
    )
    .await;
    v2_error(
        send(post(
            j!({"username": "administrator", "password": ADMIN_PASSWORD, "object_id": "nope"}),
        ))
        .await,
        400,
        10002,
    )
    .await;
    // The MicroStrategy 32-hex form of the id is accepted too.
    let (status, t) = v2_post(
        &server,
        "/auth/token/object",
        j!({"username": "administrator", "password": ADMIN_PASSWORD, "object_id": "7A9A6715E154431BBAAF7B58246C13DD"}),
    )
    .await;
    assert_eq!((status, t["scope"]["metadata_id"].as_str()), (200, Some(object)));
}

#[tokio::test]
async fn ts_v2_custom_token() {
    let (server, key) = trusted_server();
    // As the Python client sends it: org_id instead of org_identifier, no persist_option.
    let (status, t) = v2_post(
        &server,
        "/auth/token/custom",
        j!({"username": "custom-user", "validity_time_in_sec": 300, "secret_key": key, "org_id": 0,
            "auto_create": true, "display_name": "Custom User", "email": "c@example.com",
            "groups": [{"identifier": "sales"}]}),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["user"]["name"], "custom-user");
    assert_eq!(t["org"], j!({"id": 0, "name": "Primary"}));
    assert_eq!(t["id"].as_str().unwrap().len(), 36);
    let (status, user) = bearer_get(
        &server,
        &format!("{V2}/auth/session/user"),
        t["token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(user["display_name"], "Custom User");
    let post = |body: serde_json::Value| v2_request(&server, "/auth/token/custom").json(&body);
    v2_error(
        send(post(
            j!({"username": "custom-user", "secret_key": key, "filter_rules": [{"column_name": "x"}]}),
        ))
        .await,
        400,
        10002,
    )
    .await;
    v2_error(
        send(post(
            j!({"username": "custom-user", "secret_key": key, "persist_option": "FOREVER"}),
        ))
        .await,
        400,
        10002,
    )
    .await;
    v2_error(
        send(post(j!({"username": "custom-user", "secret_key": "nope"}))).await,
        401,
        10097,
    )
    .await;
}

#[tokio::test]
async fn ts_v2_validate() {
    let server = TestServer::start();
    let token = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let validate = |auth: Option<&str>, body: serde_json::Value| {
        let mut r = v2_request(&server, "/auth/token/validate").json(&body);
        if let Some(a) = auth {
            r = r.bearer_auth(a);
        }
        r
    };
    let (status, v) = json(validate(Some(&token), j!({"token": token})).send().await.unwrap()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["token_type"], "BEARER");
    assert_eq!(v["scope"]["access_type"], "FULL");
    assert_eq!(v["valid_for_user_id"].as_str().unwrap().len(), 36);
    assert!(
        v["expiration_time_in_millis"].as_i64().unwrap() > v["creation_time_in_millis"].as_i64().unwrap()
    );
    v2_error(
        send(validate(Some(&token), j!({"token": "garbage"}))).await,
        400,
        10002,
    )
    .await;
    v2_error(validate(Some(&token), j!({})).send().await.unwrap(), 400, 10002).await;
    v2_error(
        validate(None, j!({"token": token})).send().await.unwrap(),
        401,
        10097,
    )
    .await;
}

#[tokio::test]
async fn ts_v2_revoke() {
    let server = TestServer::start();
    server.add_user("plain", "plain-pass");
    // An empty body with no content type (the Python client) revokes the bearer itself.
    let t = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let resp = send(v2_request(&server, "/auth/token/revoke").bearer_auth(&t)).await;
    assert_eq!(resp.status(), 204);
    assert!(resp.headers().get("content-type").is_none());
    let resp = send(
        client()
            .get(server.url(&format!("{V2}/auth/session/user")))
            .bearer_auth(&t),
    )
    .await;
    v2_error(resp, 401, 10097).await;
    let resp = send(v2_request(&server, "/auth/token/revoke").bearer_auth(&t)).await;
    v2_error(resp, 401, 10097).await;

    // {token}: one's own token with another bearer.
    let a = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let b = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let revoke = |auth: &str, body: serde_json::Value| {
        v2_request(&server, "/auth/token/revoke")
            .bearer_auth(auth)
            .json(&body)
    };
    assert_eq!(revoke(&a, j!({"token": b})).send().await.unwrap().status(), 204);
    assert_eq!(
        bearer_get(&server, &format!("{V2}/auth/session/user"), &b)
            .await
            .0,
        401
    );
    assert_eq!(
        bearer_get(&server, &format!("{V2}/auth/session/user"), &a)
            .await
            .0,
        200
    );
    v2_error(
        revoke(&a, j!({"token": "unknown"})).send().await.unwrap(),
        400,
        10002,
    )
    .await;

    // Another user's token needs the administration privilege.
    let p1 = v2_token(&server, "plain", "plain-pass").await;
    let p2 = v2_token(&server, "plain", "plain-pass").await;
    v2_error(revoke(&p1, j!({"token": a})).send().await.unwrap(), 403, 10023).await;
    v2_error(
        send(revoke(&p1, j!({"user_identifier": "administrator"}))).await,
        403,
        10023,
    )
    .await;
    assert_eq!(revoke(&a, j!({"token": p1})).send().await.unwrap().status(), 204);
    assert_eq!(
        bearer_get(&server, &format!("{V2}/auth/session/user"), &p1)
            .await
            .0,
        401
    );
    // user_identifier: every token and session of the user.
    let cookie_session = v1_login(&server, "plain", "plain-pass").await;
    assert_eq!(
        revoke(&a, j!({"user_identifier": "plain"}))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        bearer_get(&server, &format!("{V2}/auth/session/user"), &p2)
            .await
            .0,
        401
    );
    let resp = send(cookie_session.get(server.url(&format!("{V1}/session/info")))).await;
    assert_eq!(resp.status(), 401);
    v2_error(
        revoke(&a, j!({"user_identifier": "ghost"})).send().await.unwrap(),
        400,
        10002,
    )
    .await;
    let resp = send(
        v2_request(&server, "/auth/token/revoke")
            .bearer_auth(&a)
            .header("Content-Type", "application/json")
            .body("{oops"),
    )
    .await;
    v2_error(resp, 400, 10002).await;
}

#[tokio::test]
async fn ts_v2_unknown_paths_and_methods_answer_the_v2_body() {
    let server = TestServer::start();
    for path in ["/auth/nope", "/metadata/search", "/"] {
        let resp = plain_get(server.url(&format!("{V2}{path}"))).await;
        v2_error(resp, 404, 10004).await;
    }
    let resp = plain_get(server.url(&format!("{V2}/auth/token/full"))).await;
    v2_error(resp, 405, 10004).await;
    // The rest of /api is still the MicroStrategy dialect.
    let (status, body) = fetch_json(&client(), server.url("/api/nope")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ERR004")));
    let (status, _) = fetch_json(&client(), server.url("/api/status")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn ts_garbage_never_gets_a_500_and_errors_are_json() {
    let (server, key) = trusted_server();
    let token = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let long = "x".repeat(100_000);
    let huge = "y".repeat(3_000_000);
    let bodies: Vec<(&str, String)> = vec![
        ("application/json", "{".into()),
        ("application/json", "[]".into()),
        ("application/json", "null".into()),
        ("application/json", "\"text\"".into()),
        (
            "application/json",
            j!({"username": {"a": 1}, "password": [1], "secret_key": 5}).to_string(),
        ),
        (
            "application/json",
            j!({"username": long, "password": long, "secret_key": key}).to_string(),
        ),
        (
            "application/json",
            j!({"username": "administrator", "secret_key": key, "object_id": long}).to_string(),
        ),
        (
            "application/json",
            j!({"token": long, "user_identifier": long}).to_string(),
        ),
        (
            "application/json",
            j!({"username": "administrator", "secret_key": key, "validity_time_in_sec": 1e300}).to_string(),
        ),
        ("application/x-www-form-urlencoded", "%%%&&&==".into()),
        (
            "application/x-www-form-urlencoded",
            format!("username={long}&password={long}&auth_token={long}"),
        ),
        (
            "application/x-www-form-urlencoded",
            format!("secret_key={key}&username=administrator&groups=%5B1%2C2%5D"),
        ),
        ("text/plain", "\u{0}\u{1}binary".into()),
        ("application/json", huge),
    ];
    let posts = [
        format!("{V1}/session/login"),
        format!("{V1}/session/auth/token"),
        format!("{V1}/session/login/token"),
        format!("{V2}/auth/session/login"),
        format!("{V2}/auth/token/full"),
        format!("{V2}/auth/token/object"),
        format!("{V2}/auth/token/custom"),
        format!("{V2}/auth/token/validate"),
    ];
    for path in &posts {
        for (ct, body) in &bodies {
            let resp = send(
                csrf_post(&client(), server.url(path))
                    .header("Content-Type", *ct)
                    .bearer_auth(&token)
                    .body(body.clone()),
            )
            .await;
            let status = resp.status().as_u16();
            assert!(status < 500, "{path} with {ct} {:.60}: {status}", body);
            if status >= 400 {
                let got = resp.headers()["content-type"].to_str().unwrap().to_string();
                assert!(got.starts_with("application/json"), "{path}: {status} {got}");
            }
        }
    }
    // Odd headers and query strings.
    for (name, value) in [
        ("Authorization", "Bearer"),
        ("Authorization", "Basic abc"),
        ("Cookie", "JSESSIONID="),
    ] {
        let resp = send(
            client()
                .get(server.url(&format!("{V2}/auth/session/user")))
                .header(name, value),
        )
        .await;
        v2_error(resp, 401, 10097).await;
    }
    let resp = send(client().get(server.url(&format!(
        "{V1}/session/login/token?auth_token=%FF%FE&no_url_redirection=maybe"
    ))))
    .await;
    assert_eq!(resp.status(), 400);
}

/// The server caches the trusted key for v2 mints (docs/performance.md, "v2 token mints"): a key
/// rotated or disabled by the CLI (another process) stops minting within a bounded time, and a
/// new key works at once.
#[tokio::test]
async fn ts_v2_secret_key_changes_from_the_cli_take_effect_within_a_bound() {
    let (server, key) = trusted_server();
    let mint = |key: String| {
        let server = &server;
        async move {
            v2_post(
                server,
                "/auth/token/full",
                j!({"username": "administrator", "secret_key": key}),
            )
            .await
            .0
        }
    };
    // Cached now.
    assert_eq!(mint(key.clone()).await, 200);
    let key2 = trusted_auth(&server, "rotate");
    assert_eq!(mint(key2.clone()).await, 200, "a new key works at once");
    let old_refused = within_3s(|| async { mint(key.clone()).await == 401 }).await;
    assert!(old_refused, "the retired key still minted 3 s after the rotation");
    trusted_auth(&server, "disable");
    let off = within_3s(|| async { mint(key2.clone()).await == 403 }).await;
    assert!(
        off,
        "the key still minted 3 s after trusted authentication was disabled"
    );
}

/// Secret-key mints find the user through a short-lived copy (docs/performance.md, "v2 token
/// mints"): a user disabled by the CLI (another process) stops minting within that bound, a user
/// enabled again mints at once, and a user added by the CLI mints at once.
#[tokio::test]
async fn ts_v2_secret_key_mints_see_cli_user_changes_within_a_bound() {
    let (server, key) = trusted_server();
    server.add_user("minted", "minted-pass");
    let mint = |name: &'static str| {
        let server = &server;
        let key = key.clone();
        async move {
            v2_post(
                server,
                "/auth/token/full",
                j!({"username": name, "secret_key": key}),
            )
            .await
            .0
        }
    };
    // Cached now.
    assert_eq!(mint("minted").await, 200);
    assert!(server.cli(&["user", "disable", "minted"], "").status.success());
    let refused = within_3s(|| async { mint("minted").await == 401 }).await;
    assert!(
        refused,
        "a disabled user still minted 3 s after the CLI disabled it"
    );
    assert!(server.cli(&["user", "enable", "minted"], "").status.success());
    assert_eq!(mint("minted").await, 200, "a re-enabled user mints at once");
    assert_eq!(mint("newcomer").await, 401);
    server.add_user("newcomer", "newcomer-pass");
    assert_eq!(mint("newcomer").await, 200, "a new user mints at once");
}

/// A server with trusted authentication on, and its secret key.
fn trusted_server() -> (TestServer, String) {
    let server = TestServer::start();
    let key = trusted_auth(&server, "enable");
    (server, key)
}

/// A token's lifetime in milliseconds, from its creation and expiration times.
fn life_ms(token: &serde_json::Value) -> i64 {
    token["expiration_time_in_millis"].as_i64().unwrap() - token["creation_time_in_millis"].as_i64().unwrap()
}

/// Whether `done` comes to hold within 3 s (polled every 100 ms): the bound the caches promise.
async fn within_3s<F, Fut>(mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..30 {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
