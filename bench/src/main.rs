//! vestibule's benchmark harness. Run it with `bash bench/run.sh` (it builds the release binaries
//! first). Every figure is measured in this one run, on these cores, and the targets are ratios
//! against baselines measured alongside: a bare axum hello-world for the session check (and for
//! the mints and the open-loop latencies), raw argon2id verifications for logins, raw RS256
//! verifications for ID tokens, the in-memory session map for the Redis store's memory. Results go
//! to `bench/results/latest.md` and `latest.svg`; the ratios are printed last.
//!
//! `VESTIBULE_BENCH_ONLY` runs one part alone: `memory` (or `capacity`: figures d and j, no
//! server), `sso` (figure h, in-process), `latency` (figures a and g), `redis` (figure f, after
//! a), `restart` (figure i) or `mint` (figure e's mints against the hello-world, every core
//! shared).

mod capacity;
mod cores;
mod memory;
mod openloop;
mod procs;
mod report;
mod restart;
mod seed;
mod slow;
mod sso;
mod wrk;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::openloop::OpenLoad;
use crate::procs::Server;
use crate::report::{Figure, Report};
use crate::wrk::{Load, Run};

/// The server's allocator, so the in-process memory figure (d) measures what the server would use.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ADMIN_PASSWORD: &str = "bench-admin-password";

/// Rounds of figures a), b) and h): each side of the ratio runs this many times, alternating.
const ROUNDS: u32 = 3;

/// Sessions figure j) writes through the Redis store.
const REDIS_SESSIONS: usize = 20_000;

/// Figure g)'s open-loop rates, as shares of the session check's maximum rate (figure a).
const OPEN_LOOP_SHARES: [f64; 2] = [0.5, 0.8];

struct Opts {
    seconds: u32,
    sessions: usize,
    redis: Option<String>,
}

fn opts() -> Opts {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Opts {
        seconds: env("VESTIBULE_BENCH_SECONDS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10),
        sessions: env("VESTIBULE_BENCH_SESSIONS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000),
        redis: env("VESTIBULE_BENCH_REDIS_URL").or_else(|| Some("redis://127.0.0.1:6379".into())),
    }
}

impl Opts {
    /// One round of an alternating measurement: the rounds add up to about `seconds`.
    fn round_seconds(&self) -> u32 {
        self.seconds.div_ceil(ROUNDS).max(2)
    }
}

fn release_bin(name: &str) -> anyhow::Result<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = root.join("target/release").join(name);
    if !p.exists() {
        bail!(
            "{} is missing: run `bash bench/run.sh`, which builds it",
            p.display()
        );
    }
    Ok(p)
}

/// Logs in through the MicroStrategy API; returns the token and cookie headers for wrk.
async fn mstr_login(base: &str, user: &str, password: &str) -> anyhow::Result<Vec<String>> {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/auth/login"))
        .form(&[("loginMode", "1"), ("username", user), ("password", password)])
        .send()
        .await?;
    if resp.status() != 204 {
        bail!("login answered {}", resp.status());
    }
    let token = resp.headers()["x-mstr-authtoken"].to_str()?.to_string();
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next().filter(|kv| kv.starts_with("JSESSIONID=")))
        .context("no JSESSIONID")?
        .to_string();
    Ok(vec![
        format!("X-MSTR-AuthToken: {token}"),
        format!("Cookie: {cookie}"),
    ])
}

fn restart_lines(r: &restart::Restart) -> Vec<String> {
    let mib = |b: u64| b as f64 / 1048576.0;
    vec![
        format!(
            "restart with {} sessions: first session check after {:.2} s, RSS {:.0} MiB",
            r.sessions,
            r.cold.first_check.as_secs_f64(),
            mib(r.cold.rss)
        ),
        format!(
            "restart after a SIGKILL during a login load ({} logins answered before it): first session check after {:.2} s, RSS {:.0} MiB, every session there",
            r.logins_answered,
            r.after_kill.first_check.as_secs_f64(),
            mib(r.after_kill.rss)
        ),
    ]
}

fn write_script(dir: &std::path::Path, name: &str, body: &str) -> anyhow::Result<String> {
    let path = dir.join(name);
    std::fs::write(&path, body)?;
    Ok(path.to_string_lossy().into_owned())
}

