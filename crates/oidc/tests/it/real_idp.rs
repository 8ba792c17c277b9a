//! Against a real provider: panva's oidc-provider (compat/oidc_idp.mjs, npm, pinned in
//! compat/package.json), driven without a browser by a cookie-keeping HTTP client through its
//! development login and consent pages, up to the redirect back with `code` and `state`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::LOCATION;
use reqwest::{StatusCode, Url};
use vestibule_oidc::{OidcError, OidcProvider, Start};

use crate::common::{provider, repo_root, settings, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};

/// The provider's process, killed when dropped; its stderr kept for failure messages.
struct Idp {
    child: Child,
    issuer: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Idp {
    fn start() -> Idp {
        let compat = repo_root().join("compat");
        assert!(
            compat.join("node_modules/oidc-provider").exists(),
            "compat/node_modules/oidc-provider is missing (made by bash scripts/compat-setup.sh)"
        );
        let mut child = Command::new("node")
            .arg(compat.join("oidc_idp.mjs"))
            .arg("0")
            .current_dir(&compat)
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URIS", REDIRECT_URI)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node (is it installed?)");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let kept = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = err.read_to_string(&mut buf);
            kept.lock().unwrap().push_str(&buf);
        });
        // The first stdout line is the issuer, printed once it listens.
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(out);
            let mut line = String::new();
            let _ = out.read_line(&mut line);
            let _ = tx.send(line);
            // Read on, so the script never writes to a closed pipe.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let issuer = line.trim().to_string();
        let idp = Idp {
            child,
            issuer,
            stderr,
        };
        assert!(
            idp.issuer.starts_with("http://127.0.0.1:"),
            "oidc_idp.mjs did not start: {:?}\n{}",
            line,
            idp.stderr()
        );
        idp
    }

    fn stderr(&self) -> String {
        std::thread::sleep(Duration::from_millis(100));
        self.stderr.lock().unwrap().clone()
    }

    fn provider(&self) -> OidcProvider {
        provider(&settings(&self.issuer))
    }
}

/// A browser without JavaScript: keeps cookies, follows nothing by itself.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// What the provider finally sends the browser to: the redirect URI with its query.
async fn sign_in(idp: &Idp, browser: &reqwest::Client, start: &Start, login: &str, abort: bool) -> Url {
    let mut url = Url::parse(&start.url).expect("authorization URL");
    for _ in 0..20 {
        let response = browser
            .get(url.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e:?}\n{}", idp.stderr()));
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .expect("Location")
                .to_string();
            let next = url.join(&location).expect("Location URL");
            if next.as_str().starts_with(REDIRECT_URI) {
                return next;
            }
            url = next;
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{url}");
        let page = response.text().await.expect("page");
        // The development pages: a login form, then a consent form, both posting to the
        // interaction URL itself.
        let form: Vec<(&str, &str)> = if page.contains(r#"name="prompt" value="login""#) {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else if page.contains(r#"name="prompt" value="consent""#) {
            vec![("prompt", "consent")]
        } else {
            panic!("unexpected page at {url}:\n{page}");
        };
        let target = if abort {
            url.join(&format!("{}/abort", url.path())).expect("abort URL")
        } else {
            url.clone()
        };
        let response = if abort {
            browser.get(target).send().await.expect("GET abort")
        } else {
            browser.post(target).form(&form).send().await.expect("POST")
        };
        assert!(response.status().is_redirection(), "{url}: {}", response.status());
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .expect("Location")
            .to_string();
        url = url.join(&location).expect("Location URL");
        if url.as_str().starts_with(REDIRECT_URI) {
            return url;
        }
    }
    panic!("the sign-in did not come back to the redirect URI");
}

/// A started sign-in, its callback's code (state checked) and the provider.
async fn code_for(idp: &Idp, login: &str) -> (OidcProvider, Start, String) {
    let rp = idp.provider();
    let start = rp.start(REDIRECT_URI).await.expect("start");
    let callback = sign_in(idp, &browser(), &start, login, false).await;
    let (code, state) = rp
        .parse_callback(callback.query().unwrap_or(""))
        .expect("callback with a code");
    assert_eq!(state, start.state);
    (rp, start, code)
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules/oidc-provider is missing (bash scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn a_sign_in_at_a_real_provider_gives_the_identity() {
    let idp = Idp::start();
    for (login, name, groups) in [
        ("alice", "Alice Example", vec!["analysts", "admins"]),
        ("bob", "Bob Example", vec!["viewers"]),
    ] {
        let (rp, start, code) = code_for(&idp, login).await;
        let identity = rp
            .finish(REDIRECT_URI, &code, &start.nonce, &start.pkce_verifier)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", idp.stderr()));
        assert_eq!(identity.provider, "test");
        assert_eq!(identity.subject, login);
        assert_eq!(identity.username, login);
        assert_eq!(identity.full_name.as_deref(), Some(name));
        assert_eq!(identity.email, Some(format!("{login}@example.com")));
        assert_eq!(identity.groups, groups);
    }
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules/oidc-provider is missing (bash scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn a_code_is_exchanged_once() {
    let idp = Idp::start();
    let (rp, start, code) = code_for(&idp, "alice").await;
    rp.finish(REDIRECT_URI, &code, &start.nonce, &start.pkce_verifier)
        .await
        .expect("first exchange");
    match rp
        .finish(REDIRECT_URI, &code, &start.nonce, &start.pkce_verifier)
        .await
    {
        Err(OidcError::Exchange(reason)) => assert!(reason.contains("invalid_grant"), "{reason}"),
        other => panic!("a replayed code: {other:?}"),
    }
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules/oidc-provider is missing (bash scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn a_wrong_nonce_or_verifier_is_refused() {
    let idp = Idp::start();
    let (rp, start, code) = code_for(&idp, "alice").await;
    match rp
        .finish(
            REDIRECT_URI,
            &code,
            "the-nonce-of-another-sign-in",
            &start.pkce_verifier,
        )
        .await
    {
        Err(OidcError::BadToken(reason)) => assert!(reason.contains("nonce"), "{reason}"),
        other => panic!("a wrong nonce: {other:?}"),
    }
    // The provider checks the PKCE verifier against the challenge of the start.
    let (rp, start, code) = code_for(&idp, "alice").await;
    let other = rp.start(REDIRECT_URI).await.expect("start");
    match rp
        .finish(REDIRECT_URI, &code, &start.nonce, &other.pkce_verifier)
        .await
    {
        Err(OidcError::Exchange(reason)) => assert!(reason.contains("invalid_grant"), "{reason}"),
        other => panic!("a wrong verifier: {other:?}"),
    }
}

#[cfg_attr(
    not(test_node),
    ignore = "node or compat/node_modules/oidc-provider is missing (bash scripts/compat-setup.sh)"
)]
#[tokio::test]
async fn a_cancelled_sign_in_is_the_providers_error() {
    let idp = Idp::start();
    let rp = idp.provider();
    let start = rp.start(REDIRECT_URI).await.expect("start");
    let callback = sign_in(&idp, &browser(), &start, "alice", true).await;
    match rp.parse_callback(callback.query().unwrap_or("")) {
        Err(OidcError::ProviderError { error, description }) => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("End-User aborted interaction"));
        }
        other => panic!("{callback}: {other:?}"),
    }
}
