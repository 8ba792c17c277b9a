//! The official MicroStrategy client, mstrio-py (pinned in compat/requirements.txt), against the
//! real binary: `compat/mstr_connection.py` connects, reads user info, renews, delegates through
//! an identity token, logs in with an API token, closes, fails on a wrong password, and sees an
//! expired session answer ERR009 on a second server with a short timeout.

use std::process::Command;

use crate::common::{repo_root, TestServer, ADMIN_PASSWORD};

/// The venv's Python (made by the test command, `scripts/test.sh`); a missing one fails.
pub fn compat_python(test: &str) -> std::path::PathBuf {
    let python = repo_root().join("compat/.venv/bin/python");
    assert!(
        python.exists(),
        "compat/.venv is missing (run scripts/compat-setup.sh); needed by {test}"
    );
    python
}

/// Runs `compat/<script>` with the model server's MicroStrategy base URL, the administrator's
/// name and password, then `args`; fails with the script's and the server's output unless it
/// exits 0 having printed `all checks passed`.
pub async fn run_mstrio_script(m: &crate::common::model::Model, test: &str, script: &str, args: &[String]) {
    let python = compat_python(test);
    let mut all = vec![
        repo_root().join("compat").join(script).display().to_string(),
        m.server.url("/MicroStrategyLibrary"),
        "administrator".into(),
        ADMIN_PASSWORD.into(),
    ];
    all.extend_from_slice(args);
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(&all).output())
        .await
        .expect("join")
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "{script} failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        out.status,
        m.server.stderr()
    );
    println!("{stdout}");
}

#[tokio::test]
async fn compat_mstr_mstrio_connection_lifecycle() {
    let python = compat_python("compat_mstr_mstrio_connection_lifecycle");
    let server = TestServer::start();
    let short = TestServer::start_with(&[
        ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "2"),
        ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "3"),
        ("VESTIBULE_SESSION_SWEEP_INTERVAL_SECS", "1"),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(repo_root().join("compat/mstr_connection.py"))
            .arg(server.url("/MicroStrategyLibrary"))
            .arg("administrator")
            .arg(ADMIN_PASSWORD)
            .arg(short.url("/MicroStrategyLibrary"))
            .output()
            .map(|o| (o, server, short))
    })
    .await
    .unwrap()
    .expect("run python");
    let (out, server, short) = out;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mstr_connection.py failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}\n--- short server\n{}",
        out.status,
        server.stderr(),
        short.stderr()
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
