//! Telemetry: the log lines, the request ids, the access line and the metrics of a server, in one
//! place. Its public API is two calls:
//!
//! - [`install_logging`]: the process's tracing subscriber (the binary calls it once at start);
//! - [`instrument`]: wraps a router in the request observer and adds `/metrics`.
//!
//! Inside:
//! - `context`: the request a log line is written for (id, method, route), kept
//!   beside the request's future instead of in a tracing span, and the `request` span made on
//!   demand for code that carries the current span elsewhere;
//! - `observe`: the tower layer around every request: its id, its context, its access line and its
//!   metrics;
//! - `request_id`: the `x-request-id` a request is known by;
//! - `metrics`: the request counters and histograms and their Prometheus text, with the core's
//!   counters; `process`: the `process_*` metrics and the build; `endpoint`: the `/metrics` handler;
//! - `format`: the text and JSON line formats, which print the request context where
//!   tracing-subscriber printed a `request` span;
//! - `subscriber`: the subscriber [`install_logging`] installs.
//!
//! Nothing here logs headers, bodies or query strings: they carry passwords, tokens and secrets.

mod context;
pub(crate) mod endpoint;
mod format;
mod metrics;
mod observe;
mod process;
mod request_id;
mod subscriber;
mod trace_context;

pub use context::note_user;
pub use observe::instrument;
pub use subscriber::{check_log_filter, install_logging, LogFormat, START_TARGET};
