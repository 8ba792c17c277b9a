//! Failed-login budgets hold under concurrency: however many attempts reserve at once, at most the
//! limit are admitted; failures lock, and a lock refuses everyone until it ends or is unlocked. The
//! in-memory store always (alone and with its locks in the SQLite settings), Redis when
//! `VESTIBULE_TEST_REDIS_URL` is set (always in CI), there through three separate connections
//! standing for three nodes.

use std::sync::Arc;

use vestibule_core::clock::now_ms;
use vestibule_core::store::{AttemptStore, Budget, MetadataStore, Reservation};
use vestibule_core::throttle::MemoryAttempts;
use vestibule_store::redis::RedisSessions;
use vestibule_store::sqlite::SqliteStore;

const LIMIT: u64 = 10;

fn budget(durable: bool) -> Budget {
    Budget {
        limit: LIMIT,
        window_ms: 60_000,
        lockout_ms: 60_000,
        durable,
    }
}

/// 200 attempts reserve at once, spread over `nodes`; returns the tickets admitted.
async fn burst(nodes: &[Arc<dyn AttemptStore>], key: &str, b: Budget) -> Vec<(usize, u64)> {
    let now = now_ms();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200u64 {
        let node = i as usize % nodes.len();
        let store = nodes[node].clone();
        let key = key.to_owned();
        tasks.spawn(async move {
            let r = store.reserve(&key, i, &b, now, now + 60_000).await.unwrap();
            (r == Reservation::Taken).then_some((node, i))
        });
    }
    let mut admitted = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Some(t) = r.unwrap() {
            admitted.push(t);
        }
    }
    admitted
}

/// The rules every attempt store keeps, with `nodes` sharing one budget.
async fn budget_rules(nodes: &[Arc<dyn AttemptStore>], b: Budget) {
    let key = format!("account:test-{}", rand_suffix());
    let admitted = burst(nodes, &key, b).await;
    assert_eq!(admitted.len() as u64, LIMIT, "admitted {admitted:?}");

    // All fail: exactly one failure locks, and the lock refuses the next burst entirely.
    let now = now_ms();
    let mut locks = 0;
    for (node, ticket) in &admitted {
        let s = nodes[*node]
            .settle(&key, *ticket, true, false, &b, now)
            .await
            .unwrap();
        locks += usize::from(s.locked);
    }
    assert_eq!(locks, 1);
    assert!(burst(nodes, &key, b).await.is_empty());
    let now = now_ms();
    assert_eq!(
        nodes[0].reserve(&key, 999, &b, now, now + 60_000).await.unwrap(),
        Reservation::Locked
    );

    // Unlocked, the budget is whole again; a success with `forget` clears failures.
    assert!(nodes[0].unlock(&key, now_ms()).await.unwrap());
    assert!(!nodes[0].unlock(&key, now_ms()).await.unwrap());
    let admitted = burst(nodes, &key, b).await;
    assert_eq!(admitted.len() as u64, LIMIT);
    let now = now_ms();
    for (i, (node, ticket)) in admitted.iter().enumerate() {
        let failed = i < 9;
        let s = nodes[*node]
            .settle(&key, *ticket, failed, !failed, &b, now)
            .await
            .unwrap();
        assert!(!s.locked);
    }
    assert_eq!(burst(nodes, &key, b).await.len() as u64, LIMIT);
}

