//! The two log line formats, text and JSON, with the request a line is written for.
//!
//! A request is not entered as a tracing span (that would cost every request at the default level
//! `info`, see [`super::context`]), so these formatters print the current request context exactly
//! where tracing-subscriber's own formatters (`Format<Full>` and `Format<Json>` of the version the
//! workspace pins, whose output they reproduce byte for byte) print a
//! `request{request_id, method, route}` span: as the outermost span of every line written while
//! the request is served. Any real span a line is written in follows it, as a child of a request
//! span would (a span made outside the request and entered inside it is printed after the request
//! too). Lines written inside the request span itself, made on demand for code that carries the
//! current span to another thread, print that span and not the context a second time. The unit
//! tests below compare both formatters with tracing-subscriber's own, run over a real `request`
//! span, line for line.

use std::fmt;
use std::io;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::context::{self as log_context, RequestContext};

/// The request context is printed as a span of this name, the name of the span it stands for.
const REQUEST: &str = "request";

/// The text format: `TIMESTAMP LEVEL request{request_id="…" method=GET route=/x}: target: fields`.
#[derive(Debug)]
pub struct Text<T = SystemTime> {
    timer: T,
}

/// The JSON format: `{"timestamp", "level", "fields", "target", "span", "spans"}`, one object a line.
#[derive(Debug)]
pub struct Json<T = SystemTime> {
    timer: T,
}

/// With the system clock, as tracing-subscriber's formats.
impl Default for Text {
    fn default() -> Self {
        Text { timer: SystemTime }
    }
}

impl Default for Json {
    fn default() -> Self {
        Json { timer: SystemTime }
    }
}

// === text ===

const RESET: &str = "\x1b[0m";

