//! Runs wrk and reads its summary: requests per second and latency percentiles, and the latency
//! distribution (through a `done` hook) so that rounds of one load can be merged into the
//! percentiles of all their requests.

use std::io::Write;

use anyhow::{bail, Context};

#[derive(Debug, Clone, Default)]
pub struct Load {
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    /// From the distribution hook (wrk's own summary stops at 99 %); 0 without it.
    pub p999_ms: f64,
    pub requests: u64,
    pub errors: u64,
    /// The latency distribution as (percentile, ms) points, ascending; empty if wrk printed none.
    pub dist: Vec<(f64, f64)>,
}

/// Appended to every wrk script: prints the latency at 1 %, 2 %, ... 99 %, then in tenths up to
/// 99.9 %, 99.99 % and the maximum, in microseconds.
const DIST_HOOK: &str = r#"
done = function(summary, latency, requests)
  local function out(p, us) io.write(string.format("vestibule-pct %.2f %d\n", p, us)) end
  for p = 1, 99 do out(p, latency:percentile(p)) end
  for i = 1, 9 do out(99 + i / 10, latency:percentile(99 + i / 10)) end
  out(99.99, latency:percentile(99.99))
  out(100, latency.max)
end
"#;

pub struct Run<'a> {
    pub url: &'a str,
    pub threads: u32,
    pub connections: u32,
    pub seconds: u32,
    pub headers: Vec<String>,
    pub script: Option<&'a str>,
    /// The cores wrk runs on (`taskset -c`), or all of them.
    pub cpus: Option<&'a str>,
}

