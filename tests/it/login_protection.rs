//! Login protection as an attacker tries it: concurrent guesses are judged at most up to the limit
//! (on one node and across three nodes sharing Redis), retyped names land on one budget (local
//! users, and LDAP users against a real slapd), and the audit log shows the typed name and the
//! identity it resolved to. See docs/security.md.

use std::path::PathBuf;

use futures::future::join_all;
use serde_json::Value;

use crate::common::ldap::{Slapd, ALICE_PASSWORD};
use crate::common::mstr::LIB;
use crate::common::pg::FreshDb;
use crate::common::{backend_url, client, TestServer, ADMIN_PASSWORD};
use crate::ldap::server_for;

/// A server (or a node) writing its audit log to a file of its own.
struct Audited {
    server: TestServer,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

fn audit_env(dir: &tempfile::TempDir) -> (PathBuf, String) {
    let path = dir.path().join("audit.log");
    let target = format!("file:{}", path.display());
    (path, target)
}

impl Audited {
    fn start(extra: &[(&str, &str)]) -> Audited {
        let dir = tempfile::tempdir().unwrap();
        let (path, target) = audit_env(&dir);
        let mut env: Vec<(&str, &str)> = vec![("VESTIBULE_AUDIT_TARGET", &target)];
        env.extend_from_slice(extra);
        Audited {
            server: TestServer::start_with(&env),
            path,
            _dir: dir,
        }
    }

    fn ldap(slapd: &Slapd, extra: &[(&str, &str)]) -> Audited {
        let dir = tempfile::tempdir().unwrap();
        let (path, target) = audit_env(&dir);
        let mut env: Vec<(&str, &str)> = vec![("VESTIBULE_AUDIT_TARGET", &target)];
        env.extend_from_slice(extra);
        Audited {
            server: server_for(slapd, &env),
            path,
            _dir: dir,
        }
    }

