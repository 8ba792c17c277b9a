//! One conformance suite for every `SessionStore`: the embedded store always, Redis when
//! `VESTIBULE_TEST_REDIS_URL` is set (and always in CI).

use std::sync::Arc;
use std::time::{Duration, Instant};

use vestibule_core::clock::now_ms;
use vestibule_core::ids::Guid;
use vestibule_core::secret::{CookieTag, SecretHash};
use vestibule_core::session::{Expiry, Grant, GrantKind, Scope, Session};
use vestibule_core::store::SessionStore;
use vestibule_store::embedded::EmbeddedSessions;
use vestibule_store::redis::RedisSessions;
use vestibule_store::sqlite::SqliteStore;

fn session(user: Guid, now: i64, expiry: Expiry) -> Session {
    let token = vestibule_core::secret::new_auth_token();
    Session {
        token: SecretHash::of(&token),
        cookie: Some(CookieTag::of("cookie")),
        user_id: user,
        login_mode: 1,
        scope: Scope::Object(Guid::random()),
        created_ms: now,
        last_active_ms: now,
        expiry,
    }
}

/// `own_store`: the store is this test's alone (the embedded one), so its counts are exact; a
/// Redis live index is shared with the other tests on the same server.
async fn conformance(store: Arc<dyn SessionStore>, own_store: bool) {
    let now = now_ms();
    let user = Guid::random();
    let idle = Expiry::Idle {
        server_secs: 2,
        http_secs: 3,
    };

    // Insert, touch returns the same session, marked active.
    let s = session(user, now, idle);
    store.insert(s.clone()).await.unwrap();
    let got = store.touch(&s.token, now + 500).await.unwrap().expect("live");
    assert_eq!(got.user_id, user);
    assert_eq!(got.cookie, s.cookie);
    assert_eq!(got.scope, s.scope);
    assert_eq!(got.expiry, idle);
    assert_eq!(got.last_active_ms, now + 500);
    if own_store {
        assert_eq!(store.count().await.unwrap(), 1);
    } else {
        assert!(store.count().await.unwrap() >= 1);
    }

    // Unknown tokens are absent.
    assert!(store.touch(&SecretHash::of("nope"), now).await.unwrap().is_none());

    // Removal is immediate.
    assert!(store.remove(&s.token).await.unwrap());
    assert!(store.touch(&s.token, now + 600).await.unwrap().is_none());
    assert!(!store.remove(&s.token).await.unwrap());

    // All of a user's sessions go at once.
    let a = session(user, now, idle);
    let b = session(user, now, idle);
    let other = session(Guid::random(), now, idle);
    for x in [&a, &b, &other] {
        store.insert(x.clone()).await.unwrap();
    }
    assert_eq!(store.remove_user(user).await.unwrap(), 2);
    assert!(store.touch(&a.token, now).await.unwrap().is_none());
    assert!(store.touch(&other.token, now).await.unwrap().is_some());

    // Grants expire and can be revoked.
    let g = Grant {
        hash: SecretHash::of(&vestibule_core::secret::new_opaque_token()),
        kind: GrantKind::Identity,
        user_id: user,
        scope: Scope::Full,
        created_ms: now,
        expires_ms: now + 60_000,
        origin: Some(other.token),
    };
    store.insert_grant(g.clone()).await.unwrap();
    assert_eq!(store.grant(&g.hash, now).await.unwrap(), Some(g.clone()));
    assert!(store.grant(&g.hash, now + 60_001).await.unwrap().is_none());
    assert!(store.remove_grant(&g.hash).await.unwrap());
    assert!(store.grant(&g.hash, now).await.unwrap().is_none());

    // Absolute sessions are not extended by use.
    let fixed = session(
        user,
        now,
        Expiry::Absolute {
            expires_ms: now + 1_500,
        },
    );
    store.insert(fixed.clone()).await.unwrap();
    assert!(store.touch(&fixed.token, now + 1_000).await.unwrap().is_some());
    assert!(store.touch(&fixed.token, now + 1_500).await.unwrap().is_none());
}

