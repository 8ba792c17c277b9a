//! A node outlives a restart of its Redis. The real binary keeps its sessions in a `redis-server`
//! of this test's own (no persistence, a free loopback port; the machine's shared Redis is never
//! touched) while a light load runs: MicroStrategy logins and session checks, ThoughtSpot v2
//! token logins and session reads, a few every 50 ms. Redis is killed and, after a while, started
//! again on the same port. While it is down every request answers 503 in its dialect's format
//! within the store timeout and a margin (a session check may still be answered from the node's
//! copy of the sessions for the half second its last heartbeat is trusted); once it answers PING
//! again no request answers 503.
//! Its sessions are gone (no persistence), so checks with an old session answer 401 until the
//! load's next login.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::mstr::{jsessionid, token_of};
use crate::common::redis::OwnRedis;
use crate::common::{json, TestServer, ADMIN_PASSWORD};

const STORE_TIMEOUT_SECS: u64 = 2;
/// How long a request may take while Redis is down: the store timeout and a margin.
const DOWN_BOUND: Duration = Duration::from_secs(STORE_TIMEOUT_SECS + 2);
/// How long after Redis went away the node's copy of the sessions may still answer a check: the
/// trust of its last heartbeat (500 ms, `redis_near::LEASE`) and a margin.
const COPY_TRUST: Duration = Duration::from_millis(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    MstrLogin,
    MstrCheck,
    V2Token,
    V2User,
}

#[derive(Debug)]
struct Answer {
    call: Call,
    sent: Instant,
    took: Duration,
    /// 0: no HTTP answer at all.
    status: u16,
    body: Value,
}

impl Answer {
    fn answered(&self) -> Instant {
        self.sent + self.took
    }
}

/// The sessions the load uses, each replaced by the next login that succeeds.
#[derive(Default)]
struct Held {
    mstr: Option<(String, String)>,
    v2: Option<String>,
}

struct Load {
    node: String,
    /// One client for every call (without a cookie jar: each call sends what it means to): a
    /// client made per call costs its TLS set-up every time, which on a loaded machine starved
    /// the load itself.
    http: reqwest::Client,
    held: Mutex<Held>,
    answers: Mutex<Vec<Answer>>,
}

impl Load {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.node)
    }

    /// Sends one call; a call that needs a session nobody holds yet is not sent.
    async fn call(&self, call: Call) {
        let sent = Instant::now();
        let resp = match call {
            Call::MstrLogin => {
                // A failure to get any answer is recorded (status 0) like the other calls', and
                // judged by the assertions with its time, not a panic of the load.
                let resp = self
                    .http
                    .post(self.url("/api/auth/login"))
                    .form(&[
                        ("loginMode", "1"),
                        ("username", "administrator"),
                        ("password", ADMIN_PASSWORD),
                    ])
                    .send()
                    .await;
                if let Ok(r) = &resp {
                    if r.status() == 204 {
                        self.held.lock().unwrap().mstr = Some((token_of(r), jsessionid(r)));
                    }
                }
                resp
            }
            Call::MstrCheck => {
                let Some((token, cookie)) = self.held.lock().unwrap().mstr.clone() else {
                    return;
                };
                self.http
                    .get(self.url("/api/sessions"))
                    .header("X-MSTR-AuthToken", token)
                    .header("Cookie", format!("JSESSIONID={cookie}"))
                    .send()
                    .await
            }
            Call::V2Token => {
                self.http
                    .post(self.url("/api/rest/2.0/auth/token/full"))
                    .json(&serde_json::json!({"username": "administrator", "password": ADMIN_PASSWORD}))
                    .send()
                    .await
            }
            Call::V2User => {
                let Some(token) = self.held.lock().unwrap().v2.clone() else {
                    return;
                };
                self.http
                    .get(self.url("/api/rest/2.0/auth/session/user"))
                    .bearer_auth(token)
                    .send()
                    .await
            }
        };
        let (status, body) = match resp {
            Ok(r) => json(r).await,
            Err(e) => (0, Value::String(e.to_string())),
        };
        if call == Call::V2Token && status == 200 {
            if let Some(t) = body["token"].as_str() {
                self.held.lock().unwrap().v2 = Some(t.to_string());
            }
        }
        self.answers.lock().unwrap().push(Answer {
            call,
            sent,
            took: sent.elapsed(),
            status,
            body,
        });
    }
}

/// Every 50 ms, one call of each kind, each in its own task (a slow answer delays no other),
/// until `stop` is set; returns once every call has answered.
async fn run_load(load: Arc<Load>, stop: Arc<std::sync::atomic::AtomicBool>) {
    let mut calls = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        tick.tick().await;
        for call in [Call::MstrLogin, Call::MstrCheck, Call::V2Token, Call::V2User] {
            let load = load.clone();
            calls.spawn(async move { load.call(call).await });
        }
    }
    while let Some(done) = calls.join_next().await {
        done.expect("a load call panicked");
    }
}

/// A 503 in the dialect's own error format: MicroStrategy `{code: ERR016, …}`, ThoughtSpot v2
/// `{error: {message: {…}}}`.
fn is_dialect_503(a: &Answer) -> bool {
    a.status == 503
        && match a.call {
            Call::MstrLogin | Call::MstrCheck => a.body["code"] == "ERR016",
            Call::V2Token | Call::V2User => a.body["error"]["message"].is_object(),
        }
}