fn login_script(dir: &std::path::Path) -> anyhow::Result<String> {
    write_script(
        dir,
        "login.lua",
        &format!(
            "wrk.method = \"POST\"\nwrk.body = \"loginMode=1&username=administrator&password={ADMIN_PASSWORD}\"\n\
             wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n"
        ),
    )
}

/// Raw argon2id verifications per second on every core, with the server's default parameters: the
/// fastest honest rate, so the ratio shows only the server's own overhead. Each thread keeps one
/// block buffer for all its verifications and calls the same function the server's pool runs.
fn raw_argon2_verifications(seconds: u32) -> anyhow::Result<(u64, f64)> {
    use vestibule_core::password;
    let config = vestibule_core::config::PasswordConfig::default();
    let hash = password::hash_now(&config, ADMIN_PASSWORD)?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let deadline = Instant::now() + Duration::from_secs(u64::from(seconds));
    let start = Instant::now();
    let counts: Vec<anyhow::Result<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<u64> {
                    let mut memory = password::BlockMemory::for_config(&config)?;
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        if password::verify_with(&mut memory, ADMIN_PASSWORD, &hash) {
                            n += 1;
                        }
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("raw argon2 thread panicked")))
            })
            .collect()
    });
    let total = counts.into_iter().sum::<anyhow::Result<u64>>()?;
    Ok((total, start.elapsed().as_secs_f64()))
}

fn check(url: &str, headers: &[String], seconds: u32, cpus: Option<&str>) -> anyhow::Result<Load> {
    wrk::run(&Run {
        url,
        threads: 2,
        connections: 64,
        seconds,
        headers: headers.to_vec(),
        script: None,
        cpus,
    })
}

/// Rounds of the hello-world and the session check, alternating, so that a change in what else
/// the machine is doing weighs on both sides of the ratio alike. `cpus` places the servers and wrk.
async fn hello_and_check(
    binaries: (&std::path::Path, &std::path::Path),
    server_args: &[&str],
    env: &[(&str, &str)],
    cpus: Option<&cores::Split>,
    round_seconds: u32,
) -> anyhow::Result<(Load, Load)> {
    let (hello, vestibule) = binaries;
    let server_cpus = cpus.map(|c| c.server.as_str());
    let load_cpus = cpus.map(|c| c.load.as_str());
    let hello_server = Server::start(hello, &["127.0.0.1:0"], &[], server_cpus)?;
    let server = Server::start(vestibule, server_args, env, server_cpus)?;
    let headers = mstr_login(&server.base, "administrator", ADMIN_PASSWORD).await?;
    let (mut base_rounds, mut check_rounds) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        base_rounds.push(check(
            &format!("{}/", hello_server.base),
            &[],
            round_seconds,
            load_cpus,
        )?);
        check_rounds.push(check(
            &format!("{}/api/sessions", server.base),
            &headers,
            round_seconds,
            load_cpus,
        )?);
    }
    let check_load = Load::merge(&check_rounds);
    if check_load.errors > 0 {
        bail!("session check answered {} errors", check_load.errors);
    }
    Ok((Load::merge(&base_rounds), check_load))
}

/// Figure e)'s mint load: `POST /api/rest/2.0/auth/token/full` with the secret key `key`, 64
/// connections, 2 wrk threads, every core shared.
fn mint_load(base: &str, dir: &std::path::Path, key: &str, seconds: u32) -> anyhow::Result<Load> {
    let script = write_script(
        dir,
        "mint.lua",
        &format!(
            "wrk.method = \"POST\"\nwrk.body = '{{\"username\":\"administrator\",\"secret_key\":\"{key}\",\"validity_time_in_sec\":60}}'\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n"
        ),
    )?;
    wrk::run(&Run {
        url: &format!("{base}/api/rest/2.0/auth/token/full"),
        threads: 2,
        connections: 64,
        seconds,
        headers: vec![],
        script: Some(&script),
        cpus: None,
    })
}