/// Idle expiry in real time (Redis expires keys on its own clock): keep-alives well within the
/// one-second timeout hold the session; then it ends, not before a second after the last one,
/// and a sweep takes it out of the live count.
async fn idle_expiry_in_real_time(store: Arc<dyn SessionStore>, own_store: bool) {
    let s = session(
        Guid::random(),
        now_ms(),
        Expiry::Idle {
            server_secs: 1,
            http_secs: 2,
        },
    );
    store.insert(s.clone()).await.unwrap();
    let mut last_keep_alive = Instant::now();
    for _ in 0..4 {
        // 4 × 300 ms: past the timeout only if the keep-alives did not reset it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        last_keep_alive = Instant::now();
        assert!(
            store.touch(&s.token, now_ms()).await.unwrap().is_some(),
            "the keep-alive within the timeout found the session gone"
        );
    }
    // Polled without touching (a touch would extend it).
    let deadline = Instant::now() + Duration::from_secs(15);
    while store.is_live(&s.token, now_ms()).await.unwrap() {
        assert!(Instant::now() < deadline, "the session did not expire");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let quiet = last_keep_alive.elapsed();
    assert!(
        quiet >= Duration::from_millis(950),
        "expired after only {quiet:?}"
    );
    assert!(
        store.touch(&s.token, now_ms()).await.unwrap().is_none(),
        "expired, yet a touch found it"
    );
    let swept = store.sweep(now_ms()).await.unwrap();
    if own_store {
        assert_eq!((swept, store.count().await.unwrap()), (1, 0));
    }
}

#[tokio::test]
async fn embedded_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteStore::open(dir.path()).await.unwrap();
    let store = EmbeddedSessions::open(db, Duration::from_millis(50), now_ms())
        .await
        .unwrap();
    conformance(store, true).await;
    // A fresh store, so that its counts are this session's alone.
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteStore::open(dir.path()).await.unwrap();
    let store = EmbeddedSessions::open(db, Duration::from_millis(50), now_ms())
        .await
        .unwrap();
    idle_expiry_in_real_time(store, true).await;
}

/// Many writers at once: the embedded store commits them in shared transactions (group commit).
/// Every acknowledged insert and removal must be in the file, as a reopened store shows.
#[tokio::test]
async fn embedded_store_group_commit_keeps_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    let long = Expiry::Absolute {
        expires_ms: now + 3_600_000,
    };
    let user = Guid::random();
    let (kept, removed) = {
        let db = SqliteStore::open(dir.path()).await.unwrap();
        let store = EmbeddedSessions::open(db, Duration::from_secs(60), now)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..2000 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let s = session(user, now, long);
                store.insert(s.clone()).await.unwrap();
                // Every third one is removed again right away, in a later or the same batch.
                if i % 3 == 0 {
                    assert!(store.remove(&s.token).await.unwrap());
                    (None, Some(s.token))
                } else {
                    (Some(s.token), None)
                }
            }));
        }
        let mut kept = Vec::new();
        let mut removed = Vec::new();
        for t in tasks {
            let (k, r) = t.await.unwrap();
            kept.extend(k);
            removed.extend(r);
        }
        assert_eq!(store.count().await.unwrap(), kept.len());
        (kept, removed)
    };
    let db = SqliteStore::open(dir.path()).await.unwrap();
    let reopened = EmbeddedSessions::open(db, Duration::from_secs(60), now_ms())
        .await
        .unwrap();
    assert_eq!(reopened.count().await.unwrap(), kept.len());
    for t in &kept {
        assert!(reopened.touch(t, now_ms()).await.unwrap().is_some());
    }
    for t in &removed {
        assert!(reopened.touch(t, now_ms()).await.unwrap().is_none());
    }
    assert_eq!(reopened.remove_user(user).await.unwrap(), kept.len());
    assert_eq!(reopened.count().await.unwrap(), 0);
}

/// The file keeps sessions by row: rows handed out after a restart go above the old ones (no old
/// session is overwritten), and logouts, a user's logout and keep-alives reach the right rows,
/// across several restarts.
#[tokio::test]
async fn embedded_store_rows_hold_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    let long = Expiry::Absolute {
        expires_ms: now + 3_600_000,
    };
    let idle = Expiry::Idle {
        server_secs: 600,
        http_secs: 600,
    };
    let (u1, u2) = (Guid::random(), Guid::random());
    let open = || async {
        let db = SqliteStore::open(dir.path()).await.unwrap();
        EmbeddedSessions::open(db, Duration::from_millis(10), now_ms())
            .await
            .unwrap()
    };
    let (a, b, c) = (
        session(u1, now, long),
        session(u2, now, long),
        session(u1, now, long),
    );
    // Active 100 s ago: its keep-alive below must reach the file.
    let e = session(u2, now - 100_000, idle);
    {
        let store = open().await;
        for s in [&a, &b, &c, &e] {
            store.insert(s.clone()).await.unwrap();
        }
    }
    let d = session(u2, now, long);
    {
        let store = open().await;
        assert_eq!(store.count().await.unwrap(), 4);
        store.insert(d.clone()).await.unwrap();
        assert!(store.remove(&a.token).await.unwrap());
        let touched = store.touch(&e.token, now_ms()).await.unwrap().unwrap();
        assert!(touched.last_active_ms >= now);
        store.flush().await.unwrap();
    }
    let f = session(u1, now, long);
    {
        let store = open().await;
        assert_eq!(store.count().await.unwrap(), 4, "b, c, d and e");
        assert!(store.touch(&a.token, now_ms()).await.unwrap().is_none());
        for s in [&b, &c, &d] {
            assert!(store.touch(&s.token, now_ms()).await.unwrap().is_some());
        }
        assert!(store.is_live(&e.token, now_ms()).await.unwrap());
        assert_eq!(store.remove_user(u2).await.unwrap(), 3, "b, d and e");
        store.insert(f.clone()).await.unwrap();
    }
    let store = open().await;
    assert_eq!(store.count().await.unwrap(), 2, "c and f");
    for s in [&c, &f] {
        assert!(store.touch(&s.token, now_ms()).await.unwrap().is_some());
    }
    for s in [&a, &b, &d, &e] {
        assert!(store.touch(&s.token, now_ms()).await.unwrap().is_none());
    }
}

