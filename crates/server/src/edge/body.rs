//! The body-read timeout: a request body must arrive whole within `server.body_read_timeout_secs`
//! of the handler's first read, or the request is answered 408 and its connection closed.
//!
//! [`BodyTimeoutLayer`] wraps every request body that is not empty in a [`TimedBody`]. The deadline
//! is set once, at the first read, for the whole body (not per chunk), so a client trickling a byte
//! at a time cannot stretch it. When it passes, the body yields an error: the handler's extractor
//! answers as it answers any unreadable body (the dialect's error body, MicroStrategy `ERR006`,
//! ThoughtSpot `10002`), and the layer makes that answer a 408 with `Connection: close`, since the
//! rest of the body may still come and the connection cannot be reused. The layer sits inside the
//! request observer, so the access line and the metrics see the 408.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::BoxError;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::counters;

/// The error a timed-out body yields; its text ends up in the dialect's error message.
#[derive(Debug)]
pub struct BodyTimedOut(Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.subsec_nanos() == 0 {
            write!(
                f,
                "the request body was not received within {} s",
                self.0.as_secs()
            )
        } else {
            write!(
                f,
                "the request body was not received within {} ms",
                self.0.as_millis()
            )
        }
    }
}

impl std::error::Error for BodyTimedOut {}

pin_project_lite::pin_project! {
    /// A request body with a deadline for the whole of it, counted from the first read.
    pub struct TimedBody<B> {
        #[pin]
        inner: B,
        timeout: Duration,
        deadline: Option<Instant>,
        // Armed the first time the body has nothing to give, so a body that is already here costs
        // no timer.
        #[pin]
        sleep: Option<Sleep>,
        // Shared with the layer's future, which turns the answer into a 408.
        timed_out: Arc<AtomicBool>,
    }
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, timeout: Duration, timed_out: Arc<AtomicBool>) -> Self {
        TimedBody {
            inner,
            timeout,
            deadline: None,
            sleep: None,
            timed_out,
        }
    }
}

impl<B> http_body::Body for TimedBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if this.timed_out.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        let deadline = *this
            .deadline
            .get_or_insert_with(|| Instant::now() + *this.timeout);
        // The deadline first: data that keeps coming, however slowly, does not put it off.
        if let Some(sleep) = this.sleep.as_mut().as_pin_mut() {
            if sleep.poll(cx).is_ready() {
                return Poll::Ready(Some(Err(time_out(this.timed_out, *this.timeout))));
            }
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                if this.sleep.is_none() {
                    this.sleep.set(Some(tokio::time::sleep_until(deadline)));
                    if let Some(sleep) = this.sleep.as_mut().as_pin_mut() {
                        if sleep.poll(cx).is_ready() {
                            return Poll::Ready(Some(Err(time_out(this.timed_out, *this.timeout))));
                        }
                    }
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed) || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn time_out(flag: &AtomicBool, timeout: Duration) -> BoxError {
    flag.store(true, Ordering::Relaxed);
    counters::record_body_timeout();
    Box::new(BodyTimedOut(timeout))
}

/// Puts every non-empty request body under the deadline; see the module's documentation.
#[derive(Clone)]
pub struct BodyTimeoutLayer(pub Duration);

impl<S> tower::Layer<S> for BodyTimeoutLayer {
    type Service = BodyTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyTimeout {
            inner,
            timeout: self.0,
        }
    }
}

#[derive(Clone)]
pub struct BodyTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S> tower::Service<Request> for BodyTimeout<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BodyTimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        use http_body::Body as _;
        if req.body().is_end_stream() {
            // Nothing to wait for (a GET, say): no wrapper, no allocation.
            return BodyTimeoutFuture {
                inner: self.inner.call(req),
                timed_out: None,
            };
        }
        let flag = Arc::new(AtomicBool::new(false));
        let timeout = self.timeout;
        let body_flag = Arc::clone(&flag);
        let req = req.map(|b| Body::new(TimedBody::new(b, timeout, body_flag)));
        BodyTimeoutFuture {
            inner: self.inner.call(req),
            timed_out: Some(flag),
        }
    }
}

pin_project_lite::pin_project! {
    pub struct BodyTimeoutFuture<F> {
        #[pin]
        inner: F,
        timed_out: Option<Arc<AtomicBool>>,
    }
}

impl<F, E> Future for BodyTimeoutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut resp = ready!(this.inner.poll(cx))?;
        if this.timed_out.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
            *resp.status_mut() = StatusCode::REQUEST_TIMEOUT;
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(resp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use tower::ServiceExt;

    /// A body that gives one byte every `every`, `n` times: a trickle.
    struct Trickle {
        left: usize,
        every: Duration,
        next: Pin<Box<Sleep>>,
    }

    impl http_body::Body for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            ready!(self.next.as_mut().poll(cx));
            self.left -= 1;
            let at = Instant::now() + self.every;
            self.next.as_mut().reset(at);
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    fn trickle(n: usize, every: Duration) -> Body {
        Body::new(Trickle {
            left: n,
            every,
            next: Box::pin(tokio::time::sleep(every)),
        })
    }

    /// Reads the whole body (as a fallback, so that the route scan of the OpenAPI test does not
    /// take it for a route to document).
    fn app() -> Router {
        Router::new()
            .fallback(|body: Bytes| async move { body.len().to_string() })
            .layer(BodyTimeoutLayer(Duration::from_millis(300)))
    }

    #[tokio::test]
    async fn a_trickle_that_outlasts_the_deadline_is_answered_408_and_closed() {
        // 50 bytes, one each 20 ms: every chunk comes well within the 300 ms of the one before,
        // but the whole takes a second.
        let req = Request::post("/")
            .body(trickle(50, Duration::from_millis(20)))
            .unwrap();
        let resp = app().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(resp.headers()[header::CONNECTION], "close");
    }

    #[tokio::test]
    async fn a_body_within_the_deadline_is_read() {
        let req = Request::post("/")
            .body(trickle(5, Duration::from_millis(10)))
            .unwrap();
        let resp = app().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers().get(header::CONNECTION).is_none());
    }
}
