//! The request observer, a tower layer around every route and fallback: it gives each request its
//! id (returned as `x-request-id`), keeps the request's log context current while the request is
//! served (so every line written meanwhile names it, see [`super::context`]), writes the access
//! line when it is answered and counts it in the metrics.
//!
//! The access line is at `debug` under the target `vestibule::access` (`answered status=200
//! micros=312`), so a busy server at `info` writes no line per request unless asked.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use vestibule_core::Core;

use super::context::{self as log_context, RequestContext};
use super::endpoint::{self, Observed};
use super::metrics::{HttpMetrics, InFlight};
use super::request_id::{self, REQUEST_ID};

/// Adds `/metrics` to `app` and wraps every route (and the fallbacks) in the request observer.
pub fn instrument(app: Router, core: Arc<Core>) -> Router {
    let metrics = HttpMetrics::new();
    let state = Observed::new(core, Arc::clone(&metrics));
    app.merge(
        Router::new()
            .route("/metrics", get(endpoint::render))
            .with_state(state),
    )
    .layer(ObserveLayer(metrics))
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
        let id = request_id::of(&req);
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
        // Health probes come every few seconds from load balancers: counted, never logged.
        let quiet = this
            .context
            .as_ref()
            .is_some_and(|c| c.route().starts_with("/health/"));
        // Every line written while the request is served, its access line included, names it.
        let answered = log_context::scope(this.context, || {
            let resp = ready!(inner.poll(cx))?;
            let elapsed = start.elapsed();
            if !quiet {
                tracing::debug!(
                    target: "vestibule::access",
                    status = resp.status().as_u16(),
                    micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                    "answered"
                );
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
        Poll::Ready(Ok(resp))
    }
}