/// A data directory written before sessions were kept by row (token hash as key) is migrated:
/// its live sessions load, and new ones, logouts and a user's logout work on it.
#[tokio::test]
async fn embedded_store_migrates_sessions_kept_by_token_hash() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    let long = Expiry::Absolute {
        expires_ms: now + 3_600_000,
    };
    let user = Guid::random();
    let (a, b) = (session(user, now, long), session(Guid::random(), now, long));
    {
        let mut before = sqlx::migrate!("./migrations/sqlite");
        before.migrations = before
            .migrations
            .iter()
            .filter(|m| m.version < 40)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join(vestibule_store::sqlite::DB_FILE))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new().connect_with(options).await.unwrap();
        before.run(&pool).await.unwrap();
        for s in [&a, &b] {
            let (kind, server, http) = vestibule_store::codec::expiry_to(s.expiry);
            sqlx::query(
                "INSERT INTO sessions (token_hash, cookie_hash, user_id, login_mode, scope, created_ms, \
                 last_active_ms, expiry_kind, server_secs, http_secs, expires_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            )
            .bind(s.token.to_hex())
            .bind(s.cookie.map(|c| c.to_hex()))
            .bind(s.user_id.to_hex())
            .bind(s.login_mode)
            .bind(vestibule_store::codec::scope_to(s.scope))
            .bind(s.created_ms)
            .bind(s.last_active_ms)
            .bind(kind)
            .bind(server)
            .bind(http)
            .bind(s.expires_ms())
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let open = || async {
        let db = SqliteStore::open(dir.path()).await.unwrap();
        EmbeddedSessions::open(db, Duration::from_secs(60), now_ms())
            .await
            .unwrap()
    };
    let c = session(user, now, long);
    {
        let store = open().await;
        assert_eq!(store.count().await.unwrap(), 2);
        let got = store.touch(&a.token, now_ms()).await.unwrap().unwrap();
        assert_eq!((got.cookie, got.scope, got.expiry), (a.cookie, a.scope, a.expiry));
        store.insert(c.clone()).await.unwrap();
        assert!(store.remove(&b.token).await.unwrap());
    }
    let store = open().await;
    assert_eq!(store.count().await.unwrap(), 2, "a and c");
    assert_eq!(store.remove_user(user).await.unwrap(), 2);
    drop(store);
    assert_eq!(open().await.count().await.unwrap(), 0);
}

/// Two servers must not keep sessions in one file: the second is refused while the first runs,
/// and may open once it has stopped. A tool (the CLI) opens beside a server.
#[tokio::test]
async fn embedded_store_refuses_a_second_server_on_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let open = || async {
        let db = SqliteStore::open(dir.path()).await.unwrap();
        EmbeddedSessions::open_exclusive(db, Duration::from_secs(60), now_ms()).await
    };
    let first = open().await.unwrap();
    let db = SqliteStore::open(dir.path()).await.unwrap();
    assert!(EmbeddedSessions::open(db, Duration::from_secs(60), now_ms())
        .await
        .is_ok());
    match open().await {
        Err(vestibule_core::error::StoreError::Unavailable(msg)) => {
            assert!(msg.contains("in use by another vestibule server"), "{msg}")
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a second store opened on the same file"),
    }
    drop(first);
    assert!(open().await.is_ok());
}

/// The test Redis; the tests that call it are ignored where `VESTIBULE_TEST_REDIS_URL` was not set
/// at build time (`cfg(test_redis)`, from the store's build script; always set under CI=true).
fn redis_url() -> String {
    match std::env::var("VESTIBULE_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!("VESTIBULE_TEST_REDIS_URL must be set"),
    }
}

#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn redis_store_conforms() {
    let url = redis_url();
    let store = Arc::new(
        RedisSessions::connect(&url, Duration::from_secs(2))
            .await
            .unwrap(),
    );
    conformance(store.clone(), false).await;
    idle_expiry_in_real_time(store, false).await;
}

