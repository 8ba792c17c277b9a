//! The request observer, a tower layer around every route and fallback: it gives each request its
//! id (returned as `x-request-id`), keeps the request's log context current while the request is
//! served (so every line written meanwhile names it, see [`super::context`]), writes the access
//! line when it is answered and counts it in the metrics.
//!
//! The access line is written at `log.access` (`info` unless configured) under the target
//! `vestibule::access`: `answered status=200 micros=312 path=/api/sessions client=10.0.0.7
//! user_id=… trace_id=…`, inside the request's context (id, method, route template). The client is
//! the address after trusted proxies; the user is known once a handler checked a credential; the
//! trace id is that of a W3C `traceparent` the request came with, answered with one of the same
//! trace. Health probes get no access line unless `log.access_health` is set.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use ipnet::IpNet;
use tracing::Level;

use vestibule_core::Core;

use super::context::{self as log_context, RequestContext};
use super::endpoint::{self, Observed};
use super::metrics::{HttpMetrics, InFlight};
use super::request_id::{self, REQUEST_ID};
use super::trace_context::TraceParent;
use crate::forwarded::{self, ForwardingHeader};

/// The target of the access lines, as operators' filters name it.
const ACCESS_TARGET: &str = "vestibule::access";
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Adds `/metrics` to `app` (or, given `apart`, the router of the separate metrics address, to
/// that one instead) and wraps every route of both (and the fallbacks) in the request observer,
/// counting into the same metrics.
pub fn instrument(app: Router, core: Arc<Core>, apart: Option<Router>) -> (Router, Option<Router>) {
    let metrics = HttpMetrics::new();
    // Both dialects' login counters show (as zeros) before their first login.
    for dialect in [crate::sso::DIALECT_MSTR, crate::sso::DIALECT_THOUGHTSPOT] {
        vestibule_core::metrics::declare_dialect(dialect);
    }
    let access = Arc::new(AccessLog::new(&core));
    let state = Observed::new(core, Arc::clone(&metrics));
    let scrape = Router::new()
        .route("/metrics", get(endpoint::render))
        .with_state(state);
    let layer = ObserveLayer { metrics, access };
    match apart {
        None => (app.merge(scrape).layer(layer), None),
        Some(ops) => (app.layer(layer.clone()), Some(ops.merge(scrape).layer(layer))),
    }
}

/// How access lines are written: `log.access`, `log.access_health`, and the proxies whose
/// forwarding headers name the client.
struct AccessLog {
    level: Option<Level>,
    health: bool,
    trusted_proxies: Arc<[IpNet]>,
    forwarded_header: ForwardingHeader,
}

impl AccessLog {
    fn new(core: &Core) -> Self {
        let config = core.config();
        let level = match config.log.access.as_str() {
            "error" => Some(Level::ERROR),
            "warn" => Some(Level::WARN),
            "info" => Some(Level::INFO),
            "debug" => Some(Level::DEBUG),
            "trace" => Some(Level::TRACE),
            _ => None,
        };
        AccessLog {
            level,
            health: config.log.access_health,
            // Validated at start, as for the handlers (`AppState::new`).
            trusted_proxies: config.server.trusted_proxy_nets().unwrap_or_default().into(),
            forwarded_header: ForwardingHeader::from_setting(&config.server.forwarded_header),
        }
    }

    /// What the access line of `req` will need, if one is written: its level is on, the filter
    /// lets it through, and it is not a health probe (unless those are logged too).
    fn begin(&self, req: &Request, context: &RequestContext) -> Option<AccessStart> {
        let level = self.level?;
        if !access_enabled(level) || (!self.health && context.route().starts_with("/health/")) {
            return None;
        }
        // Where the filter leaves the request context out of lines (`warn,vestibule::access=info`),
        // the access line names the request itself.
        let unnamed = (!log_context::request_span_enabled()).then(|| Unnamed {
            request_id: context.request_id().to_owned(),
            method: context.method().clone(),
            route: context.route().to_owned(),
        });
        let client = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| {
                forwarded::resolve(
                    peer.ip(),
                    &self.trusted_proxies,
                    self.forwarded_header,
                    req.headers(),
                )
                .addr
            });
        Some(AccessStart {
            level,
            path: req.uri().path().to_owned(),
            client,
            unnamed,
        })
    }
}

/// The request's id, method and route, for an access line written outside its context.
struct Unnamed {
    request_id: String,
    method: axum::http::Method,
    route: String,
}

/// What an access line takes from the request, before it is answered.
struct AccessStart {
    level: Level,
    /// The path without its query (which may carry tokens).
    path: String,
    client: Option<IpAddr>,
    unnamed: Option<Unnamed>,
}

