//! The ThoughtSpot v1 session API against the real binary: login, info, isactive, orgs, logout
//! under both prefixes, remember-me and idle timeouts, the CSRF check, trusted authentication with
//! its token lifetime rule, and every error path's body.

use std::time::Duration;

use serde_json::Value;

use crate::common::ts::*;
use crate::common::{
    client, fetch_json, json, plain_get, send, wait_for, wait_until_swept, TestServer, ADMIN_PASSWORD,
};

#[tokio::test]
async fn ts_v1_login_info_isactive_logout_under_both_prefixes() {
    let server = TestServer::start();
    for prefix in [V1, V1_ALIAS] {
        let c = client();
        let resp = send(
            csrf_post(&c, server.url(&format!("{prefix}/session/login"))).form(&[
                ("username", "administrator"),
                ("password", ADMIN_PASSWORD),
                ("rememberme", "false"),
            ]),
        )
        .await;
        assert_eq!(resp.status(), 204);
        let cookies = set_cookies(&resp);
        let session = cookies
            .iter()
            .find(|c| c.starts_with("JSESSIONID="))
            .expect("JSESSIONID");
        assert!(
            session.contains("Path=/") && session.contains("HttpOnly"),
            "{session}"
        );
        assert!(
            !session.contains("Secure") && !session.contains("Max-Age"),
            "{session}"
        );
        assert!(cookie_value(&cookies, "clientId").is_some(), "{cookies:?}");
        let guid = cookie_value(&cookies, "userGUID").expect("userGUID");

        let (status, info) = fetch_json(&c, server.url(&format!("{prefix}/session/info"))).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["userName"], "administrator");
        assert_eq!(info["userDisplayName"], "Administrator");
        assert_eq!(info["userGUID"], guid.as_str());
        assert_eq!(info["currentOrgId"], 0);
        assert!(info["privileges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "ADMINISTRATION"));
        assert_eq!(
            info["authToken"],
            cookie_value(&cookies, "JSESSIONID").unwrap().as_str()
        );
        for key in ["devSdkKey", "prodSdkKey", "production"] {
            assert!(info["configInfo"]["mixpanelConfig"].get(key).is_some(), "{info}");
        }
        for key in ["isPublicUser", "selfClusterId", "selfClusterName", "isSaas"] {
            assert!(info["configInfo"].get(key).is_some(), "{info}");
        }
        assert!(info["releaseVersion"].as_str().unwrap().split('.').count() >= 3);
        assert!(info["timezone"].is_string() && info["userEmail"].is_string());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let exp = info["expirationTime"].as_i64().unwrap();
        assert!(
            exp > now + 3 * 3600 - 60 && exp <= now + 3 * 3600 + 5,
            "3 h idle timeout: {exp} vs {now}"
        );

        let resp = send(c.get(server.url(&format!("{prefix}/session/isactive")))).await;
        assert_eq!(resp.status(), 204);

        let resp = send(csrf_post(&c, server.url(&format!("{prefix}/session/logout")))).await;
        assert_eq!(resp.status(), 204);
        assert!(set_cookies(&resp)
            .iter()
            .any(|c| c.starts_with("JSESSIONID=;") && c.contains("Max-Age=0")));
        let resp = send(c.get(server.url(&format!("{prefix}/session/info")))).await;
        v1_error(resp, 401, 10003).await;
        let resp = send(c.get(server.url(&format!("{prefix}/session/isactive")))).await;
        v1_error(resp, 401, 10003).await;
        // The ended session's cookie is refused even when sent by hand.
        let (status, _) = json(
            client()
                .get(server.url(&format!("{prefix}/session/info")))
                .header(
                    "Cookie",
                    format!("JSESSIONID={}", cookie_value(&cookies, "JSESSIONID").unwrap()),
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401);
    }
}

#[tokio::test]
async fn ts_v1_rememberme_gives_the_long_session_and_a_persistent_cookie() {
    let server = TestServer::start();
    let c = client();
    let resp = send(csrf_post(&c, server.url(&format!("{V1}/session/login"))).form(&[
        ("username", "administrator"),
        ("password", ADMIN_PASSWORD),
        ("rememberme", "true"),
    ]))
    .await;
    assert_eq!(resp.status(), 204);
    let cookies = set_cookies(&resp);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("JSESSIONID=") && c.contains("Max-Age=604800")),
        "{cookies:?}"
    );
    let (_, info) = fetch_json(&c, server.url(&format!("{V1}/session/info"))).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = info["expirationTime"].as_i64().unwrap();
    assert!(
        exp > now + 7 * 24 * 3600 - 60,
        "7 day remember-me: {exp} vs {now}"
    );
}

