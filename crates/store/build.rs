//! Tells the store's tests which test backends they may use: `cfg(test_redis)` when
//! `VESTIBULE_TEST_REDIS_URL` is set or under `CI=true` (where a missing URL must fail, not skip).
//! Tests that need Redis are `#[ignore]`d without it, so the runner reports them as skipped.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(test_redis)");
    println!("cargo::rerun-if-env-changed=VESTIBULE_TEST_REDIS_URL");
    println!("cargo::rerun-if-env-changed=CI");
    let url = std::env::var("VESTIBULE_TEST_REDIS_URL").is_ok_and(|u| !u.is_empty());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if url || ci {
        println!("cargo::rustc-cfg=test_redis");
    }
}
