//! Runs wrk and reads its summary: requests per second and latency percentiles.

use std::process::Command;

use anyhow::{bail, Context};

#[derive(Debug, Clone, Default)]
pub struct Load {
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub errors: u64,
}

pub struct Run<'a> {
    pub url: &'a str,
    pub threads: u32,
    pub connections: u32,
    pub seconds: u32,
    pub headers: Vec<String>,
    pub script: Option<&'a str>,
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
    Ok(load)
}

pub fn run(r: &Run) -> anyhow::Result<Load> {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", r.threads))
        .arg(format!("-c{}", r.connections))
        .arg(format!("-d{}s", r.seconds))
        .arg("--latency");
    for h in &r.headers {
        cmd.arg("-H").arg(h);
    }
    if let Some(s) = r.script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(r.url);
    let out = cmd
        .output()
        .context("running wrk (install it: apt-get install wrk)")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

impl Load {
    /// One load from rounds of the same load, run at different times: requests per second over
    /// all the rounds' time, and each percentile as the request-weighted mean of the rounds'.
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
        Load {
            rps: if secs > 0.0 { requests as f64 / secs } else { 0.0 },
            p50_ms: weighted(|l| l.p50_ms),
            p90_ms: weighted(|l| l.p90_ms),
            p99_ms: weighted(|l| l.p99_ms),
            requests,
            errors: rounds.iter().map(|l| l.errors).sum(),
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
            requests,
            errors: 1,
        };
        // 1000 requests in 1 s, then 3000 in 1 s: 2000/s over the 2 s.
        let m = Load::merge(&[round(1000.0, 1000, 4.0), round(3000.0, 3000, 2.0)]);
        assert!((m.rps - 2000.0).abs() < 1e-9);
        assert!((m.p99_ms - 2.5).abs() < 1e-9);
        assert_eq!((m.requests, m.errors), (4000, 2));
    }
}
