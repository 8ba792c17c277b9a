//! Each node's copy of the Redis sessions: checks answer from it, and a logout or revocation on
//! any node is refused by every node's copy from the moment it is answered. Two stores on one
//! Redis stand for two nodes. Needs `VESTIBULE_TEST_REDIS_URL` (always set in CI; without it the
//! runner reports these as skipped).

#[path = "support/copies.rs"]
mod copies;

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use vestibule_core::clock::now_ms;
use vestibule_core::credential::Admission;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Expiry, Scope, Session};
use vestibule_core::store::SessionStore;
use vestibule_store::redis::RedisSessions;

fn redis_url() -> String {
    match std::env::var("VESTIBULE_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!("VESTIBULE_TEST_REDIS_URL must be set"),
    }
}

/// A node: a store that keeps a copy, once it trusts its copy.
async fn node(url: &str) -> RedisSessions {
    copies::trusted_copy(url, Duration::from_secs(2)).await
}

fn session(user: Guid, expiry: Expiry) -> Session {
    let now = now_ms();
    Session {
        token: SecretHash::of(&vestibule_core::secret::new_opaque_token()),
        cookie: None,
        user_id: user,
        login_mode: 1,
        scope: Scope::Full,
        created_ms: now,
        last_active_ms: now,
        expiry,
    }
}

fn absolute(secs: i64) -> Expiry {
    Expiry::Absolute {
        expires_ms: now_ms() + secs * 1000,
    }
}

async fn check(store: &RedisSessions, s: &Session) -> bool {
    store
        .touch_if(&s.token, now_ms(), &Admission::ANY)
        .await
        .unwrap()
        .is_some()
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Deletes a session's keys behind the stores' backs (no invalidation), as Redis losing it would.
async fn delete_behind(conn: &mut redis::aio::MultiplexedConnection, s: &Session) {
    let hex = s.token.to_hex();
    let _: () = conn
        .del(&[format!("vst:s:{{{hex}}}"), format!("vst:h:{{{hex}}}")])
        .await
        .unwrap();
}

#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn a_check_answers_from_the_copy_without_redis() {
    let url = redis_url();
    let (a, b) = (node(&url).await, node(&url).await);
    let mut conn = redis_conn(&url).await;
    let s = session(Guid::random(), absolute(60));
    a.insert(s.clone()).await.unwrap();
    // B reads it from Redis once and keeps it.
    assert!(check(&b, &s).await);
    delete_behind(&mut conn, &s).await;
    assert!(check(&a, &s).await, "the copy of the node that made it");
    assert!(check(&b, &s).await, "the copy of the node that read it");
    // A node that keeps no copy asks Redis.
    let plain = RedisSessions::connect(&url, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(!check(&plain, &s).await);
}

#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn a_logout_on_one_node_is_refused_by_every_copy_once_answered() {
    let url = redis_url();
    let (a, b) = (node(&url).await, node(&url).await);
    for round in 0..50 {
        let s = session(Guid::random(), absolute(60));
        a.insert(s.clone()).await.unwrap();
        assert!(check(&b, &s).await, "round {round}: B reads it");
        assert!(check(&b, &s).await, "round {round}: B has it in its copy");
        // The logout on one node, then the other at once; and the other way round.
        let (ender, other) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        assert!(ender.remove(&s.token).await.unwrap());
        assert!(!check(other, &s).await, "round {round}: served after the logout");
        assert!(!check(ender, &s).await, "round {round}: served by its own node");
    }
}

#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn a_revocation_of_a_user_reaches_every_copy() {
    let url = redis_url();
    let (a, b) = (node(&url).await, node(&url).await);
    let user = Guid::random();
    let sessions: Vec<Session> = (0..20).map(|_| session(user, absolute(60))).collect();
    for s in &sessions {
        a.insert(s.clone()).await.unwrap();
        assert!(check(&b, s).await);
    }
    assert_eq!(a.remove_user(user).await.unwrap(), 20);
    for s in &sessions {
        assert!(!check(&b, s).await, "served after the revocation");
        assert!(!check(&a, s).await, "served by the revoking node");
    }
}

#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn a_logout_racing_checks_on_another_node_is_never_served_after_its_answer() {
    let url = redis_url();
    let (a, b) = (node(&url).await, node(&url).await);
    let b = std::sync::Arc::new(b);
    for round in 0..20 {
        let s = session(Guid::random(), absolute(60));
        a.insert(s.clone()).await.unwrap();
        let answered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Checks on B all through the logout on A: once A has answered, every check that starts
        // after must be refused.
        let checker = {
            let (b, s, answered) = (b.clone(), s.clone(), answered.clone());
            tokio::spawn(async move {
                let (mut late, mut after_answer) = (0, 0);
                let started = Instant::now();
                // Until 50 checks have begun after the answer.
                while after_answer < 50 && started.elapsed() < Duration::from_secs(10) {
                    let after = answered.load(std::sync::atomic::Ordering::SeqCst);
                    if check(&b, &s).await && after {
                        late += 1;
                    }
                    after_answer += usize::from(after);
                    tokio::task::yield_now().await;
                }
                assert_eq!(after_answer, 50, "the checks outlasted their time");
                late
            })
        };
        tokio::time::sleep(Duration::from_millis(2)).await;
        a.remove(&s.token).await.unwrap();
        answered.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            checker.await.unwrap(),
            0,
            "round {round}: served after the logout"
        );
    }
}

/// A node in the registry that never acknowledges (it died, or its connection hangs): a logout
/// waits until its trust has run out, and no longer.
#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn a_logout_waits_for_a_silent_node_only_until_its_trust_runs_out() {
    let url = redis_url();
    let a = node(&url).await;
    let mut conn = redis_conn(&url).await;
    let s = session(Guid::random(), absolute(60));
    a.insert(s.clone()).await.unwrap();
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut conn).await.unwrap();
    let silent = format!("silent-{}", Guid::random().to_hex());
    let _: () = conn
        .zadd("vst:nodes", &silent, secs * 1000 + micros / 1000 + 400)
        .await
        .unwrap();
    let started = Instant::now();
    assert!(a.remove(&s.token).await.unwrap());
    let took = started.elapsed();
    let _: () = conn.zrem("vst:nodes", &silent).await.unwrap();
    assert!(
        took >= Duration::from_millis(450),
        "answered after {took:?}, before the silent node's trust (500 ms) ran out"
    );
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
}

/// An idle session kept alive only by checks on one node stays alive in Redis, so every other
/// node finds it: each keep-alive window's first check goes to Redis.
#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn checks_answered_from_a_copy_keep_the_session_alive_in_redis() {
    let url = redis_url();
    let (a, b) = (node(&url).await, node(&url).await);
    let s = session(
        Guid::random(),
        Expiry::Idle {
            server_secs: 1,
            http_secs: 2,
        },
    );
    a.insert(s.clone()).await.unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert!(check(&b, &s).await, "ended while kept alive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A's copy last saw it at the insert, 2.5 s ago: A asks Redis, which kept it alive.
    assert!(check(&a, &s).await, "Redis let it expire");
    // Left alone it ends, in every copy.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(!check(&a, &s).await);
    assert!(!check(&b, &s).await);
}