/// A direct connection to the test Redis, to look at the store's keys from outside.
async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// `n` sessions of `user` that end on their own within 300 ms.
async fn short_lived_sessions(store: &RedisSessions, user: Guid, n: usize) -> Vec<Session> {
    let now = now_ms();
    let mut out = Vec::new();
    for _ in 0..n {
        let s = session(
            user,
            now,
            Expiry::Absolute {
                expires_ms: now + 300,
            },
        );
        store.insert(s.clone()).await.unwrap();
        out.push(s);
    }
    out
}

/// Waits (bounded) until Redis has dropped every one of these sessions' keys.
async fn wait_until_gone(conn: &mut redis::aio::MultiplexedConnection, sessions: &[Session]) {
    for _ in 0..100 {
        let mut p = redis::pipe();
        for s in sessions {
            p.exists(format!("vst:s:{{{}}}", s.token.to_hex()));
        }
        let exists: Vec<bool> = p.query_async(conn).await.unwrap();
        if !exists.contains(&true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the short-lived sessions did not expire");
}

/// Each insert samples the user's set and drops, in the background, members whose session ended
/// on its own; live members stay, and a user's logout still reaches every live session.
#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn redis_insert_prunes_ended_sessions_from_the_user_set() {
    let url = redis_url();
    let store = RedisSessions::connect(&url, Duration::from_secs(2))
        .await
        .unwrap();
    let mut conn = redis_conn(&url).await;
    let user = Guid::random();
    let uk = format!("vst:u:{}", user.to_hex());
    let ended = short_lived_sessions(&store, user, 30).await;
    wait_until_gone(&mut conn, &ended).await;

    let now = now_ms();
    let live: Vec<Session> = (0..20)
        .map(|_| {
            session(
                user,
                now,
                Expiry::Idle {
                    server_secs: 600,
                    http_secs: 600,
                },
            )
        })
        .collect();
    for s in &live {
        store.insert(s.clone()).await.unwrap();
    }
    // 20 inserts sample 60 members; a set without pruning would keep all 50. The pruning runs in
    // the background: poll briefly.
    let mut card = 0;
    for _ in 0..50 {
        card = redis::AsyncCommands::scard(&mut conn, &uk).await.unwrap();
        if card <= 35 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(card <= 35, "{card} members left of 30 ended and 20 live sessions");
    for s in &live {
        let there: bool = redis::AsyncCommands::sismember(&mut conn, &uk, s.token.to_hex())
            .await
            .unwrap();
        assert!(there, "a live session's member was pruned");
    }
    assert_eq!(store.remove_user(user).await.unwrap(), live.len());
    for s in &live {
        assert!(store.touch(&s.token, now_ms()).await.unwrap().is_none());
    }
}

/// A user whose sessions all ended and who logs in no more: the sweeps' SCAN over the user sets
/// empties the set, and Redis drops it. Another user's live members survive the same sweeps.
#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn redis_sweep_prunes_user_sets_of_users_who_no_longer_log_in() {
    let url = redis_url();
    let store = RedisSessions::connect(&url, Duration::from_secs(2))
        .await
        .unwrap();
    let mut conn = redis_conn(&url).await;
    let (gone_user, live_user) = (Guid::random(), Guid::random());
    let (gone_uk, live_uk) = (
        format!("vst:u:{}", gone_user.to_hex()),
        format!("vst:u:{}", live_user.to_hex()),
    );
    let now = now_ms();
    let live: Vec<Session> = (0..3)
        .map(|_| {
            session(
                live_user,
                now,
                Expiry::Absolute {
                    expires_ms: now + 600_000,
                },
            )
        })
        .collect();
    for s in &live {
        store.insert(s.clone()).await.unwrap();
    }
    let ended = short_lived_sessions(&store, gone_user, 30).await;
    wait_until_gone(&mut conn, &ended).await;

    let mut sweeps = 0;
    loop {
        let exists: bool = redis::AsyncCommands::exists(&mut conn, &gone_uk).await.unwrap();
        if !exists {
            break;
        }
        assert!(
            sweeps < 200,
            "the ended user's set is still there after {sweeps} sweeps"
        );
        store.sweep(now_ms()).await.unwrap();
        sweeps += 1;
    }
    let members: Vec<String> = redis::AsyncCommands::smembers(&mut conn, &live_uk).await.unwrap();
    assert_eq!(members.len(), live.len());
    for s in &live {
        assert!(
            members.contains(&s.token.to_hex()),
            "a live session's member was pruned"
        );
    }
    assert_eq!(store.remove_user(live_user).await.unwrap(), live.len());
}

#[tokio::test]
async fn unreachable_redis_is_reported_unavailable_quickly() {
    // Nothing listens on port 1: the connection is refused.
    let err = RedisSessions::connect("redis://127.0.0.1:1", Duration::from_millis(500))
        .await
        .err()
        .expect("no server there");
    assert!(
        matches!(err, vestibule_core::error::StoreError::Unavailable(_)),
        "{err:?}"
    );
}
