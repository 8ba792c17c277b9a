//! What wraps every request for operations: a request id (taken from a well-formed incoming
//! `x-request-id` or made here, and returned as `x-request-id`), a log context carrying it so that
//! every log line written while serving the request names it (see [`crate::log_context`]), the
//! request's metrics, and the `/metrics` endpoint itself.
//!
//! Nothing here logs headers, bodies or query strings: they carry passwords, tokens and secrets.
//! The log context holds the method, the route template and the request id only.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rand::RngCore;

use vestibule_core::Core;

use crate::log_context::{self, RequestContext};
use crate::metrics::{self, HttpMetrics, InFlight};

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

/// The route template a request matched; `None` for fallbacks (labelled
/// [`UNMATCHED`](crate::metrics::UNMATCHED): their internal templates
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
        // Moved, not copied, into the thread-local around each poll: no allocation per request.
        let mut context = Some(RequestContext::new(id, req.method().clone(), route_of(&req)));
        // Lines written while the inner service takes the request name it too.
        let inner = log_context::scope(&mut context, || self.inner.call(req));
        ObserveFuture {
            inner,
            start,
            context,
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
        // Every line written while the request is served, its access line included, names it.
        let answered = log_context::scope(this.context, || {
            let resp = ready!(inner.poll(cx))?;
            let elapsed = start.elapsed();
            tracing::debug!(
                target: "vestibule::access",
                status = resp.status().as_u16(),
                micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                "answered"
            );
            Poll::Ready(Ok::<(Response, Duration), E>((resp, elapsed)))
        });
        let (mut resp, elapsed) = ready!(answered)?;
        if let Some(context) = this.context.take() {
            let status = resp.status().as_u16();
            this.metrics
                .record(context.route(), context.method(), status, elapsed);
            resp.headers_mut()
                .insert(REQUEST_ID_NAME.clone(), context.into_id());
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
    let live = match state.core.live_sessions().await {
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
