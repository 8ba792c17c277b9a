//! The API explorer in a real headless chromium (tests/browser/explorer.mjs, playwright-core):
//! the authentication endpoints are listed, a login from the page answers 204 with a token, and a
//! call authorized with that token (and the browser's session cookie) answers 200. The screenshot
//! is kept at target/test-artifacts/explorer.png.

use std::process::Command;

use crate::common::ops::{artifacts_dir, tool};
use crate::common::{repo_root, TestServer, ADMIN_PASSWORD};

#[test]
#[cfg_attr(
    not(test_chromium),
    ignore = "chromium is not installed (scripts/ci-install.sh)"
)]
fn explorer_lists_auth_endpoints_and_logs_in_from_the_page() {
    const TEST: &str = "explorer::explorer_lists_auth_endpoints_and_logs_in_from_the_page";
    let _ = tool(
        "tests/browser/node_modules/playwright-core",
        TEST,
        "bash scripts/compat-setup.sh",
    );
    let chromium = tool("/usr/bin/chromium", TEST, "bash scripts/ci-install.sh");
    let server = TestServer::start();
    let shot = artifacts_dir().join("explorer.png");
    let _ = std::fs::remove_file(&shot);
    let out = Command::new("node")
        .current_dir(repo_root().join("tests/browser"))
        .env("CHROMIUM", chromium)
        .arg("explorer.mjs")
        .arg(&server.base)
        .arg("administrator")
        .arg(ADMIN_PASSWORD)
        .arg(&shot)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the explorer test failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        server.stderr()
    );
    assert!(stdout.contains("logged in from the page: 204"), "{stdout}");
    assert!(shot.exists(), "no screenshot at {}", shot.display());
}
