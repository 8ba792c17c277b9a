//! MicroStrategy `/api/auth/*` against the real binary: login in every accepted form, the token and
//! cookie handed out, guest mode, logout, identity tokens with delegation, and API tokens.

use serde_json::json as j;

use crate::common::mstr::{
    api_token, assert_mstr_error, cookie_value, delegate, delete_identity, form_login, get_json,
    identity_token, jsessionid, json_login, session_cookie, session_of, status_of, token_of, user_id,
    validate_identity, LIB,
};
use crate::common::{client, json, mstr_login, send, TestServer, ADMIN_PASSWORD};

#[tokio::test]
async fn mstr_login_accepts_form_json_numeric_strings_and_lowercase_keys() {
    let server = TestServer::start();
    let url = server.url(&format!("{LIB}/auth/login"));
    let c = client();
    let mut tokens = Vec::new();
    let form = send(c.post(&url).form(&[
        ("loginMode", "1"),
        ("username", "administrator"),
        ("password", ADMIN_PASSWORD),
    ]))
    .await;
    let bodies = [
        j!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD}),
        j!({"loginMode": "1", "username": "administrator", "password": ADMIN_PASSWORD, "applicationType": "76"}),
        j!({"loginmode": "1", "username": "administrator", "password": ADMIN_PASSWORD}),
        j!({"username": "administrator", "password": ADMIN_PASSWORD}),
        j!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD,
            "applicationType": 8, "workingSet": 10, "maxSearch": 3, "metadataLocale": "en_us"}),
    ];
    let mut resps = vec![form];
    for b in &bodies {
        resps.push(c.post(&url).json(b).send().await.unwrap());
    }
    for resp in resps {
        assert_eq!(resp.status(), 204, "{:?}", resp.headers());
        let token = token_of(&resp);
        // At least 128 bits: 26 base-32 characters.
        assert!(token.len() >= 26, "token too short: {token}");
        let cookie = session_cookie(&resp);
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("Path=/MicroStrategyLibrary"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        assert!(cookie_value(&cookie).len() >= 32, "{cookie}");
        let cc = resp.headers()["cache-control"].to_str().unwrap();
        assert!(cc.contains("no-store"), "{cc}");
        assert!(resp.bytes().await.unwrap().is_empty());
        tokens.push(token);
    }
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tokens.len(), "every login makes a new token");
}

#[tokio::test]
async fn mstr_login_cookie_path_follows_the_prefix_and_secure_follows_tls() {
    // The test's peer is the TLS proxy: only a trusted one is believed (see proxies.rs).
    let server = TestServer::start_with(&[("VESTIBULE_SERVER_TRUSTED_PROXIES", "127.0.0.1")]);
    let body = j!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD});
    let plain = send(client().post(server.url("/api/auth/login")).json(&body)).await;
    assert_eq!(plain.status(), 204);
    let cookie = session_cookie(&plain);
    assert!(
        cookie.contains("Path=/;") || cookie.ends_with("Path=/"),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && !cookie.contains("Secure"),
        "{cookie}"
    );

    // Under /api the cookie covers /, so the same client can use the session there.
    let c = client();
    let resp = send(c.post(server.url("/api/auth/login")).json(&body)).await;
    let s = session_of(c, &resp);
    let (st, _) = get_json(&s, &server.url("/api/sessions")).await;
    assert_eq!(st, 200);

    for prefix in ["/api", LIB] {
        let tls = send(
            client()
                .post(server.url(&format!("{prefix}/auth/login")))
                .header("X-Forwarded-Proto", "https")
                .json(&body),
        )
        .await;
        assert_eq!(tls.status(), 204);
        let cookie = session_cookie(&tls);
        assert!(
            cookie.contains("Secure") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
    }
}

