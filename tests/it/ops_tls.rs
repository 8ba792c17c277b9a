//! The server's own TLS (`server.tls_cert_file`, `server.tls_key_file`): HTTPS with a test CA's
//! certificate, `Secure` cookies, the certificate reloaded on SIGHUP and when its files change
//! without dropping open connections, a bad file refused at start and kept out on reload; and
//! `server.metrics_listen`, `/metrics` and the probes on an address of their own.

use std::path::Path;
use std::time::Duration;

use crate::common::ldap::make_certificates;
use crate::common::{TestServer, ADMIN_PASSWORD};

/// A client that trusts only the CA in `dir`, keeping its connections alive.
fn trusting(dir: &Path) -> reqwest::Client {
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false)
        .pool_idle_timeout(Duration::from_secs(60))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn tls_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        (
            "VESTIBULE_SERVER_TLS_CERT_FILE".into(),
            dir.join("server.pem").display().to_string(),
        ),
        (
            "VESTIBULE_SERVER_TLS_KEY_FILE".into(),
            dir.join("server.key").display().to_string(),
        ),
    ]
}

fn start_tls(live: &Path) -> TestServer {
    let env = tls_env(live);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestServer::start_with(&env)
}

/// Puts the certificate of `from` in place of the one in `live` (the files the server reads), as
/// a certificate manager would: written beside, then renamed over.
fn install(from: &Path, live: &Path) {
    for (name, target) in [("server.pem", "server.pem"), ("server.key", "server.key")] {
        let tmp = live.join(format!("{target}.new"));
        std::fs::copy(from.join(name), &tmp).unwrap();
        std::fs::rename(&tmp, live.join(target)).unwrap();
    }
}

