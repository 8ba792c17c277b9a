//! The schema fuzz run: schemathesis (pinned in tests/fuzz/requirements.txt) generates requests
//! for every operation of the served OpenAPI document, authenticated as the administrator, and
//! runs every check: no answer is 5xx, every answer conforms to the document (status, content
//! type, headers, body schema), a request the document allows is not refused, one it forbids is
//! not accepted, and a method a path does not have is a 405. Bounded in examples and time so CI
//! stays fast.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::ops::{artifacts_dir, fuzz_python};
use crate::common::{client, TestServer, ADMIN_PASSWORD};

/// Examples per operation, and the whole run's time budget.
const MAX_EXAMPLES: &str = "20";
const MAX_TIME_SECS: &str = "90";
/// Hard stop, should schemathesis overrun its own budget.
const KILL_AFTER: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_and_no_schema_violations() {
    const TEST: &str = "fuzz::schemathesis_finds_no_server_errors_and_no_schema_violations";
    let python = fuzz_python(TEST);
    let st = python.with_file_name("st");
    let server = TestServer::start();

    // A session for the operations that need one: the token header and its cookie.
    let resp = client()
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"loginMode": 1, "username": "administrator", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let token = resp.headers()["x-mstr-authtoken"].to_str().unwrap().to_string();
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");

    let report = artifacts_dir().join("schemathesis");
    let _ = std::fs::remove_dir_all(&report);
    std::fs::create_dir_all(&report).unwrap();
    let out_file = report.join("stdout.txt");
    let err_file = report.join("stderr.txt");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz/schemathesis.toml");
    let mut child = Command::new(st)
        // Per-operation settings, each a rule the document cannot express (see the file).
        .args(["--config-file", config])
        .args([
            "run",
            &server.url("/api-docs/openapi.json"),
            "--url",
            &server.base,
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--max-time",
            MAX_TIME_SECS,
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "20261125",
            // One worker: hypothesis's source introspection is not thread-safe.
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
        ])
        .arg(&report)
        // Ending or revoking the fuzzer's own session would turn every later call into a 401.
        .args(["--exclude-path-regex", "logout|revoke"])
        .args(["-H", &format!("X-MSTR-AuthToken: {token}")])
        // A token minted by either dialect is a bearer credential for the other one's endpoints.
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["-H", &format!("Cookie: {cookie}")])
        // To files, not pipes: a pipe nobody drains would block schemathesis once it fills.
        .stdout(Stdio::from(std::fs::File::create(&out_file).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_file).unwrap()))
        .spawn()
        .expect("run schemathesis");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > KILL_AFTER {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stdout = std::fs::read_to_string(&out_file).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_file).unwrap_or_default();
    println!("{stdout}\n{stderr}");
    let Some(status) = status else {
        panic!("schemathesis ran past {KILL_AFTER:?}:\n{stdout}\n{stderr}");
    };
    let log = server.stderr();
    assert!(
        !log.contains("panicked"),
        "the server panicked during the fuzz run:\n{log}"
    );
    assert!(
        status.success(),
        "schemathesis found problems (report in {}):\n{stdout}\n{stderr}",
        report.display()
    );
}