#[tokio::test]
async fn mstr_login_makes_a_new_session_id_even_with_an_old_cookie() {
    let server = TestServer::start();
    let url = server.url(&format!("{LIB}/auth/login"));
    let form = [
        ("loginMode", "1"),
        ("username", "administrator"),
        ("password", ADMIN_PASSWORD),
    ];
    let c = reqwest::Client::new();
    let first = form_login(&c, &url, "administrator", ADMIN_PASSWORD).await;
    let first_cookie = jsessionid(&first);
    let first_token = token_of(&first);
    for planted in [
        first_cookie.clone(),
        "ATTACKERCHOSENSESSIONID0000000000".to_string(),
    ] {
        let again = send(
            c.post(&url)
                .header("Cookie", format!("JSESSIONID={planted}"))
                .form(&form),
        )
        .await;
        assert_eq!(again.status(), 204);
        let new_cookie = jsessionid(&again);
        assert_ne!(
            new_cookie, planted,
            "the server must not adopt the client's session id"
        );
        assert_ne!(new_cookie, first_cookie);
        let new_token = token_of(&again);
        assert_ne!(new_token, first_token);
        // The new token works only with the new cookie, not with the planted one.
        let with_planted = send(
            c.get(server.url(&format!("{LIB}/sessions")))
                .header("X-MSTR-AuthToken", &new_token)
                .header("Cookie", format!("JSESSIONID={planted}")),
        )
        .await;
        assert_mstr_error(with_planted, 401, "ERR009").await;
        let with_new = send(
            c.get(server.url(&format!("{LIB}/sessions")))
                .header("X-MSTR-AuthToken", &new_token)
                .header("Cookie", format!("JSESSIONID={new_cookie}")),
        )
        .await;
        assert_eq!(with_new.status(), 200);
    }
}

#[tokio::test]
async fn mstr_bad_credentials_answer_err003_alike_for_unknown_user_and_wrong_password() {
    let server = TestServer::start();
    server.add_user("alice", "alice-pass");
    let url = server.url(&format!("{LIB}/auth/login"));
    let mut bodies = Vec::new();
    for (user, pass) in [
        ("administrator", "wrong"),
        ("nobody-here", "wrong"),
        ("alice", "ADMIN-PASS"),
        ("alice", ""),
    ] {
        let resp = form_login(&client(), &url, user, pass).await;
        assert!(resp.headers().get("x-mstr-authtoken").is_none());
        assert!(resp.headers().get("set-cookie").is_none());
        bodies.push(assert_mstr_error(resp, 401, "ERR003").await);
    }
    for b in &bodies {
        let keys: Vec<&String> = b.as_object().unwrap().keys().collect();
        let first: Vec<&String> = bodies[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, first);
        assert_eq!(b["message"], bodies[0]["message"]);
    }
    assert_ne!(bodies[0]["ticketId"], bodies[1]["ticketId"]);
    // The right password still works afterwards.
    mstr_login(&server, "alice", "alice-pass").await;
}

#[tokio::test]
async fn mstr_guest_mode_is_off_by_default() {
    let server = TestServer::start();
    let resp = json_login(&server, &j!({"loginMode": 8})).await;
    assert_mstr_error(resp, 401, "ERR001").await;
    // The guest user cannot sneak in through Standard mode either.
    let url = server.url(&format!("{LIB}/auth/login"));
    let resp = form_login(&client(), &url, "guest", "guest").await;
    assert_mstr_error(resp, 401, "ERR003").await;
}

