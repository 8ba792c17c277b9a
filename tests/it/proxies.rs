//! `server.trusted_proxies`: only a trusted peer may name the client (`X-Forwarded-For`,
//! `Forwarded`) and the scheme (`X-Forwarded-Proto`, `proto=`); address throttling, the audit log
//! and `Secure` cookies follow what was resolved. The tests' peer is always 127.0.0.1, trusted or
//! not by configuration.

use serde_json::{json, Value};

use crate::common::mstr::{session_cookie, LIB};
use crate::common::ts::set_cookies;
use crate::common::{client, TestServer, ADMIN_PASSWORD};

/// Three failures from one address block it; accounts are never locked, so only the address
/// decides.
const BLOCK_AFTER_3: [(&str, &str); 3] = [
    ("VESTIBULE_THROTTLE_ADDRESS_FREE_FAILURES", "1000"),
    ("VESTIBULE_THROTTLE_ADDRESS_LOCKOUT_FAILURES", "3"),
    ("VESTIBULE_THROTTLE_LOCKOUT_SECS", "3600"),
];

/// A server writing its audit log to a file of its own.
struct Audited {
    server: TestServer,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Audited {
    fn start(extra: &[(&str, &str)]) -> Audited {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let target = format!("file:{}", path.display());
        let mut env: Vec<(&str, &str)> = vec![("VESTIBULE_AUDIT_TARGET", &target)];
        env.extend_from_slice(&BLOCK_AFTER_3);
        env.extend_from_slice(extra);
        Audited {
            server: TestServer::start_with(&env),
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

/// A MicroStrategy password login with `headers`; its status.
async fn mstr_login(server: &TestServer, user: &str, password: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = client().post(server.url(&format!("{LIB}/auth/login"))).form(&[
        ("loginMode", "1"),
        ("username", user),
        ("password", password),
    ]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

/// A ThoughtSpot v2 password login with `headers`; its status.
async fn ts_v2_login(server: &TestServer, password: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = client()
        .post(server.url("/api/rest/2.0/auth/session/login"))
        .json(&json!({"username": "administrator", "password": password}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

/// The addresses of the audit events of `kind`.
fn addresses(events: &[Value], kind: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == kind)
        .map(|e| e["address"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn from_an_untrusted_peer_forged_forwarding_headers_change_nothing() {
    let mut audited = Audited::start(&[]);
    let server = &audited.server;
    // Each guess claims another client; all of them count against the peer.
    for i in 1..=3 {
        let xff = format!("203.0.113.{i}");
        let fwd = format!("for=198.51.100.{i}");
        let forged = [("X-Forwarded-For", xff.as_str()), ("Forwarded", fwd.as_str())];
        assert_eq!(mstr_login(server, "ghost", "guess", &forged).await, 401);
    }
    // 127.0.0.1 is blocked, whatever a request claims to come from.
    let other = [("X-Forwarded-For", "203.0.113.99")];
    assert_eq!(
        mstr_login(server, "administrator", ADMIN_PASSWORD, &other).await,
        401
    );
    assert_eq!(ts_v2_login(server, ADMIN_PASSWORD, &other).await, 401);
    let events = audited.stop_and_read();
    let failed = addresses(&events, "login_failed");
    assert_eq!(failed.len(), 5, "{events:?}");
    assert!(failed.iter().all(|a| a == "127.0.0.1"), "{failed:?}");
    assert_eq!(addresses(&events, "address_blocked"), ["127.0.0.1"]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_x_forwarded_for_names_the_client() {
    let mut audited = Audited::start(&[("VESTIBULE_SERVER_TRUSTED_PROXIES", "127.0.0.1")]);
    let server = &audited.server;
    // The client's own claim (left) is not believed: the proxy's entry is the rightmost.
    let guessing = [("X-Forwarded-For", "192.0.2.66, 203.0.113.7")];
    for _ in 0..3 {
        assert_eq!(mstr_login(server, "ghost", "guess", &guessing).await, 401);
    }
    // 203.0.113.7 is blocked, in both dialects...
    let blocked = [("X-Forwarded-For", "203.0.113.7")];
    assert_eq!(
        mstr_login(server, "administrator", ADMIN_PASSWORD, &blocked).await,
        401
    );
    assert_eq!(ts_v2_login(server, ADMIN_PASSWORD, &blocked).await, 401);
    // ...another client behind the same proxy is not, nor is the proxy itself.
    let neighbour = [("X-Forwarded-For", "203.0.113.8")];
    assert_eq!(
        mstr_login(server, "administrator", ADMIN_PASSWORD, &neighbour).await,
        204
    );
    assert_eq!(ts_v2_login(server, ADMIN_PASSWORD, &neighbour).await, 204);
    assert_eq!(
        mstr_login(server, "administrator", ADMIN_PASSWORD, &[]).await,
        204
    );
    let events = audited.stop_and_read();
    let failed = addresses(&events, "login_failed");
    assert_eq!(failed.len(), 5, "{events:?}");
    assert!(failed.iter().all(|a| a == "203.0.113.7"), "{failed:?}");
    assert_eq!(addresses(&events, "address_blocked"), ["203.0.113.7"]);
    assert_eq!(
        addresses(&events, "login_succeeded"),
        ["203.0.113.8", "203.0.113.8", "127.0.0.1"]
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_that_writes_forwarded_only_forwarded_names_the_client() {
    let mut audited = Audited::start(&[
        ("VESTIBULE_SERVER_TRUSTED_PROXIES", "127.0.0.0/8, ::1"),
        ("VESTIBULE_SERVER_FORWARDED_HEADER", "forwarded"),
    ]);
    let server = &audited.server;
    for port in ["4711", "4712", "_hidden"] {
        let fwd = format!("for=unknown, for=\"[2001:db8::7]:{port}\";proto=https");
        let guessing = [("Forwarded", fwd.as_str())];
        assert_eq!(mstr_login(server, "ghost", "guess", &guessing).await, 401);
    }
    // Only Forwarded is read: an X-Forwarded-For the proxy passed through does not rescue a
    // blocked client.
    let blocked = [
        ("Forwarded", "for=\"[2001:db8::7]\""),
        ("X-Forwarded-For", "203.0.113.8"),
    ];
    assert_eq!(
        mstr_login(server, "administrator", ADMIN_PASSWORD, &blocked).await,
        401
    );
    let neighbour = [("Forwarded", "for=203.0.113.9;proto=https")];
    assert_eq!(
        mstr_login(server, "administrator", ADMIN_PASSWORD, &neighbour).await,
        204
    );
    let events = audited.stop_and_read();
    let failed = addresses(&events, "login_failed");
    assert_eq!(failed.len(), 4, "{events:?}");
    assert!(failed.iter().all(|a| a == "2001:db8::7"), "{failed:?}");
    assert_eq!(addresses(&events, "address_blocked"), ["2001:db8::7"]);
    assert_eq!(addresses(&events, "login_succeeded"), ["203.0.113.9"]);
}

/// Whether the JSESSIONID of a MicroStrategy and of a ThoughtSpot v1 login sent with `headers`
/// carry `Secure`.
async fn secure_cookies(server: &TestServer, headers: &[(&str, &str)]) -> [bool; 2] {
    let mut mstr = client().post(server.url(&format!("{LIB}/auth/login"))).form(&[
        ("loginMode", "1"),
        ("username", "administrator"),
        ("password", ADMIN_PASSWORD),
    ]);
    let mut ts = client()
        .post(server.url("/callosum/v1/tspublic/v1/session/login"))
        .header("X-Requested-By", "ThoughtSpot")
        .form(&[("username", "administrator"), ("password", ADMIN_PASSWORD)]);
    for (k, v) in headers {
        mstr = mstr.header(*k, *v);
        ts = ts.header(*k, *v);
    }
    let mstr = mstr.send().await.unwrap();
    assert_eq!(mstr.status(), 204);
    let ts = ts.send().await.unwrap();
    assert_eq!(ts.status(), 204);
    let ts_cookie = set_cookies(&ts)
        .into_iter()
        .find(|c| c.starts_with("JSESSIONID="))
        .unwrap();
    [
        session_cookie(&mstr).contains("Secure"),
        ts_cookie.contains("Secure"),
    ]
}

#[tokio::test]
async fn secure_cookies_follow_tls_only_as_a_trusted_proxy_tells_it() {
    let https = [("X-Forwarded-Proto", "https")];
    let forwarded_https = [("Forwarded", "for=203.0.113.7;proto=https")];
    // No proxy trusted: a client saying https is not believed.
    let server = TestServer::start();
    assert_eq!(secure_cookies(&server, &https).await, [false, false]);
    assert_eq!(secure_cookies(&server, &forwarded_https).await, [false, false]);
    // The peer is trusted: what its proxy says counts, and the nearest proxy's value wins.
    let server = TestServer::start_with(&[("VESTIBULE_SERVER_TRUSTED_PROXIES", "127.0.0.1")]);
    assert_eq!(secure_cookies(&server, &https).await, [true, true]);
    // The proxy writes X-Forwarded-For: a Forwarded it passed through is the client's word.
    assert_eq!(secure_cookies(&server, &forwarded_https).await, [false, false]);
    assert_eq!(secure_cookies(&server, &[]).await, [false, false]);
    let nearest_http = [("X-Forwarded-Proto", "https, http")];
    assert_eq!(secure_cookies(&server, &nearest_http).await, [false, false]);
    let server = TestServer::start_with(&[
        ("VESTIBULE_SERVER_TRUSTED_PROXIES", "127.0.0.1"),
        ("VESTIBULE_SERVER_FORWARDED_HEADER", "forwarded"),
    ]);
    assert_eq!(secure_cookies(&server, &forwarded_https).await, [true, true]);
    assert_eq!(secure_cookies(&server, &https).await, [false, false]);
    // A trusted range that does not hold the peer trusts nobody here.
    let server = TestServer::start_with(&[("VESTIBULE_SERVER_TRUSTED_PROXIES", "10.0.0.0/8")]);
    assert_eq!(secure_cookies(&server, &https).await, [false, false]);
}
