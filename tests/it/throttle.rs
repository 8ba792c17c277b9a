//! Throttling of failed logins: growing delays and lockouts per account and per address, for
//! local, LDAP, API-token and ThoughtSpot logins; a locked account answers exactly like a wrong
//! password; lockouts expire and `vestibule user unlock` ends them.

use std::time::{Duration, Instant};

use crate::common::ldap::{Slapd, ALICE_PASSWORD};
use crate::common::{client, json, mstr_login, TestServer, ADMIN_PASSWORD};
use crate::ldap::{mstr_login_as, server_for};

/// Three failures lock an account; the lock lasts `lockout_secs`.
fn throttled(lockout_secs: &str, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("VESTIBULE_THROTTLE_ACCOUNT_FREE_FAILURES", "1".to_string()),
        ("VESTIBULE_THROTTLE_ACCOUNT_LOCKOUT_FAILURES", "3".to_string()),
        ("VESTIBULE_THROTTLE_ADDRESS_FREE_FAILURES", "1000".to_string()),
        ("VESTIBULE_THROTTLE_ADDRESS_LOCKOUT_FAILURES", "0".to_string()),
        ("VESTIBULE_THROTTLE_LOCKOUT_SECS", lockout_secs.to_string()),
        ("VESTIBULE_THROTTLE_BASE_DELAY_MS", "20".to_string()),
        ("VESTIBULE_THROTTLE_MAX_DELAY_MS", "50".to_string()),
    ];
    for (k, val) in extra {
        v.retain(|(ek, _)| ek != k);
        v.push((k, val.to_string()));
    }
    v
}

