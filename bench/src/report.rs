//! The results: a markdown table, an SVG chart of throughput and latency, and the ratios printed
//! last on the terminal.

use std::fmt::Write as _;
use std::path::Path;

use crate::wrk::Load;

pub struct Figure {
    name: String,
    value: f64,
    target: String,
}

impl Figure {
    pub fn new(name: &str, value: f64, target: &str) -> Figure {
        Figure {
            name: name.into(),
            value,
            target: target.into(),
        }
    }

    fn met(&self) -> &'static str {
        let t = self.target.trim();
        let parse = |s: &str| s.trim().parse::<f64>().ok();
        let ok = if let Some(v) = t.strip_prefix(">=").and_then(parse) {
            self.value >= v
        } else if let Some(v) = t.strip_prefix("<=").and_then(parse) {
            self.value <= v
        } else if let Some(v) = t.strip_prefix('<').and_then(parse) {
            self.value < v
        } else {
            return "—";
        };
        if ok {
            "met"
        } else {
            "MISSED"
        }
    }
}

#[derive(Default)]
pub struct Report {
    loads: Vec<(String, Load)>,
    lines: Vec<String>,
    figures: Vec<Figure>,
}

impl Report {
    pub fn load(&mut self, name: &str, l: &Load) {
        self.loads.push((name.into(), l.clone()));
    }

    pub fn line(&mut self, s: String) {
        self.lines.push(s);
    }

    pub fn figure(&mut self, f: Figure) {
        self.figures.push(f);
    }

    /// `other`'s loads, lines and figures after this report's.
    pub fn append(&mut self, other: Report) {
        self.loads.extend(other.loads);
        self.lines.extend(other.lines);
        self.figures.extend(other.figures);
    }

    fn markdown(&self) -> String {
        let mut md = String::from("# vestibule benchmark results\n\n");
        let _ = writeln!(
            md,
            "Measured by `bash bench/run.sh` on {} cores; the load generators (wrk, and the open-loop generator of figure g) run on them too (for figures a) and g) on cores of their own, see below).\n",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
        );
        md.push_str("![throughput and latency](latest.svg)\n\n## Targets\n\n| figure | value | target | |\n|---|---:|---|---|\n");
        for f in &self.figures {
            let _ = writeln!(md, "| {} | {:.3} | {} | {} |", f.name, f.value, f.target, f.met());
        }
        md.push_str("\n## Loads\n\nThe g) loads are open-loop: req/s is the rate answered, latencies count from each request's intended send time.\n\n| load | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | requests | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (name, l) in &self.loads {
            let _ = writeln!(
                md,
                "| {name} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} |",
                l.rps, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.requests, l.errors
            );
        }
        md.push_str("\n## Other measurements\n\n");
        for line in &self.lines {
            let _ = writeln!(md, "- {line}");
        }
        md
    }

    /// Two bar charts side by side: requests per second, and p50/p99/p99.9 latency on a log scale
    /// (sub-millisecond checks and half-second logins under a storm share one chart).
    fn svg(&self) -> String {
        let rows = self.loads.len().max(1);
        let (w, row_h, top) = (1080.0, 28.0, 40.0);
        let h = top + row_h * rows as f64 + 30.0;
        let max_rps = self.loads.iter().map(|(_, l)| l.rps).fold(1.0, f64::max);
        let max_ms = self
            .loads
            .iter()
            .map(|(_, l)| l.p99_ms.max(l.p999_ms))
            .fold(0.001, f64::max);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"330\" y=\"20\" font-weight=\"bold\">requests/s</text>\n\
             <text x=\"660\" y=\"20\" font-weight=\"bold\">latency ms, log scale from 0.05 ms (p50 dark, p99 light, p99.9 lightest)</text>\n"
        );
        for (i, (name, l)) in self.loads.iter().enumerate() {
            let y = top + row_h * i as f64;
            let rps_w = 280.0 * l.rps / max_rps;
            let p50_w = log_width(l.p50_ms, max_ms);
            let p99_w = log_width(l.p99_ms, max_ms);
            let p999_w = log_width(l.p999_ms, max_ms).max(p99_w);
            let _ = write!(
                s,
                "<text x=\"4\" y=\"{ty}\">{name}</text>\n\
                 <rect x=\"330\" y=\"{y}\" width=\"{rps_w:.1}\" height=\"18\" fill=\"#4878a8\"/>\n\
                 <text x=\"{tx:.1}\" y=\"{ty}\">{rps:.0}</text>\n\
                 <rect x=\"660\" y=\"{y}\" width=\"{p999_w:.1}\" height=\"18\" fill=\"#f8dcb8\"/>\n\
                 <rect x=\"660\" y=\"{y}\" width=\"{p99_w:.1}\" height=\"18\" fill=\"#f0b070\"/>\n\
                 <rect x=\"660\" y=\"{y}\" width=\"{p50_w:.1}\" height=\"18\" fill=\"#c06010\"/>\n\
                 <text x=\"{tx2:.1}\" y=\"{ty}\">{p50:.2} / {p99:.2} / {p999:.2}</text>\n",
                ty = y + 13.0,
                tx = 334.0 + rps_w,
                rps = l.rps,
                tx2 = 664.0 + p999_w,
                p50 = l.p50_ms,
                p99 = l.p99_ms,
                p999 = l.p999_ms,
                name = name.replace('&', "&amp;").replace('<', "&lt;"),
            );
        }
        s.push_str("</svg>\n");
        s
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("latest.md"), self.markdown())?;
        std::fs::write(dir.join("latest.svg"), self.svg())?;
        Ok(())
    }

    /// The other measurements, for a run of one part that writes no report.
    pub fn print_lines(&self) {
        for line in &self.lines {
            println!("{line}");
        }
    }

    pub fn print_ratios(&self) {
        self.print_figures("vestibule benchmark (details in bench/results/latest.md):");
    }

    /// The figures of a run of one part (`VESTIBULE_BENCH_ONLY`), which writes no report.
    pub fn print_part_ratios(&self) {
        self.print_figures("vestibule benchmark, one part (bench/results is left as it was):");
    }

    fn print_figures(&self, header: &str) {
        println!("\n{header}");
        let width = self.figures.iter().map(|f| f.name.len()).max().unwrap_or(0);
        for f in &self.figures {
            println!(
                "  {:<width$} {:>10.3}   target {:<9} {}",
                f.name,
                f.value,
                f.target,
                f.met()
            );
        }
    }
}

/// A bar's width for `ms` on a log scale from 0.05 ms (width 0) to `max_ms` (280).
fn log_width(ms: f64, max_ms: f64) -> f64 {
    const FLOOR: f64 = 0.05;
    let span = (max_ms.max(FLOOR * 2.0) / FLOOR).ln();
    (280.0 * (ms.max(FLOOR) / FLOOR).ln() / span).clamp(0.0, 280.0)
}
