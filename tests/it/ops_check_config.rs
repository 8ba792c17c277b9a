//! `vestibule check-config FILE`: each problem explained in one line on stderr with a non-zero exit;
//! a valid file exits 0.

use std::process::{Command, Output};

fn check(toml: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vestibule.toml");
    std::fs::write(&file, toml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap()
}

/// Asserts a refusal in exactly one line that contains every one of `words`.
fn refused(toml: &str, words: &[&str]) -> String {
    let out = check(toml);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "accepted:\n{toml}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line for:\n{toml}\n---\n{stderr}"
    );
    for w in words {
        assert!(stderr.contains(w), "{w:?} missing from {stderr:?}");
    }
    stderr
}

#[test]
fn check_config_accepts_a_valid_file() {
    let out = check(
        "listen = \"0.0.0.0:9000\"\n[session]\nserver_timeout_secs = 600\nhttp_timeout_secs = 900\n[log]\nformat = \"json\"\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("valid") && stdout.contains("0.0.0.0:9000"),
        "{stdout}"
    );
}

#[test]
fn check_config_explains_bad_toml_in_one_line() {
    let e = refused(
        "listen = \"127.0.0.1:1\"\n[session\nserver_timeout_secs = 1\n",
        &["vestibule.toml", "line 2"],
    );
    assert!(e.starts_with("vestibule: "), "{e}");
}

#[test]
fn check_config_explains_an_unknown_key_in_one_line() {
    refused(
        "[session]\nserver_timout_secs = 10\n",
        &["unknown setting 'session.server_timout_secs'"],
    );
    refused("colour = \"blue\"\n", &["unknown setting 'colour'"]);
}

#[test]
fn check_config_explains_a_wrong_type_in_one_line() {
    refused(
        "[session]\nserver_timeout_secs = \"ten\"\n",
        &["session.server_timeout_secs", "integer", "string"],
    );
}

#[test]
fn check_config_explains_http_timeout_not_above_server_timeout_in_one_line() {
    refused(
        "[session]\nserver_timeout_secs = 600\nhttp_timeout_secs = 600\n",
        &[
            "session.http_timeout_secs (600)",
            "session.server_timeout_secs (600)",
            "greater",
        ],
    );
}

#[test]
fn check_config_explains_a_bad_listen_address_in_one_line() {
    refused(
        "listen = \"localhost\"\n",
        &["listen", "'localhost'", "address and port"],
    );
    refused("listen = \"127.0.0.1:99999\"\n", &["listen", "127.0.0.1:99999"]);
}

#[test]
fn check_config_explains_a_missing_file_in_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_vestibule"))
        .env_clear()
        .args(["check-config", "/nonexistent/vestibule.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/vestibule.toml"), "{stderr}");
}

#[test]
fn check_config_explains_each_structural_error_on_its_own_line() {
    let out =
        check("colour = \"blue\"\n[session]\nserver_timeout_secs = \"ten\"\nbogus = 1\n[log]\nformat = 7\n");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines.iter().all(|l| l.starts_with("vestibule: ")), "{stderr}");
    for want in [
        "unknown setting 'colour'",
        "session.server_timeout_secs: expected integer, found string",
        "unknown setting 'session.bogus'",
        "log.format: expected string, found integer",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(want)),
            "{want:?} missing from:\n{stderr}"
        );
    }
}

#[test]
fn check_config_explains_bad_sso_settings_in_one_line() {
    let provider = "[[sso.oidc]]\nid = \"corp\"\nissuer = \"https://idp.example.com\"\nclient_id = \"v\"\nclient_secret = \"s\"\n";
    refused(&format!("[sso]\n{provider}"), &["sso.public_url", "must be set"]);
    refused(
        &format!("[sso]\npublic_url = \"http://bi.example.com\"\n{provider}"),
        &["sso.public_url", "https://"],
    );
    refused(
        &format!(
            "[sso]\npublic_url = \"https://bi.example.com\"\n{}",
            provider.replace("corp", "Corp")
        ),
        &["sso.oidc.id", "'Corp'"],
    );
    refused(
        &format!("[sso]\npublic_url = \"https://bi.example.com\"\n{provider}bogus = 1\n"),
        &["bogus"],
    );
    refused(
        "[server]\nallowed_origins = \"https://app.example.com/path\"\n",
        &["server.allowed_origins", "not an origin"],
    );
    let out = check(&format!(
        "[sso]\npublic_url = \"https://bi.example.com\"\n{provider}"
    ));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn check_config_explains_bad_access_and_audit_settings_in_one_line() {
    refused(
        "[log]\naccess = \"loud\"\n",
        &["log.access", "'loud'", "off, error, warn, info, debug, trace"],
    );
    refused(
        "[audit]\ntarget = \"syslog\"\n",
        &["audit.target", "stdout, stderr, off, file:/path/to/audit.log"],
    );
    for ok in [
        "[log]\naccess = \"off\"\naccess_health = true\n",
        "[audit]\ntarget = \"stderr\"\n",
    ] {
        let out = check(ok);
        assert!(
            out.status.success(),
            "{ok}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
