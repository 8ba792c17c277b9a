//! SAML 2.0 single sign-on in a real headless chromium (tests/browser/sso_saml.mjs,
//! playwright-core) against a real SAML identity provider (compat/saml_idp.mjs, samlify; set up by
//! `common::saml`): the MicroStrategy sign-in page's provider button, the provider's login page and
//! its auto-submitting form to `{context}/saml/SSO`, the signed-in page, the browser session's auth
//! token, userInfo and logout; the Embedding SDK's `samlLogin` pop-up (loginMode 1048576) from an
//! allowed origin and its identity token exchanged at `/api/auth/delegate`; the official ThoughtSpot
//! Visual Embed SDK's `SAMLRedirect` pop-up (`inPopup`) ending in `samlComplete`, its cookie
//! session, a bearer token and the SDK's logout.

use std::process::Command;
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::oidc::free_port;
use crate::common::ops::tool;
use crate::common::repo_root;
use crate::common::saml::{saml_setup_on, SamlOptions, CONTEXT, PROVIDER_ID, PROVIDER_NAME};

/// The `value: NAME=…` line of the script's output.
fn value<'a>(stdout: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("value: {name}=");
    stdout.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

#[tokio::test]
#[cfg_attr(
    not(all(test_chromium, test_node)),
    ignore = "chromium, node or compat/node_modules is missing (scripts/ci-install.sh, scripts/compat-setup.sh)"
)]
async fn sso_saml_browser_sign_in_embedding_pop_ups_and_thoughtspot_sdk_in_chromium() {
    const TEST: &str =
        "sso_saml_browser::sso_saml_browser_sign_in_embedding_pop_ups_and_thoughtspot_sdk_in_chromium";
    let _ = tool(
        "tests/browser/node_modules/playwright-core",
        TEST,
        "bash scripts/compat-setup.sh",
    );
    let _ = tool(
        "tests/browser/node_modules/@thoughtspot/visual-embed-sdk",
        TEST,
        "bash scripts/compat-setup.sh",
    );
    let _ = tool(
        "compat/node_modules/samlify",
        TEST,
        "bash scripts/compat-setup.sh",
    );
    let chromium = tool("/usr/bin/chromium", TEST, "bash scripts/ci-install.sh");
    let port = free_port();
    let embed_port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let extra = format!("[server]\nallowed_origins = \"http://127.0.0.1:{embed_port}\"\n");
    let s = saml_setup_on(
        port,
        &public,
        SamlOptions {
            extra: &extra,
            ..Default::default()
        },
    );
    let server = &s.server;

    let started = Instant::now();
    let out = tokio::task::spawn_blocking({
        let (base, idp) = (server.base.clone(), s.idp.base.clone());
        move || {
            Command::new("node")
                .current_dir(repo_root().join("tests/browser"))
                .env("CHROMIUM", chromium)
                .arg("sso_saml.mjs")
                .arg(base)
                .arg(CONTEXT)
                .arg(PROVIDER_NAME)
                .arg(idp)
                .arg(embed_port.to_string())
                .arg("alice")
                .output()
                .expect("run node")
        }
    })
    .await
    .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\nbrowser steps took {:?}", started.elapsed());
    assert!(
        out.status.success(),
        "sso_saml.mjs failed:\n{stdout}\n{stderr}\nserver log:\n{}\nprovider log:\n{}",
        server.stderr(),
        s.idp.stderr()
    );
    for step in [
        format!("ok: mstr: the sign-in page lists \"Sign in with {PROVIDER_NAME}\""),
        "ok: mstr: at the provider: login".to_string(),
        format!("ok: mstr: the provider's page posted the SAMLResponse to {CONTEXT}/saml/SSO"),
        format!("ok: mstr: landed on {CONTEXT}/auth/signed-in"),
        "ok: mstr: the signed-in page shows #username alice".to_string(),
        format!("ok: mstr: GET {CONTEXT}/api/auth/token from the page: 204 with X-MSTR-AuthToken"),
        format!("ok: mstr: POST {CONTEXT}/api/auth/logout with the token: 204"),
        format!("ok: mstr: GET {CONTEXT}/api/auth/token after the logout: 401"),
        "ok: mstr: samlLogin's pop-up went to the provider's login page; there: login".to_string(),
        format!("ok: mstr: the pop-up started at {CONTEXT}/auth/login-dialog.jsp?loginMode=1048576 and the provider posted to {CONTEXT}/saml/SSO"),
        "ok: ts: the SDK's pop-up went to the provider's login page; there: login".to_string(),
        "ok: ts: the SDK's pop-up started at /callosum/v1/saml/login?targetURLPath={host}/v2/#/embed/saml-complete".to_string(),
        "ok: ts: the provider's page posted the SAMLResponse to /callosum/v1/saml/SSO".to_string(),
        "ok: ts: the SDK's logout ended the session (session/info 401)".to_string(),
        "sso saml browser test passed".to_string(),
    ] {
        assert!(stdout.lines().any(|l| l == step), "no {step:?} in:\n{stdout}");
    }
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
        value(&stdout, "mstr_embed_userinfo_username"),
        Some("alice"),
        "{stdout}"
    );
    assert_eq!(
        value(&stdout, "ts_session_info_username"),
        Some("alice"),
        "{stdout}"
    );
    assert_eq!(value(&stdout, "ts_token_username"), Some("alice"), "{stdout}");
    assert!(
        value(&stdout, "ts_auth_events").is_some_and(|e| e.contains("SDK_SUCCESS")),
        "{stdout}"
    );

    // Audited: the three sign-ins at the provider (the sign-in page, the pop-up, ThoughtSpot's
    // pop-up), each with SAML's login mode and the provider's subject.
    let events = s.audit_events();
    let sign_ins = events
        .iter()
        .filter(|e| {
            e["event"] == json!("login_succeeded")
                && e["provider"] == json!(PROVIDER_ID)
                && e["login_mode"] == json!(1048576)
                && e["subject"] == json!("alice")
        })
        .count();
    assert_eq!(sign_ins, 3, "{events:#?}");
    let count = |kind: &str| events.iter().filter(|e| e["event"] == json!(kind)).count();
    assert_eq!(count("login_failed"), 0, "{events:#?}");
    assert_eq!(count("delegation"), 1, "{events:#?}");
    assert_eq!(count("logout"), 3, "{events:#?}");

    // The identity token the pop-up posted was used up by the page's delegate.
    let token = value(&stdout, "mstr_identity_token").expect("identity token");
    let verifier = value(&stdout, "mstr_code_verifier").expect("verifier");
    let r = crate::common::client()
        .post(server.url(&format!("{CONTEXT}/api/auth/delegate")))
        .json(&json!({"loginMode": -1, "identityToken": token, "codeVerifier": verifier}))
        .send()
        .await
        .expect("replayed delegate");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a hand-over token works once"
    );
}
