//! Tells the store's tests which test backends they may use: `cfg(test_redis)` when
//! `VESTIBULE_TEST_REDIS_URL` is set, `cfg(test_postgres)` when `VESTIBULE_TEST_POSTGRES_URL` is,
//! `cfg(test_redis_server)` when the `redis-server` binary is installed (tests that restart a
//! Redis of their own), and all under `CI=true` (where a missing one must fail, not skip). Tests that need one are `#[ignore]`d without it, so the runner
//! reports them as skipped.

use std::path::Path;

/// Where build.rs and the tests look for `redis-server`.
const BIN_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(test_redis)");
    println!("cargo::rustc-check-cfg=cfg(test_redis_server)");
    println!("cargo::rustc-check-cfg=cfg(test_postgres)");
    println!("cargo::rerun-if-env-changed=VESTIBULE_TEST_REDIS_URL");
    println!("cargo::rerun-if-env-changed=VESTIBULE_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    // sqlx's `migrate!` reads the directory when the crate compiles: a new migration must
    // recompile it even when no source file changed.
    println!("cargo::rerun-if-changed=migrations");
    let url = std::env::var("VESTIBULE_TEST_REDIS_URL").is_ok_and(|u| !u.is_empty());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if url || ci {
        println!("cargo::rustc-cfg=test_redis");
    }
    if ci || std::env::var("VESTIBULE_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        println!("cargo::rustc-cfg=test_postgres");
    }
    for dir in BIN_DIRS {
        if Path::new(dir).is_dir() {
            println!("cargo::rerun-if-changed={dir}");
        }
    }
    if ci
        || BIN_DIRS
            .iter()
            .any(|d| Path::new(d).join("redis-server").exists())
    {
        println!("cargo::rustc-cfg=test_redis_server");
    }
}
