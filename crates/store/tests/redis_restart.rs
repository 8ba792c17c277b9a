//! The Redis stores outlive a restart of Redis: after their Redis (a `redis-server` of this test's
//! own, without persistence, on a free loopback port) is killed and started again, the first
//! operation of every kind succeeds on the connection made anew, and while Redis is down each
//! answers "unavailable" within the store timeout, as it does while Redis refuses writes.

#[path = "support/copies.rs"]
mod copies;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vestibule_core::clock::now_ms;
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Expiry, Grant, GrantKind, Scope, Session};
use vestibule_core::store::{AttemptStore, Budget, Reservation, SessionStore, StoreResult};
use vestibule_store::redis::RedisSessions;

const TIMEOUT: Duration = Duration::from_secs(2);

/// A `redis-server` of this test's own: no RDB snapshots, no AOF, so a restart loses everything,
/// as a Redis deployed without persistence does.
struct OwnRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn redis_server_bin() -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join("redis-server"))
        .find(|p| p.exists())
        .expect("redis-server is missing (installed by bash scripts/ci-install.sh)")
}

impl OwnRedis {
    fn start() -> OwnRedis {
        // A port another process may take between this probe and Redis binding it: tried anew.
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut redis = OwnRedis {
                port,
                dir: tempfile::tempdir().expect("temp dir"),
                child: None,
            };
            if redis.spawn().is_ok() {
                return redis;
            }
        }
        panic!("redis-server did not start on any free port");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts redis-server on this port and waits until it answers PING.
    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(redis_server_bin())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers_ping() {
            if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("redis-server did not start on port {}", self.port));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
        Ok(())
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
    }

    /// SIGKILL: the stores' connection is cut as by a crash.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port (and so the same URL), empty.
    fn start_again(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = self.spawn() {
            assert!(Instant::now() < deadline, "{e}");
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn session(user: Guid) -> Session {
    let now = now_ms();
    Session {
        token: SecretHash::of(&vestibule_core::secret::new_auth_token()),
        cookie: None,
        user_id: user,
        login_mode: 1,
        scope: Scope::Full,
        created_ms: now,
        last_active_ms: now,
        expiry: Expiry::Idle {
            server_secs: 600,
            http_secs: 600,
        },
    }
}

fn grant(user: Guid) -> Grant {
    let now = now_ms();
    Grant {
        hash: SecretHash::of(&vestibule_core::secret::new_opaque_token()),
        kind: GrantKind::Identity,
        user_id: user,
        scope: Scope::Full,
        created_ms: now,
        expires_ms: now + 60_000,
        origin: None,
    }
}

const BUDGET: Budget = Budget {
    limit: 5,
    window_ms: 60_000,
    lockout_ms: 60_000,
    durable: false,
};

/// One operation of each kind the stores offer, each run first after a restart; `Ok` with what it
/// answered, for the message.
async fn run(op: &str, sessions: &RedisSessions, attempts: &dyn AttemptStore) -> StoreResult<String> {
    let user = Guid::random();
    let now = now_ms();
    Ok(match op {
        "insert" => format!("{:?}", sessions.insert(session(user)).await?),
        "touch" => format!(
            "{:?}",
            sessions.touch(&SecretHash::of("gone"), now).await?.is_some()
        ),
        "is_live" => format!("{:?}", sessions.is_live(&SecretHash::of("gone"), now).await?),
        "remove" => format!("{:?}", sessions.remove(&SecretHash::of("gone")).await?),
        "remove_user" => format!("{:?}", sessions.remove_user(user).await?),
        "count" => format!("{:?}", sessions.count().await?),
        "sweep" => format!("{:?}", sessions.sweep(now).await?),
        "insert_grant" => format!("{:?}", sessions.insert_grant(grant(user)).await?),
        "grant" => format!("{:?}", sessions.grant(&SecretHash::of("gone"), now).await?),
        "remove_grant" => format!("{:?}", sessions.remove_grant(&SecretHash::of("gone")).await?),
        "reserve" => format!(
            "{:?}",
            attempts
                .reserve("account:x", 1, &BUDGET, now, now + 60_000)
                .await?
        ),
        "settle" => format!(
            "{:?}",
            attempts.settle("account:x", 2, true, false, &BUDGET, now).await?
        ),
        "unlock" => format!("{:?}", attempts.unlock("account:x", now).await?),
        other => unreachable!("no operation {other}"),
    })
}

const OPERATIONS: [&str; 13] = [
    "insert",
    "touch",
    "is_live",
    "remove",
    "remove_user",
    "count",
    "sweep",
    "insert_grant",
    "grant",
    "remove_grant",
    "reserve",
    "settle",
    "unlock",
];

#[tokio::test]
#[cfg_attr(
    not(test_redis_server),
    ignore = "redis-server is not installed (scripts/ci-install.sh)"
)]
async fn the_first_operation_after_redis_restarts_succeeds() {
    let mut redis = OwnRedis::start();
    let sessions = RedisSessions::connect(&redis.url(), TIMEOUT).await.unwrap();
    let attempts: Arc<dyn AttemptStore> = Arc::new(sessions.attempts());
    let kept = session(Guid::random());
    sessions.insert(kept.clone()).await.unwrap();
    assert!(sessions.touch(&kept.token, now_ms()).await.unwrap().is_some());

    for op in OPERATIONS {
        // Restarted while the connection is idle: the first operation meets the dead connection.
        redis.kill();
        redis.start_again();
        let answer = run(op, &sessions, attempts.as_ref()).await;
        assert!(answer.is_ok(), "{op}, first after the restart: {answer:?}");
    }

    // Nothing was kept (no persistence), and the stores work as before.
    assert!(sessions.touch(&kept.token, now_ms()).await.unwrap().is_none());
    let s = session(Guid::random());
    sessions.insert(s.clone()).await.unwrap();
    assert!(sessions.touch(&s.token, now_ms()).await.unwrap().is_some());
    let now = now_ms();
    assert_eq!(
        attempts
            .reserve("account:y", 7, &BUDGET, now, now + 60_000)
            .await
            .unwrap(),
        Reservation::Taken
    );
}

