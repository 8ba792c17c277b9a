//! The Redis session store on a Redis Cluster of this test's own (three masters, one replica
//! each: `support/redis_cluster.rs`): every operation on sessions of many users spread over the
//! slots of all three masters, then a master killed with SIGKILL and its replica promoted: no
//! session written with `WAIT 1` (store.redis_wait_replicas = 1) is lost, no logout or revocation
//! is undone, and the pause is measured (printed; bounded by a generous 30 s).

#[path = "support/copies.rs"]
mod copies;
#[path = "support/redis_cluster.rs"]
mod redis_cluster;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use redis::cluster_routing::get_slot;
use vestibule_core::clock::now_ms;
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::{CookieTag, SecretHash};
use vestibule_core::session::{Expiry, Grant, GrantKind, Scope, Session};
use vestibule_core::store::SessionStore;
use vestibule_store::redis::RedisSessions;

use redis_cluster::RedisCluster;

const TIMEOUT: Duration = Duration::from_secs(4);
const LONG: Expiry = Expiry::Idle {
    server_secs: 600,
    http_secs: 900,
};

fn session(user: Guid, now: i64, expiry: Expiry) -> Session {
    let token = vestibule_core::secret::new_auth_token();
    Session {
        token: SecretHash::of(&token),
        cookie: Some(CookieTag::of("cookie")),
        user_id: user,
        login_mode: 1,
        scope: Scope::Full,
        created_ms: now,
        last_active_ms: now,
        expiry,
    }
}

/// The slot of a session's keys: its hash tag is the first three hex digits of the token hash.
fn slot_of(s: &Session) -> u16 {
    get_slot(format!("vst:{{{}}}:s:x", &s.token.to_hex()[..3]).as_bytes())
}

/// Whether the key exists, asked of the cluster through `redis-cli -c` (which follows MOVED).
fn exists(cluster: &RedisCluster, key: &str) -> bool {
    let port = cluster.running()[0];
    cluster.cli(port, &["-c", "EXISTS", key]).trim() == "1"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(test_redis_server), ignore = "redis-server is not installed")]
