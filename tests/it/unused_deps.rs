//! No crate of the workspace declares a dependency it does not use: `cargo machete` over the
//! workspace finds none. A dependency it cannot see used (one named only by a macro's expansion)
//! goes in that crate's `[package.metadata.cargo-machete] ignored`, with the reason beside it.

use std::process::Command;

use crate::common::repo_root;

#[cfg_attr(
    not(test_machete),
    ignore = "needs cargo-machete (scripts/ci-install.sh; build.rs sets cfg(test_machete))"
)]
#[test]
fn no_crate_of_the_workspace_has_an_unused_dependency() {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args(["machete", "--skip-target-dir"])
        // cargo-machete takes itself to run as `cargo machete` (and drops its first argument) when
        // CARGO is set but CARGO_PKG_NAME, which the test runner sets for this process, is not.
        .env_remove("CARGO_PKG_NAME")
        .output()
        .expect("run cargo machete");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // 0: nothing unused; 1: unused dependencies found; anything else: machete itself failed.
    assert_eq!(out.status.code(), Some(0), "cargo machete:\n{report}");
    assert!(
        report.contains("didn't find any unused dependencies"),
        "cargo machete did not report a clean run:\n{report}"
    );
}

/// cargo-machete reads each crate's own list; a `[workspace.dependencies]` entry that no member
/// inherits any more is dead too.
#[test]
fn every_workspace_dependency_is_inherited_by_a_member() {
    let read = |path: std::path::PathBuf| -> toml::Table {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let root = read(repo_root().join("Cargo.toml"));
    let workspace = root["workspace"].as_table().expect("[workspace]");
    let members: Vec<toml::Table> = workspace["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| read(repo_root().join(m.as_str().expect("a path")).join("Cargo.toml")))
        .chain([root.clone()])
        .collect();
    // The dependency tables of a manifest: its own and those under `[target.'cfg(…)']`.
    let tables = |manifest: &toml::Table| -> Vec<toml::Table> {
        let targets = manifest
            .get("target")
            .and_then(|t| t.as_table())
            .into_iter()
            .flat_map(|t| t.values().filter_map(|v| v.as_table()));
        std::iter::once(manifest)
            .chain(targets)
            .flat_map(|m| {
                ["dependencies", "dev-dependencies", "build-dependencies"]
                    .iter()
                    .filter_map(|section| m.get(*section).and_then(|s| s.as_table()).cloned())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let inherits = |manifest: &toml::Table, name: &str| {
        tables(manifest)
            .iter()
            .filter_map(|deps| deps.get(name))
            .any(|dep| dep.get("workspace").and_then(|w| w.as_bool()) == Some(true))
    };
    let unused: Vec<&String> = workspace["dependencies"]
        .as_table()
        .expect("[workspace.dependencies]")
        .keys()
        .filter(|name| !members.iter().any(|m| inherits(m, name)))
        .collect();
    assert!(
        unused.is_empty(),
        "[workspace.dependencies] no member inherits: {unused:?}"
    );
}
