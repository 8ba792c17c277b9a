//! The pattern the real tests use (tests/it): a backend test is ignored unless build.rs set its
//! cfg, which it does when the variable is set, or always under CI=true.

#[test]
#[cfg_attr(not(test_postgres), ignore = "VESTIBULE_TEST_POSTGRES_URL is not set")]
fn needs_postgres() {
    assert!(
        std::env::var("VESTIBULE_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()),
        "VESTIBULE_TEST_POSTGRES_URL is not set (CI=true requires it)"
    );
}

#[test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
fn needs_redis() {
    assert!(
        std::env::var("VESTIBULE_TEST_REDIS_URL").is_ok_and(|v| !v.is_empty()),
        "VESTIBULE_TEST_REDIS_URL is not set (CI=true requires it)"
    );
}

#[test]
fn needs_nothing() {}
