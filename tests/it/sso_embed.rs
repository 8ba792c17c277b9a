//! Single sign-on from pages that embed vestibule, in a real headless chromium
//! (tests/browser/sso_embed.mjs): the MicroStrategy Embedding SDK's `oidcLogin` pop-up and its
//! PKCE-bound identity token exchanged at `/api/auth/delegate` (from an allowed origin on the same
//! site and from another site), Library's sample pop-up and `/api/auth/token` over CORS, the
//! official ThoughtSpot Visual Embed SDK's pop-up (`inPopup`) ending in `samlComplete`, and the
//! logouts, RP-initiated logout at the provider included. Against a real OpenID provider
//! (compat/oidc_idp.mjs) set up by `common::oidc`.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::oidc::{free_port, setup_embedded, Idp, CALLBACK, CONTEXT};
use crate::common::ops::tool;
use crate::common::repo_root;

fn value<'a>(stdout: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("value: {name}=");
    stdout.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

#[tokio::test]
#[cfg_attr(
    not(all(test_chromium, test_node)),
    ignore = "chromium, node or compat/node_modules/oidc-provider is missing (scripts/ci-install.sh, scripts/compat-setup.sh)"
)]
async fn sso_embed_popups_of_both_sdks_in_chromium_then_logout_everywhere() {
    const TEST: &str = "sso_embed::sso_embed_popups_of_both_sdks_in_chromium_then_logout_everywhere";
    let _ = tool(
        "tests/browser/node_modules/@thoughtspot/visual-embed-sdk",
        TEST,
        "bash scripts/compat-setup.sh",
    );
    let chromium = tool("/usr/bin/chromium", TEST, "bash scripts/ci-install.sh");
    let port = free_port();
    let embed_port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let idp = Idp::start(&format!("{public}{CALLBACK}"));
    let origins = format!("http://127.0.0.1:{embed_port}, http://localhost:{embed_port}");
    // Cookies a page on another site can keep: SameSite=None, in its own partition (CHIPS).
    let cookies = "[session]\ncookie_same_site = \"none\"\ncookie_partitioned = true\n";
    let s = setup_embedded(idp, &public, port, true, &origins, cookies);
    let server = &s.server;

    let out = tokio::task::spawn_blocking({
        let base = server.base.clone();
        move || {
            Command::new("node")
                .current_dir(repo_root().join("tests/browser"))
                .env("CHROMIUM", chromium)
                .arg("sso_embed.mjs")
                .arg(base)
                .arg(CONTEXT)
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
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the embedding test failed:\n{stdout}\n{stderr}\nserver log:\n{}\nprovider log:\n{}",
        server.stderr(),
        s.idp.stderr()
    );
    assert_eq!(value(&stdout, "mstr_userinfo_username"), Some("alice"));
    assert_eq!(value(&stdout, "ts_session_info_username"), Some("alice"));
    assert!(
        value(&stdout, "ts_auth_events").is_some_and(|e| e.contains("SDK_SUCCESS")),
        "{stdout}"
    );

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

    // Audited: the sign-ins at the provider — the SDK's pop-up; the sample's, which signs in
    // again without a form (the delegate's JSESSIONID replaced the browser session's cookie on
    // this site, as in Library); the SDK's after the logout; ThoughtSpot's — the delegations,
    // and the logouts.
    let events = s.audit_events();
    let count = |kind: &str| events.iter().filter(|e| e["event"] == json!(kind)).count();
    let sign_ins = events
        .iter()
        .filter(|e| e["event"] == json!("login_succeeded") && e["provider"] == json!("corp"))
        .count();
    assert_eq!(sign_ins, 4, "{events:#?}");
    assert!(count("delegation") >= 3, "{events:#?}");
    assert!(count("logout") >= 3, "{events:#?}");
}
