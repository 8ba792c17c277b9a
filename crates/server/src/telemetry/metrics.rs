//! The HTTP request counters and latency histograms behind `/metrics`, and their rendering in the
//! Prometheus text format together with the core's counters and the live session count.
//!
//! Recording a request costs a shared read lock (no writer once a route has been seen), a hash of
//! the route template and a few relaxed atomic increments: no mutex on the request path. Routes
//! are labelled by their matched template (`/api/sessions/privileges/{id}`), never by the raw path,
//! so the label set stays as small as the router.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::Method;

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct (method, status) pairs kept per route; more than this (which a real router does not
/// reach) are counted under `status="other"`.
const STATUS_SLOTS: usize = 24;

/// The label of requests that matched no route (fallbacks), so that unknown paths cannot grow the
/// label set.
pub const UNMATCHED: &str = "unmatched";

const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

fn method_index(m: &Method) -> u32 {
    METHODS
        .iter()
        .position(|x| x == m)
        .map(|i| i as u32 + 1)
        .unwrap_or(METHODS.len() as u32 + 1)
}

fn method_label(i: u32) -> &'static str {
    METHODS
        .get((i as usize).wrapping_sub(1))
        .map(Method::as_str)
        .unwrap_or("other")
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO32: AtomicU32 = AtomicU32::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO64: AtomicU64 = AtomicU64::new(0);

/// Counters of one route template.
struct RouteStats {
    /// `method << 16 | status`, 0 while the slot is free; claimed once by compare-and-swap.
    keys: [AtomicU32; STATUS_SLOTS],
    counts: [AtomicU64; STATUS_SLOTS],
    overflow: AtomicU64,
    /// Per bucket (not cumulative; made cumulative when rendered), plus one past the last bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl RouteStats {
    fn new() -> Self {
        RouteStats {
            keys: [ZERO32; STATUS_SLOTS],
            counts: [ZERO64; STATUS_SLOTS],
            overflow: ZERO64,
            buckets: [ZERO64; BUCKETS.len() + 1],
            sum_micros: ZERO64,
        }
    }

    fn record(&self, method: &Method, status: u16, elapsed: Duration) {
        let key = (method_index(method) << 16) | u32::from(status);
        let mut counted = false;
        for (slot, count) in self.keys.iter().zip(&self.counts) {
            let current = slot.load(Ordering::Relaxed);
            let ours = current == key
                || (current == 0
                    && match slot.compare_exchange(0, key, Ordering::Relaxed, Ordering::Relaxed) {
                        Ok(_) => true,
                        Err(actual) => actual == key,
                    });
            if ours {
                count.fetch_add(1, Ordering::Relaxed);
                counted = true;
                break;
            }
        }
        if !counted {
            self.overflow.fetch_add(1, Ordering::Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        let bucket = BUCKETS.iter().position(|le| secs <= *le).unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// FNV-1a over the route template: a third of SipHash's cost on a short key, and the keys are the
/// router's own templates (or [`UNMATCHED`]), never text a client chose, so there is no hash
/// flooding to resist.
struct RouteHasher(u64);

impl Default for RouteHasher {
    /// FNV-1a's 64-bit offset basis.
    fn default() -> Self {
        RouteHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for RouteHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Routes = HashMap<Box<str>, Arc<RouteStats>, BuildHasherDefault<RouteHasher>>;

/// Every route's counters, and the number of requests being served.
#[derive(Default)]
pub struct HttpMetrics {
    routes: RwLock<Routes>,
    in_flight: AtomicI64,
}

/// Decrements the in-flight gauge when the request ends, also when its future is dropped.
pub struct InFlight(Arc<HttpMetrics>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HttpMetrics {
    pub fn new() -> Arc<Self> {
        Arc::new(HttpMetrics::default())
    }

    /// Counts a request in flight until the guard drops (also when the request is abandoned).
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Counts one answered request of `route` (a template, or [`UNMATCHED`]).
    pub fn record(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        {
            // Counted under the read lock: no reference count taken and dropped per request.
            let map = match self.routes.read() {
                Ok(map) => map,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(stats) = map.get(route) {
                stats.record(method, status, elapsed);
                return;
            }
        }
        // First request of this route: the only write.
        let stats = {
            let mut map = match self.routes.write() {
                Ok(m) => m,
                Err(poisoned) => poisoned.into_inner(),
            };
            map.entry(route.into())
                .or_insert_with(|| Arc::new(RouteStats::new()))
                .clone()
        };
        stats.record(method, status, elapsed);
    }

    /// The request metrics in the Prometheus text format (version 0.0.4).
    pub fn render(&self, out: &mut String) {
        let mut routes: Vec<(Box<str>, Arc<RouteStats>)> = match self.routes.read() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(p) => p
                .into_inner()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        routes.sort_by(|a, b| a.0.cmp(&b.0));

        out.push_str("# HELP vestibule_http_requests_total HTTP requests answered, by route template, method and status.\n");
        out.push_str("# TYPE vestibule_http_requests_total counter\n");
        for (route, stats) in &routes {
            let route = escape(route);
            for (slot, count) in stats.keys.iter().zip(&stats.counts) {
                let key = slot.load(Ordering::Relaxed);
                if key == 0 {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "vestibule_http_requests_total{{route=\"{route}\",method=\"{}\",status=\"{}\"}} {}",
                    method_label(key >> 16),
                    key & 0xffff,
                    count.load(Ordering::Relaxed)
                );
            }
            let overflow = stats.overflow.load(Ordering::Relaxed);
            if overflow > 0 {
                let _ = writeln!(
                    out,
                    "vestibule_http_requests_total{{route=\"{route}\",method=\"other\",status=\"other\"}} {overflow}"
                );
            }
        }

        out.push_str("# HELP vestibule_http_request_duration_seconds Time from receiving a request to its response, by route template.\n");
        out.push_str("# TYPE vestibule_http_request_duration_seconds histogram\n");
        for (route, stats) in &routes {
            let route = escape(route);
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += stats.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "vestibule_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            cumulative += stats.buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "vestibule_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "vestibule_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                stats.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "vestibule_http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}"
            );
        }

        out.push_str("# HELP vestibule_http_requests_in_flight HTTP requests being served now.\n");
        out.push_str("# TYPE vestibule_http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "vestibule_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
    }
}

/// The core's counters (logins, lockouts) and the live session count, in the text format.
pub fn render_core(out: &mut String, live_sessions: Option<usize>) {
    let core = vestibule_core::metrics::snapshot();
    out.push_str("# HELP vestibule_logins_total Login attempts, by dialect (mstr or thoughtspot), login mode and result (ok or failed).\n");
    out.push_str("# TYPE vestibule_logins_total counter\n");
    for c in &core.logins {
        let _ = writeln!(
            out,
            "vestibule_logins_total{{dialect=\"{}\",mode=\"{}\",result=\"ok\"}} {}",
            c.dialect, c.mode, c.ok
        );
        let _ = writeln!(
            out,
            "vestibule_logins_total{{dialect=\"{}\",mode=\"{}\",result=\"failed\"}} {}",
            c.dialect, c.mode, c.failed
        );
    }
    out.push_str("# HELP vestibule_lockouts_total Logins refused because of too many failed attempts.\n");
    out.push_str("# TYPE vestibule_lockouts_total counter\n");
    let _ = writeln!(out, "vestibule_lockouts_total {}", core.lockouts);
    if let Some(n) = live_sessions {
        out.push_str("# HELP vestibule_sessions_live Sessions in the session store that have not ended.\n");
        out.push_str("# TYPE vestibule_sessions_live gauge\n");
        let _ = writeln!(out, "vestibule_sessions_live {n}");
    }
}

/// The HTTP edge's counters: open connections, those refused by the cap or closed by a timeout.
pub fn render_edge(out: &mut String) {
    let edge = crate::edge::counters::snapshot();
    out.push_str("# HELP vestibule_connections_open Client connections open now.\n");
    out.push_str("# TYPE vestibule_connections_open gauge\n");
    let _ = writeln!(out, "vestibule_connections_open {}", edge.open);
    out.push_str("# HELP vestibule_connections_refused_total Connections closed at once because server.max_connections were open.\n");
    out.push_str("# TYPE vestibule_connections_refused_total counter\n");
    let _ = writeln!(out, "vestibule_connections_refused_total {}", edge.refused);
    out.push_str("# HELP vestibule_connections_timed_out_total Connections the server closed for a timeout, by reason (header_timeout, idle_timeout or write_timeout).\n");
    out.push_str("# TYPE vestibule_connections_timed_out_total counter\n");
    let _ = writeln!(
        out,
        "vestibule_connections_timed_out_total{{reason=\"header_timeout\"}} {}",
        edge.header_timeouts
    );
    let _ = writeln!(
        out,
        "vestibule_connections_timed_out_total{{reason=\"idle_timeout\"}} {}",
        edge.idle_timeouts
    );
    let _ = writeln!(
        out,
        "vestibule_connections_timed_out_total{{reason=\"write_timeout\"}} {}",
        edge.write_timeouts
    );
    out.push_str("# HELP vestibule_request_body_timeouts_total Requests answered 408 because their body did not arrive within server.body_read_timeout_secs.\n");
    out.push_str("# TYPE vestibule_request_body_timeouts_total counter\n");
    let _ = writeln!(
        out,
        "vestibule_request_body_timeouts_total {}",
        edge.body_timeouts
    );
}

/// Escapes a label value (route templates hold no quotes, but the format demands it).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_method_and_status_with_cumulative_buckets() {
        let m = HttpMetrics::new();
        m.record("/api/sessions", &Method::GET, 200, Duration::from_micros(300));
        m.record("/api/sessions", &Method::GET, 200, Duration::from_millis(3));
        m.record("/api/sessions", &Method::PUT, 401, Duration::from_secs(20));
        m.record(UNMATCHED, &Method::GET, 404, Duration::from_millis(1));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains(
            "vestibule_http_requests_total{route=\"/api/sessions\",method=\"GET\",status=\"200\"} 2\n"
        ));
        assert!(out.contains(
            "vestibule_http_requests_total{route=\"/api/sessions\",method=\"PUT\",status=\"401\"} 1\n"
        ));
        assert!(out.contains(
            "vestibule_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"
        ));
        assert!(out.contains(
            "vestibule_http_request_duration_seconds_bucket{route=\"/api/sessions\",le=\"0.0005\"} 1\n"
        ));
        assert!(out.contains(
            "vestibule_http_request_duration_seconds_bucket{route=\"/api/sessions\",le=\"0.005\"} 2\n"
        ));
        assert!(out.contains(
            "vestibule_http_request_duration_seconds_bucket{route=\"/api/sessions\",le=\"10\"} 2\n"
        ));
        assert!(out.contains(
            "vestibule_http_request_duration_seconds_bucket{route=\"/api/sessions\",le=\"+Inf\"} 3\n"
        ));
        assert!(out.contains("vestibule_http_request_duration_seconds_count{route=\"/api/sessions\"} 3\n"));
    }

    #[test]
    fn too_many_statuses_overflow_instead_of_growing() {
        let m = HttpMetrics::new();
        for status in 100..(100 + STATUS_SLOTS as u16 + 3) {
            m.record("/r", &Method::GET, status, Duration::ZERO);
        }
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("route=\"/r\",method=\"other\",status=\"other\"} 3\n"));
    }

    #[test]
    fn in_flight_is_released_when_the_guard_drops() {
        let m = HttpMetrics::new();
        {
            let _g = m.start();
            assert_eq!(m.in_flight.load(Ordering::Relaxed), 1);
        }
        assert_eq!(m.in_flight.load(Ordering::Relaxed), 0);
    }
}
