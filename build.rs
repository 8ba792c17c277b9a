//! Tells the integration tests which optional test services this machine has, so a test that
//! needs a missing one is `#[ignore]`d and the runner reports it as skipped (never a pass):
//! - `cfg(test_postgres)`, `cfg(test_redis)`: `VESTIBULE_TEST_POSTGRES_URL` /
//!   `VESTIBULE_TEST_REDIS_URL` are set;
//! - `cfg(test_slapd)`: OpenLDAP's slapd and slapadd are installed;
//! - `cfg(test_redis_server)`: `redis-server` (and redis-cli) is installed (tests that restart a
//!   Redis, or make a Redis Cluster, of their own, never the machine's);
//! - `cfg(test_chromium)`: Debian's chromium is installed;
//! - `cfg(test_node)`: node and compat/node_modules/oidc-provider (the single sign-on tests' provider);
//! - `cfg(test_deb)`: cargo-deb and dpkg are installed and the build runs as root (the Debian
//!   package test installs and purges the package: tests/it/package.rs);
//! - `cfg(test_machete)`: cargo-machete is installed (tests/it/unused_deps.rs).
//!
//! Under `CI=true` all are set, so a missing service fails its tests instead. The official
//! clients' venv and npm packages are not optional: the test command (`scripts/test.sh`) makes
//! them, and a test that finds them missing fails, naming the set-up step.

use std::path::Path;

fn main() {
    for cfg in [
        "test_postgres",
        "test_redis",
        "test_slapd",
        "test_redis_server",
        "test_chromium",
        "test_node",
        "test_deb",
        "test_machete",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    for (cfg, var) in [
        ("test_postgres", "VESTIBULE_TEST_POSTGRES_URL"),
        ("test_redis", "VESTIBULE_TEST_REDIS_URL"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        if ci || std::env::var(var).is_ok_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    let dirs = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];
    for dir in dirs {
        if Path::new(dir).is_dir() {
            println!("cargo::rerun-if-changed={dir}");
        }
    }
    let installed = |bin: &str| dirs.iter().any(|d| Path::new(d).join(bin).exists());
    if ci || (installed("slapd") && installed("slapadd")) {
        println!("cargo::rustc-cfg=test_slapd");
    }
    if ci || installed("redis-server") {
        println!("cargo::rustc-cfg=test_redis_server");
    }
    if ci || Path::new("/usr/bin/chromium").exists() {
        println!("cargo::rustc-cfg=test_chromium");
    }
    // The real identity provider of the single sign-on tests (as crates/oidc/build.rs).
    let package =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/node_modules/oidc-provider/package.json");
    println!("cargo::rerun-if-changed={}", package.display());
    if ci || (installed("node") && package.exists()) {
        println!("cargo::rustc-cfg=test_node");
    }
    // Cargo subcommands installed with `cargo install` (scripts/ci-install.sh) land in
    // $CARGO_HOME/bin.
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|home| home.join("bin"));
    if let Some(dir) = cargo_bin.as_ref().filter(|d| d.is_dir()) {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    let subcommand = |bin: &str| installed(bin) || cargo_bin.as_ref().is_some_and(|d| d.join(bin).exists());
    if ci || (subcommand("cargo-deb") && installed("dpkg") && is_root()) {
        println!("cargo::rustc-cfg=test_deb");
    }
    if ci || subcommand("cargo-machete") {
        println!("cargo::rustc-cfg=test_machete");
    }
}

/// Whether this process's real user is root (the `Uid:` line of /proc/self/status).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}
