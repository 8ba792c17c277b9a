//! LDAP logins (loginMode 16 and the ThoughtSpot dialect with `thoughtspot.login_mode = "ldap"`)
//! against a real, private slapd (see common/ldap.rs): linking and group mapping, filter
//! injection, empty passwords, users outside the base or disabled, and a directory that stops,
//! freezes and comes back while vestibule keeps running.

use crate::common::ldap::{Slapd, ALICE_PASSWORD, BOB_PASSWORD, CAROL_PASSWORD, EVE_PASSWORD};
use crate::common::{client, json, TestServer};

pub fn server_for(slapd: &Slapd, extra: &[(&str, &str)]) -> TestServer {
    let mut env = slapd.env();
    env.push(("VESTIBULE_THOUGHTSPOT_LOGIN_MODE".into(), "ldap".into()));
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k.to_string(), v.to_string()));
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestServer::start_with(&pairs)
}

/// A MicroStrategy login with `mode`; the status, the body and the token if any.
pub async fn mstr_login_as(
    server: &TestServer,
    mode: &str,
    user: &str,
    password: &str,
) -> (u16, serde_json::Value, Option<String>) {
    let resp = client()
        .post(server.url("/MicroStrategyLibrary/api/auth/login"))
        .form(&[("loginMode", mode), ("username", user), ("password", password)])
        .send()
        .await
        .expect("login request");
    let token = resp
        .headers()
        .get("x-mstr-authtoken")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = json(resp).await;
    (status, body, token)
}

