//! Which cores the server and the load generator get for figure a).
//!
//! When wrk and the server share every core, the scheduler preempts the server's worker threads
//! whenever a wrk thread wakes; `perf sched latency` showed each preemption holding a worker off
//! its core for 3 ms on average, with every connection queued on that worker waiting too. That tail
//! belongs to the co-located load generator, not to the server. So figure a) gives the servers
//! (hello-world and vestibule alike) some cores and wrk the others, as a benchmark on separate
//! machines would; a server started on fewer cores runs as many workers as it has cores, by its own
//! defaults. The shared-core figures are measured and reported as well.

use std::process::Command;

/// CPU ids as `taskset -c` takes them, for the servers and for the load generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub server: String,
    pub load: String,
}

/// Parses a kernel CPU list such as `0-3,6,8-9`.
fn parse_list(list: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => {
                if let Ok(c) = part.trim().parse() {
                    cpus.push(c);
                }
            }
        }
    }
    cpus
}

/// The split of `cpus`: wrk (two threads) gets the last core, or the last two from four cores up;
/// the servers get the rest. `None` with a single core (nothing to split).
fn split_of(cpus: &[usize]) -> Option<Split> {
    let load = match cpus.len() {
        0 | 1 => return None,
        2 | 3 => 1,
        _ => 2,
    };
    let (server, load) = cpus.split_at(cpus.len() - load);
    let join = |c: &[usize]| c.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    Some(Split {
        server: join(server),
        load: join(load),
    })
}

/// The split of the cores this process may run on, when `taskset` is there to apply it.
pub fn split() -> Option<Split> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
    let has_taskset = Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    has_taskset.then(|| split_of(&parse_list(list))).flatten()
}

/// `program` run on `cpus` (through `taskset`), or as it is without a split.
pub fn command(program: impl AsRef<std::ffi::OsStr>, cpus: Option<&str>) -> Command {
    match cpus {
        Some(c) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(c).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Pins the calling thread to `cpus` (through `taskset -p` on its thread id), as `command` pins
/// a child process: the open-loop generator (figure g) runs in this process, on wrk's cores.
pub fn pin_this_thread(cpus: &str) -> anyhow::Result<()> {
    // `/proc/thread-self` links to `PID/task/TID`.
    let link = std::fs::read_link("/proc/thread-self")?;
    let tid = link
        .file_name()
        .and_then(|t| t.to_str())
        .ok_or_else(|| anyhow::anyhow!("no thread id in {}", link.display()))?
        .to_string();
    let out = Command::new("taskset").args(["-pc", cpus, &tid]).output()?;
    if !out.status.success() {
        anyhow::bail!(
            "taskset -pc {cpus} {tid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kernel_cpu_lists() {
        assert_eq!(parse_list("0-1\n"), vec![0, 1]);
        assert_eq!(parse_list("0-3,6,8-9"), vec![0, 1, 2, 3, 6, 8, 9]);
        assert_eq!(parse_list(""), Vec::<usize>::new());
    }

    #[test]
    fn wrk_gets_the_last_cores() {
        assert_eq!(split_of(&[0]), None);
        let two = split_of(&[0, 1]).unwrap();
        assert_eq!((two.server.as_str(), two.load.as_str()), ("0", "1"));
        let eight = split_of(&[0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        assert_eq!(eight.server, "0,1,2,3,4,5");
        assert_eq!(eight.load, "6,7");
    }
}
