//! The process's own metrics, named as Prometheus client libraries name them (`process_*`), and
//! `vestibule_build_info`. The `process_*` figures are read from `/proc/self` when `/metrics` is
//! asked; where there is no `/proc` (not Linux) they are left out.

use std::fmt::Write as _;

/// `vestibule_build_info{version,profile,os,arch} 1`: which build answers.
pub fn render_build(out: &mut String) {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    out.push_str("# HELP vestibule_build_info The running build: version, profile, OS and architecture.\n");
    out.push_str("# TYPE vestibule_build_info gauge\n");
    let _ = writeln!(
        out,
        "vestibule_build_info{{version=\"{}\",profile=\"{profile}\",os=\"{}\",arch=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
    );
}

/// What `/proc/self/stat` and the process's limits say.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    cpu_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    threads: u64,
    start_time_seconds: f64,
    open_fds: Option<u64>,
    max_fds: Option<u64>,
}

/// The `process_*` metrics; nothing where `/proc/self` cannot be read.
pub fn render_process(out: &mut String) {
    let Some(r) = read() else {
        return;
    };
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    };
    metric(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        format!("{:.2}", r.cpu_seconds),
    );
    metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        r.resident_bytes.to_string(),
    );
    metric(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        r.virtual_bytes.to_string(),
    );
    metric(
        "process_threads",
        "gauge",
        "Number of OS threads in the process.",
        r.threads.to_string(),
    );
    metric(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        format!("{:.2}", r.start_time_seconds),
    );
    if let Some(n) = r.open_fds {
        metric(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            n.to_string(),
        );
    }
    if let Some(n) = r.max_fds {
        metric(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            n.to_string(),
        );
    }
}

#[cfg(not(unix))]
fn read() -> Option<Reading> {
    None
}

#[cfg(unix)]
fn read() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot_time = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| boot_time(&s));
    let mut r = parse_stat(
        &stat,
        rustix::param::clock_ticks_per_second(),
        rustix::param::page_size() as u64,
        boot_time.unwrap_or(0),
    )?;
    r.open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64);
    r.max_fds = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    Some(r)
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
fn boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Reads `/proc/self/stat` (proc(5)): the fields after the command name, which is in parentheses
/// and may hold spaces and parentheses itself, so the split is at its last `)`.
fn parse_stat(stat: &str, ticks_per_second: u64, page_size: u64, boot_time: u64) -> Option<Reading> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name; proc(5) numbers them from 1.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Option<u64> { fields.get(n.checked_sub(3)?)?.parse().ok() };
    let ticks = ticks_per_second.max(1) as f64;
    let utime = field(14)?;
    let stime = field(15)?;
    let threads = field(20)?;
    let start_ticks = field(22)?;
    let vsize = field(23)?;
    let rss_pages = field(24)?;
    Some(Reading {
        cpu_seconds: (utime + stime) as f64 / ticks,
        resident_bytes: rss_pages.saturating_mul(page_size),
        virtual_bytes: vsize,
        threads,
        start_time_seconds: boot_time as f64 + start_ticks as f64 / ticks,
        open_fds: None,
        max_fds: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_past_a_name_with_spaces_and_parentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss …
        let stat = "4242 (vesti (bule) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    250 50 0 0 20 0 7 0 12345 104857600 2560 18446744073709551615";
        let r = parse_stat(stat, 100, 4096, 1_700_000_000).expect("parsed");
        assert_eq!(r.cpu_seconds, 3.0);
        assert_eq!(r.threads, 7);
        assert_eq!(r.virtual_bytes, 104_857_600);
        assert_eq!(r.resident_bytes, 2560 * 4096);
        assert_eq!(r.start_time_seconds, 1_700_000_123.45);
        assert_eq!(parse_stat("4242 (x) S 1 2", 100, 4096, 0), None, "too short");
        assert_eq!(parse_stat("no parenthesis", 100, 4096, 0), None);
    }

    #[test]
    fn the_boot_time_is_read_from_proc_stat() {
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        assert_eq!(boot_time("cpu 1\n"), None);
    }

    #[test]
    fn this_process_is_described() {
        let mut out = String::new();
        render_process(&mut out);
        render_build(&mut out);
        if cfg!(target_os = "linux") {
            for name in [
                "process_cpu_seconds_total ",
                "process_resident_memory_bytes ",
                "process_open_fds ",
                "process_max_fds ",
                "process_start_time_seconds ",
            ] {
                assert!(out.contains(&format!("\n{name}")), "{name} in {out}");
            }
        }
        assert!(out.contains("vestibule_build_info{version=\""), "{out}");
    }
}
