//! The audit log: a full scenario of logins (every mode, both dialects), tokens, delegation,
//! logout, lockout and unlock writes one JSON line per event to the configured file, and no
//! password, token, cookie or secret used in it appears in any log line (stderr or audit file).

use crate::common::ldap::{Slapd, ALICE_PASSWORD, ROOT_PASSWORD, SEARCH_PASSWORD};
use crate::common::{client, json, mstr_login, TestServer, ADMIN_PASSWORD};
use crate::ldap::mstr_login_as;

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed (scripts/ci-install.sh)")]
async fn a_full_scenario_is_audited_and_no_secret_is_ever_logged() {
    let mut env: Vec<(String, String)> = vec![
        ("VESTIBULE_THROTTLE_ACCOUNT_LOCKOUT_FAILURES".into(), "3".into()),
        ("VESTIBULE_THROTTLE_BASE_DELAY_MS".into(), "10".into()),
        ("VESTIBULE_THROTTLE_MAX_DELAY_MS".into(), "20".into()),
    ];
    let slapd = Slapd::start("audit::a_full_scenario_is_audited_and_no_secret_is_ever_logged");
    env.extend(slapd.env());
    let mut audited = Audited::start(&env);
    let server = &audited.server;
    let mut secrets: Vec<String> = vec![
        ADMIN_PASSWORD.into(),
        SEARCH_PASSWORD.into(),
        ROOT_PASSWORD.into(),
    ];

    // Standard login, identity token, delegation, API token, loginMode 4096.
    let admin = mstr_login(server, "administrator", ADMIN_PASSWORD).await;
    secrets.push(admin.token.clone());
    let resp = admin
        .post(&server.url("/MicroStrategyLibrary/api/auth/identityToken"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let identity = resp.headers()["x-mstr-identitytoken"]
        .to_str()
        .unwrap()
        .to_string();
    secrets.push(identity.clone());
    let resp = client()
        .post(server.url("/api/auth/delegate"))
        .json(&serde_json::json!({"loginMode": -1, "identityToken": identity}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let delegated = resp.headers()["x-mstr-authtoken"].to_str().unwrap().to_string();
    secrets.push(delegated.clone());
    for cookie in resp.headers().get_all("set-cookie") {
        if let Some(v) = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
        {
            secrets.push(v.1.to_string());
        }
    }
    let (status, body) = json(
        admin
            .post(&server.url("/MicroStrategyLibrary/api/auth/apiTokens"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let api_token = body["apiToken"].as_str().unwrap().to_string();
    secrets.push(api_token.clone());
    let (status, _, token) = mstr_login_as(server, "4096", &api_token, "").await;
    assert_eq!(status, 204);
    secrets.push(token.unwrap());
    assert_eq!(
        mstr_login_as(server, "4096", "not-a-real-api-token-zz7", "")
            .await
            .0,
        401
    );
    secrets.push("not-a-real-api-token-zz7".into());

    // Wrong passwords, a lockout and an unlock.
    server.add_user("sam", "sam-pw-Secret9");
    secrets.push("sam-pw-Secret9".into());
    for i in 1..=3 {
        let wrong = format!("sam-wrong-guess-{i}");
        assert_eq!(mstr_login_as(server, "1", "sam", &wrong).await.0, 401);
        secrets.push(wrong);
    }
    assert!(server.cli(&["user", "unlock", "sam"], "").status.success());

    // ThoughtSpot: a v1 session, a v2 token, a trusted-authentication token.
    let ts = client();
    let resp = ts
        .post(server.url("/callosum/v1/tspublic/v1/session/login"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("username", "sam"), ("password", "sam-pw-Secret9")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    for cookie in resp.headers().get_all("set-cookie") {
        if let Some(v) = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
        {
            if v.1.len() >= 16 {
                secrets.push(v.1.to_string());
            }
        }
    }
    let (status, body) = json(
        client()
            .post(server.url("/api/rest/2.0/auth/token/full"))
            .json(&serde_json::json!({"username": "sam", "password": "sam-pw-Secret9"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    secrets.push(body["token"].as_str().unwrap().to_string());
    let out = server.cli(&["trusted-auth", "enable"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    secrets.push(key.clone());
    let (status, body) = json(
        client()
            .post(server.url("/api/rest/2.0/auth/token/full"))
            .json(&serde_json::json!({"username": "sam", "secret_key": key}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    secrets.push(body["token"].as_str().unwrap().to_string());

    // LDAP.
    {
        secrets.push(ALICE_PASSWORD.into());
        let (status, _, token) = mstr_login_as(server, "16", "alice", ALICE_PASSWORD).await;
        assert_eq!(status, 204);
        secrets.push(token.unwrap());
        assert_eq!(
            mstr_login_as(server, "16", "alice", "alice-wrong-Pw5").await.0,
            401
        );
        secrets.push("alice-wrong-Pw5".into());
    }

    // Logout.
    assert_eq!(
        admin
            .post(&server.url("/MicroStrategyLibrary/api/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    let Logs {
        audit,
        events,
        stderr,
    } = audited.stop_and_read();
    let has = |pred: &dyn Fn(&serde_json::Value) -> bool, what: &str| {
        assert!(events.iter().any(pred), "no {what} in the audit log:\n{audit}");
    };
    has(
        &|e| {
            e["event"] == "login_succeeded"
                && e["login_mode"] == 1
                && e["user"] == "administrator"
                && e["address"] == "127.0.0.1"
        },
        "standard login",
    );
    has(
        &|e| e["event"] == "login_succeeded" && e["login_mode"] == 4096 && e["user"] == "administrator",
        "API token login",
    );
    has(
        &|e| e["event"] == "login_failed" && e["login_mode"] == 4096 && e.get("user").is_none(),
        "failed API token login",
    );
    has(
        &|e| e["event"] == "login_failed" && e["user"] == "sam" && e["reason"] == "bad_credentials",
        "failed login",
    );
    has(
        &|e| e["event"] == "identity_token_minted" && e["user"] == "administrator",
        "identity token",
    );
    has(
        &|e| e["event"] == "delegation" && e["user"] == "administrator",
        "delegation",
    );
    has(
        &|e| e["event"] == "account_locked" && e["user"] == "sam",
        "lockout",
    );
    has(
        &|e| e["event"] == "account_unlocked" && e["user"] == "sam",
        "unlock",
    );
    has(&|e| e["event"] == "trusted_token_minted", "trusted token");
    has(
        &|e| e["event"] == "logout" && e["user"] == "administrator",
        "logout",
    );
    {
        has(
            &|e| e["event"] == "login_succeeded" && e["login_mode"] == 16 && e["user"] == "alice",
            "LDAP login",
        );
    }
    assert!(events
        .iter()
        .all(|e| e["ts"].as_str().is_some_and(|t| t.ends_with('Z'))));

    assert!(!stderr.is_empty());
    assert_no_secret_logged(&stderr, &audit, &secrets);
}

/// The session cookie values a response sets (long enough to be secrets).
fn cookie_values(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| {
            c.to_str()
                .ok()?
                .split(';')
                .next()?
                .split_once('=')
                .map(|(_, v)| v.to_string())
        })
        .filter(|v| v.len() >= 16)
        .collect()
}

#[tokio::test]
async fn thoughtspot_logouts_revokes_and_trusted_tokens_are_audited_without_tokens() {
    let mut audited = Audited::start(&[]);
    let server = &audited.server;
    server.add_user("tess", "tess-pw-Secret7");
    let mut secrets: Vec<String> = vec!["tess-pw-Secret7".into()];

    // v1 login and logout (cookie session).
    let v1 = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let resp = v1
        .post(server.url("/callosum/v1/tspublic/v1/session/login"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("username", "tess"), ("password", "tess-pw-Secret7")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    secrets.extend(cookie_values(&resp));
    let resp = v1
        .post(server.url("/callosum/v1/tspublic/v1/session/logout"))
        .header("X-Requested-By", "ThoughtSpot")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // v2 login and logout.
    let v2 = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let resp = v2
        .post(server.url("/api/rest/2.0/auth/session/login"))
        .json(&serde_json::json!({"username": "tess", "password": "tess-pw-Secret7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    secrets.extend(cookie_values(&resp));
    let resp = v2
        .post(server.url("/api/rest/2.0/auth/session/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // Two bearer tokens: one revokes itself (empty body), the other is revoked by name from the
    // administrator's token.
    let mut tokens = Vec::new();
    for (user, password) in [
        ("tess", "tess-pw-Secret7"),
        ("tess", "tess-pw-Secret7"),
        ("administrator", ADMIN_PASSWORD),
    ] {
        let (status, body) = json(
            client()
                .post(server.url("/api/rest/2.0/auth/token/full"))
                .json(&serde_json::json!({"username": user, "password": password}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        tokens.push(body["token"].as_str().unwrap().to_string());
    }
    secrets.extend(tokens.iter().cloned());
    let status = client()
        .post(server.url("/api/rest/2.0/auth/token/revoke"))
        .bearer_auth(&tokens[0])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let status = client()
        .post(server.url("/api/rest/2.0/auth/token/revoke"))
        .bearer_auth(&tokens[2])
        .json(&serde_json::json!({"token": tokens[1]}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);

    // A v1 trusted token, and a login with it.
    let out = server.cli(&["trusted-auth", "enable"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    secrets.push(key.clone());
    let resp = client()
        .post(server.url("/callosum/v1/tspublic/v1/session/auth/token"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("secret_key", key.as_str()), ("username", "tess")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let trusted = resp.text().await.unwrap();
    secrets.push(trusted.clone());
    let resp = client()
        .post(server.url("/callosum/v1/tspublic/v1/session/login/token"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("auth_token", trusted.as_str()), ("no_url_redirection", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    secrets.extend(cookie_values(&resp));
    // A wrong key is a failed trusted login, audited with the address.
    let status = client()
        .post(server.url("/callosum/v1/tspublic/v1/session/auth/token"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("secret_key", "wrong-key-zz9-trusted"), ("username", "tess")])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    secrets.push("wrong-key-zz9-trusted".into());

    let Logs {
        audit,
        events,
        stderr,
    } = audited.stop_and_read();
    let count = |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().filter(|e| pred(e)).count();
    let ts_logout = |e: &serde_json::Value| {
        e["event"] == "logout"
            && e["dialect"] == "thoughtspot"
            && e["address"] == "127.0.0.1"
            && e["user_id"].is_string()
    };
    // v1 logout, v2 logout, self-revoke: tess.
    assert_eq!(
        count(&|e| ts_logout(e) && e["user"] == "tess" && e.get("reason").is_none()),
        2,
        "v1 and v2 logouts:\n{audit}"
    );
    assert_eq!(
        count(&|e| ts_logout(e) && e["user"] == "tess" && e["reason"] == "token_revoked"),
        1,
        "self-revoke:\n{audit}"
    );
    // Revoking another's token names the caller who did it.
    assert_eq!(
        count(&|e| ts_logout(e) && e["user"] == "administrator" && e["reason"] == "token_revoked"),
        1,
        "revoke by token:\n{audit}"
    );
    assert_eq!(
        count(&|e| {
            e["event"] == "trusted_token_minted"
                && e["user"] == "tess"
                && e["address"] == "127.0.0.1"
                && e["reason"] == "v1"
        }),
        1,
        "trusted token:\n{audit}"
    );
    assert_eq!(
        count(&|e| {
            e["event"] == "login_succeeded"
                && e["user"] == "tess"
                && e["login_mode"] == 64
                && e["address"] == "127.0.0.1"
        }),
        1,
        "token login:\n{audit}"
    );
    assert_eq!(
        count(&|e| {
            e["event"] == "login_failed"
                && e["user"] == "tess"
                && e["login_mode"] == 64
                && e["reason"] == "bad_credentials"
                && e["address"] == "127.0.0.1"
        }),
        1,
        "wrong secret key:\n{audit}"
    );
    assert_no_secret_logged(&stderr, &audit, &secrets);
}

/// A server that writes its audit log to a file of its own, with debug logging: the strictest
/// test of what the logs carry.
struct Audited {
    server: TestServer,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// What a stopped server logged: the audit file, its events, and its stderr.
struct Logs {
    audit: String,
    events: Vec<serde_json::Value>,
    stderr: String,
}

impl Audited {
    fn start(extra: &[(String, String)]) -> Audited {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let mut env = vec![
            (
                "VESTIBULE_AUDIT_TARGET".to_string(),
                format!("file:{}", path.display()),
            ),
            ("VESTIBULE_LOG_LEVEL".to_string(), "debug".to_string()),
        ];
        env.extend_from_slice(extra);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Audited {
            server: TestServer::start_with(&pairs),
            path,
            _dir: dir,
        }
    }

    /// Stops the server, so that its logs are complete (a check that something is absent cannot
    /// pass early), and reads them; every audit line must be JSON.
    fn stop_and_read(&mut self) -> Logs {
        let status = self.server.stop();
        assert!(status.success(), "{status:?}");
        let audit = std::fs::read_to_string(&self.path).unwrap();
        let events = audit
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        Logs {
            audit,
            events,
            stderr: self.server.stderr(),
        }
    }
}

/// No secret appears in the stderr or in the audit log.
fn assert_no_secret_logged(stderr: &str, audit: &str, secrets: &[String]) {
    for secret in secrets {
        for (name, text) in [("stderr", stderr), ("audit log", audit)] {
            if let Some(line) = text.lines().find(|l| l.contains(secret.as_str())) {
                panic!(
                    "a secret ({}…) appears in the {name}: {line}",
                    &secret[..4.min(secret.len())]
                );
            }
        }
    }
}
