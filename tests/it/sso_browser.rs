//! Single sign-on in a real headless chromium (tests/browser/sso.mjs, playwright-core), against a
//! real OpenID Connect provider (compat/oidc_idp.mjs, set up by `common::oidc`): the MicroStrategy
//! sign-in page, its provider button, the provider's login and consent pages, the signed-in page
//! and its personal API token, the browser session's auth token, userInfo and logout; the
//! ThoughtSpot start, its cookie session, a bearer token used by the official SDK, and logout.
//! Then mstrio-py (compat/mstr_api_token.py) logs in with the personal API token the page made.
//! The screenshot of the signed-in page is kept at target/test-artifacts/sso-signed-in.png.

use std::process::Command;
use std::time::Instant;

use crate::common::oidc::{setup, CONTEXT, PROVIDER_NAME};
use crate::common::ops::{artifacts_dir, tool};
use crate::common::repo_root;

/// The `value: NAME=…` line of the script's output.
fn value<'a>(stdout: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("value: {name}=");
    stdout.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

#[test]
#[cfg_attr(
    not(all(test_chromium, test_node)),
    ignore = "chromium, node or compat/node_modules/oidc-provider is missing (scripts/ci-install.sh, scripts/compat-setup.sh)"
)]
fn sso_browser_both_dialects_in_chromium_and_mstrio_with_the_api_token() {
    const TEST: &str = "sso_browser::sso_browser_both_dialects_in_chromium_and_mstrio_with_the_api_token";
    let _ = tool(
        "tests/browser/node_modules/playwright-core",
        TEST,
        "bash scripts/compat-setup.sh",
    );
    let _ = tool(
        "compat/node_modules/@thoughtspot/rest-api-sdk",
        TEST,
        "bash scripts/compat-setup.sh",
    );
    let python = tool("compat/.venv/bin/python", TEST, "bash scripts/compat-setup.sh");
    let chromium = tool("/usr/bin/chromium", TEST, "bash scripts/ci-install.sh");
    let s = setup(true);
    let server = &s.server;
    let shot = artifacts_dir().join("sso-signed-in.png");
    let _ = std::fs::remove_file(&shot);
    let _ = std::fs::remove_file(artifacts_dir().join("sso-signed-in-failed.png"));

    let started = Instant::now();
    let out = Command::new("node")
        .current_dir(repo_root().join("tests/browser"))
        .env("CHROMIUM", chromium)
        .arg("sso.mjs")
        .arg(&server.base)
        .arg(CONTEXT)
        .arg(PROVIDER_NAME)
        .arg("alice")
        .arg(&shot)
        .arg(repo_root().join("compat"))
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\nbrowser steps took {:?}", started.elapsed());
    assert!(
        out.status.success(),
        "sso.mjs failed:\n{stdout}\n{stderr}\nserver log:\n{}\nprovider log:\n{}",
        server.stderr(),
        s.idp.stderr()
    );
    for step in [
        format!("ok: mstr: the sign-in page lists \"Sign in with {PROVIDER_NAME}\""),
        "ok: mstr: at the provider: login, consent".to_string(),
        format!("ok: mstr: landed on {CONTEXT}/auth/signed-in"),
        "ok: mstr: the signed-in page shows #username alice".to_string(),
        format!("ok: mstr: GET {CONTEXT}/api/auth/token from the page: 204 with X-MSTR-AuthToken"),
        format!("ok: mstr: POST {CONTEXT}/api/auth/logout with the token: 204"),
        format!("ok: mstr: GET {CONTEXT}/api/auth/token after the logout: 401"),
        "ok: ts: back at the target /api-docs/".to_string(),
        "ok: ts: the SDK's getCurrentUserInfo with the bearer token: alice".to_string(),
        "ok: ts: session/info after the logout: 401".to_string(),
        "ok: ts: the logged-out bearer token is refused: 401".to_string(),
        "sso browser test passed".to_string(),
    ] {
        assert!(stdout.lines().any(|l| l == step), "no {step:?} in:\n{stdout}");
    }
    // What the pages and the API said, checked here too.
    assert_eq!(value(&stdout, "mstr_page_username"), Some("alice"), "{stdout}");
    assert_eq!(
        value(&stdout, "mstr_page_full_name"),
        Some("Alice Example"),
        "{stdout}"
    );
    assert_eq!(
        value(&stdout, "mstr_userinfo_username"),
        Some("alice"),
        "{stdout}"
    );
    assert_eq!(
        value(&stdout, "mstr_userinfo_full_name"),
        Some("Alice Example"),
        "{stdout}"
    );
    assert_eq!(
        value(&stdout, "ts_session_info_username"),
        Some("alice"),
        "{stdout}"
    );
    assert_eq!(value(&stdout, "ts_sdk_user_name"), Some("alice"), "{stdout}");
    assert_eq!(
        value(&stdout, "ts_sdk_display_name"),
        Some("Alice Example"),
        "{stdout}"
    );
    assert!(shot.exists(), "no screenshot at {}", shot.display());
    // The sign-ins went through the provider: audited with its subject, once per dialect.
    let signed_in = s
        .audit_events()
        .iter()
        .filter(|e| {
            e["event"] == "login_succeeded"
                && e["login_mode"] == 4194304
                && e["provider"] == "corp"
                && e["subject"] == "alice"
        })
        .count();
    assert_eq!(signed_in, 2, "{:?}", s.audit_events());

    // mstrio-py with the personal API token the page made (the browser's session is gone).
    let api_token = value(&stdout, "mstr_api_token")
        .expect("the API token the page showed")
        .to_string();
    let out = Command::new(python)
        .arg(repo_root().join("compat/mstr_api_token.py"))
        .arg(server.url(CONTEXT))
        .arg(&api_token)
        .arg("alice")
        .arg("Alice Example")
        .output()
        .expect("run python");
    let py_out = String::from_utf8_lossy(&out.stdout);
    let py_err = String::from_utf8_lossy(&out.stderr);
    println!("{py_out}\nall steps took {:?}", started.elapsed());
    assert!(
        out.status.success(),
        "mstr_api_token.py failed ({:?})\n--- stdout\n{py_out}\n--- stderr\n{py_err}\n--- server\n{}",
        out.status,
        server.stderr()
    );
    assert!(
        py_out.lines().any(|l| l == "mstrio user: alice / Alice Example"),
        "{py_out}"
    );
    assert!(s.audited(|e| e["event"] == "login_succeeded" && e["login_mode"] == 4096 && e["user"] == "alice"));
}
