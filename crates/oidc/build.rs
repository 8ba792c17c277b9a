//! Tells the tests whether the real identity provider can run here: `cfg(test_node)` when `node`
//! is installed and `compat/node_modules/oidc-provider` exists (made by `scripts/compat-setup.sh`,
//! which the test command runs). Without it those tests are `#[ignore]`d, so the runner reports
//! them as skipped, never passed; under `CI=true` the cfg is always set, so a missing tool fails
//! them instead.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(test_node)");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let dirs = ["/usr/bin", "/usr/local/bin"];
    for dir in dirs {
        if Path::new(dir).is_dir() {
            println!("cargo::rerun-if-changed={dir}");
        }
    }
    let compat = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compat");
    let package = compat.join("node_modules/oidc-provider/package.json");
    // Watching the file itself: cargo reruns the script when it appears or changes.
    println!("cargo::rerun-if-changed={}", package.display());
    let node = dirs.iter().any(|d| Path::new(d).join("node").exists());
    if ci || (node && package.exists()) {
        println!("cargo::rustc-cfg=test_node");
    }
}