fn rand_suffix() -> String {
    format!("{:x}", now_ms() ^ (std::process::id() as i64) << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_budgets_hold_under_concurrency() {
    let store: Arc<dyn AttemptStore> = Arc::new(MemoryAttempts::new(None));
    budget_rules(&[store], budget(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durable_locks_are_kept_in_the_settings_and_an_unlock_there_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path()).await.unwrap();
    let settings: Arc<dyn MetadataStore> = Arc::new(sqlite);
    let store: Arc<dyn AttemptStore> = Arc::new(MemoryAttempts::new(Some(settings.clone())));
    budget_rules(std::slice::from_ref(&store), budget(true)).await;

    // A lock is written to the settings; a second process (the CLI) sees it and ends it there,
    // and the first process sees the unlock at its next attempt.
    let b = budget(true);
    let key = "account:mallory";
    let now = now_ms();
    for t in 0..LIMIT {
        assert_eq!(
            store.reserve(key, t, &b, now, now + 60_000).await.unwrap(),
            Reservation::Taken
        );
    }
    for t in 0..LIMIT {
        store.settle(key, t, true, false, &b, now).await.unwrap();
    }
    assert_eq!(
        store.reserve(key, 99, &b, now_ms(), now + 60_000).await.unwrap(),
        Reservation::Locked
    );
    let cli = MemoryAttempts::new(Some(settings.clone()));
    let r = cli.reserve(key, 100, &b, now_ms(), now + 60_000).await.unwrap();
    assert_eq!(r, Reservation::Locked, "a restart keeps the lock");
    assert!(cli.unlock(key, now_ms()).await.unwrap());
    assert_eq!(
        store.reserve(key, 101, &b, now_ms(), now + 60_000).await.unwrap(),
        Reservation::Taken
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn redis_budgets_hold_across_three_nodes() {
    let url = std::env::var("VESTIBULE_TEST_REDIS_URL").expect("VESTIBULE_TEST_REDIS_URL must be set in CI");
    let mut nodes: Vec<Arc<dyn AttemptStore>> = Vec::new();
    for _ in 0..3 {
        let sessions = RedisSessions::connect(&url, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        nodes.push(Arc::new(sessions.attempts()));
    }
    budget_rules(&nodes, budget(false)).await;

    // A place never settled (its node died) is given back at its hold time.
    let key = format!("account:held-{}", rand_suffix());
    let b = Budget {
        limit: 1,
        ..budget(false)
    };
    let now = now_ms();
    let taken = |n: usize, t: u64, now: i64| nodes[n].reserve(&key, t, &b, now, now + 300);
    assert_eq!(taken(0, 1, now).await.unwrap(), Reservation::Taken);
    assert_eq!(taken(1, 2, now).await.unwrap(), Reservation::Full);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(taken(2, 3, now_ms()).await.unwrap(), Reservation::Taken);
}

/// After a lost connection an operation may reach Redis twice (see the store's `redis_call`):
/// a repeated reserve keeps its one place, and a repeated settle counts its failure once and
/// answers as the first did. A new reservation of the same ticket is settled afresh.
#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn redis_reserve_and_settle_are_safe_to_repeat() {
    let url = std::env::var("VESTIBULE_TEST_REDIS_URL").expect("VESTIBULE_TEST_REDIS_URL must be set in CI");
    let store = RedisSessions::connect(&url, std::time::Duration::from_secs(5))
        .await
        .unwrap()
        .attempts();
    let key = format!("account:repeat-{}", rand_suffix());
    let b = Budget {
        limit: 2,
        ..budget(false)
    };
    let now = now_ms();
    let reserve = |t: u64| store.reserve(&key, t, &b, now, now + 60_000);
    assert_eq!(reserve(1).await.unwrap(), Reservation::Taken);
    assert_eq!(reserve(2).await.unwrap(), Reservation::Taken);
    // The budget is full, yet ticket 1's repeat is told its place is taken.
    assert_eq!(reserve(1).await.unwrap(), Reservation::Taken);
    assert_eq!(reserve(3).await.unwrap(), Reservation::Full);

    let first = store.settle(&key, 1, true, false, &b, now).await.unwrap();
    assert_eq!((first.failures, first.locked), (1, false));
    assert_eq!(store.settle(&key, 1, true, false, &b, now).await.unwrap(), first);
    // Ticket 2's failure is the second, not the third: it locks.
    let second = store.settle(&key, 2, true, false, &b, now).await.unwrap();
    assert_eq!((second.failures, second.locked), (2, true));
    assert_eq!(store.settle(&key, 2, true, false, &b, now).await.unwrap(), second);

    // Unlocked, ticket 1 takes a new place and its new failure counts.
    assert!(store.unlock(&key, now_ms()).await.unwrap());
    let now = now_ms();
    assert_eq!(
        store.reserve(&key, 1, &b, now, now + 60_000).await.unwrap(),
        Reservation::Taken
    );
    let again = store.settle(&key, 1, true, false, &b, now).await.unwrap();
    assert_eq!((again.failures, again.locked), (1, false));
}
