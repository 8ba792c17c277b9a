//! The process's tracing subscriber: the log filter, standard error, one of the two line formats
//! and the request spans, installed once by the binary.

use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use super::context::RequestSpans;
use super::format;

/// The target of the lines the binary writes while it starts (the listening address, the first
/// start's administrator): always let through, so a script finds the address at any level.
pub const START_TARGET: &str = "vestibule::start";

/// The two log line formats (`log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `TIMESTAMP LEVEL request{…}: target: message fields`, as tracing-subscriber's full format.
    Text,
    /// One JSON object a line, as tracing-subscriber's JSON format.
    Json,
}

/// Checks a `log.level` filter as the subscriber would read it, so a filter that does not parse
/// stops `check-config` and `serve` instead of being ignored: each comma-separated directive is
/// `LEVEL`, `TARGET=LEVEL` or tracing's span form, and a bare word must be a level (a bare
/// `verbose` would otherwise be read as a target and log nothing).
pub fn check_log_filter(filter: &str) -> Result<(), String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !directive.contains(['=', '[', '{']);
        if bare && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "log.level: '{directive}' is not a level (one of {}); a target needs one, as in {directive}=debug",
                LEVELS.join(", ")
            ));
        }
        directive
            .parse::<tracing_subscriber::filter::Directive>()
            .map_err(|e| format!("log.level: '{directive}' is not a log filter directive: {e}"))?;
    }
    Ok(())
}

/// Installs the process's subscriber: lines at `level` (a tracing filter such as `info` or
/// `vestibule=debug,sqlx=warn`; `RUST_LOG` overrides it) to standard error in `format`, each
/// naming the request it is written for. A second call, or one after another subscriber was
/// installed, changes nothing.
pub fn install_logging(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // Start-up lines (the listening address, the first start) are written whatever the filter.
    let filter = match format!("{START_TARGET}=info").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    // Colour codes only on a terminal: in a file or a pipe they would garble every line.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // tracing-subscriber's formats, plus the request a line is written for (see `format`), and
    // the request as a span for code that carries the current span to another thread.
    let _ = match format {
        LogFormat::Json => {
            let subscriber = builder.json().event_format(format::Json::default()).finish();
            RequestSpans::new(subscriber).try_init()
        }
        LogFormat::Text => {
            let subscriber = builder.event_format(format::Text::default()).finish();
            RequestSpans::new(subscriber).try_init()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::check_log_filter;

    #[test]
    fn log_filters_are_checked() {
        for ok in [
            "info",
            "INFO",
            "info,vestibule=debug,sqlx=warn",
            "warn,",
            "off",
            "vestibule[request]=debug",
        ] {
            assert!(check_log_filter(ok).is_ok(), "{ok}: {:?}", check_log_filter(ok));
        }
        for bad in ["info,,=foo[[", "verbose", "vestibule=loud", "=", "info,x=[["] {
            let e = check_log_filter(bad).expect_err(bad);
            assert!(e.starts_with("log.level: "), "{bad}: {e}");
            assert!(!e.contains('\n'), "{bad}: one line: {e}");
        }
    }
}