#[tokio::test]
async fn ts_v1_idle_timeout_ends_the_session_and_use_extends_it() {
    let server = TestServer::start_with(&[
        ("VESTIBULE_THOUGHTSPOT_SESSION_IDLE_SECS", "2"),
        ("VESTIBULE_THOUGHTSPOT_REMEMBER_ME_SECS", "30"),
        ("VESTIBULE_SESSION_SWEEP_INTERVAL_SECS", "1"),
    ]);
    let c = v1_login(&server, "administrator", ADMIN_PASSWORD).await;
    // Activity every 400 ms keeps it alive past the idle timeout.
    let mut last_use = std::time::Instant::now();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        last_use = std::time::Instant::now();
        let (status, _) = fetch_json(&c, server.url(&format!("{V1}/session/info"))).await;
        assert_eq!(status, 200);
    }
    // Then idle: it ends (the sweep takes it), not before the timeout.
    wait_until_swept(&server).await;
    assert!(last_use.elapsed() >= Duration::from_secs(2), "ended early");
    let resp = send(c.get(server.url(&format!("{V1}/session/info")))).await;
    v1_error(resp, 401, 10003).await;
}

#[tokio::test]
async fn ts_v1_login_errors_do_not_tell_whether_a_user_exists() {
    let server = TestServer::start();
    let login = |form: Vec<(&'static str, String)>| {
        csrf_post(&client(), server.url(&format!("{V1}/session/login"))).form(&form)
    };
    let wrong = v1_error(
        send(login(vec![
            ("username", "administrator".into()),
            ("password", "nope".into()),
        ]))
        .await,
        401,
        10003,
    )
    .await;
    let unknown = v1_error(
        send(login(vec![
            ("username", "no-such-user".into()),
            ("password", "nope".into()),
        ]))
        .await,
        401,
        10003,
    )
    .await;
    assert_eq!(wrong, unknown);
    let missing = v1_error(send(login(vec![("password", "x".into())])).await, 400, 10002).await;
    assert!(missing[0].contains("username"), "{missing:?}");
    v1_error(
        send(login(vec![
            ("username", "administrator".into()),
            ("password", ADMIN_PASSWORD.into()),
            ("rememberme", "maybe".into()),
        ]))
        .await,
        400,
        10002,
    )
    .await;
    let resp = send(
        csrf_post(&client(), server.url(&format!("{V1}/session/login")))
            .header("Content-Type", "application/json")
            .body("{not json"),
    )
    .await;
    v1_error(resp, 400, 10002).await;
    // Unknown paths and methods under /callosum answer with the v1 body too.
    v1_error(
        plain_get(server.url(&format!("{V1}/session/nope"))).await,
        404,
        10004,
    )
    .await;
    v1_error(
        plain_get(server.url(&format!("{V1_ALIAS}/nope"))).await,
        404,
        10004,
    )
    .await;
    v1_error(
        plain_get(server.url(&format!("{V1}/session/login"))).await,
        405,
        10004,
    )
    .await;
    // Logging out without a session.
    let resp = send(csrf_post(&client(), server.url(&format!("{V1}/session/logout")))).await;
    v1_error(resp, 401, 10003).await;
}

