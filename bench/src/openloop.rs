//! Figure g): latency without coordinated omission. wrk is closed-loop: a connection sends its
//! next request only when the last one is answered, so while a server stalls it is sent nothing,
//! and the requests that would have been sent meanwhile are never measured. This generator is
//! open-loop, as wrk2 is: every request has an intended send time on a fixed schedule (the rate
//! spread evenly over the connections), and its latency counts from that time. A connection that
//! is still waiting when its next request is due sends it as soon as it can, and that request's
//! latency includes the wait, so a stall counts against every request scheduled during it.
//!
//! Requests go over keep-alive HTTP/1.1 connections (raw TCP: the request bytes are written
//! whole, the answer is read up to its `Content-Length`), on current-thread runtimes pinned to
//! the load generator's cores (`cores.rs`). Timers have millisecond granularity, so a connection
//! sleeps until shortly before its next send and then yields until it is due. How late the sends
//! were is reported beside the latencies: a send is late when its connection still waits for a
//! late answer (the server's delay, which the correction charges) or when the generator itself is
//! behind; the lag alone does not tell which (with the server idle it is the generator's own).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What to load: `addr` is host:port, `path` the request target, `headers` "Name: value" lines.
pub struct Target<'a> {
    pub addr: &'a str,
    pub path: &'a str,
    pub headers: &'a [String],
}

pub struct Spec {
    /// Requests per second, over all connections.
    pub rate: f64,
    pub connections: usize,
    pub seconds: f64,
    /// Runtimes (one thread each) the connections are spread over.
    pub threads: usize,
    /// The cores the generator's threads run on (`taskset -c` syntax), or any.
    pub cpus: Option<String>,
}

/// Latencies measured from each request's intended send time, in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct OpenLoad {
    pub rate: f64,
    /// Answers per second, from the first due time to the last answer.
    pub achieved: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// The p99 of how late requests were sent after they were due (their connection still busy
    /// with a late answer, or the generator behind).
    pub send_lag_p99_ms: f64,
    pub requests: u64,
    pub errors: u64,
}

impl OpenLoad {
    /// As a wrk-style load, for the tables and the chart.
    pub fn as_load(&self) -> crate::wrk::Load {
        crate::wrk::Load {
            rps: self.achieved,
            p50_ms: self.p50_ms,
            p90_ms: self.p90_ms,
            p99_ms: self.p99_ms,
            p999_ms: self.p999_ms,
            requests: self.requests,
            errors: self.errors,
            dist: Vec::new(),
        }
    }
}

/// When one connection's requests are due: connection `c` of `C` at a total rate `R` sends its
/// `i`-th request at `c/R + i·C/R` seconds after the start, so the connections interleave evenly.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    phase_ns: f64,
    interval_ns: f64,
}

impl Schedule {
    fn of(connection: usize, connections: usize, rate: f64) -> Schedule {
        let gap = 1e9 / rate;
        Schedule {
            phase_ns: connection as f64 * gap,
            interval_ns: connections as f64 * gap,
        }
    }

    /// The intended send time of request `i`, from the start.
    fn at(&self, i: u64) -> Duration {
        Duration::from_nanos((self.phase_ns + i as f64 * self.interval_ns) as u64)
    }
}

/// One connection's measurements, in nanoseconds.
#[derive(Debug, Default)]
struct Recorder {
    /// From the intended send time to the answer: the latency a user arriving on schedule saw.
    latency: Vec<u64>,
    /// From the intended send time to the actual one.
    send_lag: Vec<u64>,
    last_done: Duration,
}

impl Recorder {
    /// Request `i` of `schedule`, sent at `sent` and answered at `done` (both from the start). Its
    /// latency counts from when it was due, not from when it was sent: that is the correction.
    fn record(&mut self, schedule: &Schedule, i: u64, sent: Duration, done: Duration) {
        let due = schedule.at(i);
        self.latency.push(done.saturating_sub(due).as_nanos() as u64);
        self.send_lag.push(sent.saturating_sub(due).as_nanos() as u64);
        self.last_done = self.last_done.max(done);
    }
}

/// The `p` percentile (nearest rank) of ascending `sorted` values; 0 for none.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    // Less a hair, so that 99.9 % of 1000 is rank 999 although 0.999 · 1000 rounds above it.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summarize(rate: f64, recorders: Vec<Recorder>, errors: u64) -> OpenLoad {
    let last_done = recorders.iter().map(|r| r.last_done).max().unwrap_or_default();
    let mut latency: Vec<u64> = recorders.iter().flat_map(|r| r.latency.iter().copied()).collect();
    let mut lag: Vec<u64> = recorders
        .iter()
        .flat_map(|r| r.send_lag.iter().copied())
        .collect();
    latency.sort_unstable();
    lag.sort_unstable();
    let ms = |ns: u64| ns as f64 / 1e6;
    let requests = latency.len() as u64;
    OpenLoad {
        rate,
        achieved: requests as f64 / last_done.as_secs_f64().max(f64::EPSILON),
        p50_ms: ms(percentile(&latency, 50.0)),
        p90_ms: ms(percentile(&latency, 90.0)),
        p99_ms: ms(percentile(&latency, 99.0)),
        p999_ms: ms(percentile(&latency, 99.9)),
        max_ms: ms(latency.last().copied().unwrap_or(0)),
        send_lag_p99_ms: ms(percentile(&lag, 99.0)),
        requests,
        errors,
    }
}