async fn the_session_store_runs_on_a_cluster_and_loses_nothing_in_a_failover() {
    let mut cluster = tokio::task::block_in_place(RedisCluster::start);
    let store = RedisSessions::connect(&cluster.url(), TIMEOUT)
        .await
        .unwrap()
        .wait_for_replicas(1);
    assert!(store.is_cluster());
    // The same cluster without WAIT, for writes once a master has lost its only replica.
    let plain = RedisSessions::connect(&cluster.url(), TIMEOUT).await.unwrap();

    // 40 users with 5 sessions each, on all three masters.
    let now = now_ms();
    let users: Vec<Guid> = (0..40).map(|_| Guid::random()).collect();
    let mut sessions: Vec<Session> = Vec::new();
    for u in &users {
        for _ in 0..5 {
            let s = session(*u, now, LONG);
            store.insert(s.clone()).await.unwrap();
            sessions.push(s);
        }
    }
    let masters: HashSet<Option<u16>> = sessions
        .iter()
        .map(|s| cluster.master_of_slot(slot_of(s)))
        .collect();
    assert_eq!(masters.len(), 3, "sessions on {masters:?}");
    assert!(!masters.contains(&None));
    assert_eq!(store.count().await.unwrap(), 200);

    // Touch: every session, each in its own slot's script.
    for s in &sessions {
        let got = store.touch(&s.token, now + 10).await.unwrap().expect("live");
        assert_eq!((got.user_id, got.last_active_ms), (s.user_id, now + 10));
        assert!(store.is_live(&s.token, now + 10).await.unwrap());
    }

    // Remove one session; revoke every session of a user (the user's set is in another slot
    // than its sessions).
    let logged_out = sessions.remove(0);
    assert!(store.remove(&logged_out.token).await.unwrap());
    assert!(store.touch(&logged_out.token, now + 20).await.unwrap().is_none());
    assert!(!store.remove(&logged_out.token).await.unwrap());
    let revoked_user = users[1];
    let revoked: Vec<Session> = sessions
        .iter()
        .filter(|s| s.user_id == revoked_user)
        .cloned()
        .collect();
    sessions.retain(|s| s.user_id != revoked_user);
    assert_eq!(revoked.len(), 5);
    assert_eq!(store.remove_user(revoked_user).await.unwrap(), 5);
    for s in &revoked {
        assert!(store.touch(&s.token, now + 20).await.unwrap().is_none());
    }
    assert!(!exists(&cluster, &format!("vst:u:{{{}}}", revoked_user.to_hex())));
    assert_eq!(store.count().await.unwrap(), 194);

    // Grants and replay records.
    let g = Grant {
        hash: SecretHash::of(&vestibule_core::secret::new_opaque_token()),
        kind: GrantKind::Identity,
        user_id: users[2],
        scope: Scope::Full,
        created_ms: now,
        expires_ms: now + 60_000,
        origin: None,
    };
    store.insert_grant(g.clone()).await.unwrap();
    assert_eq!(
        store.grant(&g.hash, now).await.unwrap().map(|x| x.user_id),
        Some(users[2])
    );
    let used = Grant {
        hash: SecretHash::of(&vestibule_core::secret::new_opaque_token()),
        ..g.clone()
    };
    store.insert_grant(used.clone()).await.unwrap();
    assert!(store.remove_grant(&used.hash).await.unwrap());
    assert!(store.grant(&used.hash, now).await.unwrap().is_none());
    let seen = SecretHash::of("an assertion id");
    assert!(store.first_sight(&seen, now + 60_000, now).await.unwrap());
    assert!(!store.first_sight(&seen, now + 60_000, now).await.unwrap());

    // Sweep: sessions that end on their own leave the live index, and the set of a user who
    // logs in no more empties out through the sweeps' SCAN of every master.
    let gone_user = Guid::random();
    let short = Expiry::Absolute {
        expires_ms: now_ms() + 300,
    };
    for _ in 0..6 {
        store.insert(session(gone_user, now_ms(), short)).await.unwrap();
    }
    let gone_set = format!("vst:u:{{{}}}", gone_user.to_hex());
    assert!(exists(&cluster, &gone_set));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(store.sweep(now_ms()).await.unwrap() >= 6);
    assert_eq!(store.count().await.unwrap(), 194);
    let deadline = Instant::now() + Duration::from_secs(30);
    while exists(&cluster, &gone_set) {
        assert!(Instant::now() < deadline, "the sweeps never pruned {gone_set}");
        store.sweep(now_ms()).await.unwrap();
    }
    for s in &sessions {
        assert!(
            store.touch(&s.token, now + 30).await.unwrap().is_some(),
            "a live session went"
        );
    }

    // kill -9 the master that holds the first session; its replica takes over.
    let probe = sessions[0].clone();
    let victim = cluster.master_of_slot(slot_of(&probe)).expect("a master");
    let on_victim = sessions
        .iter()
        .filter(|s| cluster.master_of_slot(slot_of(s)) == Some(victim))
        .count();
    cluster.kill9(victim);
    let killed = Instant::now();
    let mut failed = 0;
    let pause = loop {
        match store.touch(&probe.token, now_ms()).await {
            Ok(Some(_)) => break killed.elapsed(),
            Ok(None) => panic!("the session written before the failover is gone"),
            Err(StoreError::Unavailable(_)) => failed += 1,
            Err(e) => panic!("not an outage: {e}"),
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "no answer 30 s after the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::task::block_in_place(|| cluster.wait_ok(Duration::from_secs(30))).unwrap();
    let ok_again = killed.elapsed();
    let promoted = cluster.master_of_slot(slot_of(&probe)).expect("a new master");
    assert_ne!(promoted, victim);
    println!(
        "failover: {on_victim} of {} sessions on the killed master; session checks on its slots \
         answered again {} ms after the kill ({failed} attempts unavailable before), every node \
         said cluster_state:ok after {} ms (cluster-node-timeout {} ms)",
        sessions.len(),
        pause.as_millis(),
        ok_again.as_millis(),
        redis_cluster::NODE_TIMEOUT_MS
    );

    // Nothing written with WAIT is lost, nothing removed comes back.
    for s in &sessions {
        assert!(
            store.touch(&s.token, now_ms()).await.unwrap().is_some(),
            "a session was lost"
        );
    }
    for s in revoked.iter().chain([&logged_out]) {
        assert!(
            store.touch(&s.token, now_ms()).await.unwrap().is_none(),
            "a removal was undone"
        );
    }
    assert!(store.grant(&g.hash, now_ms()).await.unwrap().is_some());
    assert!(store.grant(&used.hash, now_ms()).await.unwrap().is_none());
    assert!(!store.first_sight(&seen, now + 60_000, now_ms()).await.unwrap());
    assert_eq!(store.count().await.unwrap(), 194);

    // The promoted master has no replica left: a login in its slots cannot be made durable and
    // is refused as unavailable, while a store that does not wait takes it.
    let orphan = loop {
        let s = session(users[3], now_ms(), LONG);
        if cluster.master_of_slot(slot_of(&s)) == Some(promoted) {
            break s;
        }
    };
    assert!(matches!(
        store.insert(orphan.clone()).await,
        Err(StoreError::Unavailable(_))
    ));
    plain.insert(orphan.clone()).await.unwrap();
    assert!(store.touch(&orphan.token, now_ms()).await.unwrap().is_some());

    // Revocation after the failover still reaches every session of a user, on every master.
    let user = users[4];
    let theirs: Vec<&Session> = sessions.iter().filter(|s| s.user_id == user).collect();
    assert_eq!(plain.remove_user(user).await.unwrap(), theirs.len());
    for s in theirs {
        assert!(store.touch(&s.token, now_ms()).await.unwrap().is_none());
    }
    assert!(pause < Duration::from_secs(30));
}

/// Logs out through `store`, waiting out an outage (a failover in progress).
async fn log_out(store: &RedisSessions, s: &Session) {
    let started = Instant::now();
    loop {
        match store.remove(&s.token).await {
            Ok(_) => return,
            Err(StoreError::Unavailable(e)) => {
                assert!(started.elapsed() < Duration::from_secs(30), "no logout: {e}")
            }
            Err(e) => panic!("not an outage: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Copies on a cluster: the registry and the invalidations go through the master of the
/// registry's slot; when that master is killed, the copies stop trusting themselves, listen on
/// the promoted replica, and a logout answered on one node is refused by the other before and
/// after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(test_redis_server), ignore = "redis-server is not installed")]
async fn copies_on_a_cluster_drop_every_logout_through_a_failover_of_the_registry_master() {
    let mut cluster = tokio::task::block_in_place(RedisCluster::start);
    let (a, b) = (
        copies::trusted_copy(&cluster.url(), TIMEOUT).await,
        copies::trusted_copy(&cluster.url(), TIMEOUT).await,
    );
    let now = now_ms();
    let sessions: Vec<Session> = (0..30).map(|_| session(Guid::random(), now, LONG)).collect();
    for s in &sessions {
        a.insert(s.clone()).await.unwrap();
        assert!(b.touch(&s.token, now_ms()).await.unwrap().is_some());
    }
    let masters: HashSet<Option<u16>> = sessions
        .iter()
        .map(|s| cluster.master_of_slot(slot_of(s)))
        .collect();
    assert_eq!(masters.len(), 3, "sessions on {masters:?}");
    log_out(&a, &sessions[0]).await;
    assert!(b.touch(&sessions[0].token, now_ms()).await.unwrap().is_none());

    let victim = cluster
        .master_of_slot(get_slot(b"vst:{near}:nodes"))
        .expect("the registry's master");
    cluster.kill9(victim);
    tokio::task::block_in_place(|| cluster.wait_ok(Duration::from_secs(30))).unwrap();
    copies::wait_trusted(&a, Duration::from_secs(30)).await;
    copies::wait_trusted(&b, Duration::from_secs(30)).await;
    for (i, s) in sessions[1..7].iter().enumerate() {
        let (ender, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        log_out(ender, s).await;
        assert!(
            other.touch(&s.token, now_ms()).await.unwrap().is_none(),
            "a logout after the failover was served by the other node"
        );
    }
    assert!(b.touch(&sessions[0].token, now_ms()).await.unwrap().is_none());
}
