//! The official ThoughtSpot clients against the real binary: `compat/ts_python.py` drives
//! thoughtspot-rest-api-v1 and thoughtspot-rest-api (PyPI, pinned in compat/requirements.txt) and
//! `compat/ts_sdk.mjs` drives @thoughtspot/rest-api-sdk (npm, pinned in compat/package.json).

use std::process::Command;

use crate::common::ts::trusted_auth;
use crate::common::{repo_root, TestServer, ADMIN_PASSWORD};
use crate::compat_mstr::compat_python;

/// Runs a script against a fresh server with trusted authentication on; fails with its output.
async fn run(program: std::path::PathBuf, script: &str, done: &str) {
    let server = TestServer::start();
    let key = trusted_auth(&server, "enable");
    let script_path = repo_root().join("compat").join(script);
    let base = server.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(program)
            .arg(script_path)
            .args([base.as_str(), "administrator", ADMIN_PASSWORD, key.as_str()])
            .current_dir(repo_root().join("compat"))
            .output()
    })
    .await
    .unwrap()
    .expect("run the compatibility script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        out.status,
        server.stderr()
    );
    assert!(stdout.contains(done), "{stdout}");
}

#[tokio::test]
async fn compat_ts_python_clients() {
    let python = compat_python("compat_ts_python_clients");
    run(python, "ts_python.py", "all ThoughtSpot Python checks passed").await;
}

#[tokio::test]
async fn compat_ts_typescript_sdk() {
    assert!(
        repo_root()
            .join("compat/node_modules/@thoughtspot/rest-api-sdk")
            .exists(),
        "compat/node_modules is missing (run scripts/compat-setup.sh)"
    );
    run("node".into(), "ts_sdk.mjs", "all ThoughtSpot SDK checks passed").await;
}