/// Rounds of the hello-world and the mint load, alternating, every core shared (figure e alone).
fn hello_and_mint(
    binaries: (&std::path::Path, &std::path::Path),
    server_args: &[&str],
    env: &[(&str, &str)],
    dir: &std::path::Path,
    key: &str,
    round_seconds: u32,
) -> anyhow::Result<(Load, Load)> {
    let (hello, vestibule) = binaries;
    let hello_server = Server::start(hello, &["127.0.0.1:0"], &[], None)?;
    let server = Server::start(vestibule, server_args, env, None)?;
    eprintln!("bench: e) hello-world and mints, {ROUNDS} rounds each, every core shared");
    let (mut base_rounds, mut mint_rounds) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        base_rounds.push(check(
            &format!("{}/", hello_server.base),
            &[],
            round_seconds,
            None,
        )?);
        mint_rounds.push(mint_load(&server.base, dir, key, round_seconds)?);
    }
    let mint = Load::merge(&mint_rounds);
    if mint.errors > 0 {
        bail!("v2 token/full answered {} errors", mint.errors);
    }
    Ok((Load::merge(&base_rounds), mint))
}

/// Figure e)'s mint target: mints against the hello-world measured on the same (shared) cores.
fn mint_figures(report: &mut Report, mint: &Load, hello: &Load) {
    report.figure(Figure::new(
        "e) v2 token/full mints / hello-world, req/s",
        mint.rps / hello.rps,
        ">= 0.5",
    ));
    report.figure(Figure::new(
        "e) v2 token/full mints per second",
        mint.rps,
        "reported",
    ));
}

/// Figure a)'s targets: the session check against the hello-world, servers and wrk apart.
fn a_figures(report: &mut Report, base: &Load, check: &Load) {
    report.figure(Figure::new(
        "a) session check / hello-world, req/s",
        check.rps / base.rps,
        ">= 0.9",
    ));
    report.figure(Figure::new(
        "a) session check p99 / hello-world p99",
        check.p99_ms / base.p99_ms.max(0.001),
        "<= 1.0",
    ));
    report.figure(Figure::new("a) session check p99 (ms)", check.p99_ms, "reported"));
    report.figure(Figure::new(
        "a) session check p99.9 (ms)",
        check.p999_ms,
        "reported",
    ));
    report.figure(Figure::new("a) hello-world p99.9 (ms)", base.p999_ms, "reported"));
    report.figure(Figure::new(
        "a) session check p99.9 / hello-world p99.9",
        check.p999_ms / base.p999_ms.max(0.001),
        "reported",
    ));
}

/// g) Open-loop loads at shares of the session check's maximum rate (`max_rate`, from figure a),
/// against the session check and the hello-world at the same absolute rates: the servers on
/// their cores and the generator on the load generator's, as in figure a). Returns, per share,
/// the check's load and the hello-world's.
async fn open_loop(
    binaries: (&std::path::Path, &std::path::Path),
    server_args: &[&str],
    env: &[(&str, &str)],
    cpus: Option<&cores::Split>,
    max_rate: f64,
    seconds: u32,
) -> anyhow::Result<Vec<(f64, OpenLoad, OpenLoad)>> {
    let (hello, vestibule) = binaries;
    let server_cpus = cpus.map(|c| c.server.as_str());
    let hello_server = Server::start(hello, &["127.0.0.1:0"], &[], server_cpus)?;
    let server = Server::start(vestibule, server_args, env, server_cpus)?;
    let headers = mstr_login(&server.base, "administrator", ADMIN_PASSWORD).await?;
    let (hello_addr, addr) = (
        hello_server.base.trim_start_matches("http://").to_string(),
        server.base.trim_start_matches("http://").to_string(),
    );
    let mut results = Vec::new();
    for share in OPEN_LOOP_SHARES {
        let spec = openloop::Spec {
            rate: share * max_rate,
            connections: 64,
            seconds: f64::from(seconds),
            threads: cpus.map_or(1, |c| c.load.split(',').count()),
            cpus: cpus.map(|c| c.load.clone()),
        };
        let check = openloop::run(
            &openloop::Target {
                addr: &addr,
                path: "/api/sessions",
                headers: &headers,
            },
            &spec,
        )?;
        let base = openloop::run(
            &openloop::Target {
                addr: &hello_addr,
                path: "/",
                headers: &[],
            },
            &spec,
        )?;
        results.push((share, check, base));
    }
    Ok(results)
}

