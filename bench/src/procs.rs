//! Starting the measured servers as child processes, and reading their memory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use anyhow::{anyhow, Context};

pub struct Server {
    pub base: String,
    child: Child,
}

impl Server {
    /// Starts `binary args…` (on `cpus` when given) and waits for its "listening on URL" line.
    pub fn start(
        binary: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        cpus: Option<&str>,
    ) -> anyhow::Result<Server> {
        let mut child = crate::cores::command(binary, cpus)
            .args(args)
            // No access line per request: the figures compare request paths, and stderr goes
            // nowhere here (docs/performance.md says so beside the figures).
            .env("VESTIBULE_LOG_ACCESS", "off")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some((_, url)) = line.trim_end().split_once("listening on ") {
                    let _ = tx.send(url.to_string());
                    break;
                }
                line.clear();
            }
            // The rest (the audit log, one line per login or mint) is drained in large reads, as a
            // log collector would, so that reading it costs the shared cores little.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| anyhow!("{} did not start", binary.display()))?;
        Ok(Server { base, child })
    }

    /// Resident set size in bytes, from /proc.
    pub fn rss(&self) -> anyhow::Result<u64> {
        rss_of(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_of(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS for {pid}"))?;
    Ok(kb * 1024)
}
