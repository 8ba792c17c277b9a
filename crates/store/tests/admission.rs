//! A session store decides on a request's cookie in the same step that marks the session active:
//! a request that brings the wrong cookie is refused and leaves the session as it was. The
//! embedded store always, Redis when `VESTIBULE_TEST_REDIS_URL` is set (and always in CI; without
//! it the runner reports the Redis test as skipped).

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use vestibule_core::clock::now_ms;
use vestibule_core::credential::Credential;
use vestibule_core::ids::Guid;
use vestibule_core::secret::{CookieTag, SecretHash};
use vestibule_core::session::{Expiry, Scope, Session};
use vestibule_core::store::SessionStore;
use vestibule_store::embedded::EmbeddedSessions;
use vestibule_store::redis::RedisSessions;
use vestibule_store::sqlite::SqliteStore;

const IDLE: Expiry = Expiry::Idle {
    server_secs: 2,
    http_secs: 3,
};

/// A session bound to cookie `cookie`; returns it and its token.
fn bound_session(now: i64, cookie: &str) -> (Session, String) {
    let token = vestibule_core::secret::new_auth_token();
    let s = Session {
        token: SecretHash::of(&token),
        cookie: Some(CookieTag::of(cookie)),
        user_id: Guid::random(),
        login_mode: 1,
        scope: Scope::Full,
        created_ms: now,
        last_active_ms: now,
        expiry: IDLE,
    };
    (s, token)
}

/// A direct connection to the Redis at `url`, and the key of `s`'s hash there.
async fn session_hash(url: &str, s: &Session) -> (redis::aio::MultiplexedConnection, String) {
    let conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    (conn, format!("vst:s:{{{}}}", s.token.to_hex()))
}

/// What every store must do with the cookies a credential brings.
async fn admission_rules(store: &dyn SessionStore, now: i64) -> (Session, String) {
    let (s, token) = bound_session(now, "right");
    store.insert(s.clone()).await.unwrap();

    let wrong = Credential::new(&token).with_cookies(["wrong"]);
    assert!(store
        .touch_if(&s.token, now + 1000, &wrong.admission(true))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .touch_if(&s.token, now + 1000, &wrong.admission(false))
        .await
        .unwrap()
        .is_none());
    // No cookie at all: admitted only where cookies are optional.
    let bare = Credential::new(&token);
    assert!(store
        .touch_if(&s.token, now + 1000, &bare.admission(false))
        .await
        .unwrap()
        .is_none());
    (s, token)
}

#[tokio::test]
async fn embedded_store_refuses_a_wrong_cookie_without_touching() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteStore::open(dir.path()).await.unwrap();
    let store = EmbeddedSessions::open(db, Duration::from_millis(50), now_ms())
        .await
        .unwrap();
    let now = now_ms();
    let (s, token) = admission_rules(store.as_ref(), now).await;
    // Touched at `now` only: dead 2 s later. Had a refused request touched it at now + 1 s, it
    // would live until now + 3 s.
    assert!(!store.is_live(&s.token, now + 2500).await.unwrap());
    assert!(store.is_live(&s.token, now + 1500).await.unwrap());

    // The right cookie, among others, admits and touches.
    let right = Credential::new(&token).with_cookies(["other", "right"]);
    let got = store
        .touch_if(&s.token, now + 1500, &right.admission(false))
        .await
        .unwrap()
        .expect("admitted");
    assert_eq!(got.last_active_ms, now + 1500);
    assert!(store.is_live(&s.token, now + 3000).await.unwrap());
}

#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn redis_store_refuses_a_wrong_cookie_without_touching() {
    let url = std::env::var("VESTIBULE_TEST_REDIS_URL").expect("VESTIBULE_TEST_REDIS_URL must be set in CI");
    let store = Arc::new(
        RedisSessions::connect(&url, Duration::from_secs(2))
            .await
            .unwrap(),
    );
    let now = now_ms();
    let (s, token) = admission_rules(store.as_ref(), now).await;
    // Redis keeps the last activity in the session's hash: the refused requests left it alone.
    let (mut conn, key) = session_hash(&url, &s).await;
    let last: i64 = conn.hget(&key, "last").await.unwrap();
    assert_eq!(last, now);

    let right = Credential::new(&token).with_cookies(["other", "right"]);
    let got = store
        .touch_if(&s.token, now + 1500, &right.admission(false))
        .await
        .unwrap()
        .expect("admitted");
    assert_eq!(got.last_active_ms, now + 1500);
    let last: i64 = conn.hget(&key, "last").await.unwrap();
    assert_eq!(last, now + 1500);
    // A session issued without a cookie is admitted whatever comes.
    let mut unbound = bound_session(now, "x").0;
    unbound.cookie = None;
    store.insert(unbound.clone()).await.unwrap();
    let any = Credential::new("whatever").with_cookies(["wrong"]);
    assert!(store
        .touch_if(&unbound.token, now + 10, &any.admission(false))
        .await
        .unwrap()
        .is_some());
    store.remove(&s.token).await.unwrap();
    store.remove(&unbound.token).await.unwrap();
}

/// A session written by an earlier version holds its cookie as a full 64-digit hash: its cookie
/// still admits it (by the hash's first half, its tag), another still does not.
#[tokio::test]
#[cfg_attr(not(test_redis), ignore = "VESTIBULE_TEST_REDIS_URL is not set")]
async fn redis_store_admits_cookies_stored_as_full_hashes() {
    let url = std::env::var("VESTIBULE_TEST_REDIS_URL").expect("VESTIBULE_TEST_REDIS_URL must be set in CI");
    let store = RedisSessions::connect(&url, Duration::from_secs(2))
        .await
        .unwrap();
    let now = now_ms();
    let (s, token) = bound_session(now, "old-cookie");
    store.insert(s.clone()).await.unwrap();
    let (mut conn, key) = session_hash(&url, &s).await;
    let _: () = conn
        .hset(&key, "cookie", SecretHash::of("old-cookie").to_hex())
        .await
        .unwrap();
    let wrong = Credential::new(&token).with_cookies(["other"]);
    assert!(store
        .touch_if(&s.token, now + 10, &wrong.admission(false))
        .await
        .unwrap()
        .is_none());
    let right = Credential::new(&token).with_cookies(["old-cookie"]);
    let got = store
        .touch_if(&s.token, now + 20, &right.admission(false))
        .await
        .unwrap()
        .expect("admitted by its cookie");
    assert_eq!(got.cookie, Some(CookieTag::of("old-cookie")));
    store.remove(&s.token).await.unwrap();
}