/// One ANSI style, or none when the writer takes no escape codes (as nu-ansi-term paints them).
#[derive(Clone, Copy)]
struct Style(Option<&'static str>);

impl Style {
    const BOLD: &'static str = "\x1b[1m";
    const DIMMED: &'static str = "\x1b[2m";
    const ITALIC: &'static str = "\x1b[3m";

    fn new(ansi: bool, prefix: &'static str) -> Self {
        Style(ansi.then_some(prefix))
    }

    fn paint(self, w: &mut Writer<'_>, text: impl fmt::Display) -> fmt::Result {
        match self.0 {
            Some(prefix) => write!(w, "{prefix}{text}{RESET}"),
            None => write!(w, "{text}"),
        }
    }
}

/// The level, five characters wide, coloured on a terminal.
fn write_level(w: &mut Writer<'_>, level: &Level, ansi: bool) -> fmt::Result {
    let (text, colour) = match *level {
        Level::TRACE => ("TRACE", "\x1b[35m"),
        Level::DEBUG => ("DEBUG", "\x1b[34m"),
        Level::INFO => (" INFO", "\x1b[32m"),
        Level::WARN => (" WARN", "\x1b[33m"),
        Level::ERROR => ("ERROR", "\x1b[31m"),
    };
    Style::new(ansi, colour).paint(w, text)
}

/// `request{request_id="…" method=GET route=/x}:`, as tracing-subscriber's default field
/// formatter wrote the span's fields (`request_id` as a `&str` is quoted and escaped by `Debug`;
/// the method and route were recorded with `%`, so they are written as they are).
fn write_request_text(w: &mut Writer<'_>, request: &RequestContext) -> fmt::Result {
    let ansi = w.has_ansi_escapes();
    let bold = Style::new(ansi, Style::BOLD);
    let dimmed = Style::new(ansi, Style::DIMMED);
    let italic = Style::new(ansi, Style::ITALIC);
    bold.paint(w, REQUEST)?;
    bold.paint(w, "{")?;
    italic.paint(w, "request_id")?;
    dimmed.paint(w, "=")?;
    write!(w, "{:?} ", request.request_id())?;
    italic.paint(w, "method")?;
    dimmed.paint(w, "=")?;
    write!(w, "{} ", request.method())?;
    italic.paint(w, "route")?;
    dimmed.paint(w, "=")?;
    w.write_str(request.route())?;
    bold.paint(w, "}")?;
    dimmed.paint(w, ":")
}

impl<S, N, T> FormatEvent<S, N> for Text<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Records from the `log` crate (ldap3, sqlx, native-tls) carry their real target here.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let ansi = writer.has_ansi_escapes();
        let dimmed = Style::new(ansi, Style::DIMMED);

        if let Some(prefix) = dimmed.0 {
            writer.write_str(prefix)?;
        }
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        if dimmed.0.is_some() {
            writer.write_str(RESET)?;
        }
        writer.write_char(' ')?;
        write_level(&mut writer, meta.level(), ansi)?;
        writer.write_char(' ')?;

        // The request first, as the root span it was; an event made with `parent: None` had no
        // spans printed, the request's included. Inside the request span itself (made on demand,
        // see `log_context::RequestSpans`) the span prints it.
        let mut seen = false;
        let in_request_span = ctx
            .event_scope()
            .is_some_and(|scope| starts_with_request_span(scope.from_root()));
        if !event.is_root() && !in_request_span {
            seen = log_context::with_current(|request| match request {
                Some(request) => write_request_text(&mut writer, request).map(|()| true),
                None => Ok(false),
            })?;
        }
        if let Some(scope) = ctx.event_scope() {
            let bold = Style::new(ansi, Style::BOLD);
            for span in scope.from_root() {
                bold.paint(&mut writer, span.metadata().name())?;
                seen = true;
                let ext = span.extensions();
                if let Some(fields) = ext.get::<FormattedFields<N>>() {
                    if !fields.fields.is_empty() {
                        bold.paint(&mut writer, "{")?;
                        writer.write_str(&fields.fields)?;
                        bold.paint(&mut writer, "}")?;
                    }
                }
                dimmed.paint(&mut writer, ":")?;
            }
        }
        if seen {
            writer.write_char(' ')?;
        }

        dimmed.paint(&mut writer, meta.target())?;
        dimmed.paint(&mut writer, ":")?;
        writer.write_char(' ')?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Whether the outermost of `spans` (from the root) is the request span.
fn starts_with_request_span<'a, S>(mut spans: impl Iterator<Item = SpanRef<'a, S>>) -> bool
where
    S: LookupSpan<'a> + 'a,
{
    spans
        .next()
        .is_some_and(|root| log_context::is_request_span(root.metadata()))
}

// === JSON ===

/// Lets serde_json write into a fmt [`Writer`] (it writes whole UTF-8 fragments).
struct JsonOut<'a, 'w>(&'a mut Writer<'w>);

impl io::Write for JsonOut<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let s = std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.0
            .write_str(s)
            .map_err(|_| io::Error::other("formatting a log line failed"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes one JSON value (a string, a number, a `serde_json::Value`) as serde_json does.
macro_rules! json {
    ($w:expr, $value:expr) => {
        serde_json::to_writer(JsonOut(&mut *$w), $value).map_err(|_| fmt::Error)
    };
}

fn json_level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

/// `{"method":…,"request_id":…,"route":…,"name":"request"}`: the span's fields came out of a
/// sorted map, its name last.
fn write_request_json(w: &mut Writer<'_>, request: &RequestContext) -> fmt::Result {
    w.write_str("{\"method\":")?;
    json!(w, request.method().as_str())?;
    w.write_str(",\"request_id\":")?;
    json!(w, request.request_id())?;
    w.write_str(",\"route\":")?;
    json!(w, request.route())?;
    w.write_str(",\"name\":")?;
    json!(w, REQUEST)?;
    w.write_char('}')
}

/// A real span: its fields (already JSON, from `JsonFields`), then its name.
fn write_span_json<S, N>(w: &mut Writer<'_>, span: &SpanRef<'_, S>) -> fmt::Result
where
    S: for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    w.write_char('{')?;
    let ext = span.extensions();
    let mut first = true;
    let mut entry = |w: &mut Writer<'_>, key: &str| -> fmt::Result {
        if !std::mem::take(&mut first) {
            w.write_char(',')?;
        }
        json!(w, key)?;
        w.write_char(':')
    };
    if let Some(data) = ext.get::<FormattedFields<N>>() {
        // As tracing-subscriber does in a release build (a debug build of it panics instead).
        match serde_json::from_str::<serde_json::Value>(&data.fields) {
            Ok(serde_json::Value::Object(fields)) => {
                for (key, value) in &fields {
                    entry(w, key)?;
                    json!(w, value)?;
                }
            }
            Ok(value) => {
                entry(w, "field")?;
                json!(w, &value)?;
                entry(w, "field_error")?;
                json!(w, "field was no a valid object")?;
            }
            Err(e) => {
                entry(w, "field_error")?;
                json!(w, &e.to_string())?;
            }
        }
    }
    entry(w, "name")?;
    json!(w, span.metadata().name())?;
    w.write_char('}')
}