    /// Stops the server, so its audit log is complete, and reads the events.
    fn stop_and_read(&mut self) -> Vec<Value> {
        assert!(self.server.stop().success());
        std::fs::read_to_string(&self.path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Budgets: `account` failures lock an account, `address` block an address (0 = never); locks
/// last an hour; no delays, so a burst is as fast as the server can judge.
fn limits(account: &'static str, address: &'static str) -> [(&'static str, &'static str); 6] {
    [
        ("VESTIBULE_THROTTLE_ACCOUNT_FREE_FAILURES", "1000"),
        ("VESTIBULE_THROTTLE_ACCOUNT_LOCKOUT_FAILURES", account),
        ("VESTIBULE_THROTTLE_ADDRESS_FREE_FAILURES", "1000"),
        ("VESTIBULE_THROTTLE_ADDRESS_LOCKOUT_FAILURES", address),
        ("VESTIBULE_THROTTLE_LOCKOUT_SECS", "3600"),
        ("VESTIBULE_THROTTLE_BASE_DELAY_MS", "0"),
    ]
}

/// A MicroStrategy login (`mode` 1 or 16) with extra headers; its status.
async fn login(server: &TestServer, mode: &str, user: &str, password: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = client().post(server.url(&format!("{LIB}/auth/login"))).form(&[
        ("loginMode", mode),
        ("username", user),
        ("password", password),
    ]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

/// How many events of `kind` (with `reason`, when given) the log has.
fn count(events: &[Value], kind: &str, reason: Option<&str>) -> usize {
    events
        .iter()
        .filter(|e| e["event"] == kind && reason.is_none_or(|r| e["reason"] == r))
        .count()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:x}", rand_u32())
}

fn rand_u32() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    t.subsec_nanos() ^ std::process::id().rotate_left(16)
}

#[tokio::test]
async fn concurrent_guesses_on_one_account_are_judged_at_most_up_to_the_limit() {
    let mut audited = Audited::start(&limits("10", "0"));
    let server = &audited.server;
    server.add_user("victor", "victor-pw-Right1");
    let burst =
        (0..40).map(|i| async move { login(server, "1", "victor", &format!("wrong-{i}"), &[]).await });
    let statuses = join_all(burst).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    // The account is locked: in a second burst the right password is refused like the wrong.
    let second = (0..21).map(|i| async move {
        let password = if i == 10 {
            "victor-pw-Right1".to_string()
        } else {
            format!("again-{i}")
        };
        login(server, "1", "victor", &password, &[]).await
    });
    let statuses = join_all(second).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let events = audited.stop_and_read();
    assert_eq!(
        count(&events, "login_failed", Some("bad_credentials")),
        10,
        "judged"
    );
    assert_eq!(
        count(&events, "login_failed", Some("locked")),
        51,
        "refused unjudged"
    );
    assert_eq!(count(&events, "account_locked", None), 1);
    assert_eq!(count(&events, "login_succeeded", None), 0);
}

#[tokio::test]
async fn concurrent_guesses_from_one_address_are_judged_at_most_up_to_its_limit() {
    let mut audited = Audited::start(&limits("0", "30"));
    let server = &audited.server;
    let burst = (0..60).map(|i| async move { login(server, "1", &format!("user{i}"), "guess", &[]).await });
    assert!(join_all(burst).await.iter().all(|s| *s == 401));
    // Blocked: even the administrator's right password is refused from this address.
    assert_eq!(
        login(server, "1", "administrator", ADMIN_PASSWORD, &[]).await,
        401
    );
    let events = audited.stop_and_read();
    assert_eq!(
        count(&events, "login_failed", Some("bad_credentials")),
        30,
        "judged"
    );
    assert_eq!(
        count(&events, "login_failed", Some("locked")),
        31,
        "refused unjudged"
    );
    assert_eq!(count(&events, "address_blocked", None), 1);
}

#[tokio::test]
async fn retyped_local_names_share_one_budget() {
    let mut audited = Audited::start(&limits("4", "0"));
    let server = &audited.server;
    server.add_user("wendy", "wendy-pw-Right1");
    // The name as people retype it finds the user...
    for typed in [" wendy", "WENDY\u{3000}", "ｗｅｎｄｙ"] {
        assert_eq!(
            login(server, "1", typed, "wendy-pw-Right1", &[]).await,
            204,
            "{typed:?}"
        );
    }
    // ...and every variant spends the same budget.
    for (i, typed) in ["wendy ", "\u{a0}wendy", "Ｗendy", "wEndy"].iter().enumerate() {
        assert_eq!(login(server, "1", typed, &format!("wrong-{i}"), &[]).await, 401);
    }
    for typed in ["wendy", " wendy", "ｗｅｎｄｙ"] {
        assert_eq!(
            login(server, "1", typed, "wendy-pw-Right1", &[]).await,
            401,
            "{typed:?}"
        );
    }
    // The CLI unlocks the account whichever way the name is typed.
    let out = server.cli(&["user", "unlock", " WENDY"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unlocked"),
        "{out:?}"
    );
    assert_eq!(login(server, "1", "wendy", "wendy-pw-Right1", &[]).await, 204);
    let events = audited.stop_and_read();
    let failed: Vec<&Value> = events.iter().filter(|e| e["event"] == "login_failed").collect();
    assert_eq!(failed.len(), 7);
    assert!(failed.iter().all(|e| e["identity"] == "wendy"), "{failed:?}");
    assert_eq!(failed[0]["user"], "wendy ");
    assert_eq!(count(&events, "account_locked", None), 1);
}

#[tokio::test]
#[cfg_attr(not(test_slapd), ignore = "slapd is not installed")]
async fn retyped_ldap_names_share_one_budget_and_the_audit_log_shows_the_entry() {
    let slapd = Slapd::start("login_protection_ldap");
    let mut audited = Audited::ldap(&slapd, &limits("6", "0"));
    let server = &audited.server;
    // The directory matches these to alice; so does vestibule's budget.
    assert_eq!(login(server, "16", " alice", ALICE_PASSWORD, &[]).await, 204);
    let variants = [
        " alice",
        "alice  ",
        "ａlice",
        "\u{a0}alice",
        "alice\u{3000}",
        "ALICE",
    ];
    for (i, typed) in variants.iter().enumerate() {
        assert_eq!(
            login(server, "16", typed, &format!("wrong-{i}"), &[]).await,
            401,
            "{typed:?}"
        );
    }
    // Locked after six guesses spread over six spellings: no spelling gets in.
    for typed in variants.iter().chain(["alice"].iter()) {
        assert_eq!(
            login(server, "16", typed, ALICE_PASSWORD, &[]).await,
            401,
            "{typed:?}"
        );
    }
    let events = audited.stop_and_read();
    let failed: Vec<&Value> = events.iter().filter(|e| e["event"] == "login_failed").collect();
    assert_eq!(failed.len(), 13);
    assert!(failed.iter().all(|e| e["identity"] == "alice"), "{failed:?}");
    let typed: Vec<&str> = failed
        .iter()
        .take(6)
        .map(|e| e["user"].as_str().unwrap())
        .collect();
    assert_eq!(typed, variants);
    assert_eq!(count(&events, "login_failed", Some("bad_credentials")), 6);
    assert_eq!(count(&events, "account_locked", None), 1);
}

/// Three nodes sharing Redis (sessions and the failed-login budgets) and PostgreSQL, each with
/// its own audit log, trusting 127.0.0.1 as their proxy.
struct Nodes {
    nodes: Vec<Audited>,
    _db: FreshDb,
}

async fn three_nodes(test: &str, limits: &[(&str, &str)]) -> Nodes {
    let pg_url = backend_url("VESTIBULE_TEST_POSTGRES_URL", test);
    let redis_url = backend_url("VESTIBULE_TEST_REDIS_URL", test);
    let db = FreshDb::create(&pg_url).await;
    let mut env: Vec<(&str, &str)> = vec![
        ("VESTIBULE_STORE_SESSIONS", &redis_url),
        ("VESTIBULE_STORE_METADATA", &db.url),
        ("VESTIBULE_SERVER_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    env.extend_from_slice(limits);
    let nodes = (0..3).map(|_| Audited::start(&env)).collect();
    Nodes { nodes, _db: db }
}

impl Nodes {
    fn stop_and_read(&mut self) -> Vec<Value> {
        self.nodes.iter_mut().flat_map(|n| n.stop_and_read()).collect()
    }
}

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
)]
async fn three_nodes_on_redis_grant_together_the_budget_of_one() {
    let mut cluster = three_nodes("three_nodes_budget", &limits("10", "12")).await;
    // A name and an address of this run only: the Redis is shared with other tests and runs.
    let name = unique("yuri");
    let address = format!("2001:db8:{:x}::1", rand_u32() & 0xffff);
    let nodes: Vec<&TestServer> = cluster.nodes.iter().map(|n| &n.server).collect();
    nodes[0].add_user(&name, "yuri-pw-Right1");

    // An account: 45 guesses spread over the nodes (from addresses of their own).
    let burst = (0..45).map(|i| {
        let node = nodes[i % 3];
        let name = name.clone();
        async move {
            let xff = format!("203.0.113.{}", i % 200);
            login(
                node,
                "1",
                &name,
                &format!("wrong-{i}"),
                &[("X-Forwarded-For", &xff)],
            )
            .await
        }
    });
    assert!(join_all(burst).await.iter().all(|s| *s == 401));
    for node in &nodes {
        assert_eq!(login(node, "1", &name, "yuri-pw-Right1", &[]).await, 401);
    }

    // An address: 36 guesses at different names spread over the nodes.
    let burst = (0..36).map(|i| {
        let node = nodes[i % 3];
        let address = address.clone();
        async move {
            login(
                node,
                "1",
                &unique(&format!("g{i}")),
                "guess",
                &[("X-Forwarded-For", &address)],
            )
            .await
        }
    });
    assert!(join_all(burst).await.iter().all(|s| *s == 401));
    for node in &nodes {
        let from = [("X-Forwarded-For", address.as_str())];
        assert_eq!(
            login(node, "1", "administrator", ADMIN_PASSWORD, &from).await,
            401
        );
    }

    let events = cluster.stop_and_read();
    let judged_for = |pred: &dyn Fn(&Value) -> bool| {
        events
            .iter()
            .filter(|e| e["event"] == "login_failed" && e["reason"] == "bad_credentials" && pred(e))
            .count()
    };
    let account_key = name.to_lowercase();
    assert_eq!(
        judged_for(&|e| e["identity"] == account_key.as_str()),
        10,
        "account"
    );
    assert_eq!(judged_for(&|e| e["address"] == address.as_str()), 12, "address");
    assert_eq!(count(&events, "account_locked", None), 1);
    assert_eq!(count(&events, "address_blocked", None), 1);
}
