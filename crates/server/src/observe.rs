//! What wraps every request for operations: a request id (taken from a well-formed incoming
//! `x-request-id` or made here, and returned as `x-request-id`), a tracing span carrying it so that
//! every log line written while serving the request names it, the request's metrics, and the
//! `/metrics` endpoint itself.
//!
//! Nothing here logs headers, bodies or query strings: they carry passwords, tokens and secrets.
//! The span holds the method, the route template and the request id only.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rand::RngCore;
use tracing::Instrument;

use vestibule_core::Core;

use crate::metrics::{self, HttpMetrics, InFlight, UNMATCHED};

pub const REQUEST_ID: &str = "x-request-id";

/// [`REQUEST_ID`] as a header name made once: by `&str`, every lookup and insert parses it.
static REQUEST_ID_NAME: HeaderName = HeaderName::from_static(REQUEST_ID);

#[derive(Clone)]
pub struct Observed {
    core: Arc<Core>,
    metrics: Arc<HttpMetrics>,
}

/// Adds `/metrics` to `app` and wraps every route (and the fallbacks) in the request observer.
pub fn instrument(app: Router, core: Arc<Core>) -> Router {
    let state = Observed {
        core,
        metrics: HttpMetrics::new(),
    };
    app.merge(
        Router::new()
            .route("/metrics", get(render))
            .with_state(state.clone()),
    )
    .layer(ObserveLayer(state.metrics.clone()))
}

/// An incoming id is kept when it is short and plain, so a proxy's id follows the request;
/// anything else (which could forge log lines) is replaced.
fn incoming_id(req: &Request) -> Option<HeaderValue> {
    let v = req.headers().get(&REQUEST_ID_NAME)?;
    let ok = (1..=64).contains(&v.len())
        && v.as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| v.clone())
}

/// A new id: a random per-process prefix and a counter, as 16 hex characters. Unique within a
/// process and, with the random prefix, across nodes in practice; far cheaper than 8 random bytes
/// per request (this runs on every request, the session check included).
fn new_id() -> HeaderValue {
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let prefix = *PREFIX.get_or_init(|| rand::thread_rng().next_u32());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = (u64::from(prefix) << 32) | u64::from(n);
    let mut buf = [0u8; 16];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in buf.iter_mut().enumerate() {
        *b = HEX[((id >> (60 - 4 * i)) & 0xf) as usize];
    }
    // 16 hex characters are always a valid header value.
    HeaderValue::from_bytes(&buf).unwrap_or(HeaderValue::from_static("0"))
}

/// The route template a request matched; `None` for fallbacks (labelled [`UNMATCHED`]: their internal templates
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
struct ObserveLayer(Arc<HttpMetrics>);

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObserveService {
            inner,
            metrics: Arc::clone(&self.0),
        }
    }
}

#[derive(Clone)]
pub struct ObserveService<S> {
    inner: S,
    metrics: Arc<HttpMetrics>,
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
        let id = incoming_id(&req).unwrap_or_else(new_id);
        let matched = route_of(&req);
        let method = req.method().clone();
        let span = tracing::info_span!(
            "request",
            request_id = id.to_str().unwrap_or_default(),
            method = %method,
            route = %matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        );
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        ObserveFuture {
            inner: inner.instrument(span),
            start,
            id: Some(id),
            matched,
            method,
            metrics: Arc::clone(&self.metrics),
            _in_flight: in_flight,
        }
    }
}

pin_project_lite::pin_project! {
    pub struct ObserveFuture<F> {
        #[pin]
        inner: tracing::instrument::Instrumented<F>,
        start: Instant,
        id: Option<HeaderValue>,
        matched: Option<MatchedPath>,
        method: Method,
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
        let mut this = self.project();
        let mut resp = match this.inner.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(resp)) => resp,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
        };
        let elapsed = this.start.elapsed();
        let status = resp.status().as_u16();
        let route = this.matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
        this.metrics.record(route, this.method, status, elapsed);
        this.inner.as_ref().get_ref().span().in_scope(|| {
            tracing::debug!(
                target: "vestibule::access",
                status,
                micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                "answered"
            )
        });
        if let Some(id) = this.id.take() {
            resp.headers_mut().insert(REQUEST_ID_NAME.clone(), id);
        }
        Poll::Ready(Ok(resp))
    }
}

/// Metrics in the Prometheus text format: request counts and latencies by route template, requests
/// in flight, logins by mode and result, lockouts, live sessions (see docs/operations.md).
#[utoipa::path(get, path = "/metrics", tag = "Operations",
    responses(
        (status = 200, description = "Prometheus text format (version 0.0.4)", body = String,
            content_type = "text/plain"),
    ))]
pub async fn render(State(state): State<Observed>) -> Response {
    let mut out = String::with_capacity(16 * 1024);
    state.metrics.render(&mut out);
    let live = match state.core.sessions.count().await {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "counting sessions for /metrics failed");
            None
        }
    };
    metrics::render_core(&mut out, live);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}