/// Success for each call; a session check may also find its session gone (401) after Redis lost
/// everything.
fn is_served(a: &Answer, sessions_may_be_gone: bool) -> bool {
    match a.call {
        Call::MstrLogin => a.status == 204,
        Call::V2Token => a.status == 200,
        Call::MstrCheck | Call::V2User => a.status == 200 || (sessions_may_be_gone && a.status == 401),
    }
}

fn show(answers: &[&Answer]) -> String {
    answers
        .iter()
        .map(|a| format!("{:?} {} after {:?}: {}", a.call, a.status, a.took, a.body))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(test_redis_server),
    ignore = "redis-server is not installed (scripts/ci-install.sh)"
)]
async fn a_redis_restart_under_load_fails_no_request_once_redis_is_back() {
    const TEST: &str = "redis_restart::a_redis_restart_under_load_fails_no_request_once_redis_is_back";
    let mut redis = OwnRedis::start(TEST);
    let timeout = STORE_TIMEOUT_SECS.to_string();
    let node = TestServer::start_with(&[
        ("VESTIBULE_STORE_SESSIONS", &redis.url()),
        ("VESTIBULE_STORE_TIMEOUT_SECS", &timeout),
    ]);
    let load = Arc::new(Load {
        node: node.base.clone(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        held: Mutex::default(),
        answers: Mutex::default(),
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let running = tokio::spawn(run_load(load.clone(), stop.clone()));

    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed = Instant::now();
    redis.kill();
    // Down until every kind of call has been answered at least once while it is (a loaded
    // machine answers slowly: a fixed pause may see none), for at least 1.5 s.
    let deadline = killed + Duration::from_secs(30);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answered_down = |call: Call| {
            load.answers
                .lock()
                .unwrap()
                .iter()
                .any(|a| a.call == call && a.sent >= killed)
        };
        let all = [Call::MstrLogin, Call::MstrCheck, Call::V2Token, Call::V2User]
            .into_iter()
            .all(answered_down);
        if (all && killed.elapsed() >= Duration::from_millis(1500)) || Instant::now() > deadline {
            break;
        }
    }
    let restarting = Instant::now();
    // Blocking (it polls PING), so off the runtime's threads that drive the load.
    let redis = tokio::task::spawn_blocking(move || {
        redis.start_again();
        redis
    })
    .await
    .expect("restart redis");
    let back = Instant::now();
    assert!(redis.answers_ping());
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    running.await.expect("the load");

    let answers = load.answers.lock().unwrap();
    let before: Vec<&Answer> = answers.iter().filter(|a| a.answered() < killed).collect();
    let down: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.sent >= killed && a.answered() < restarting)
        .collect();
    let after: Vec<&Answer> = answers.iter().filter(|a| a.sent >= back).collect();
    let gone = after.iter().filter(|a| a.status == 401).count();
    println!(
        "{} answers before the kill, {} while down, {} after PING ({gone} of them 401)",
        before.len(),
        down.len(),
        after.len()
    );
    let unreachable: Vec<&Answer> = answers.iter().filter(|a| a.status == 0).collect();
    assert!(
        unreachable.is_empty(),
        "no HTTP answer (killed at +0, restarting at +{:?}, back at +{:?}):\n{}\nthe server's stderr:\n{}",
        restarting - killed,
        back - killed,
        show(&unreachable),
        node.stderr()
    );

    let failed: Vec<&Answer> = before.iter().copied().filter(|a| !is_served(a, false)).collect();
    assert!(
        !before.is_empty() && failed.is_empty(),
        "before the restart:\n{}",
        show(&failed)
    );

    // Redis down: 503 in each dialect's format, in bounded time, for every kind of call (but a
    // check just after the kill, which the node's copy may still answer).
    let from_copy = |a: &Answer| {
        matches!(a.call, Call::MstrCheck | Call::V2User) && a.status == 200 && a.sent < killed + COPY_TRUST
    };
    let wrong: Vec<&Answer> = down
        .iter()
        .copied()
        .filter(|a| !from_copy(a) && (!is_dialect_503(a) || a.took > DOWN_BOUND))
        .collect();
    assert!(wrong.is_empty(), "while Redis was down:\n{}", show(&wrong));
    for call in [Call::MstrLogin, Call::MstrCheck, Call::V2Token, Call::V2User] {
        assert!(
            down.iter().any(|a| a.call == call && is_dialect_503(a)),
            "no {call:?} answered 503 while Redis was down"
        );
    }

    // Redis back: nothing answers 503; checks of sessions Redis lost may answer 401, and the
    // load's new logins serve the checks that follow.
    let failed: Vec<&Answer> = after.iter().copied().filter(|a| !is_served(a, true)).collect();
    assert!(
        failed.is_empty(),
        "after Redis answered PING again:\n{}",
        show(&failed)
    );
    for call in [Call::MstrCheck, Call::V2User] {
        assert!(
            after.iter().any(|a| a.call == call && a.status == 200),
            "no {call:?} served after the restart"
        );
    }
}