/// Sleeps until shortly before `t` (timers fire on millisecond ticks), then yields until it.
async fn wait_until(t: Instant) {
    const EARLY: Duration = Duration::from_millis(2);
    if t.saturating_duration_since(Instant::now()) > EARLY {
        tokio::time::sleep_until((t - EARLY).into()).await;
    }
    while Instant::now() < t {
        tokio::task::yield_now().await;
    }
}

/// The byte offset where the head of an answer ends (after its blank line).
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// The status and `Content-Length` of an answer's head.
fn parse_head(head: &[u8]) -> anyhow::Result<(u16, usize)> {
    let head = std::str::from_utf8(head).context("an answer head that is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("an answer without a status")?;
    let mut length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                bail!("a chunked answer (the generator reads Content-Length bodies only)");
            }
        }
    }
    match (length, status) {
        (Some(l), _) => Ok((status, l)),
        (None, 204 | 304) => Ok((status, 0)),
        (None, _) => bail!("an answer without Content-Length"),
    }
}

/// One request and its answer on a kept-alive connection; the answer's status.
async fn exchange(stream: &mut TcpStream, request: &[u8], buf: &mut Vec<u8>) -> anyhow::Result<u16> {
    stream.write_all(request).await?;
    buf.clear();
    loop {
        if stream.read_buf(buf).await? == 0 {
            bail!("the server closed the connection");
        }
        if let Some(end) = head_end(buf) {
            let (status, length) = parse_head(&buf[..end])?;
            while buf.len() < end + length {
                if stream.read_buf(buf).await? == 0 {
                    bail!("the server closed the connection mid-answer");
                }
            }
            return Ok(status);
        }
    }
}