#[tokio::test]
async fn ts_v1_state_changing_requests_need_x_requested_by() {
    let server = TestServer::start();
    let resp = send(
        client()
            .post(server.url(&format!("{V1}/session/login")))
            .form(&[("username", "administrator"), ("password", ADMIN_PASSWORD)]),
    )
    .await;
    let msgs = v1_error(resp, 400, 10002).await;
    assert!(msgs[0].contains("X-Requested-By"), "{msgs:?}");

    let c = v1_login(&server, "administrator", ADMIN_PASSWORD).await;
    // GETs need no header (the Visual Embed SDK sends none on them).
    let (status, _) = fetch_json(&c, server.url(&format!("{V1_ALIAS}/session/info"))).await;
    assert_eq!(status, 200);
    // A logout without it is refused and the session lives on; any value is accepted.
    v1_error(
        send(c.post(server.url(&format!("{V1}/session/logout")))).await,
        400,
        10002,
    )
    .await;
    v1_error(
        send(
            c.put(server.url(&format!("{V1}/session/orgs")))
                .form(&[("orgid", "0")]),
        )
        .await,
        400,
        10002,
    )
    .await;
    let (status, _) = fetch_json(&c, server.url(&format!("{V1}/session/info"))).await;
    assert_eq!(status, 200);
    let resp = send(
        c.post(server.url(&format!("{V1}/session/logout")))
            .header("x-requested-by", "CS Tools"),
    )
    .await;
    assert_eq!(resp.status(), 204);

    // The check can be turned off.
    let lax = TestServer::start_with(&[("VESTIBULE_THOUGHTSPOT_REQUIRE_REQUESTED_BY", "false")]);
    let resp = send(
        client()
            .post(lax.url(&format!("{V1}/session/login")))
            .form(&[("username", "administrator"), ("password", ADMIN_PASSWORD)]),
    )
    .await;
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn ts_v1_orgs() {
    let server = TestServer::start();
    server.add_user("plain", "plain-pass");
    let c = v1_login(&server, "administrator", ADMIN_PASSWORD).await;
    let (status, orgs) = fetch_json(
        &c,
        server.url(&format!("{V1}/session/orgs?batchsize=-1&offset=-1")),
    )
    .await;
    assert_eq!(status, 200, "{orgs}");
    assert_eq!(orgs["orgs"][0]["orgId"], 0);
    assert_eq!(orgs["orgs"][0]["orgName"], "Primary");
    assert_eq!(orgs["canAdministerAllOrgs"], true);
    let put = |orgid: &'static str| {
        c.put(server.url(&format!("{V1}/session/orgs")))
            .header("X-Requested-By", "ThoughtSpot")
            .form(&[("orgid", orgid)])
    };
    assert_eq!(send(put("0")).await.status(), 204);
    v1_error(send(put("5")).await, 400, 10002).await;
    v1_error(send(put("zero")).await, 400, 10002).await;
    let (_, info) = fetch_json(&c, server.url(&format!("{V1}/session/info"))).await;
    let me = info["userGUID"].as_str().unwrap();
    let (status, _) = fetch_json(
        &c,
        server.url(&format!("{V1}/session/orgs/users/{me}?orgScope=ALL")),
    )
    .await;
    assert_eq!(status, 200);
    v1_error(
        send(c.get(server.url(&format!("{V1}/session/orgs/users/not-a-guid")))).await,
        400,
        10002,
    )
    .await;

    let plain = v1_login(&server, "plain", "plain-pass").await;
    let (_, orgs) = fetch_json(&plain, server.url(&format!("{V1}/session/orgs"))).await;
    assert_eq!(orgs["canAdministerAllOrgs"], false);
    let resp = send(plain.get(server.url(&format!("{V1}/session/orgs/users/{me}")))).await;
    v1_error(resp, 403, 10023).await;
    v1_error(
        plain_get(server.url(&format!("{V1}/session/orgs"))).await,
        401,
        10003,
    )
    .await;
}

