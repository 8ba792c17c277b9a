//! One core, two dialects: a session made through MicroStrategy is used and ended through
//! ThoughtSpot, and the other way round; a user is the same user in both.

use serde_json::json as j;

use crate::common::mstr::token_of;
use crate::common::ts::*;
use crate::common::{client, fetch_json, json, send, TestServer, ADMIN_PASSWORD};

/// A MicroStrategy login at `/api/auth/login` (cookie path `/`): the client with its JSESSIONID,
/// and the auth token.
async fn mstr_root_login(server: &TestServer) -> (reqwest::Client, String) {
    let c = client();
    let resp = send(
        c.post(server.url("/api/auth/login"))
            .json(&j!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let token = token_of(&resp);
    (c, token)
}

#[tokio::test]
async fn ts_cross_mstr_session_is_used_and_ended_through_thoughtspot() {
    let server = TestServer::start();
    let (c, token) = mstr_root_login(&server).await;
    // The MicroStrategy token as a bearer, with its JSESSIONID as MicroStrategy clients keep it.
    let (status, user) = json(
        c.get(server.url(&format!("{V2}/auth/session/user")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["name"], "administrator");
    let (status, info) = json(
        c.get(server.url(&format!("{V1}/session/info")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    // The same user: MicroStrategy's 32-hex id is ThoughtSpot's dashed UUID.
    let (_, mstr_user) = json(
        c.get(server.url("/api/sessions/userInfo"))
            .header("X-MSTR-AuthToken", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mstr_id = mstr_user["id"].as_str().unwrap().to_lowercase();
    assert_eq!(info["userGUID"].as_str().unwrap().replace('-', ""), mstr_id);
    assert_eq!(user["id"], info["userGUID"]);
    // A bare token without its cookie is refused while session.require_cookie is on.
    let (status, _) = bearer_get(&server, &format!("{V2}/auth/session/user"), &token).await;
    assert_eq!(status, 401);

    // A ThoughtSpot logout ends the MicroStrategy session.
    let resp = send(csrf_post(&c, server.url(&format!("{V1}/session/logout"))).bearer_auth(&token)).await;
    assert_eq!(resp.status(), 204);
    let (status, body) = json(
        c.get(server.url("/api/sessions"))
            .header("X-MSTR-AuthToken", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("ERR009")));

    // Through v2 too.
    let (c, token) = mstr_root_login(&server).await;
    let resp = send(
        c.post(server.url(&format!("{V2}/auth/session/logout")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let resp = send(
        c.get(server.url("/api/sessions"))
            .header("X-MSTR-AuthToken", &token),
    )
    .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn ts_cross_bare_mstr_token_works_when_cookies_are_not_required() {
    let server = TestServer::start_with(&[("VESTIBULE_SESSION_REQUIRE_COOKIE", "false")]);
    let (_, token) = mstr_root_login(&server).await;
    let (status, user) = bearer_get(&server, &format!("{V2}/auth/session/user"), &token).await;
    assert_eq!((status, user["name"].as_str()), (200, Some("administrator")));
    let resp = send(
        client()
            .post(server.url(&format!("{V2}/auth/token/revoke")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let resp = send(
        client()
            .get(server.url("/api/sessions"))
            .header("X-MSTR-AuthToken", &token),
    )
    .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn ts_cross_thoughtspot_sessions_are_used_and_ended_through_microstrategy() {
    let server = TestServer::start();
    // A v2 bearer token on the MicroStrategy API, ended by a MicroStrategy logout.
    let token = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let (status, session) = bearer_get(&server, "/api/sessions", &token).await;
    assert_eq!(status, 200, "{session}");
    let (status, _) = json(
        client()
            .get(server.url("/MicroStrategyLibrary/api/sessions/userInfo"))
            .header("X-MSTR-AuthToken", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let resp = send(client().post(server.url("/api/auth/logout")).bearer_auth(&token)).await;
    assert_eq!(resp.status(), 204);
    let resp = send(
        client()
            .get(server.url(&format!("{V2}/auth/session/user")))
            .bearer_auth(&token),
    )
    .await;
    v2_error(resp, 401, 10097).await;

    // A v1 cookie session (its JSESSIONID is its token) on the MicroStrategy API.
    let c = v1_login(&server, "administrator", ADMIN_PASSWORD).await;
    let (_, info) = fetch_json(&c, server.url(&format!("{V1}/session/info"))).await;
    let cookie = info["authToken"].as_str().unwrap().to_string();
    let resp = send(
        c.get(server.url("/api/sessions"))
            .header("X-MSTR-AuthToken", &cookie),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let resp = send(
        c.post(server.url("/api/auth/logout"))
            .header("X-MSTR-AuthToken", &cookie),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let resp = send(c.get(server.url(&format!("{V1}/session/info")))).await;
    v1_error(resp, 401, 10003).await;
}

#[tokio::test]
async fn ts_cross_a_disabled_user_loses_its_thoughtspot_sessions() {
    let server = TestServer::start();
    server.add_user("leaver", "leaver-pass");
    let token = v2_token(&server, "leaver", "leaver-pass").await;
    let c = v1_login(&server, "leaver", "leaver-pass").await;
    let out = server.cli(&["user", "disable", "leaver"], "");
    assert!(out.status.success());
    // The directory cache lives a short while (2 s); the user is refused once it has passed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while bearer_get(&server, &format!("{V2}/auth/session/user"), &token)
        .await
        .0
        != 401
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the disabled user's bearer still works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        c.get(server.url(&format!("{V1}/session/info")))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let (status, _) = v2_post(
        &server,
        "/auth/token/full",
        j!({"username": "leaver", "password": "leaver-pass"}),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
)]
async fn ts_cross_tokens_and_logouts_reach_every_node_of_a_cluster() {
    const TEST: &str = "ts_cross_tokens_and_logouts_reach_every_node_of_a_cluster";
    let pg_url = crate::common::backend_url("VESTIBULE_TEST_POSTGRES_URL", TEST);
    let redis_url = crate::common::backend_url("VESTIBULE_TEST_REDIS_URL", TEST);
    let db = crate::common::pg::FreshDb::create(&pg_url).await;
    let env = [
        ("VESTIBULE_STORE_SESSIONS", redis_url.as_str()),
        ("VESTIBULE_STORE_METADATA", db.url.as_str()),
        ("VESTIBULE_THOUGHTSPOT_TRUSTED_TOKEN_GRACE_SECS", "1"),
    ];
    let a = TestServer::start_with(&env);
    let b = TestServer::start_with(&env);
    // The key made through one node's store works on the other.
    let key = trusted_auth(&a, "enable");
    let (status, t1) = v1_token(&b, &key, &[("username", "administrator")]).await;
    assert_eq!(status, 200, "{t1}");
    let login_on = |node: &TestServer, t: String| {
        let url = node.url(&format!("{V1}/session/login/token"));
        async move {
            csrf_post(&client(), url)
                .form(&[("auth_token", t.as_str()), ("no_url_redirection", "true")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(login_on(&a, t1.clone()).await, 204);
    // A newer token minted on node a shortens t1 for node b too.
    let (_, t2) = v1_token(&a, &key, &[("username", "administrator")]).await;
    // After the one-second grace.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while login_on(&b, t1.clone()).await != 401 {
        assert!(std::time::Instant::now() < deadline, "t1 still works on node b");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(login_on(&b, t2).await, 204);

    // A v2 token minted on a is used on b, and revoking it on b ends it on a at once.
    let token = v2_token(&a, "administrator", ADMIN_PASSWORD).await;
    assert_eq!(
        bearer_get(&b, &format!("{V2}/auth/session/user"), &token).await.0,
        200
    );
    let resp = send(
        client()
            .post(b.url(&format!("{V2}/auth/token/revoke")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        bearer_get(&a, &format!("{V2}/auth/session/user"), &token).await.0,
        401
    );
    // A cookie session made on b logs out on a.
    let c = v1_login(&b, "administrator", ADMIN_PASSWORD).await;
    let (_, info) = fetch_json(&c, b.url(&format!("{V1}/session/info"))).await;
    let cookie = info["authToken"].as_str().unwrap().to_string();
    let resp = send(
        csrf_post(&client(), a.url(&format!("{V1}/session/logout")))
            .header("Cookie", format!("JSESSIONID={cookie}")),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        c.get(b.url(&format!("{V1}/session/info")))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}