#[tokio::test]
#[cfg_attr(
    not(test_redis_server),
    ignore = "redis-server is not installed (scripts/ci-install.sh)"
)]
async fn while_redis_is_down_operations_answer_unavailable_within_the_timeout() {
    let mut redis = OwnRedis::start();
    let sessions = RedisSessions::connect(&redis.url(), TIMEOUT).await.unwrap();
    let attempts: Arc<dyn AttemptStore> = Arc::new(sessions.attempts());
    sessions.insert(session(Guid::random())).await.unwrap();
    redis.kill();
    // Twice over: the first meets the dead connection, the second a failed reconnection.
    for op in OPERATIONS.iter().chain(OPERATIONS.iter()) {
        let started = Instant::now();
        let answer = run(op, &sessions, attempts.as_ref()).await;
        let took = started.elapsed();
        assert!(
            matches!(answer, Err(StoreError::Unavailable(_))),
            "{op} with Redis down: {answer:?}"
        );
        assert!(took <= TIMEOUT + Duration::from_millis(500), "{op} took {took:?}");
    }
    redis.start_again();
    for op in OPERATIONS {
        let answer = run(op, &sessions, attempts.as_ref()).await;
        assert!(answer.is_ok(), "{op} once Redis is back: {answer:?}");
    }
}