fn ms(value: &str) -> Option<f64> {
    let (num, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

pub fn parse(out: &str) -> anyhow::Result<Load> {
    let mut load = Load::default();
    for line in out.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("50%"), Some(v)) => load.p50_ms = ms(v).unwrap_or(0.0),
            (Some("90%"), Some(v)) => load.p90_ms = ms(v).unwrap_or(0.0),
            (Some("99%"), Some(v)) => load.p99_ms = ms(v).unwrap_or(0.0),
            (Some("Requests/sec:"), Some(v)) => load.rps = v.parse().unwrap_or(0.0),
            (Some("vestibule-pct"), Some(p)) => {
                if let (Ok(p), Some(Ok(us))) = (p.parse::<f64>(), words.next().map(str::parse::<f64>)) {
                    load.dist.push((p, us / 1000.0));
                }
            }
            (Some(n), Some("requests")) => load.requests = n.parse().unwrap_or(0),
            (Some("Non-2xx"), _) => {
                load.errors += line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0)
            }
            (Some("Socket"), Some("errors:")) => {
                load.errors += line
                    .split(',')
                    .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    if load.rps == 0.0 {
        bail!("wrk printed no request rate:\n{out}");
    }
    if let Some(&(_, ms)) = load.dist.iter().find(|(p, _)| (p - 99.9).abs() < 1e-6) {
        load.p999_ms = ms;
    }
    Ok(load)
}

pub fn run(r: &Run) -> anyhow::Result<Load> {
    let mut cmd = crate::cores::command("wrk", r.cpus);
    cmd.arg(format!("-t{}", r.threads))
        .arg(format!("-c{}", r.connections))
        .arg(format!("-d{}s", r.seconds))
        .arg("--latency");
    for h in &r.headers {
        cmd.arg("-H").arg(h);
    }
    // The run's own script (if any) with the distribution hook after it; kept until wrk is done.
    let mut script = tempfile::Builder::new().suffix(".lua").tempfile()?;
    if let Some(s) = r.script {
        script.write_all(&std::fs::read(s).with_context(|| format!("reading {s}"))?)?;
    }
    script.write_all(DIST_HOOK.as_bytes())?;
    script.flush()?;
    cmd.arg("-s").arg(script.path());
    cmd.arg(r.url);
    let out = cmd
        .output()
        .context("running wrk (install it: apt-get install wrk)")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// The share (in percent) of a round's requests answered within `x` ms, read off its distribution
/// by linear interpolation between its points (from 0 % at 0 ms).
fn share_within(dist: &[(f64, f64)], x: f64) -> f64 {
    let mut prev = (0.0, 0.0);
    for &(p, ms) in dist {
        if x < ms {
            let span = ms - prev.1;
            return if span > 0.0 {
                prev.0 + (p - prev.0) * (x - prev.1) / span
            } else {
                prev.0
            };
        }
        prev = (p, ms);
    }
    100.0
}

/// The `q` percentile of all the rounds' requests together: the latency within which `q` % of
/// them were answered, each round weighing by its number of requests (bisection on the merged
/// distribution). `None` when a round has no distribution.
fn union_percentile(rounds: &[Load], q: f64) -> Option<f64> {
    if rounds.is_empty() || rounds.iter().any(|l| l.dist.is_empty()) {
        return None;
    }
    let total = rounds.iter().map(|l| l.requests as f64).sum::<f64>().max(1.0);
    let share = |x: f64| {
        rounds
            .iter()
            .map(|l| share_within(&l.dist, x) * l.requests as f64)
            .sum::<f64>()
            / total
    };
    let (mut lo, mut hi) = (
        0.0,
        rounds
            .iter()
            .filter_map(|l| l.dist.last())
            .map(|d| d.1)
            .fold(0.0, f64::max),
    );
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if share(mid) >= q {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

impl Load {
    /// One load from rounds of the same load, run at different times: requests per second over
    /// all the rounds' time, and each percentile that of all the rounds' requests together (the
    /// request-weighted mean of the rounds' percentiles if wrk gave no distribution).
    pub fn merge(rounds: &[Load]) -> Load {
        let requests: u64 = rounds.iter().map(|l| l.requests).sum();
        let secs: f64 = rounds
            .iter()
            .filter(|l| l.rps > 0.0)
            .map(|l| l.requests as f64 / l.rps)
            .sum();
        let weighted = |f: fn(&Load) -> f64| {
            rounds.iter().map(|l| f(l) * l.requests as f64).sum::<f64>() / (requests.max(1) as f64)
        };
        let percentile =
            |q: f64, f: fn(&Load) -> f64| union_percentile(rounds, q).unwrap_or_else(|| weighted(f));
        Load {
            rps: if secs > 0.0 { requests as f64 / secs } else { 0.0 },
            p50_ms: percentile(50.0, |l| l.p50_ms),
            p90_ms: percentile(90.0, |l| l.p90_ms),
            p99_ms: percentile(99.0, |l| l.p99_ms),
            p999_ms: percentile(99.9, |l| l.p999_ms),
            requests,
            errors: rounds.iter().map(|l| l.errors).sum(),
            dist: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_summary() {
        let out = "Running 2s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\n  Latency Distribution\n     50%  311.00us\n     75%  400.00us\n     90%  500.00us\n     99%    1.20ms\n  123456 requests in 10.00s, 1.00MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  12345.67\nTransfer/sec: 1MB\n";
        let l = parse(out).unwrap();
        assert_eq!(l.rps, 12345.67);
        assert!((l.p50_ms - 0.311).abs() < 1e-9);
        assert_eq!(l.p99_ms, 1.2);
        assert_eq!(l.requests, 123456);
        assert_eq!(l.errors, 3);
        assert!(parse("nothing").is_err());
    }

    #[test]
    fn merges_rounds_by_time_and_requests() {
        let round = |rps: f64, requests: u64, p99_ms: f64| Load {
            rps,
            p50_ms: p99_ms / 4.0,
            p90_ms: p99_ms / 2.0,
            p99_ms,
            p999_ms: p99_ms,
            requests,
            errors: 1,
            dist: Vec::new(),
        };
        // 1000 requests in 1 s, then 3000 in 1 s: 2000/s over the 2 s.
        let m = Load::merge(&[round(1000.0, 1000, 4.0), round(3000.0, 3000, 2.0)]);
        assert!((m.rps - 2000.0).abs() < 1e-9);
        assert!((m.p99_ms - 2.5).abs() < 1e-9);
        assert_eq!((m.requests, m.errors), (4000, 2));
    }

    /// A round whose requests take `fast` ms, except the slowest `slow_pct` % which take `slow` ms.
    fn round_with(requests: u64, fast: f64, slow: f64, slow_pct: f64) -> Load {
        let mut dist: Vec<(f64, f64)> = (1..=99)
            .map(f64::from)
            .chain((1..=9).map(|i| 99.0 + f64::from(i) / 10.0))
            .chain([99.99, 100.0])
            .map(|p| (p, if p <= 100.0 - slow_pct { fast } else { slow }))
            .collect();
        dist.dedup();
        Load {
            rps: requests as f64,
            requests,
            dist,
            ..Load::default()
        }
    }

    #[test]
    fn reads_the_distribution_hook() {
        let out = "  1000 requests in 1.00s, 1.00MB read\nRequests/sec:  1000.00\nvestibule-pct 50.00 400\nvestibule-pct 99.00 1500\nvestibule-pct 99.90 4000\nvestibule-pct 100.00 9000\n";
        let l = parse(out).unwrap();
        assert_eq!(l.dist, vec![(50.0, 0.4), (99.0, 1.5), (99.9, 4.0), (100.0, 9.0)]);
        assert_eq!(l.p999_ms, 4.0);
        assert!((share_within(&l.dist, 0.2) - 25.0).abs() < 1e-9);
        assert!((share_within(&l.dist, 1.5) - 99.0).abs() < 1e-9);
        assert_eq!(share_within(&l.dist, 10.0), 100.0);
    }

    #[test]
    fn percentiles_of_rounds_are_those_of_all_their_requests() {
        // One round in three has 2 % slow requests: 0.67 % of all requests are slow, so the p99 of
        // all of them is fast, although the mean of the rounds' p99s would be 4 ms.
        let rounds = [
            round_with(1000, 1.0, 10.0, 0.0),
            round_with(1000, 1.0, 10.0, 2.0),
            round_with(1000, 1.0, 10.0, 0.0),
        ];
        let m = Load::merge(&rounds);
        assert!(m.p99_ms <= 1.0 + 1e-6, "p99 {}", m.p99_ms);
        assert!(m.p50_ms <= 1.0 + 1e-6);
        // When 2 % of all requests are slow, the p99 is slow.
        let rounds = [round_with(1000, 1.0, 10.0, 2.0), round_with(3000, 1.0, 10.0, 2.0)];
        let m = Load::merge(&rounds);
        assert!(m.p99_ms > 9.0, "p99 {}", m.p99_ms);
        assert!(m.p999_ms > 9.0, "p99.9 {}", m.p999_ms);
        // A round without a distribution falls back to the weighted mean of the percentiles.
        let mut bare = round_with(1000, 1.0, 10.0, 0.0);
        bare.dist.clear();
        bare.p99_ms = 3.0;
        let m = Load::merge(&[bare, round_with(1000, 1.0, 10.0, 0.0)]);
        assert!((m.p99_ms - 1.5).abs() < 1e-9, "p99 {}", m.p99_ms);
    }
}
