//! Figure i: a restart with many live sessions in the embedded store. The data directory gets `n`
//! sessions written straight into its SQLite file (a million logins over HTTP would take hours of
//! argon2id), then the server is started and timed from the spawn to the first answered session
//! check, and its RSS read; then a login load runs on several connections, the server is killed
//! with SIGKILL while logins are in flight, and started and timed again: every written session and
//! every answered login must still be there.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Expiry, Scope, Session};
use vestibule_store::sqlite::SqliteStore;

use crate::procs::Server;

pub struct Start {
    /// From the spawn to the first session check answered 200.
    pub first_check: Duration,
    pub rss: u64,
}

pub struct Restart {
    pub sessions: usize,
    /// Logins answered during the login load that the SIGKILL cut into (all checked after).
    pub logins_answered: usize,
    pub cold: Start,
    pub after_kill: Start,
}

/// Connections logging in while the server is killed.
const LOGIN_CLIENTS: usize = 4;
/// Logins answered before the kill.
const KILL_AFTER: usize = 20;

/// The token of the `i`-th written session.
fn token(i: usize) -> String {
    format!("bench-restart-{i}")
}

/// A client with a cookie jar: a login's session is bound to its JSESSIONID cookie. Cookies do
/// not depend on the port, so the jar serves the restarted server too.
fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().cookie_store(true).build()?)
}

async fn session_check(c: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<u16> {
    let resp = c
        .get(format!("{base}/api/sessions"))
        .header("X-MSTR-AuthToken", token)
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    Ok(resp.status().as_u16())
}

/// Starts the server and waits for `token`'s session check to answer 200.
async fn timed_start(
    vestibule: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    token: &str,
) -> anyhow::Result<(Server, Start)> {
    let begun = Instant::now();
    let server = Server::start(vestibule, args, env, None)?;
    let c = client()?;
    loop {
        match session_check(&c, &server.base, token).await {
            Ok(200) => break,
            Ok(401) => bail!("the session of {token} is gone after the restart"),
            _ if begun.elapsed() > Duration::from_secs(120) => bail!("no session check answered"),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    let first_check = begun.elapsed();
    let rss = server.rss()?;
    Ok((server, Start { first_check, rss }))
}

/// The administrator's user id, from a login on `base`.
async fn admin_id(base: &str, password: &str) -> anyhow::Result<Guid> {
    let c = client()?;
    let login = c
        .post(format!("{base}/api/auth/login"))
        .form(&[
            ("loginMode", "1"),
            ("username", "administrator"),
            ("password", password),
        ])
        .send()
        .await?;
    let token = login
        .headers()
        .get("x-mstr-authtoken")
        .context("login answered no token")?
        .to_str()?
        .to_string();
    let info: serde_json::Value = c
        .get(format!("{base}/api/sessions/userInfo"))
        .header("X-MSTR-AuthToken", token)
        .send()
        .await?
        .json()
        .await?;
    info["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .context("userInfo named no id")
}

pub async fn measure(vestibule: &Path, n: usize, admin_password: &str) -> anyhow::Result<Restart> {
    let scratch = tempfile::tempdir()?;
    let data = scratch.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let args = [
        "--data-dir",
        data_arg.as_str(),
        "serve",
        "--listen",
        "127.0.0.1:0",
    ];
    let env = [("VESTIBULE_ADMIN_PASSWORD", admin_password)];
    // The first start makes the store and the administrator.
    let user = {
        let server = Server::start(vestibule, &args, &env, None)?;
        admin_id(&server.base, admin_password).await?
    };
    // Written as the server writes them: rows in order, in transactions of many.
    let db = SqliteStore::open(&data).await?;
    let now = vestibule_core::clock::now_ms();
    let sessions: Vec<Session> = (0..n)
        .map(|i| Session {
            token: SecretHash::of(&token(i)),
            cookie: None,
            user_id: user,
            login_mode: 1,
            scope: Scope::Full,
            created_ms: now,
            last_active_ms: now,
            expiry: Expiry::Idle {
                server_secs: 3600,
                http_secs: 3600,
            },
        })
        .collect();
    let first_row = db.last_session_row().await? + 1;
    for (c, chunk) in sessions.chunks(20_000).enumerate() {
        let rows: Vec<(i64, &Session)> = chunk
            .iter()
            .enumerate()
            .map(|(i, s)| (first_row + (c * 20_000 + i) as i64, s))
            .collect();
        let mut tx = db.begin().await?;
        SqliteStore::save_sessions_in(&mut tx, &rows).await?;
        tx.commit().await?;
    }
    drop(db);
    drop(sessions);

    let probe = token(n / 2);
    let (server, cold) = timed_start(vestibule, &args, &env, &probe).await?;
    // A login load: logins keep coming on several connections, and the server is killed while
    // some are in flight. Every login answered before the kill must survive it.
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut load = Vec::new();
    for _ in 0..LOGIN_CLIENTS {
        let (answered, base) = (answered.clone(), server.base.clone());
        let password = admin_password.to_string();
        load.push(tokio::spawn(async move {
            loop {
                let c = client()?;
                let login = c
                    .post(format!("{base}/api/auth/login"))
                    .form(&[
                        ("loginMode", "1"),
                        ("username", "administrator"),
                        ("password", password.as_str()),
                    ])
                    .send()
                    .await;
                // A login cut off by the kill ends the load; it was never answered.
                let Ok(login) = login else { return anyhow::Ok(()) };
                if login.status() != 204 {
                    bail!("a login answered {}", login.status());
                }
                let token = login.headers()["x-mstr-authtoken"].to_str()?.to_string();
                answered
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .push((c, token));
            }
        }));
    }
    while answered.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.len() < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drop(server); // SIGKILL, with logins in flight
    for task in load {
        task.await??;
    }
    let answered = std::mem::take(&mut *answered.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let (server, after_kill) = timed_start(vestibule, &args, &env, &token(n - 1)).await?;
    let written = client()?;
    let first = token(0);
    let checks = answered
        .iter()
        .map(|(c, t)| (c, t))
        .chain([(&written, &first), (&written, &probe)]);
    for (c, t) in checks {
        let status = session_check(c, &server.base, t).await?;
        if status != 200 {
            bail!("a session answered before the kill is gone ({status})");
        }
    }
    let logins_answered = answered.len();
    Ok(Restart {
        sessions: n,
        logins_answered,
        cold,
        after_kill,
    })
}