fn open_loop_figures(report: &mut Report, results: &[(f64, OpenLoad, OpenLoad)]) {
    for (share, check, base) in results {
        let pct = share * 100.0;
        report.load(
            &format!("g) open loop {pct:.0} % ({:.0}/s): session check", check.rate),
            &check.as_load(),
        );
        report.load(
            &format!("g) open loop {pct:.0} % ({:.0}/s): hello-world", base.rate),
            &base.as_load(),
        );
        for (name, l) in [("session check", check), ("hello-world", base)] {
            report.line(format!(
                "g) {pct:.0} %, {name}: scheduled at {:.0}/s, {} requests answered at {:.0}/s, {} errors; \
                 latency from the intended send time p50 {:.3} / p99 {:.3} / p99.9 {:.3} / max {:.3} ms; \
                 99 % of them were sent within {:.3} ms of their time",
                l.rate,
                l.requests,
                l.achieved,
                l.errors,
                l.p50_ms,
                l.p99_ms,
                l.p999_ms,
                l.max_ms,
                l.send_lag_p99_ms
            ));
        }
        report.figure(Figure::new(
            &format!("g) open loop {pct:.0} %: check p99 / hello-world p99"),
            check.p99_ms / base.p99_ms.max(0.001),
            "reported",
        ));
        report.figure(Figure::new(
            &format!("g) open loop {pct:.0} %: check p99.9 / hello-world p99.9"),
            check.p999_ms / base.p999_ms.max(0.001),
            "<= 2",
        ));
    }
}

/// Figures d) and j): bytes per session in the in-memory map at `sessions` and at ten times
/// that, and in Redis through the Redis store (judged against the in-memory figure).
async fn memory_figures(o: &Opts, report: &mut Report) -> anyhow::Result<()> {
    let one = memory::measure(o.sessions)?;
    // A moment for the allocator to hand the first map's memory back before the next is weighed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ten = memory::measure(10 * o.sessions)?;
    for (n, m) in [(o.sessions, &one), (10 * o.sessions, &ten)] {
        report.line(format!(
            "session map: {n} sessions added {:.1} MiB of RSS: {:.0} bytes per session",
            m.added as f64 / 1048576.0,
            m.per_session
        ));
    }
    report.figure(Figure::new(
        &format!("d) bytes per live session ({} sessions)", o.sessions),
        one.per_session,
        "<= 256",
    ));
    report.figure(Figure::new(
        &format!("j) bytes per live session ({} sessions)", 10 * o.sessions),
        ten.per_session,
        "reported",
    ));
    match o.redis.as_deref() {
        Some(url) => match capacity::measure(url, REDIS_SESSIONS).await {
            Ok(r) => {
                let mib = |b: f64| b / 1048576.0;
                report.line(format!(
                    "j) {} sessions written through the Redis session store into {} ({} keys, deleted \
                     after): MEMORY USAGE {:.1} MiB in all, {:.0} bytes per session; used_memory grew \
                     by {:.1} MiB ({:.0} bytes per session)",
                    r.sessions,
                    r.url,
                    r.keys,
                    mib(r.bytes as f64),
                    r.per_session(),
                    mib(r.used_memory_delta as f64),
                    r.used_memory_delta as f64 / r.sessions.max(1) as f64
                ));
                report.figure(Figure::new(
                    "j) Redis bytes per session (MEMORY USAGE)",
                    r.per_session(),
                    "reported",
                ));
                report.figure(Figure::new(
                    "j) Redis bytes per session / in-memory bytes per session (d)",
                    r.per_session() / one.per_session.max(f64::EPSILON),
                    "<= 2",
                ));
            }
            Err(e) => report.line(format!("j) the Redis store's memory was not measured: {e:#}")),
        },
        None => report.line("j) the Redis store's memory was not measured: no Redis URL".into()),
    }
    Ok(())
}