/// `tracing::event!` wants its level as a constant: one call per level.
macro_rules! at_level {
    ($level:expr, $mac:ident!($($args:tt)*)) => {
        match $level {
            Level::ERROR => tracing::$mac!(target: ACCESS_TARGET, Level::ERROR, $($args)*),
            Level::WARN => tracing::$mac!(target: ACCESS_TARGET, Level::WARN, $($args)*),
            Level::INFO => tracing::$mac!(target: ACCESS_TARGET, Level::INFO, $($args)*),
            Level::DEBUG => tracing::$mac!(target: ACCESS_TARGET, Level::DEBUG, $($args)*),
            _ => tracing::$mac!(target: ACCESS_TARGET, Level::TRACE, $($args)*),
        }
    };
}

fn access_enabled(level: Level) -> bool {
    at_level!(level, enabled!())
}

impl AccessStart {
    fn write(self, status: StatusCode, elapsed: Duration, trace: Option<&TraceParent>) {
        let user = log_context::with_current(|c| c.and_then(RequestContext::user));
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let unnamed = self.unnamed.as_ref();
        at_level!(
            self.level,
            event!(
                status = status.as_u16(),
                micros,
                path = %self.path,
                client = self.client.map(tracing::field::display),
                user_id = user.map(tracing::field::display),
                trace_id = trace.map(|t| tracing::field::display(t.trace_id())),
                request_id = unnamed.map(|u| tracing::field::display(&u.request_id)),
                method = unnamed.map(|u| tracing::field::display(&u.method)),
                route = unnamed.map(|u| tracing::field::display(&u.route)),
                "answered"
            )
        );
    }
}

/// The route template a request matched; `None` for fallbacks (labelled
/// [`UNMATCHED`](super::metrics::UNMATCHED): their internal templates
/// are not routes a user wrote). A clone of `MatchedPath` shares its string: no allocation.
fn route_of(req: &Request) -> Option<MatchedPath> {
    req.extensions()
        .get::<MatchedPath>()
        .filter(|p| !p.as_str().contains("__private__"))
        .cloned()
}

/// The observer as a tower layer (not `middleware::from_fn`): its future is a plain struct, so a
/// request pays no boxed future and no cloned boxed service for being observed.
#[derive(Clone)]
struct ObserveLayer {
    metrics: Arc<HttpMetrics>,
    access: Arc<AccessLog>,
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObserveService {
            inner,
            metrics: Arc::clone(&self.metrics),
            access: Arc::clone(&self.access),
        }
    }
}

#[derive(Clone)]
pub struct ObserveService<S> {
    inner: S,
    metrics: Arc<HttpMetrics>,
    access: Arc<AccessLog>,
}

impl<S> tower::Service<Request> for ObserveService<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let start = Instant::now();
        let in_flight = self.metrics.start();
        let id = request_id::of(&req);
        // Moved, not copied, into the thread-local around each poll: no allocation per request.
        let context = RequestContext::new(id, req.method().clone(), route_of(&req));
        let access = self.access.begin(&req, &context);
        let trace = req.headers().get(&TRACEPARENT).and_then(TraceParent::parse);
        let mut context = Some(context);
        // Lines written while the inner service takes the request name it too.
        let inner = log_context::scope(&mut context, || self.inner.call(req));
        ObserveFuture {
            inner,
            start,
            context,
            access,
            trace,
            metrics: Arc::clone(&self.metrics),
            _in_flight: in_flight,
        }
    }
}

pin_project_lite::pin_project! {
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        start: Instant,
        // Taken when the request is answered (its id goes back as `x-request-id`).
        context: Option<RequestContext>,
        // Taken when the access line is written; `None` when none is.
        access: Option<AccessStart>,
        trace: Option<TraceParent>,
        metrics: Arc<HttpMetrics>,
        _in_flight: InFlight,
    }
}

impl<F, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let start = *this.start;
        let access = this.access;
        let trace = this.trace.as_ref();
        // Every line written while the request is served, its access line included, names it.
        let answered = log_context::scope(this.context, || {
            let resp = ready!(inner.poll(cx))?;
            let elapsed = start.elapsed();
            if let Some(line) = access.take() {
                line.write(resp.status(), elapsed, trace);
            }
            Poll::Ready(Ok::<(Response, Duration), E>((resp, elapsed)))
        });
        let (mut resp, elapsed) = ready!(answered)?;
        if let Some(context) = this.context.take() {
            let status = resp.status().as_u16();
            this.metrics
                .record(context.route(), context.method(), status, elapsed);
            resp.headers_mut().insert(REQUEST_ID.clone(), context.into_id());
        }
        if let Some(answer) = this.trace.and_then(|t| t.answer(rand::random())) {
            resp.headers_mut().insert(TRACEPARENT.clone(), answer);
        }
        Poll::Ready(Ok(resp))
    }
}