#[tokio::test]
async fn ts_v1_trusted_token_and_token_login() {
    let server = TestServer::start();
    // Off until an administrator enables it.
    let (status, body) = v1_token(&server, "whatever", &[("username", "administrator")]).await;
    assert_eq!(status, 403, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], 10023);
    let key = trusted_auth(&server, "enable");
    assert_eq!(key.len(), 36, "{key}");

    for (form, status) in [
        (vec![("username", "administrator")], 200),
        (vec![("username", "no-such-user")], 401),
        (vec![], 400),
        (vec![("username", "administrator"), ("access_level", "ALL")], 400),
        (
            vec![
                ("username", "administrator"),
                ("access_level", "REPORT_BOOK_VIEW"),
            ],
            400,
        ),
        (
            vec![
                ("username", "administrator"),
                ("access_level", "REPORT_BOOK_VIEW"),
                ("id", "zzz"),
            ],
            400,
        ),
        (vec![("username", "administrator"), ("orgid", "3")], 400),
        (vec![("username", "administrator"), ("groups", "not json")], 400),
        (
            vec![("username", "administrator"), ("jwt_user_options", "{}")],
            400,
        ),
    ] {
        let (got, body) = v1_token(&server, &key, &form).await;
        assert_eq!(got, status, "{form:?}: {body}");
    }
    let (status, _) = v1_token(
        &server,
        "b0cb26a0-351e-40b4-9e42-00fa2265d50c",
        &[("username", "administrator")],
    )
    .await;
    assert_eq!(status, 401, "a wrong key");

    let resp = send(
        client()
            .post(server.url(&format!("{V1}/session/auth/token")))
            .form(&[
                ("secret_key", key.as_str()),
                ("username", "administrator"),
                ("access_level", "FULL"),
                ("orgid", "0"),
            ]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let token = resp.text().await.unwrap();
    assert!(token.len() >= 40 && !token.contains(char::is_whitespace));

    // The Visual Embed SDK checks the token as a bearer first; that does not use it up.
    let resp = send(
        client()
            .get(server.url(&format!("{V1_ALIAS}/session/isactive")))
            .bearer_auth(&token)
            .header("x-requested-by", "ThoughtSpot"),
    )
    .await;
    assert_eq!(resp.status(), 204);

    // 204 with no_url_redirection, and the session works.
    let c = client();
    let resp = send(
        csrf_post(&c, server.url(&format!("{V1}/session/login/token"))).form(&[
            ("username", "administrator"),
            ("auth_token", token.as_str()),
            ("no_url_redirection", "true"),
        ]),
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert!(cookie_value(&set_cookies(&resp), "JSESSIONID").is_some());
    let (status, info) = fetch_json(&c, server.url(&format!("{V1}/session/info"))).await;
    assert_eq!((status, info["userName"].as_str()), (200, Some("administrator")));

    // 302 to a path of this server (the token is reusable), and to an absolute URL on this host.
    let target = format!("{V1_ALIAS}/session/isactive");
    for url in [target.clone(), server.url(&target)] {
        let resp = send(
            csrf_post(&client(), server.url(&format!("{V1_ALIAS}/session/login/token"))).form(&[
                ("username", "administrator"),
                ("auth_token", token.as_str()),
                ("redirect_url", url.as_str()),
            ]),
        )
        .await;
        assert_eq!(resp.status(), 302);
        assert_eq!(resp.headers()["location"], url.as_str());
        assert!(cookie_value(&set_cookies(&resp), "JSESSIONID").is_some());
    }
    // The deprecated GET form, and no redirect_url at all (204).
    let resp = send(client()
        .get(server.url(&format!(
            "{V1}/session/login/token?username=administrator&auth_token={token}&redirect_url=%2Fcallosum%2Fv1%2Fsession%2Fisactive"
        )))).await;
    assert_eq!(resp.status(), 302);
    let resp = send(
        csrf_post(&client(), server.url(&format!("{V1}/session/login/token")))
            .form(&[("auth_token", token.as_str())]),
    )
    .await;
    assert_eq!(resp.status(), 204);

    // Failures.
    let post = |form: Vec<(&'static str, String)>| {
        csrf_post(&client(), server.url(&format!("{V1}/session/login/token"))).form(&form)
    };
    v1_error(
        send(post(vec![
            ("username", "other".into()),
            ("auth_token", token.clone()),
        ]))
        .await,
        401,
        10003,
    )
    .await;
    v1_error(
        send(post(vec![("auth_token", "garbage".into())])).await,
        401,
        10003,
    )
    .await;
    v1_error(
        send(post(vec![("username", "administrator".into())])).await,
        400,
        10002,
    )
    .await;
    v1_error(
        send(post(vec![
            ("auth_token", token.clone()),
            ("redirect_url", "https://evil.example/".into()),
        ]))
        .await,
        400,
        10002,
    )
    .await;
    let resp = send(
        client()
            .get(server.url(&format!("{V1_ALIAS}/session/isactive")))
            .bearer_auth("garbage"),
    )
    .await;
    v1_error(resp, 401, 10003).await;
}

#[tokio::test]
async fn ts_v1_token_lifetime_rule_rotation_and_disable() {
    let server = TestServer::start_with(&[("VESTIBULE_THOUGHTSPOT_TRUSTED_TOKEN_GRACE_SECS", "2")]);
    let key = trusted_auth(&server, "enable");
    let login = |t: String| {
        let server = &server;
        async move {
            csrf_post(&client(), server.url(&format!("{V1}/session/login/token")))
                .form(&[("auth_token", t.as_str()), ("no_url_redirection", "true")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let (_, t1) = v1_token(&server, &key, &[("username", "administrator")]).await;
    let minting_t2 = std::time::Instant::now();
    let (_, t2) = v1_token(&server, &key, &[("username", "administrator")]).await;
    // The older token lives on for the grace time after a newer one is minted, and no longer.
    assert_eq!(login(t1.clone()).await, 204);
    wait_for("t1's grace to end", || async { login(t1.clone()).await == 401 }).await;
    assert!(
        minting_t2.elapsed() >= Duration::from_secs(2),
        "t1's grace ended early"
    );
    assert_eq!(
        login(t1.clone()).await,
        401,
        "superseded token past its grace time"
    );
    assert_eq!(login(t2.clone()).await, 204, "the newest token stays valid");

    // A new key: the old key stops at once; old tokens live until the first new-key token.
    let key2 = trusted_auth(&server, "rotate");
    assert_ne!(key, key2);
    let (status, _) = v1_token(&server, &key, &[("username", "administrator")]).await;
    assert_eq!(status, 401);
    assert_eq!(login(t2.clone()).await, 204);
    let (status, t3) = v1_token(&server, &key2, &[("username", "administrator")]).await;
    assert_eq!(status, 200);
    assert_eq!(
        login(t2.clone()).await,
        401,
        "the first new-key token ends older-key tokens"
    );
    assert_eq!(login(t3.clone()).await, 204);

    // Enabling twice is refused; disabling ends every v1 token and the key.
    let out = server.cli(&["trusted-auth", "enable"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rotate"));
    trusted_auth(&server, "disable");
    assert_eq!(login(t3).await, 401);
    let (status, _) = v1_token(&server, &key2, &[("username", "administrator")]).await;
    assert_eq!(status, 403);
    let out = server.cli(&["trusted-auth", "rotate"], "");
    assert!(!out.status.success());
}

#[tokio::test]
async fn ts_v1_token_has_a_maximum_life() {
    let server = TestServer::start_with(&[("VESTIBULE_THOUGHTSPOT_TRUSTED_TOKEN_MAX_SECS", "2")]);
    let key = trusted_auth(&server, "enable");
    let minting = std::time::Instant::now();
    let (_, token) = v1_token(&server, &key, &[("username", "administrator")]).await;
    let isactive = |t: String| {
        let server = &server;
        async move {
            client()
                .get(server.url(&format!("{V1_ALIAS}/session/isactive")))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(isactive(token.clone()).await, 204);
    wait_for("the token's maximum life to end", || async {
        isactive(token.clone()).await != 204
    })
    .await;
    assert!(minting.elapsed() >= Duration::from_secs(2), "ended early");
    assert_eq!(isactive(token).await, 401);
}

#[tokio::test]
async fn ts_v1_autocreate_provisions_the_user_and_groups() {
    let server = TestServer::start();
    let key = trusted_auth(&server, "enable");
    let (status, token) = v1_token(
        &server,
        &key,
        &[
            ("username", "jit-user"),
            ("autocreate", "true"),
            ("display_name", "Jit User"),
            ("email", "jit@example.com"),
            ("groups", "[\"sales\", \"marketing\"]"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    let c = client();
    let resp = send(
        csrf_post(&c, server.url(&format!("{V1}/session/login/token"))).form(&[
            ("username", "jit-user"),
            ("auth_token", token.as_str()),
            ("no_url_redirection", "true"),
        ]),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let (_, info) = fetch_json(&c, server.url(&format!("{V1}/session/info"))).await;
    assert_eq!(info["userDisplayName"], "Jit User");
    assert_eq!(info["userEmail"], "jit@example.com");
    let (_, user) = fetch_json(&c, server.url(&format!("{V2}/auth/session/user"))).await;
    let groups: Vec<&str> = user["user_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&"sales") && groups.contains(&"marketing"),
        "{user}"
    );
    // The provisioned user has no password.
    let resp = send(
        csrf_post(&client(), server.url(&format!("{V1}/session/login")))
            .form(&[("username", "jit-user"), ("password", "")]),
    )
    .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn ts_v1_report_book_view_session_reads_only_its_object() {
    let server = TestServer::start();
    let key = trusted_auth(&server, "enable");
    let object = "7a9a6715-e154-431b-baaf-7b58246c13dd";
    let (status, token) = v1_token(
        &server,
        &key,
        &[
            ("username", "administrator"),
            ("access_level", "REPORT_BOOK_VIEW"),
            ("id", object),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let c = client();
    let resp = send(
        csrf_post(&c, server.url(&format!("{V1}/session/login/token")))
            .form(&[("auth_token", token.as_str()), ("no_url_redirection", "true")]),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let cookie = cookie_value(&set_cookies(&resp), "JSESSIONID").unwrap();
    let (status, info) = fetch_json(&c, server.url(&format!("{V1}/session/info"))).await;
    assert_eq!(status, 200);
    assert_eq!(info["restrictedObjectId"], object);
    v1_error(
        send(c.get(server.url(&format!("{V1}/session/orgs")))).await,
        403,
        10023,
    )
    .await;
    // The same session on the MicroStrategy dialect: refused on what reads other objects.
    let resp = send(
        client()
            .get(server.url("/api/projects"))
            .bearer_auth(&cookie)
            .header("Cookie", format!("JSESSIONID={cookie}")),
    )
    .await;
    let (status, body) = json(resp).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "ERR017");
}