async fn wait_for_log(server: &TestServer, parts: &[&str], after: usize) -> String {
    for _ in 0..400 {
        if let Some(l) = server
            .stderr_lines
            .lock()
            .unwrap()
            .iter()
            .skip(after)
            .find(|l| parts.iter().all(|p| l.contains(p)))
        {
            return l.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no line with {parts:?}:\n{}", server.stderr());
}

fn log_len(server: &TestServer) -> usize {
    server.stderr_lines.lock().unwrap().len()
}

#[tokio::test]
async fn https_with_secure_cookies_and_reloads_that_keep_connections() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    make_certificates(one.path());
    make_certificates(two.path());
    let live = tempfile::tempdir().unwrap();
    install(one.path(), live.path());
    let server = start_tls(live.path());
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);

    // HTTPS answers, and the session cookie is Secure.
    let old = trusting(one.path());
    let resp = old
        .post(server.url("/api/auth/login"))
        .form(&[
            ("loginMode", "1"),
            ("username", "administrator"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let cookie = crate::common::mstr::session_cookie(&resp);
    assert!(
        cookie.contains("; Secure") || cookie.contains(";Secure"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(server.url("/api/status").replacen("https://", "http://", 1))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()));

    // The certificate changes on disk: picked up without a signal.
    let before = log_len(&server);
    install(two.path(), live.path());
    wait_for_log(&server, &["TLS certificate reloaded", "file changed"], before).await;
    // New connections get the new certificate...
    let new = trusting(two.path());
    assert_eq!(
        new.get(server.url("/api/status")).send().await.unwrap().status(),
        200
    );
    let fresh_old = trusting(one.path());
    assert!(
        fresh_old.get(server.url("/api/status")).send().await.is_err(),
        "a client trusting only the old CA is refused on a new connection"
    );
    // ...and the connection opened before the reload still serves (it was not dropped; a new one
    // would fail the old client's handshake).
    assert_eq!(
        old.get(server.url("/api/status")).send().await.unwrap().status(),
        200
    );

    // A broken file on reload: logged, the current certificate kept.
    let before = log_len(&server);
    std::fs::write(live.path().join("server.pem.new"), "not a certificate").unwrap();
    std::fs::rename(live.path().join("server.pem.new"), live.path().join("server.pem")).unwrap();
    let line = wait_for_log(
        &server,
        &["TLS certificate not reloaded", "server.tls_cert_file"],
        before,
    )
    .await;
    assert!(line.contains("ERROR"), "{line}");
    assert_eq!(
        new.get(server.url("/api/status")).send().await.unwrap().status(),
        200
    );

    // SIGHUP reloads (here back to the good files) and never stops the server.
    install(two.path(), live.path());
    let before = log_len(&server);
    let pid = server.pid().to_string();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for_log(&server, &["TLS certificate reloaded"], before).await;
    assert_eq!(
        new.get(server.url("/api/status")).send().await.unwrap().status(),
        200
    );
}

#[test]
fn a_certificate_that_cannot_be_used_stops_the_start_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let other = tempfile::tempdir().unwrap();
    make_certificates(other.path());
    let cases = [
        (
            dir.path().join("missing.pem"),
            dir.path().join("server.key"),
            "server.tls_cert_file",
        ),
        (
            dir.path().join("server.pem"),
            other.path().join("server.key"),
            "does not match the certificate",
        ),
        (
            dir.path().join("server.pem"),
            dir.path().join("server.pem"),
            "server.tls_key_file",
        ),
    ];
    for (cert, key, words) in cases {
        let cert = cert.display().to_string();
        let key = key.display().to_string();
        let err = TestServer::try_start_with(&[
            ("VESTIBULE_SERVER_TLS_CERT_FILE", cert.as_str()),
            ("VESTIBULE_SERVER_TLS_KEY_FILE", key.as_str()),
        ])
        .err()
        .unwrap_or_else(|| panic!("started with {cert} and {key}"));
        let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("vestibule: ")).collect();
        assert_eq!(ours.len(), 1, "{err}");
        assert!(ours[0].contains(words), "{words} in {err}");
    }
    let only_one = TestServer::try_start_with(&[("VESTIBULE_SERVER_TLS_CERT_FILE", "/x.pem")])
        .err()
        .expect("a certificate without a key is refused");
    assert!(only_one.contains("set both"), "{only_one}");
}

#[tokio::test]
async fn without_tls_a_sighup_is_harmless() {
    let server = TestServer::start();
    let before = log_len(&server);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for_log(&server, &["SIGHUP: no TLS certificate to reload"], before).await;
    let status = reqwest::get(server.url("/api/status")).await.unwrap().status();
    assert_eq!(status, 200);
}

/// `server.metrics_listen`: `/metrics` and the probes there, `/metrics` gone from the API port,
/// and the API's requests counted on the scrape.
#[tokio::test]
async fn metrics_and_probes_on_an_address_of_their_own() {
    let server = TestServer::start_with(&[("VESTIBULE_SERVER_METRICS_LISTEN", "127.0.0.1:0")]);
    let metrics = {
        let mut url = None;
        for _ in 0..200 {
            url = server
                .stdout()
                .lines()
                .find_map(|l| l.strip_prefix("vestibule metrics on ").map(str::to_string));
            if url.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        url.unwrap_or_else(|| panic!("no metrics line:\n{}", server.stdout()))
    };
    assert_ne!(metrics, server.base);
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(server.url("/api/status")).send().await.unwrap().status(),
        200
    );
    let on_api = c.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(on_api.status(), 404, "/metrics left the API port");
    let scrape = c.get(format!("{metrics}/metrics")).send().await.unwrap();
    assert_eq!(scrape.status(), 200);
    let text = scrape.text().await.unwrap();
    assert!(
        text.contains(r#"vestibule_http_requests_total{route="/api/status",method="GET",status="200"} 1"#),
        "{text}"
    );
    for probe in ["/health/live", "/health/ready"] {
        let r = c.get(format!("{metrics}{probe}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{probe}");
    }
    assert_eq!(
        c.get(format!("{metrics}/api/status"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
