//! The replay cache (`SessionStore::first_sight`): of many requests presenting one identifier at
//! once, exactly one is told it is new; it stays seen until it expires. The embedded store
//! always, Redis (three connections, as three nodes) when `VESTIBULE_TEST_REDIS_URL` is set (and
//! always in CI).

use std::sync::Arc;
use std::time::Duration;

use vestibule_core::clock::now_ms;
use vestibule_core::secret::SecretHash;
use vestibule_core::store::SessionStore;
use vestibule_store::embedded::EmbeddedSessions;
use vestibule_store::redis::RedisSessions;
use vestibule_store::sqlite::SqliteStore;

/// 60 concurrent sightings of one fresh identifier over `stores`: how many were first.
async fn race(stores: &[Arc<dyn SessionStore>], id: &str, until: i64) -> usize {
    let hash = SecretHash::of(id);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = stores[i % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            store.first_sight(&hash, until, now_ms()).await.unwrap()
        }));
    }
    let mut first = 0;
    for t in tasks {
        if t.await.unwrap() {
            first += 1;
        }
    }
    first
}

async fn rules(stores: &[Arc<dyn SessionStore>]) {
    let id = format!("assertion-{}", vestibule_core::secret::new_opaque_token());
    let now = now_ms();
    assert_eq!(
        race(stores, &id, now + 60_000).await,
        1,
        "exactly one first sight"
    );
    assert!(!stores[0]
        .first_sight(&SecretHash::of(&id), now + 60_000, now_ms())
        .await
        .unwrap());
    // Another identifier is new.
    let other = format!("{id}-other");
    assert!(stores[0]
        .first_sight(&SecretHash::of(&other), now + 60_000, now_ms())
        .await
        .unwrap());
    // Once expired it may be seen anew (its validity is over by then).
    let short = format!("{id}-short");
    assert!(stores[0]
        .first_sight(&SecretHash::of(&short), now_ms() + 150, now_ms())
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = now_ms();
    assert!(stores[stores.len() - 1]
        .first_sight(&SecretHash::of(&short), later + 60_000, later)
        .await
        .unwrap());
}

#[tokio::test]
async fn embedded_store_sees_an_identifier_first_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteStore::open(dir.path()).await.unwrap();
    let store = EmbeddedSessions::open(db, Duration::from_millis(50), now_ms())
        .await
        .unwrap();
    let store: Arc<dyn SessionStore> = store;
    rules(&[store]).await;
}

#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn redis_store_sees_an_identifier_first_once_across_connections() {
    let url = std::env::var("VESTIBULE_TEST_REDIS_URL").expect("VESTIBULE_TEST_REDIS_URL must be set in CI");
    let mut stores: Vec<Arc<dyn SessionStore>> = Vec::new();
    for _ in 0..3 {
        stores.push(Arc::new(
            RedisSessions::connect(&url, Duration::from_secs(2))
                .await
                .unwrap(),
        ));
    }
    rules(&stores).await;
}