/// Figure h): ID-token and SAML response verifications, in-process.
async fn sso_figures(o: &Opts, report: &mut Report) -> anyhow::Result<()> {
    let h = sso::measure(ROUNDS, f64::from(o.round_seconds())).await?;
    report.line(format!(
        "h) ID tokens (RS256, 2048-bit RSA) through vestibule-oidc's checks: {:.0}/s on one thread; raw \
         RS256 verifications with the same library (rsa): {:.0}/s; SAML responses (signed by samael, \
         RSA 2048) through vestibule-saml: {:.0}/s one at a time, {:.0}/s with {} at once; {ROUNDS} \
         alternating rounds of {} s per side",
        h.oidc,
        h.raw,
        h.saml,
        h.saml_parallel,
        h.cores,
        o.round_seconds()
    ));
    report.figure(Figure::new(
        "h) ID-token verifications / raw RS256 verifications",
        h.oidc / h.raw.max(f64::EPSILON),
        ">= 0.8",
    ));
    report.figure(Figure::new(
        "h) ID-token verifications per second (one thread)",
        h.oidc,
        "reported",
    ));
    report.figure(Figure::new(
        "h) SAML responses verified per second (one at a time)",
        h.saml,
        "reported",
    ));
    report.figure(Figure::new(
        &format!("h) SAML responses verified per second ({} at once)", h.cores),
        h.saml_parallel,
        "reported",
    ));
    Ok(())
}