async fn connect(addr: &str) -> anyhow::Result<TcpStream> {
    let s = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// One connection's share of the schedule, from `start` until `end`. Requests still unsent a
/// few seconds after the end (a server that stopped answering) are counted as errors.
async fn connection(
    addr: String,
    request: Arc<[u8]>,
    schedule: Schedule,
    start: Instant,
    end: Duration,
) -> anyhow::Result<(Recorder, u64)> {
    let give_up = end + Duration::from_secs(5);
    let mut stream = connect(&addr).await?;
    let mut rec = Recorder::default();
    let mut buf = Vec::with_capacity(4096);
    let mut errors = 0u64;
    let mut i = 0u64;
    while schedule.at(i) < end {
        if start.elapsed() > give_up {
            let left = (i..).take_while(|&j| schedule.at(j) < end).count();
            errors += left as u64;
            break;
        }
        wait_until(start + schedule.at(i)).await;
        let sent = start.elapsed();
        match exchange(&mut stream, &request, &mut buf).await {
            Ok(status) => {
                if status != 200 {
                    errors += 1;
                }
                rec.record(&schedule, i, sent, start.elapsed());
            }
            Err(_) => {
                errors += 1;
                stream = connect(&addr).await?;
            }
        }
        i += 1;
    }
    Ok((rec, errors))
}

/// Runs the schedule against `target`; blocks until it is done.
pub fn run(target: &Target, spec: &Spec) -> anyhow::Result<OpenLoad> {
    if spec.rate <= 0.0 || spec.connections == 0 {
        bail!("an open-loop load needs a rate and connections");
    }
    let mut request = format!("GET {} HTTP/1.1\r\nHost: {}\r\n", target.path, target.addr);
    for h in target.headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let request: Arc<[u8]> = request.into_bytes().into();
    let threads = spec.threads.clamp(1, spec.connections);
    let end = Duration::from_secs_f64(spec.seconds);
    // Every thread starts from the same instant, a little ahead so they are all ready.
    let start = Instant::now() + Duration::from_millis(200);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (request, addr, cpus) = (request.clone(), target.addr.to_string(), spec.cpus.clone());
            let (rate, connections) = (spec.rate, spec.connections);
            std::thread::spawn(move || -> anyhow::Result<(Vec<Recorder>, u64)> {
                if let Some(cpus) = &cpus {
                    crate::cores::pin_this_thread(cpus)?;
                }
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let mut set = tokio::task::JoinSet::new();
                    for c in (t..connections).step_by(threads) {
                        let schedule = Schedule::of(c, connections, rate);
                        set.spawn(connection(addr.clone(), request.clone(), schedule, start, end));
                    }
                    let (mut recs, mut errors) = (Vec::new(), 0);
                    while let Some(r) = set.join_next().await {
                        let (rec, e) = r??;
                        recs.push(rec);
                        errors += e;
                    }
                    Ok((recs, errors))
                })
            })
        })
        .collect();
    let (mut recs, mut errors) = (Vec::new(), 0);
    for h in handles {
        let (r, e) = h
            .join()
            .map_err(|_| anyhow::anyhow!("an open-loop thread panicked"))??;
        recs.extend(r);
        errors += e;
    }
    Ok(summarize(spec.rate, recs, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&v, 50.0), 500);
        assert_eq!(percentile(&v, 99.0), 990);
        assert_eq!(percentile(&v, 99.9), 999);
        assert_eq!(percentile(&v, 100.0), 1000);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[7], 99.9), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn connections_interleave_on_the_schedule() {
        // 1000/s over 4 connections: connection 1 sends at 1 ms, 5 ms, 9 ms, ...
        let s = Schedule::of(1, 4, 1000.0);
        assert_eq!(s.at(0), Duration::from_millis(1));
        assert_eq!(s.at(2), Duration::from_millis(9));
    }

    /// One connection at 1000 requests per second against a server that answers in 0.1 ms but
    /// stalls for 100 ms once: the generator (as `connection` does) sends each request when it
    /// is due or, if the last answer is late, as soon as that answer is in.
    fn stalled_run() -> Recorder {
        let schedule = Schedule::of(0, 1, 1000.0);
        let service = Duration::from_micros(100);
        let mut rec = Recorder::default();
        let mut free_at = Duration::ZERO;
        for i in 0..2000u64 {
            let sent = schedule.at(i).max(free_at);
            let stall = if i == 500 {
                Duration::from_millis(100)
            } else {
                Duration::ZERO
            };
            let done = sent + service + stall;
            rec.record(&schedule, i, sent, done);
            free_at = done;
        }
        rec
    }

    #[test]
    fn a_stall_counts_against_every_request_due_during_it() {
        let rec = stalled_run();
        let load = summarize(1000.0, vec![rec], 0);
        // The stall delays the ~100 requests due during it (5 % of 2000): measured from their
        // intended times they waited up to 100 ms, so the p99 is tens of milliseconds. Measured
        // from the actual sends (as a closed-loop generator does) only one request was slow and
        // the p99 would be 0.1 ms.
        assert!(load.p99_ms > 50.0, "p99 {} ms", load.p99_ms);
        assert!(load.max_ms >= 100.0, "max {} ms", load.max_ms);
        assert!((load.p50_ms - 0.1).abs() < 1e-6, "p50 {} ms", load.p50_ms);
        // The generator itself sent late only because the connection was busy: the lag is the
        // stall's, and none outside it.
        assert_eq!(load.requests, 2000);
    }

    #[test]
    fn without_a_stall_latency_is_the_service_time() {
        let schedule = Schedule::of(0, 1, 1000.0);
        let mut rec = Recorder::default();
        for i in 0..1000 {
            let sent = schedule.at(i) + Duration::from_micros(5);
            rec.record(&schedule, i, sent, sent + Duration::from_micros(200));
        }
        let load = summarize(1000.0, vec![rec], 0);
        assert!((load.p999_ms - 0.205).abs() < 1e-6, "p99.9 {} ms", load.p999_ms);
        assert!((load.send_lag_p99_ms - 0.005).abs() < 1e-6);
    }

    /// The generator against a real HTTP server (axum, as the hello-world baseline): every
    /// request on the schedule is sent and answered, and none is an error.
    #[test]
    fn answers_every_scheduled_request() -> anyhow::Result<()> {
        let rt = tokio::runtime::Runtime::new()?;
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?.to_string();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
        rt.spawn(async move { axum::serve(listener, app).await });
        let load = run(
            &Target {
                addr: &addr,
                path: "/",
                headers: &["X-Bench: 1".to_string()],
            },
            &Spec {
                rate: 400.0,
                connections: 4,
                seconds: 0.5,
                threads: 2,
                cpus: None,
            },
        )?;
        assert_eq!((load.requests, load.errors), (200, 0));
        Ok(())
    }

    #[test]
    fn reads_answer_heads() {
        let a = b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\ncontent-type: text/plain\r\n\r\nHello, World!";
        let end = head_end(a).unwrap();
        assert_eq!(parse_head(&a[..end]).unwrap(), (200, 13));
        assert_eq!(&a[end..], b"Hello, World!");
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
        assert_eq!(parse_head(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap(), (204, 0));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n"), None);
    }
}
