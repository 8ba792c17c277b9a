//! Helpers of the operations tests: finding the tools they drive (the schemathesis venv, the
//! browser package, chromium); a missing one fails the test, naming its set-up step.

use std::path::PathBuf;

use crate::common::repo_root;

/// `path` under the repository (or absolute); a panic naming the set-up step when it is missing
/// (the test command, `scripts/test.sh`, makes the repository's tools; tests that need a system
/// package are ignored where build.rs did not find it).
pub fn tool(relative: &str, test: &str, setup: &str) -> PathBuf {
    let path = if relative.starts_with('/') {
        PathBuf::from(relative)
    } else {
        repo_root().join(relative)
    };
    assert!(
        path.exists(),
        "{} is missing (needed by {test}; made by {setup})",
        path.display()
    );
    path
}

/// The Python of the fuzz venv (schemathesis, openapi-spec-validator).
pub fn fuzz_python(test: &str) -> PathBuf {
    tool(
        "tests/fuzz/.venv/bin/python",
        test,
        "bash scripts/compat-setup.sh",
    )
}

/// Where tests keep files for people to look at after a run (screenshots, reports).
pub fn artifacts_dir() -> PathBuf {
    let dir = repo_root().join("target").join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

/// The metric samples of a Prometheus text exposition: `(name{labels}, value)` per line, after
/// checking that every line is a comment or a well-formed sample.
pub fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unclosed labels in {line:?}");
        }
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        out.push((series.to_string(), value));
    }
    out
}

/// The value of exactly this series, if present.
pub fn sample(samples: &[(String, f64)], series: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}
