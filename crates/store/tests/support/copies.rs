//! Stores that keep a copy of the Redis sessions, as a node does, for the tests of the copy.

use std::time::{Duration, Instant};

use vestibule_store::redis::RedisSessions;

/// A store on `url` that keeps a copy, once its copy is trusted (its first heartbeat came back).
pub async fn trusted_copy(url: &str, timeout: Duration) -> RedisSessions {
    let store = RedisSessions::connect(url, timeout)
        .await
        .unwrap()
        .with_local_copy(10_000);
    wait_trusted(&store, Duration::from_secs(10)).await;
    store
}

/// Waits until `store` trusts its copy, failing the test after `within`.
pub async fn wait_trusted(store: &RedisSessions, within: Duration) {
    let started = Instant::now();
    while !store.local_copy_trusted() {
        assert!(
            started.elapsed() < within,
            "the copy was not trusted within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