fn start(env: &[(&'static str, String)]) -> TestServer {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestServer::start_with(&pairs)
}

/// A login's answer without its ticket id, to compare answers.
async fn answer(server: &TestServer, mode: &str, user: &str, password: &str) -> (u16, serde_json::Value) {
    let (status, mut body, _) = mstr_login_as(server, mode, user, password).await;
    if let Some(o) = body.as_object_mut() {
        o.remove("ticketId");
    }
    (status, body)
}

#[tokio::test]
async fn a_locked_account_answers_like_a_wrong_password_and_the_lock_expires() {
    let server = start(&throttled("2", &[]));
    server.add_user("tina", "tina-pw-Right1");
    let wrong = answer(&server, "1", "tina", "wrong-1").await;
    assert_eq!(wrong.0, 401);
    for i in 2..=3 {
        assert_eq!(answer(&server, "1", "tina", &format!("wrong-{i}")).await, wrong);
    }
    // Locked: the right password gets the wrong-password answer.
    assert_eq!(answer(&server, "1", "tina", "tina-pw-Right1").await, wrong);
    // A name that is no user is counted and "locked" the same way.
    for i in 1..=4 {
        assert_eq!(answer(&server, "1", "ghost", &format!("guess-{i}")).await, wrong);
    }
    // Other accounts are not affected.
    mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    // The lock ends by itself (2 s here); poll with the right password, which a locked account
    // does not count as a failure.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = answer(&server, "1", "tina", "tina-pw-Right1").await;
        if status == 204 {
            break;
        }
        assert!(Instant::now() < deadline, "the lockout did not expire");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn unlock_from_the_cli_and_the_lock_is_shared_by_both_dialects() {
    let server = start(&throttled("3600", &[]));
    server.add_user("ursula", "ursula-pw-Right1");
    // Fail through the ThoughtSpot dialect...
    for i in 1..=3 {
        let status = client()
            .post(server.url("/callosum/v1/tspublic/v1/session/login"))
            .header("X-Requested-By", "ThoughtSpot")
            .form(&[("username", "ursula"), ("password", &format!("wrong-{i}"))])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    // ...and the MicroStrategy dialect sees the lock.
    assert_eq!(answer(&server, "1", "ursula", "ursula-pw-Right1").await.0, 401);
    let (status, _) = json(
        client()
            .post(server.url("/api/rest/2.0/auth/session/login"))
            .json(&serde_json::json!({"username": "ursula", "password": "ursula-pw-Right1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    let out = server.cli(&["user", "unlock", "ursula"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unlocked 'ursula'"));
    assert_eq!(answer(&server, "1", "ursula", "ursula-pw-Right1").await.0, 204);
    let out = server.cli(&["user", "unlock", "ursula"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("was not locked"));
}

#[tokio::test]
async fn the_client_address_is_blocked_across_accounts_and_modes() {
    let server = start(&throttled(
        "3600",
        &[
            ("VESTIBULE_THROTTLE_ADDRESS_FREE_FAILURES", "2"),
            ("VESTIBULE_THROTTLE_ADDRESS_LOCKOUT_FAILURES", "5"),
            ("VESTIBULE_THROTTLE_ACCOUNT_LOCKOUT_FAILURES", "0"),
        ],
    ));
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let (status, body) = json(
        admin
            .post(&server.url("/MicroStrategyLibrary/api/auth/apiTokens"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let api_token = body["apiToken"].as_str().unwrap().to_string();
    // Guessing API tokens (loginMode 4096) counts against the address.
    for i in 0..5 {
        assert_eq!(answer(&server, "4096", &format!("guess-{i}"), "").await.0, 401);
    }
    // Blocked: a right API token, and a right password, from this address are refused.
    assert_eq!(answer(&server, "4096", &api_token, "").await.0, 401);
    assert_eq!(answer(&server, "1", "administrator", ADMIN_PASSWORD).await.0, 401);
    // The session already held still works: throttling is about logins only.
    let status = admin
        .get(&server.url("/MicroStrategyLibrary/api/sessions"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
async fn ldap_logins_are_throttled_too() {
    let slapd = Slapd::start("throttle::ldap_logins_are_throttled_too");
    let env = throttled("3600", &[]);
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = server_for(&slapd, &extra);
    let wrong = answer(&server, "16", "alice", "wrong-a").await;
    assert_eq!(wrong.0, 401);
    answer(&server, "16", "alice", "wrong-b").await;
    answer(&server, "16", "alice", "wrong-c").await;
    assert_eq!(answer(&server, "16", "alice", ALICE_PASSWORD).await, wrong);
    let out = server.cli(&["user", "unlock", "alice"], "");
    assert!(out.status.success());
    assert_eq!(answer(&server, "16", "alice", ALICE_PASSWORD).await.0, 204);
}

/// A v1 error body without its per-request ids, to compare answers.
fn v1_answer(status: u16, mut body: serde_json::Value) -> (u16, serde_json::Value) {
    if let Some(o) = body.as_object_mut() {
        o.remove("incident_id_guid");
        o.remove("trace_id_guid");
    }
    (status, body)
}

/// `vestibule trusted-auth enable`; returns the key.
fn enable_trusted_auth(server: &TestServer) -> String {
    let out = server.cli(&["trusted-auth", "enable"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

async fn v1_auth_token(server: &TestServer, key: &str, user: &str) -> (u16, serde_json::Value) {
    let resp = client()
        .post(server.url("/callosum/v1/tspublic/v1/session/auth/token"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("secret_key", key), ("username", user), ("access_level", "FULL")])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    v1_answer(status, body)
}

async fn v1_password_login(server: &TestServer, user: &str, password: &str) -> u16 {
    client()
        .post(server.url("/callosum/v1/tspublic/v1/session/login"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn v2_post(server: &TestServer, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    json(client().post(server.url(path)).json(&body).send().await.unwrap()).await
}

#[tokio::test]
async fn thoughtspot_v1_and_v2_failures_block_the_client_address() {
    let server = start(&throttled(
        "3600",
        &[
            ("VESTIBULE_THROTTLE_ADDRESS_FREE_FAILURES", "2"),
            ("VESTIBULE_THROTTLE_ADDRESS_LOCKOUT_FAILURES", "5"),
            ("VESTIBULE_THROTTLE_ACCOUNT_LOCKOUT_FAILURES", "0"),
        ],
    ));
    let key = enable_trusted_auth(&server);
    // One failure through each ThoughtSpot login path, each for a different account, so only the
    // address can add them up.
    assert_eq!(v1_password_login(&server, "ts-a", "wrong-a").await, 401);
    let (status, body) = v2_post(
        &server,
        "/api/rest/2.0/auth/session/login",
        serde_json::json!({"username": "ts-b", "password": "wrong-b"}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = v2_post(
        &server,
        "/api/rest/2.0/auth/token/full",
        serde_json::json!({"username": "ts-c", "password": "wrong-c"}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = v2_post(
        &server,
        "/api/rest/2.0/auth/token/object",
        serde_json::json!({"username": "administrator", "secret_key": "not-the-key-d",
            "object_id": "00000000-0000-0000-0000-000000000001"}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    // Four failures: not blocked yet.
    assert_eq!(
        v1_password_login(&server, "administrator", ADMIN_PASSWORD).await,
        204
    );
    // The fifth, a guessed token on v1 login/token, blocks the address.
    let status = client()
        .post(server.url("/callosum/v1/tspublic/v1/session/login/token"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("auth_token", "guessed-token-e"), ("no_url_redirection", "true")])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    // Blocked: right credentials from this address are refused on every path of both dialects.
    assert_eq!(
        v1_password_login(&server, "administrator", ADMIN_PASSWORD).await,
        401
    );
    let (status, _) = v2_post(
        &server,
        "/api/rest/2.0/auth/session/login",
        serde_json::json!({"username": "administrator", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = v2_post(
        &server,
        "/api/rest/2.0/auth/token/full",
        serde_json::json!({"username": "administrator", "secret_key": key}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(v1_auth_token(&server, &key, "administrator").await.0, 401);
    assert_eq!(answer(&server, "1", "administrator", ADMIN_PASSWORD).await.0, 401);
}

#[tokio::test]
async fn wrong_secret_keys_lock_the_account_and_answer_like_a_wrong_key() {
    let server = start(&throttled("3600", &[]));
    server.add_user("vera", "vera-pw-Right1");
    server.add_user("walt", "walt-pw-Right1");
    let key = enable_trusted_auth(&server);
    // The right key works before any failure.
    let (status, token) = v1_auth_token(&server, &key, "vera").await;
    assert_eq!(status, 200, "{token}");
    let wrong = v1_auth_token(&server, "not-the-key-1", "vera").await;
    assert_eq!(wrong.0, 401, "{:?}", wrong.1);
    for i in 2..=3 {
        assert_eq!(
            v1_auth_token(&server, &format!("not-the-key-{i}"), "vera").await,
            wrong
        );
    }
    // Locked: the right key gets exactly the wrong-key answer, on v1 and v2...
    assert_eq!(v1_auth_token(&server, &key, "vera").await, wrong);
    let (status, _) = v2_post(
        &server,
        "/api/rest/2.0/auth/token/full",
        serde_json::json!({"username": "vera", "secret_key": key}),
    )
    .await;
    assert_eq!(status, 401);
    // ...and the lock is the account's: the right password is refused too.
    assert_eq!(v1_password_login(&server, "vera", "vera-pw-Right1").await, 401);
    // Another account is not affected.
    assert_eq!(v1_auth_token(&server, &key, "walt").await.0, 200);
    let out = server.cli(&["user", "unlock", "vera"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(v1_auth_token(&server, &key, "vera").await.0, 200);
}