/// f) The session check of a server whose sessions are in Redis, against `unloaded` (the
/// in-memory check in the same arrangement); `None` without Redis.
async fn redis_figure(
    o: &Opts,
    vestibule: &Path,
    scratch: &Path,
    unloaded: &Load,
    report: &mut Report,
) -> anyhow::Result<Option<f64>> {
    let Some(url) = &o.redis else {
        return Ok(None);
    };
    eprintln!("bench: f) Redis-backed session check");
    let data = scratch.join("data-redis");
    let data_arg = data.to_string_lossy().into_owned();
    let env = [
        ("VESTIBULE_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("VESTIBULE_STORE_SESSIONS", url.as_str()),
    ];
    match Server::start(
        vestibule,
        &["--data-dir", &data_arg, "serve", "--listen", "127.0.0.1:0"],
        &env,
        None,
    ) {
        Ok(s) => {
            let h = mstr_login(&s.base, "administrator", ADMIN_PASSWORD).await?;
            let l = check(&format!("{}/api/sessions", s.base), &h, o.seconds, None)?;
            report.load("session check GET /api/sessions (Redis)", &l);
            Ok(Some(l.rps / unloaded.rps))
        }
        Err(e) => {
            report.line(format!("Redis-backed check not measured: {e}"));
            Ok(None)
        }
    }
}

fn redis_ratio_figure(report: &mut Report, ratio: Option<f64>) {
    match ratio {
        Some(r) => report.figure(Figure::new(
            "f) Redis session check / memory session check",
            r,
            ">= 0.8",
        )),
        None => report.line("f) not measured: no Redis".into()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = opts();
    let only = std::env::var("VESTIBULE_BENCH_ONLY").unwrap_or_default();
    // The parts that need no server and no quiet machine; their figures are printed, and
    // bench/results (the whole run's) is left alone.
    match only.as_str() {
        "memory" | "capacity" => {
            let mut report = Report::default();
            memory_figures(&o, &mut report).await?;
            report.print_lines();
            report.print_part_ratios();
            return Ok(());
        }
        "sso" => {
            let mut report = Report::default();
            sso_figures(&o, &mut report).await?;
            report.print_lines();
            report.print_part_ratios();
            return Ok(());
        }
        "" | "restart" | "latency" | "redis" | "mint" => {}
        other => {
            bail!("VESTIBULE_BENCH_ONLY={other}: the parts are memory, capacity, sso, latency, redis, restart and mint")
        }
    }
    let vestibule = release_bin("vestibule")?;
    // `VESTIBULE_BENCH_ONLY=restart`: figure i alone (the release server and a scratch directory).
    if only == "restart" {
        let r = restart::measure(&vestibule, o.sessions, ADMIN_PASSWORD).await?;
        for line in restart_lines(&r) {
            println!("{line}");
        }
        return Ok(());
    }
    let hello = release_bin("bench-hello")?;
    let scratch = tempfile::tempdir()?;
    let mut report = Report::default();

    let data = scratch.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let env = [("VESTIBULE_ADMIN_PASSWORD", ADMIN_PASSWORD)];
    let server_args = [
        "--data-dir",
        data_arg.as_str(),
        "serve",
        "--listen",
        "127.0.0.1:0",
    ];

    // `VESTIBULE_BENCH_ONLY=mint`: figure e)'s mints against the hello-world, alone.
    if only == "mint" {
        let key = seed::trusted_key(&vestibule, &data_arg, &env)?;
        let (base, mint) = hello_and_mint(
            (hello.as_path(), vestibule.as_path()),
            &server_args,
            &env,
            scratch.path(),
            &key,
            o.round_seconds(),
        )?;
        report.load("hello-world (cores shared with wrk)", &base);
        report.load("v2 token/full mints (secret key)", &mint);
        mint_figures(&mut report, &mint, &base);
        report.print_lines();
        report.print_part_ratios();
        return Ok(());
    }

    // a) Session check against the hello-world baseline: the servers on their cores, wrk on its
    // own (see cores.rs), then both sharing every core.
    let split = cores::split();
    let binaries = (hello.as_path(), vestibule.as_path());
    let (base_load, check_load) = match &split {
        Some(c) => {
            eprintln!(
                "bench: a) hello-world and session check, {ROUNDS} rounds each, servers on cores {}, wrk on {}",
                c.server, c.load
            );
            hello_and_check(binaries, &server_args, &env, Some(c), o.round_seconds()).await?
        }
        None => {
            eprintln!("bench: a) hello-world and session check, {ROUNDS} rounds each, one core");
            hello_and_check(binaries, &server_args, &env, None, o.round_seconds()).await?
        }
    };
    report.load("hello-world (baseline)", &base_load);
    report.load("session check GET /api/sessions (memory)", &check_load);
    // `VESTIBULE_BENCH_ONLY=latency`: figure a) as just measured, and g) at its rates, alone.
    if only == "latency" {
        eprintln!(
            "bench: g) open loop at {OPEN_LOOP_SHARES:?} of {:.0} req/s",
            check_load.rps
        );
        let open = open_loop(
            binaries,
            &server_args,
            &env,
            split.as_ref(),
            check_load.rps,
            o.seconds.max(2),
        )
        .await?;
        a_figures(&mut report, &base_load, &check_load);
        open_loop_figures(&mut report, &open);
        report.print_lines();
        report.print_part_ratios();
        return Ok(());
    }
    let key = seed::trusted_key(&vestibule, &data_arg, &env)?;
    let shared = match &split {
        Some(_) => {
            eprintln!("bench: a) again, servers and wrk sharing every core");
            let (b, c) = hello_and_check(binaries, &server_args, &env, None, o.round_seconds()).await?;
            report.load("hello-world (cores shared with wrk)", &b);
            report.load("session check (cores shared with wrk)", &c);
            Some((b, c))
        }
        None => None,
    };
    // The unloaded rates figures c), e) and f) compare with: the same arrangement as their loads
    // (every core).
    let unloaded = shared.as_ref().map_or(&check_load, |(_, c)| c);
    let unloaded_hello = shared.as_ref().map_or(&base_load, |(b, _)| b);
    // `VESTIBULE_BENCH_ONLY=redis`: figure f) against the in-memory check just measured.
    if only == "redis" {
        let ratio = redis_figure(&o, &vestibule, scratch.path(), unloaded, &mut report).await?;
        redis_ratio_figure(&mut report, ratio);
        report.print_lines();
        report.print_part_ratios();
        return Ok(());
    }

    // g) Open-loop latency at shares of the session check's maximum rate just measured.
    eprintln!(
        "bench: g) open loop at {:?} of {:.0} req/s, session check and hello-world",
        OPEN_LOOP_SHARES, check_load.rps
    );
    let open = open_loop(
        binaries,
        &server_args,
        &env,
        split.as_ref(),
        check_load.rps,
        o.seconds.max(2),
    )
    .await?;
    report.line(match &split {
        Some(c) => format!(
            "a) runs the servers (hello-world and vestibule alike, each at its default of one worker \
             per core it has) on cores {} and wrk on cores {}; then everything again on every core, \
             with wrk and the server preempting each other",
            c.server, c.load
        ),
        None => "a) ran on a single core shared by wrk and the server".to_string(),
    });
    report.line(format!(
        "a) and b) alternate their two sides in {ROUNDS} rounds of {} s each (hello-world, session \
         check, ...; logins, raw argon2id, ...): rates are over all rounds, percentiles those of \
         all the rounds' requests together",
        o.round_seconds()
    ));

    let server = Server::start(&vestibule, &server_args, &env, None)?;
    let idle_rss = server.rss()?;
    let headers = mstr_login(&server.base, "administrator", ADMIN_PASSWORD).await?;

    // b) Password logins against raw argon2id.
    eprintln!("bench: b) logins and raw argon2id");
    let script = login_script(scratch.path())?;
    let (mut login_rounds, mut raw_verified, mut raw_secs) = (Vec::new(), 0u64, 0f64);
    for _ in 0..ROUNDS {
        login_rounds.push(wrk::run(&Run {
            url: &format!("{}/api/auth/login", server.base),
            threads: 2,
            connections: 8,
            seconds: o.round_seconds(),
            headers: vec![],
            script: Some(&script),
            cpus: None,
        })?);
        let (n, secs) = raw_argon2_verifications(o.round_seconds())?;
        raw_verified += n;
        raw_secs += secs;
    }
    let login_load = Load::merge(&login_rounds);
    let raw = raw_verified as f64 / raw_secs.max(f64::EPSILON);
    report.load("password logins POST /api/auth/login", &login_load);
    report.line(format!(
        "raw argon2id verifications (all cores, one reused buffer per core, m=19 MiB, t=2, p=1): {raw:.1}/s"
    ));

    // c) Login storm on every core while session checks run.
    eprintln!("bench: c) login storm with session checks");
    let storm_url = format!("{}/api/auth/login", server.base);
    let storm_script = script.clone();
    let seconds = o.seconds;
    let storm = std::thread::spawn(move || {
        wrk::run(&Run {
            url: &storm_url,
            threads: 1,
            connections: 16,
            seconds,
            headers: vec![],
            script: Some(&storm_script),
            cpus: None,
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    let loaded = check(
        &format!("{}/api/sessions", server.base),
        &headers,
        o.seconds.saturating_sub(1).max(1),
        None,
    )?;
    let storm_load = storm
        .join()
        .map_err(|_| anyhow::anyhow!("storm thread panicked"))??;
    report.load("session check during a login storm", &loaded);
    report.load("logins during the storm", &storm_load);
    // e) v2 token mints (trusted authentication), ThoughtSpot v1 logins, attribute reads.
    eprintln!("bench: e) v2 token/full, ThoughtSpot v1 logins, attribute GETs");
    let mint = mint_load(&server.base, scratch.path(), &key, o.seconds)?;
    report.load("v2 token/full mints (secret key)", &mint);
    let ts_script = write_script(
        scratch.path(),
        "tslogin.lua",
        &format!(
            "wrk.method = \"POST\"\nwrk.body = \"username=administrator&password={ADMIN_PASSWORD}&rememberme=false\"\n\
             wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.headers[\"X-Requested-By\"] = \"ThoughtSpot\"\n"
        ),
    )?;
    let ts_login = wrk::run(&Run {
        url: &format!("{}/callosum/v1/tspublic/v1/session/login", server.base),
        threads: 2,
        connections: 8,
        seconds: o.seconds,
        headers: vec![],
        script: Some(&ts_script),
        cpus: None,
    })?;
    report.load("ThoughtSpot v1 logins (password)", &ts_login);
    let (project, attribute) = seed::attribute(&vestibule, &data_arg, &env, &server.base, &headers).await?;
    let mut attr_headers = headers.clone();
    attr_headers.push(format!("X-MSTR-ProjectID: {project}"));
    let attr_load = wrk::run(&Run {
        url: &format!(
            "{}/api/model/attributes/{attribute}?showExpressionAs=tree",
            server.base
        ),
        threads: 2,
        connections: 64,
        seconds: o.seconds,
        headers: attr_headers,
        script: None,
        cpus: None,
    })?;
    report.load("attribute GET /api/model/attributes/{id}", &attr_load);
    // g') Session checks while slow clients hold connections: trickling headers, idling.
    eprintln!("bench: g') session check with 200 trickling and 200 idle connections");
    let slow = slow::SlowClients::start(server.base.trim_start_matches("http://"), 200, 200);
    std::thread::sleep(Duration::from_millis(500));
    let slowed = check(
        &format!("{}/api/sessions", server.base),
        &headers,
        o.seconds,
        None,
    )?;
    let reopened = slow.closed.load(std::sync::atomic::Ordering::Relaxed);
    drop(slow);
    report.load("session check with 400 slow connections", &slowed);
    report.line(format!(
        "g') 200 connections trickled a header a byte per 200 ms and 200 sat idle after one request, \
         re-opened whenever the server closed them ({reopened} closed during the run, with the \
         defaults: header timeout 10 s, idle 60 s)"
    ));
    for (name, l) in [
        ("v2 token/full", &mint),
        ("ThoughtSpot v1 login", &ts_login),
        ("attribute GET", &attr_load),
        ("session check with slow clients", &slowed),
    ] {
        if l.errors > 0 {
            bail!("{name} answered {} errors", l.errors);
        }
    }
    drop(server);

    // d) and j) Memory per live session, in memory and in Redis.
    eprintln!(
        "bench: d) and j) memory with {} and {} sessions, and in Redis",
        o.sessions,
        10 * o.sessions
    );
    let mut memory_report = Report::default();
    memory_figures(&o, &mut memory_report).await?;
    // i) A restart with that many live sessions in the embedded store, and one after a SIGKILL.
    eprintln!("bench: i) restart with {} sessions", o.sessions);
    let restarted = restart::measure(&vestibule, o.sessions, ADMIN_PASSWORD).await?;
    for line in restart_lines(&restarted) {
        report.line(line);
    }
    report.line(format!(
        "server RSS at start, no sessions: {:.1} MiB",
        idle_rss as f64 / 1048576.0
    ));

    // f) The Redis-backed session check.
    let redis_ratio = redis_figure(&o, &vestibule, scratch.path(), unloaded, &mut report).await?;

    // h) Single sign-on, in-process, with no server running.
    eprintln!("bench: h) ID-token and SAML response verifications");
    let mut sso_report = Report::default();
    sso_figures(&o, &mut sso_report).await?;

    // The targets of issue 20: ratios within this run.
    a_figures(&mut report, &base_load, &check_load);
    if let Some((b, c)) = &shared {
        report.figure(Figure::new(
            "a) cores shared with wrk: check / hello-world",
            c.rps / b.rps,
            "reported",
        ));
        report.figure(Figure::new(
            "a) cores shared with wrk: check p99 (ms)",
            c.p99_ms,
            "reported",
        ));
    }
    report.figure(Figure::new(
        "b) logins / raw argon2id",
        login_load.rps / raw,
        ">= 0.95",
    ));
    report.figure(Figure::new(
        "c) session check under login storm / unloaded",
        loaded.rps / unloaded.rps,
        ">= 0.85",
    ));
    report.figure(Figure::new(
        "c) session check p99 under storm (ms)",
        loaded.p99_ms,
        "reported",
    ));
    report.append(memory_report);
    mint_figures(&mut report, &mint, unloaded_hello);
    report.figure(Figure::new(
        "e) ThoughtSpot v1 logins per second",
        ts_login.rps,
        "reported",
    ));
    report.figure(Figure::new(
        "e) attribute GETs / session checks, req/s",
        attr_load.rps / unloaded.rps,
        ">= 0.5",
    ));
    report.figure(Figure::new(
        "e) attribute GETs per second",
        attr_load.rps,
        "reported",
    ));
    redis_ratio_figure(&mut report, redis_ratio);
    open_loop_figures(&mut report, &open);
    report.figure(Figure::new(
        "g') session check with 400 slow connections / unloaded",
        slowed.rps / unloaded.rps,
        "reported",
    ));
    report.figure(Figure::new(
        "g') session check p99 with slow connections (ms)",
        slowed.p99_ms,
        "reported",
    ));
    report.append(sso_report);
    report.figure(Figure::new(
        "i) serve to first session check with the sessions of d) (s)",
        restarted.cold.first_check.as_secs_f64(),
        "<= 2",
    ));
    report.figure(Figure::new(
        "i) the same after a SIGKILL under logins (s)",
        restarted.after_kill.first_check.as_secs_f64(),
        "<= 2",
    ));
    report.line(format!(
        "e) mints are judged against the hello-world and attribute GETs against the session check \
         with every core shared ({:.0} and {:.0} req/s), the arrangement their loads run in; f) \
         against that session check too",
        unloaded_hello.rps, unloaded.rps
    ));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    report.write(&root)?;
    report.print_ratios();
    Ok(())
}