#[tokio::test]
async fn mstr_guest_mode_works_when_enabled() {
    let server = TestServer::start_with(&[("VESTIBULE_AUTH_GUEST_ENABLED", "true")]);
    for body in [j!({"loginMode": 8}), j!({"loginmode": "8"})] {
        let c = client();
        let resp = send(c.post(server.url(&format!("{LIB}/auth/login"))).json(&body)).await;
        assert_eq!(resp.status(), 204);
        let s = session_of(c, &resp);
        let (st, info) = get_json(&s, &server.url(&format!("{LIB}/sessions/userInfo"))).await;
        assert_eq!(st, 200);
        assert_eq!(info["username"], "guest");
        // A guest holds no administration: it cannot make API tokens for others.
        let (_, admin) = json(
            mstr_login(&server, "administrator", ADMIN_PASSWORD)
                .await
                .get(&server.url(&format!("{LIB}/sessions/userInfo")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let resp = send(
            s.post(&server.url(&format!("{LIB}/auth/apiTokens")))
                .json(&j!({"userId": admin["id"]})),
        )
        .await;
        assert_mstr_error(resp, 403, "ERR014").await;
    }
}

#[tokio::test]
async fn mstr_unsupported_login_modes_are_refused() {
    let server = TestServer::start();
    // LDAP without a directory configured, modes not supported here.
    for mode in ["16", "2", "64", "999", "0"] {
        let resp = send(client().post(server.url(&format!("{LIB}/auth/login"))).form(&[
            ("loginMode", mode),
            ("username", "administrator"),
            ("password", ADMIN_PASSWORD),
        ]))
        .await;
        assert_mstr_error(resp, 401, "ERR001").await;
    }
    // SAML and OIDC are browser sign-ins: ERR003, naming the sign-in page.
    for mode in ["1048576", "4194304"] {
        let resp = send(client().post(server.url(&format!("{LIB}/auth/login"))).form(&[
            ("loginMode", mode),
            ("username", "administrator"),
            ("password", ADMIN_PASSWORD),
        ]))
        .await;
        assert_mstr_error(resp, 401, "ERR003").await;
    }
    // Delegation is only for /api/auth/delegate.
    let resp = json_login(&server, &j!({"loginMode": -1, "identityToken": "x"})).await;
    assert_mstr_error(resp, 400, "ERR006").await;
}

#[tokio::test]
async fn mstr_logout_ends_the_session_at_once() {
    let server = TestServer::start();
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let other = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let resp = send(s.post(&server.url(&format!("{LIB}/auth/logout")))).await;
    assert_eq!(resp.status(), 204);
    let cleared = session_cookie(&resp);
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The cookie jar dropped the cookie; send the token alone and with the old cookie.
    assert_mstr_error(
        send(s.get(&server.url(&format!("{LIB}/sessions")))).await,
        401,
        "ERR009",
    )
    .await;
    assert_mstr_error(
        send(s.post(&server.url(&format!("{LIB}/auth/logout")))).await,
        401,
        "ERR009",
    )
    .await;
    // Another session of the same user is untouched.
    assert_eq!(
        status_of(&other, &server.url(&format!("{LIB}/sessions"))).await,
        200
    );
}

#[tokio::test]
async fn mstr_identity_token_create_validate_delegate_and_delete() {
    let server = TestServer::start();
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let me = user_id(&s, &server).await;
    let identity = identity_token(&s, &server).await;
    assert!(identity.len() >= 22);

    // Validate, with and without the auth token (the header is what counts).
    for c in [&s.client, &client()] {
        let (st, body) = json(validate_identity(c, &server, &identity).await).await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["userId"], me.as_str());
    }
    assert_mstr_error(
        send(client().get(server.url(&format!("{LIB}/auth/identityToken")))).await,
        400,
        "ERR007",
    )
    .await;

    // Delegate with loginMode -1 as a number and as a string (mstrio), and without it.
    let mut delegated = Vec::new();
    for body in [
        j!({"loginMode": -1, "identityToken": identity}),
        j!({"loginMode": "-1", "identityToken": identity}),
        j!({"identityToken": identity}),
    ] {
        let c = client();
        let resp = send(c.post(server.url(&format!("{LIB}/auth/delegate"))).json(&body)).await;
        assert_eq!(resp.status(), 204);
        assert!(session_cookie(&resp).contains("HttpOnly"));
        let d = session_of(c, &resp);
        assert_ne!(d.token, s.token);
        assert_eq!(user_id(&d, &server).await, me);
        delegated.push(d);
    }
    // A wrong loginMode or a missing token is a bad request.
    assert_mstr_error(
        delegate(&server, &j!({"loginMode": 1, "identityToken": identity})).await,
        400,
        "ERR006",
    )
    .await;
    assert_mstr_error(delegate(&server, &j!({"loginMode": "-1"})).await, 400, "ERR007").await;
    assert_mstr_error(
        delegate(&server, &j!({"loginMode": "-1", "identityToken": "not-a-token"})).await,
        401,
        "ERR003",
    )
    .await;

    // Delete: it stops validating and delegating; delegated sessions already made live on.
    let resp = delete_identity(&s, &server, &identity).await;
    assert_eq!(resp.status(), 204);
    assert_mstr_error(
        validate_identity(&client(), &server, &identity).await,
        401,
        "ERR003",
    )
    .await;
    assert_mstr_error(
        delegate(&server, &j!({"loginMode": -1, "identityToken": identity})).await,
        401,
        "ERR003",
    )
    .await;
    assert_mstr_error(delete_identity(&s, &server, &identity).await, 404, "ERR004").await;
    for d in &delegated {
        assert_eq!(status_of(d, &server.url(&format!("{LIB}/sessions"))).await, 200);
    }
    // Creating one needs a session.
    assert_mstr_error(
        send(client().post(server.url(&format!("{LIB}/auth/identityToken")))).await,
        401,
        "ERR009",
    )
    .await;
}

#[tokio::test]
async fn mstr_identity_token_dies_with_its_originating_session() {
    let server = TestServer::start();
    server.add_user("bob", "bob-pass");
    let s = mstr_login(&server, "bob", "bob-pass").await;
    let identity = identity_token(&s, &server).await;
    // Another user cannot delete it without the administration privilege.
    server.add_user("carol", "carol-pass");
    let carol = mstr_login(&server, "carol", "carol-pass").await;
    assert_mstr_error(delete_identity(&carol, &server, &identity).await, 403, "ERR014").await;
    let resp = send(s.post(&server.url(&format!("{LIB}/auth/logout")))).await;
    assert_eq!(resp.status(), 204);
    assert_mstr_error(
        delegate(&server, &j!({"loginMode": "-1", "identityToken": identity})).await,
        401,
        "ERR003",
    )
    .await;
}

#[tokio::test]
async fn mstr_api_tokens_log_in_with_mode_4096() {
    let server = TestServer::start();
    server.add_user("dave", "dave-pass");
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let admin_id = user_id(&admin, &server).await;
    let dave = mstr_login(&server, "dave", "dave-pass").await;
    let dave_id = user_id(&dave, &server).await;

    let login_4096 = |token: String| {
        let url = server.url(&format!("{LIB}/auth/login"));
        async move {
            let c = client();
            let resp = send(c.post(url).json(&j!({"loginMode": "4096", "username": token}))).await;
            (c, resp)
        }
    };

    // Own token, with an empty body and with JSON.
    for req in [
        admin.post(&server.url(&format!("{LIB}/auth/apiTokens"))),
        admin
            .post(&server.url(&format!("{LIB}/auth/apiTokens")))
            .json(&j!({})),
    ] {
        let (st, body) = json(req.send().await.unwrap()).await;
        assert_eq!(st, 201, "{body}");
        let token = body["apiToken"].as_str().unwrap().to_string();
        let (c, resp) = login_4096(token).await;
        assert_eq!(resp.status(), 204);
        let s = session_of(c, &resp);
        assert_eq!(user_id(&s, &server).await, admin_id);
    }

    // The administrator may make one for dave; dave may not make one for the administrator.
    let (st, body) = json(
        admin
            .post(&server.url(&format!("{LIB}/auth/apiTokens")))
            .json(&j!({"userId": dave_id}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let (c, resp) = login_4096(body["apiToken"].as_str().unwrap().to_string()).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(user_id(&session_of(c, &resp), &server).await, dave_id);

    assert_mstr_error(
        send(
            dave.post(&server.url(&format!("{LIB}/auth/apiTokens")))
                .json(&j!({"userId": admin_id})),
        )
        .await,
        403,
        "ERR014",
    )
    .await;
    let (st, _) = json(
        dave.post(&server.url(&format!("{LIB}/auth/apiTokens")))
            .json(&j!({"userId": dave_id}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 201);
    assert_mstr_error(
        send(
            admin
                .post(&server.url(&format!("{LIB}/auth/apiTokens")))
                .json(&j!({"userId": "0123456789ABCDEF0123456789ABCDEF"})),
        )
        .await,
        404,
        "ERR004",
    )
    .await;
    assert_mstr_error(
        send(
            admin
                .post(&server.url(&format!("{LIB}/auth/apiTokens")))
                .json(&j!({"userId": "not an id"})),
        )
        .await,
        400,
        "ERR006",
    )
    .await;
    assert_mstr_error(
        send(client().post(server.url(&format!("{LIB}/auth/apiTokens")))).await,
        401,
        "ERR009",
    )
    .await;
    // An unknown API token, or none, is refused like bad credentials or a missing field.
    let (_, resp) = login_4096("unknown-token".into()).await;
    assert_mstr_error(resp, 401, "ERR003").await;
    let resp = json_login(&server, &j!({"loginMode": 4096})).await;
    assert_mstr_error(resp, 400, "ERR007").await;
}

#[tokio::test]
async fn mstr_context_path_is_configurable() {
    let body = j!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD});
    let server = TestServer::start_with(&[("VESTIBULE_CONTEXT_PATH", "/Lib")]);
    let c = client();
    let resp = send(c.post(server.url("/Lib/api/auth/login")).json(&body)).await;
    assert_eq!(resp.status(), 204);
    assert!(
        session_cookie(&resp).contains("Path=/Lib"),
        "{}",
        session_cookie(&resp)
    );
    let s = session_of(c, &resp);
    let (st, _) = get_json(&s, &server.url("/Lib/api/sessions")).await;
    assert_eq!(st, 200);
    // The default context path is not served when another is configured.
    let resp = send(
        client()
            .post(server.url("/MicroStrategyLibrary/api/auth/login"))
            .json(&body),
    )
    .await;
    assert_mstr_error(resp, 404, "ERR004").await;

    // An empty context path serves only /api.
    let server = TestServer::start_with(&[("VESTIBULE_CONTEXT_PATH", "")]);
    let resp = send(client().post(server.url("/api/auth/login")).json(&body)).await;
    assert_eq!(resp.status(), 204);
    let resp = send(
        client()
            .post(server.url("/MicroStrategyLibrary/api/auth/login"))
            .json(&body),
    )
    .await;
    assert_mstr_error(resp, 404, "ERR004").await;
}

#[tokio::test]
async fn mstr_identity_and_api_tokens_expire_after_their_configured_lifetime() {
    let server = TestServer::start_with(&[
        ("VESTIBULE_SESSION_IDENTITY_TOKEN_TTL_SECS", "1"),
        ("VESTIBULE_AUTH_API_TOKEN_TTL_SECS", "1"),
    ]);
    let s = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let minted = std::time::Instant::now();
    let identity = identity_token(&s, &server).await;
    let api_token = api_token(&s, &server).await;
    let (identity_body, api_body) = (
        j!({"loginMode": -1, "identityToken": identity}),
        j!({"loginMode": 4096, "username": api_token}),
    );
    let use_identity = || delegate(&server, &identity_body);
    let use_api_token = || json_login(&server, &api_body);
    // Both work while they are young.
    let resp = use_identity().await;
    assert_eq!(resp.status(), 204, "identity token: {:?}", resp.text().await);
    let resp = use_api_token().await;
    assert_eq!(resp.status(), 204, "API token: {:?}", resp.text().await);
    // Then both stop working, not before their second is up.
    let deadline = minted + std::time::Duration::from_secs(15);
    loop {
        let (identity_status, api_status) = (use_identity().await.status(), use_api_token().await.status());
        if identity_status != 204 && api_status != 204 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the tokens did not expire");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        minted.elapsed() >= std::time::Duration::from_secs(1),
        "expired early"
    );
    assert_mstr_error(use_identity().await, 401, "ERR003").await;
    assert_mstr_error(use_api_token().await, 401, "ERR003").await;
    // The session they came from is still alive.
    assert_eq!(status_of(&s, &server.url(&format!("{LIB}/sessions"))).await, 200);
}

#[tokio::test]
async fn mstr_administrator_may_revoke_another_users_identity_token() {
    let server = TestServer::start();
    server.add_user("kim", "kim-pass");
    let kim = mstr_login(&server, "kim", "kim-pass").await;
    let identity = identity_token(&kim, &server).await;
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    assert_mstr_error(
        send(admin.delete(&server.url(&format!("{LIB}/auth/identityToken")))).await,
        400,
        "ERR007",
    )
    .await;
    let resp = delete_identity(&admin, &server, &identity).await;
    assert_eq!(resp.status(), 204);
    let resp = delegate(&server, &j!({"loginMode": -1, "identityToken": identity})).await;
    assert_mstr_error(resp, 401, "ERR003").await;
}
