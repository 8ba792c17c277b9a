//! `rust-version` is what the locked dependencies need: the highest `rust-version` any package in
//! Cargo.lock that builds for this platform declares. (The machine has one toolchain and cannot
//! fetch another, so the check reads the dependencies' declarations instead of building with that
//! version.)

use std::process::Command;

/// `1.89` and `1.89.0` alike.
fn version(v: &str) -> [u64; 3] {
    let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
    [(); 3].map(|()| parts.next().unwrap_or(0))
}

/// The platform this toolchain builds for (`rustc -vV`'s `host:`).
fn host() -> String {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names its host")
        .to_string()
}

/// The dependencies of this platform: those of others (Android's, Windows') are never downloaded
/// here, and `--offline` metadata of every platform would need their manifests.
#[test]
fn rust_version_is_the_highest_the_locked_dependencies_declare() {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--offline",
            "--filter-platform",
        ])
        .arg(host())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let packages = meta["packages"].as_array().expect("packages");
    let (ours, theirs): (Vec<_>, Vec<_>) = packages
        .iter()
        .partition(|p| p["id"].as_str().is_some_and(|id| members.contains(&id)));
    let needed = theirs
        .iter()
        .filter_map(|p| Some((p["rust_version"].as_str()?, p["name"].as_str()?)))
        .max_by_key(|(v, _)| version(v))
        .expect("some dependency declares a rust-version");
    for p in &ours {
        let declared = p["rust_version"].as_str().unwrap_or("none");
        assert_eq!(
            version(declared),
            version(needed.0),
            "{} declares rust-version {declared}; the locked dependencies need {} ({})",
            p["name"],
            needed.0,
            needed.1
        );
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let short = needed.0.trim_end_matches(".0");
    assert!(
        readme.contains(&format!("Rust {short} or later")),
        "the README's prerequisites name Rust {short}"
    );
}
