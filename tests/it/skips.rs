//! Honest skips: a test whose backend is missing is reported as skipped by the runner itself,
//! never as passed, and under `CI=true` it runs and fails. Checked on the fixture crate
//! `tests/skips` (the project's own build.rs and the pattern of the backend tests), built here
//! with cargo-nextest three times: without the backend variables, with them, and under CI=true
//! without them.

use std::path::Path;
use std::process::Command;

/// Runs the fixture's tests with `env` (the backend variables and CI removed first) and returns
/// the runner's summary line and whether the run passed.
fn run_fixture(target: &Path, env: &[(&str, &str)]) -> (String, bool) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/skips/Cargo.toml");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["nextest", "run", "--locked", "--no-fail-fast", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("VESTIBULE_TEST_POSTGRES_URL")
        .env_remove("VESTIBULE_TEST_REDIS_URL")
        .env_remove("CI")
        .env_remove("NEXTEST_PROFILE")
        .envs(env.iter().copied());
    let out = cmd
        .output()
        .expect("run cargo nextest (scripts/ci-install.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = text
        .lines()
        .find(|l| l.trim_start().starts_with("Summary"))
        .unwrap_or_else(|| panic!("no summary from nextest:\n{text}"))
        .to_string();
    (summary, out.status.success())
}

#[test]
fn a_missing_backend_is_skipped_by_the_runner_and_fails_under_ci() {
    let target = tempfile::tempdir().unwrap();
    let (summary, ok) = run_fixture(target.path(), &[]);
    assert!(ok, "{summary}");
    assert!(
        summary.contains("1 test run: 1 passed, 2 skipped"),
        "without the variables the two backend tests are skipped: {summary}"
    );

    let (summary, ok) = run_fixture(
        target.path(),
        &[
            ("VESTIBULE_TEST_POSTGRES_URL", "postgres://127.0.0.1:5432/test"),
            ("VESTIBULE_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
        ],
    );
    assert!(ok, "{summary}");
    assert!(summary.contains("3 tests run: 3 passed, 0 skipped"), "{summary}");

    let (summary, ok) = run_fixture(target.path(), &[("CI", "true")]);
    assert!(!ok, "under CI=true a missing backend fails: {summary}");
    assert!(summary.contains("3 tests run: 1 passed, 2 failed"), "{summary}");
}