async fn ts_v1_login(server: &TestServer, user: &str, password: &str) -> u16 {
    client()
        .post(server.url("/callosum/v1/tspublic/v1/session/login"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[
            ("username", user),
            ("password", password),
            ("rememberme", "false"),
        ])
        .send()
        .await
        .expect("ts login")
        .status()
        .as_u16()
}

async fn ts_v2_login(server: &TestServer, user: &str, password: &str) -> (u16, serde_json::Value) {
    json(
        client()
            .post(server.url("/api/rest/2.0/auth/session/login"))
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .await
            .expect("ts v2 login"),
    )
    .await
}

fn cli_text(server: &TestServer, args: &[&str]) -> String {
    let out = server.cli(args, "");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The members line of `group` in `vestibule group list`.
fn members_of(server: &TestServer, group: &str) -> String {
    let text = cli_text(server, &["group", "list"]);
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.ends_with(&format!("  {group}")) {
            return lines.next().unwrap_or_default().to_string();
        }
    }
    panic!("no group {group} in:\n{text}");
}

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
async fn ldap_login_links_the_user_and_refreshes_groups() {
    let slapd = Slapd::start("ldap::ldap_login_links_the_user_and_refreshes_groups");
    let server = server_for(&slapd, &[]);
    let alice = client();
    let resp = alice
        .post(server.url("/MicroStrategyLibrary/api/auth/login"))
        .json(&serde_json::json!({"loginMode": 16, "username": "alice", "password": ALICE_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let token = resp.headers()["x-mstr-authtoken"].to_str().unwrap().to_string();
    let (status, info) = json(
        alice
            .get(server.url("/MicroStrategyLibrary/api/sessions"))
            .header("X-MSTR-AuthToken", token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["fullName"], "Alice Liddell");
    let users = cli_text(&server, &["user", "list"]);
    let alice = users
        .lines()
        .find(|l| l.contains(" alice "))
        .unwrap_or_else(|| panic!("{users}"));
    assert!(
        alice.contains("ldap") && alice.contains("Alice Liddell"),
        "{alice}"
    );
    assert!(members_of(&server, "System Administrators").contains("alice"));
    assert!(members_of(&server, "Analysts").contains("alice"));

    // bob: analysts only; the name is matched without case.
    let (status, body, _) = mstr_login_as(&server, "16", "BOB", BOB_PASSWORD).await;
    assert_eq!(status, 204, "{body}");
    assert!(members_of(&server, "Analysts").contains("bob"));
    assert!(!members_of(&server, "System Administrators").contains("bob"));

    // A removed mapped membership comes back at the next login: groups refresh every time.
    cli_text(&server, &["group", "remove-member", "Analysts", "alice"]);
    assert!(!members_of(&server, "Analysts").contains("alice"));
    let (status, _, _) = mstr_login_as(&server, "16", "alice", ALICE_PASSWORD).await;
    assert_eq!(status, 204);
    assert!(members_of(&server, "Analysts").contains("alice"));

    // An LDAP user has no local password: loginMode 1 does not let it in.
    let (status, body, _) = mstr_login_as(&server, "1", "alice", ALICE_PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("ERR003")));
}

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
async fn ldap_refuses_injection_empty_passwords_and_users_it_must_not_admit() {
    let slapd = Slapd::start("ldap::ldap_refuses_injection_empty_passwords_and_users_it_must_not_admit");
    let server = server_for(&slapd, &[]);
    let wrong = mstr_login_as(&server, "16", "alice", "not-her-password").await;
    assert_eq!(wrong.0, 401);
    let refused = [
        // Unescaped, each of these would find alice (or everyone) and bind with her password.
        ("*)(uid=*))(|(uid=*", ALICE_PASSWORD),
        ("al*", ALICE_PASSWORD),
        ("alice)(uid=*", ALICE_PASSWORD),
        ("*", ALICE_PASSWORD),
        ("alice\\", ALICE_PASSWORD),
        ("alice\u{0}", ALICE_PASSWORD),
        ("*)(|(objectClass=*", ALICE_PASSWORD),
        // No anonymous-bind trap.
        ("alice", ""),
        // Outside the search base, excluded by the filter, unknown.
        ("eve", EVE_PASSWORD),
        ("carol", CAROL_PASSWORD),
        ("nobody", "whatever-Pw1"),
    ];
    for (user, password) in refused {
        let (status, body, token) = mstr_login_as(&server, "16", user, password).await;
        assert_eq!(status, 401, "{user:?} got in: {body}");
        assert!(token.is_none());
        // One answer for every refusal: nothing tells which it was.
        assert_eq!(body["code"], wrong.1["code"], "{user:?}");
        assert_eq!(body["message"], wrong.1["message"], "{user:?}");
    }
    // A JSON body with the password missing is the empty password too.
    let (status, _) = json(
        client()
            .post(server.url("/api/auth/login"))
            .json(&serde_json::json!({"loginMode": 16, "username": "alice"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    // The ThoughtSpot dialect goes through the same checks.
    assert_eq!(ts_v1_login(&server, "al*", ALICE_PASSWORD).await, 401);
    assert_eq!(ts_v1_login(&server, "alice", "").await, 401);
    // And the real user still gets in.
    assert_eq!(mstr_login_as(&server, "16", "alice", ALICE_PASSWORD).await.0, 204);
}

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
async fn thoughtspot_logins_use_ldap_when_configured() {
    let slapd = Slapd::start("ldap::thoughtspot_logins_use_ldap_when_configured");
    let server = server_for(&slapd, &[]);
    assert_eq!(ts_v1_login(&server, "alice", ALICE_PASSWORD).await, 204);
    assert_eq!(ts_v1_login(&server, "alice", "wrong-password").await, 401);
    let (status, body) = ts_v2_login(&server, "bob", BOB_PASSWORD).await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = ts_v2_login(&server, "eve", EVE_PASSWORD).await;
    assert_eq!(status, 401);
    // The local administrator is not in the directory: with login_mode = ldap it cannot log in
    // through ThoughtSpot, while MicroStrategy loginMode 1 still works.
    assert_eq!(
        ts_v1_login(&server, "administrator", crate::common::ADMIN_PASSWORD).await,
        401
    );
    assert_eq!(
        mstr_login_as(&server, "1", "administrator", crate::common::ADMIN_PASSWORD)
            .await
            .0,
        204
    );
}

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
async fn directory_down_or_frozen_answers_503_and_recovers_without_restart() {
    let mut slapd = Slapd::start("ldap::directory_down_or_frozen_answers_503_and_recovers_without_restart");
    let server = server_for(&slapd, &[]);
    assert_eq!(mstr_login_as(&server, "16", "alice", ALICE_PASSWORD).await.0, 204);

    slapd.stop();
    let (status, body, _) = mstr_login_as(&server, "16", "alice", ALICE_PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("ERR016")), "{body}");
    let (status, body) = ts_v2_login(&server, "alice", ALICE_PASSWORD).await;
    assert_eq!(status, 503, "{body}");
    // Local logins do not depend on the directory.
    assert_eq!(
        mstr_login_as(&server, "1", "administrator", crate::common::ADMIN_PASSWORD)
            .await
            .0,
        204
    );

    slapd.start_again();
    let (status, body, _) = mstr_login_as(&server, "16", "alice", ALICE_PASSWORD).await;
    assert_eq!(status, 204, "after the directory came back: {body}");

    // A directory that accepts connections but never answers: the operation timeout (1 s here)
    // turns it into a 503, not a hang.
    slapd.freeze();
    let (status, body, _) = mstr_login_as(&server, "16", "bob", BOB_PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("ERR016")), "{body}");
    slapd.thaw();
    let (status, body, _) = mstr_login_as(&server, "16", "bob", BOB_PASSWORD).await;
    assert_eq!(status, 204, "after the directory thawed: {body}");
}

#[tokio::test]
async fn ldap_configuration_errors_are_explained() {
    let server = TestServer::start();
    let out = server.cli(&["check-config"], "");
    assert!(out.status.success());
    let bad = |pairs: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vestibule"));
        cmd.env_clear().args(["check-config"]);
        for (k, v) in pairs {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success(), "{pairs:?} accepted");
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    };
    let msg = bad(&[("VESTIBULE_LDAP_URL", "http://dir")]);
    assert!(msg.contains("ldap.url"), "{msg}");
    let msg = bad(&[
        ("VESTIBULE_LDAP_URL", "ldap://127.0.0.1:1"),
        ("VESTIBULE_LDAP_SEARCH_BASE", "dc=x"),
        ("VESTIBULE_LDAP_USER_FILTER", "(uid=fixed)"),
    ]);
    assert!(msg.contains("{username}"), "{msg}");
    let msg = bad(&[("VESTIBULE_THOUGHTSPOT_LOGIN_MODE", "ldap")]);
    assert!(msg.contains("ldap.url"), "{msg}");
    // Without a directory, loginMode 16 is a mode that is not enabled here (ERR001).
    let (status, body, _) = mstr_login_as(&server, "16", "alice", "x-password").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("ERR001")), "{body}");
}

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
async fn ldaps_and_starttls_check_the_directory_certificate() {
    let slapd = Slapd::start_tls("ldap::ldaps_and_starttls_check_the_directory_certificate");
    let ca = slapd.ca_file().display().to_string();
    let ldaps = format!("ldaps://127.0.0.1:{}", slapd.tls_port.unwrap());
    // ldaps:// with the test CA.
    let server = server_for(
        &slapd,
        &[("VESTIBULE_LDAP_URL", &ldaps), ("VESTIBULE_LDAP_CA_FILE", &ca)],
    );
    let (status, body, _) = mstr_login_as(&server, "16", "alice", ALICE_PASSWORD).await;
    assert_eq!(status, 204, "ldaps: {body}");
    assert_eq!(
        mstr_login_as(&server, "16", "alice", "wrong-password").await.0,
        401
    );
    drop(server);
    // StartTLS on ldap://.
    let server = server_for(
        &slapd,
        &[
            ("VESTIBULE_LDAP_STARTTLS", "true"),
            ("VESTIBULE_LDAP_CA_FILE", &ca),
        ],
    );
    let (status, body, _) = mstr_login_as(&server, "16", "bob", BOB_PASSWORD).await;
    assert_eq!(status, 204, "StartTLS: {body}");
    drop(server);
    // This slapd refuses every operation without TLS: plain ldap:// does not get in, so the
    // StartTLS login above was encrypted.
    let server = server_for(&slapd, &[("VESTIBULE_LDAP_CA_FILE", &ca)]);
    let (status, body, _) = mstr_login_as(&server, "16", "bob", BOB_PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("ERR016")),
        "plain: {body}"
    );
    drop(server);
    // StartTLS without the CA: the certificate is not trusted.
    let server = server_for(&slapd, &[("VESTIBULE_LDAP_STARTTLS", "true")]);
    let (status, body, _) = mstr_login_as(&server, "16", "bob", BOB_PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("ERR016")),
        "StartTLS, no CA: {body}"
    );
    drop(server);
    // Without the CA the certificate is not trusted: the directory counts as unavailable.
    let server = server_for(&slapd, &[("VESTIBULE_LDAP_URL", &ldaps)]);
    let (status, body, _) = mstr_login_as(&server, "16", "alice", ALICE_PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("ERR016")), "{body}");
}