/// A Redis that answers but refuses writes for now (too few replicas for
/// `min-replicas-to-write`; a replica, as a failover leaves the old master) is unavailable, as
/// a Redis down is, not an internal error; once it serves again, so do the stores.
#[tokio::test]
#[cfg_attr(
    not(test_redis_server),
    ignore = "redis-server is not installed (scripts/ci-install.sh)"
)]
async fn a_redis_that_refuses_writes_is_unavailable() {
    let redis = OwnRedis::start();
    let sessions = RedisSessions::connect(&redis.url(), TIMEOUT).await.unwrap();
    let attempts: Arc<dyn AttemptStore> = Arc::new(sessions.attempts());
    let mut admin = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let kept = session(Guid::random());
    sessions.insert(kept.clone()).await.unwrap();
    // A port nothing listens on: the replica never reaches its master.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
        .to_string();
    let refusals = [
        vec!["CONFIG", "SET", "min-replicas-to-write", "1"],
        vec!["REPLICAOF", "127.0.0.1", &nowhere],
    ];
    let undo = [
        vec!["CONFIG", "SET", "min-replicas-to-write", "0"],
        vec!["REPLICAOF", "NO", "ONE"],
    ];
    for (refuse, undo) in refusals.iter().zip(&undo) {
        redis::cmd(refuse[0])
            .arg(&refuse[1..])
            .exec_async(&mut admin)
            .await
            .unwrap();
        for op in ["insert", "touch", "reserve", "settle"] {
            let answer = run(op, &sessions, attempts.as_ref()).await;
            assert!(
                matches!(answer, Err(StoreError::Unavailable(_))),
                "{op} after {refuse:?}: {answer:?}"
            );
        }
        redis::cmd(undo[0])
            .arg(&undo[1..])
            .exec_async(&mut admin)
            .await
            .unwrap();
        let s = session(Guid::random());
        sessions.insert(s.clone()).await.unwrap();
        assert!(sessions.touch(&s.token, now_ms()).await.unwrap().is_some());
    }
}

async fn served(store: &RedisSessions, s: &Session) -> StoreResult<bool> {
    Ok(store
        .touch_if(&s.token, now_ms(), &vestibule_core::credential::Admission::ANY)
        .await?
        .is_some())
}

/// A copy's subscription that ends (its connection cut, Redis restarted) empties the copy: what
/// was published meanwhile cannot have reached it, and what Redis lost is not served.
#[tokio::test]
#[cfg_attr(
    not(test_redis_server),
    ignore = "redis-server is not installed (scripts/ci-install.sh)"
)]
async fn a_copy_whose_subscription_ended_starts_afresh() {
    let mut redis = OwnRedis::start();
    let store = copies::trusted_copy(&redis.url(), TIMEOUT).await;
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // A session Redis no longer has but the copy does (deleted behind the store's back).
    let s = session(Guid::random());
    store.insert(s.clone()).await.unwrap();
    let hex = s.token.to_hex();
    redis::cmd("DEL")
        .arg(format!("vst:s:{{{hex}}}"))
        .arg(format!("vst:h:{{{hex}}}"))
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    assert!(served(&store, &s).await.unwrap(), "served from the copy");
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let cut = Instant::now();
    while served(&store, &s).await.unwrap() {
        assert!(
            cut.elapsed() < Duration::from_secs(2),
            "still served {:?} after the cut",
            cut.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A restart that loses every session: none is served from the copy after it.
    let kept = session(Guid::random());
    store.insert(kept.clone()).await.unwrap();
    assert!(served(&store, &kept).await.unwrap());
    drop(conn);
    redis.kill();
    let killed = Instant::now();
    redis.start_again();
    let back = Instant::now();
    loop {
        match served(&store, &kept).await {
            Ok(false) => break,
            // Only while the trust of the last heartbeat before the kill lasts (500 ms), if the
            // listener had not yet seen its connection end.
            Ok(true) => assert!(
                killed.elapsed() < Duration::from_millis(600),
                "a session Redis lost was served {:?} after its restart",
                killed.elapsed()
            ),
            // The first operations may find the connection still being made anew.
            Err(_) => assert!(
                back.elapsed() < Duration::from_secs(10),
                "Redis never answered again"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And the copy comes to be trusted again.
    copies::wait_trusted(&store, Duration::from_secs(10)).await;
}