/// An event's fields as a JSON object in the order they were recorded, each value as
/// `tracing-serde` writes it (numbers and booleans as such, everything else as text).
struct JsonFields<'a, 'w> {
    w: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl JsonFields<'_, '_> {
    fn entry(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.w.write_char(',')?;
            }
            json!(self.w, field.name())?;
            self.w.write_char(':')?;
            value(self.w)
        })();
    }
}

impl Visit for JsonFields<'_, '_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field, |w| json!(w, &value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field, |w| json!(w, &value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field, |w| json!(w, &value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.entry(field, |w| json!(w, &value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field, |w| json!(w, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.entry(field, |w| json!(w, &format_args!("{value:?}")));
    }
}

impl<S, N, T> FormatEvent<S, N> for Json<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        self.timer.format_time(&mut Writer::new(&mut timestamp))?;
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let w = &mut writer;

        w.write_str("{\"timestamp\":")?;
        json!(w, &timestamp)?;
        w.write_str(",\"level\":")?;
        json!(w, json_level(meta.level()))?;
        w.write_str(",\"fields\":{")?;
        let mut fields = JsonFields {
            w,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        w.write_str("},\"target\":")?;
        json!(w, meta.target())?;

        // "span" is the innermost span, "spans" all of them from the root; the request is the
        // root, and the innermost when the line is written in no real span.
        let current = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        let in_request_span = current
            .as_ref()
            .is_some_and(|span| starts_with_request_span(span.scope().from_root()));
        log_context::with_current(|request| {
            let request = request.filter(|_| !in_request_span);
            if let Some(span) = &current {
                w.write_str(",\"span\":")?;
                write_span_json::<S, N>(w, span)?;
            } else if let Some(request) = request {
                w.write_str(",\"span\":")?;
                write_request_json(w, request)?;
            }
            if current.is_none() && request.is_none() {
                return Ok(());
            }
            w.write_str(",\"spans\":[")?;
            let mut first = true;
            if let Some(request) = request {
                write_request_json(w, request)?;
                first = false;
            }
            if let Some(leaf) = ctx.lookup_current() {
                for span in leaf.scope().from_root() {
                    if !std::mem::take(&mut first) {
                        w.write_char(',')?;
                    }
                    write_span_json::<S, N>(w, &span)?;
                }
            }
            w.write_char(']')
        })?;
        w.write_str("}\n")
    }
}

#[cfg(test)]
mod tests {
    //! Each test writes the same events through tracing-subscriber's own formatter inside a real
    //! `request` span and through ours inside a request context, and wants the same bytes; some
    //! also spell the expected line out, so that a context both sides dropped would fail too.

    use std::sync::{Arc, Mutex};

    use axum::http::{HeaderValue, Method};
    use tracing_subscriber::fmt::MakeWriter;

    use super::super::context::RequestSpans;
    use super::*;

    const ROUTE: &str = "/api/sessions";

    /// A fixed timestamp, so that lines compare whole.
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
            w.write_str("2026-11-26T03:40:00.123456Z")
        }
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Format {
        Text { ansi: bool },
        Json,
    }

    #[derive(Debug)]
    struct Outer(io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("reading \"the store\" failed")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// Events of every kind of field, in and out of real spans, and a record of the `log` crate.
    fn events() {
        tracing::info!(target: "vestibule::serve", addr = %"127.0.0.1:8090", "serving");
        tracing::debug!(target: "vestibule::access", status = 200u16, micros = 147u64, "answered");
        tracing::warn!(ticket = %"8f0e", code = "ERR001", status = 500u16, "error answered");
        let err = Outer(io::Error::other("disk\tfull"));
        tracing::error!(
            error = &err as &(dyn std::error::Error + 'static),
            shown = %err,
            n = -3i64,
            big = 1u128 << 100,
            ok = true,
            ratio = 1.5f64,
            nan = f64::NAN,
            opt = ?Some("x\"y"),
            text = "line\nbreak \u{1b}[31m",
            "request failed: {}",
            "a \u{1b}[2J message"
        );
        tracing::info!(r#type = "raw", "raw identifier");
        tracing::info!("");
        tracing::trace!(target: "sqlx::query", summary = "SELECT 1", db.statement = "\n\nSELECT 1\n");
        tracing::info_span!("inner", n = 3, s = "q\"uote").in_scope(|| {
            tracing::info!(k = "v", "in a real span");
            tracing::debug_span!("empty").in_scope(|| tracing::info!("two deep"));
        });
        tracing::info!(parent: None, "explicitly a root");
        // Code that carries the current span to another thread and logs there, as sqlx's SQLite
        // worker does, and code that enters it here.
        let carried = tracing::Span::current();
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        std::thread::spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                carried.in_scope(|| {
                    tracing::debug!(target: "sqlx::query", summary = "SELECT 2", rows_returned = 1u64);
                    tracing::info_span!("worker", n = 1).in_scope(|| tracing::info!("deeper"));
                })
            })
        })
        .join()
        .unwrap();
        tracing::Span::current().in_scope(|| tracing::info!("in the current span"));
        tracing_log::format_trace(
            &tracing_log::log::Record::builder()
                .args(format_args!("from the log crate"))
                .level(tracing_log::log::Level::Warn)
                .target("ldap3::conn")
                .module_path_static(Some("ldap3::conn"))
                .file_static(Some("src/conn.rs"))
                .line(Some(42))
                .build(),
        )
        .unwrap();
    }

    /// What `body` logs, with tracing-subscriber's formatter (`ours` false) or ours.
    fn capture(format: Format, ours: bool, body: impl FnOnce()) -> String {
        capture_filtered("trace", format, ours, body)
    }

    /// As [`capture`], under an `EnvFilter` of `directives`.
    fn capture_filtered(directives: &str, format: Format, ours: bool, body: impl FnOnce()) -> String {
        let buf = Buf::default();
        let builder = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(directives))
            .with_writer(buf.clone())
            .with_timer(Fixed);
        match format {
            Format::Text { ansi } => {
                let builder = builder.with_ansi(ansi);
                if ours {
                    let sub = builder.event_format(Text { timer: Fixed }).finish();
                    tracing::subscriber::with_default(RequestSpans::new(sub), body);
                } else {
                    tracing::subscriber::with_default(builder.finish(), body);
                }
            }
            Format::Json => {
                let builder = builder.json();
                if ours {
                    let sub = builder.event_format(Json { timer: Fixed }).finish();
                    tracing::subscriber::with_default(RequestSpans::new(sub), body);
                } else {
                    tracing::subscriber::with_default(builder.finish(), body);
                }
            }
        }
        buf.text()
    }

    /// A real span named `request`, its fields recorded as `RequestSpans` records them.
    fn in_span(id: &HeaderValue, route: &str, body: impl FnOnce()) {
        let method = Method::GET;
        tracing::info_span!(
            "request",
            request_id = id.to_str().unwrap_or_default(),
            method = %method,
            route = %route,
        )
        .in_scope(body)
    }

    /// A request context, as the observer keeps it.
    fn in_context(id: &HeaderValue, route: &'static str, body: impl FnOnce()) {
        let mut ctx = Some(RequestContext::with_route_name(id.clone(), Method::GET, route));
        log_context::scope(&mut ctx, body)
    }

    fn all_formats() -> [Format; 3] {
        [
            Format::Text { ansi: false },
            Format::Text { ansi: true },
            Format::Json,
        ]
    }

    fn assert_same(before: &str, after: &str) {
        for (i, (b, a)) in before.lines().zip(after.lines()).enumerate() {
            assert_eq!(a, b, "line {i} differs");
        }
        assert_eq!(after, before);
    }

    fn same_as_a_request_span(id: HeaderValue) {
        for format in all_formats() {
            let before = capture(format, false, || in_span(&id, ROUTE, events));
            let after = capture(format, true, || in_context(&id, ROUTE, events));
            assert_eq!(before.lines().count(), 14, "{before}");
            assert_same(&before, &after);
        }
    }

    #[test]
    fn lines_in_a_request_are_as_with_the_request_span() {
        same_as_a_request_span(HeaderValue::from_static("caller-id-123"));
    }

    #[test]
    fn a_request_id_that_could_break_a_line_is_escaped_as_before() {
        // Incoming ids are checked in request_id.rs; the formatter escapes anyway.
        same_as_a_request_span(HeaderValue::from_static("a\"b\\c\td} x=\"y"));
        // Not visible ASCII: the span had an empty id, so does the context.
        same_as_a_request_span(HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
    }

    #[test]
    fn where_the_filter_disabled_the_request_span_lines_name_no_request_as_before() {
        let id = HeaderValue::from_static("quiet-1");
        for directives in ["warn", "warn,vestibule::access=debug,sqlx=trace,ldap3=debug"] {
            for format in all_formats() {
                let before = capture_filtered(directives, format, false, || in_span(&id, ROUTE, events));
                let after = capture_filtered(directives, format, true, || in_context(&id, ROUTE, events));
                assert_same(&before, &after);
                assert!(after.contains("WARN"), "{after}");
                assert!(!after.contains("quiet-1"), "{after}");
            }
        }
    }

    #[test]
    fn lines_outside_a_request_are_as_before() {
        for format in all_formats() {
            let before = capture(format, false, events);
            let after = capture(format, true, events);
            assert_same(&before, &after);
            assert!(!after.contains("request_id"), "{after}");
        }
    }

    #[test]
    fn the_text_line_names_the_request() {
        let id = HeaderValue::from_static("r-\"1");
        let body = || tracing::info!(target: "vestibule_core::x", k = "v", "message");
        let plain = capture(Format::Text { ansi: false }, true, || {
            in_context(&id, ROUTE, body)
        });
        assert_eq!(
            plain,
            "2026-11-26T03:40:00.123456Z  INFO request{request_id=\"r-\\\"1\" method=GET \
             route=/api/sessions}: vestibule_core::x: message k=\"v\"\n"
        );
        let ansi = capture(Format::Text { ansi: true }, true, || {
            in_context(&id, "unmatched", body)
        });
        assert_eq!(
            ansi,
            "\x1b[2m2026-11-26T03:40:00.123456Z\x1b[0m \x1b[32m INFO\x1b[0m \
             \x1b[1mrequest\x1b[0m\x1b[1m{\x1b[0m\x1b[3mrequest_id\x1b[0m\x1b[2m=\x1b[0m\"r-\\\"1\" \
             \x1b[3mmethod\x1b[0m\x1b[2m=\x1b[0mGET \x1b[3mroute\x1b[0m\x1b[2m=\x1b[0munmatched\
             \x1b[1m}\x1b[0m\x1b[2m:\x1b[0m \x1b[2mvestibule_core::x\x1b[0m\x1b[2m:\x1b[0m message \
             \x1b[3mk\x1b[0m\x1b[2m=\x1b[0m\"v\"\n"
        );
        let outside = capture(Format::Text { ansi: false }, true, body);
        assert_eq!(
            outside,
            "2026-11-26T03:40:00.123456Z  INFO vestibule_core::x: message k=\"v\"\n"
        );
    }

    #[test]
    fn the_json_line_names_the_request() {
        let id = HeaderValue::from_static("r-\"1\\");
        let body = || tracing::warn!(target: "vestibule_core::x", k = 5u64, "message");
        let line = capture(Format::Json, true, || in_context(&id, ROUTE, body));
        let request = r#"{"method":"GET","request_id":"r-\"1\\","route":"/api/sessions","name":"request"}"#;
        assert_eq!(
            line,
            format!(
                r#"{{"timestamp":"2026-11-26T03:40:00.123456Z","level":"WARN","fields":{{"message":"message","k":5}},"target":"vestibule_core::x","span":{request},"spans":[{request}]}}"#
            ) + "\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["span"]["request_id"], "r-\"1\\");
        let outside = capture(Format::Json, true, body);
        assert_eq!(
            outside,
            r#"{"timestamp":"2026-11-26T03:40:00.123456Z","level":"WARN","fields":{"message":"message","k":5},"target":"vestibule_core::x"}"#
                .to_string()
                + "\n"
        );
    }

    #[test]
    fn nested_requests_name_the_innermost_and_then_the_outer_again() {
        let outer = HeaderValue::from_static("outer");
        let inner = HeaderValue::from_static("inner");
        let line = || tracing::info!("x");
        let log = capture(Format::Text { ansi: false }, true, || {
            in_context(&outer, "/a", || {
                in_context(&inner, "/b", line);
                line();
            });
            line();
        });
        let names: Vec<&str> = log
            .lines()
            .map(|l| l.split(" INFO ").nth(1).unwrap_or(l))
            .collect();
        let here = module_path!();
        assert_eq!(
            names,
            [
                format!("request{{request_id=\"inner\" method=GET route=/b}}: {here}: x"),
                format!("request{{request_id=\"outer\" method=GET route=/a}}: {here}: x"),
                format!("{here}: x"),
            ]
        );
    }

    #[test]
    fn the_request_span_is_made_once_when_asked_for_and_closed_with_the_request() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tracing_subscriber::layer::SubscriberExt;

        #[derive(Clone, Default)]
        struct Counts(Arc<(AtomicUsize, AtomicUsize)>);
        impl<S: Subscriber> tracing_subscriber::Layer<S> for Counts {
            fn on_new_span(
                &self,
                _: &tracing::span::Attributes<'_>,
                _: &tracing::span::Id,
                _: tracing_subscriber::layer::Context<'_, S>,
            ) {
                self.0 .0.fetch_add(1, Ordering::SeqCst);
            }
            fn on_close(&self, _: tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
                self.0 .1.fetch_add(1, Ordering::SeqCst);
            }
        }

        let counts = Counts::default();
        let sub = RequestSpans::new(tracing_subscriber::registry().with(counts.clone()));
        let made = || counts.0 .0.load(Ordering::SeqCst);
        let closed = || counts.0 .1.load(Ordering::SeqCst);
        tracing::subscriber::with_default(sub, || {
            let id = HeaderValue::from_static("r-1");
            in_context(&id, ROUTE, || tracing::info!("no span asked for"));
            assert_eq!((made(), closed()), (0, 0), "no span unless asked for");
            in_context(&id, ROUTE, || {
                let first = tracing::Span::current();
                let second = tracing::Span::current();
                assert_eq!(first.id(), second.id());
                assert_eq!(first.metadata().map(|m| m.name()), Some(REQUEST));
                drop((first, second));
                assert_eq!((made(), closed()), (1, 0), "open while the request is");
            });
            assert_eq!((made(), closed()), (1, 1), "closed with the request");
            assert!(tracing::Span::current().is_none(), "none outside a request");
        });
    }
}
