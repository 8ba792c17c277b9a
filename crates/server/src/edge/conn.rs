//! One connection: hyper's HTTP/1 state machine over the socket, each request given the peer's
//! address as `ConnectInfo`, and a watchdog that closes the connection when it takes too long to
//! send a request's header or sits idle too long between requests.
//!
//! Why not hyper's own `header_read_timeout`: hyper starts it whenever it waits for a request head,
//! which includes the whole wait of a kept-alive connection for its next request, so it would cap
//! the idle time at the header timeout. Here the connection's [`Activity`] tells the phases apart:
//! the socket wrapper marks the first byte of a request and each write of an answer, the service
//! marks the request taken, its answer ready and its answer sent. The watchdog runs
//!
//! - the header timer from a request's first byte (from the accept, for the first request);
//! - the idle timer from the end of the last answer;
//! - the idle timer again while an answer is being written, restarted by every write that gets
//!   through, so a client that stops reading its answer cannot hold the connection for ever;
//! - no timer while the handler works (a body that is slow to come is the body timeout's
//!   business, see [`super::body`]).

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::{Instant, Sleep};
use tower::util::Oneshot;
use tower::ServiceExt;

use super::counters::{self, Closed};

/// What every connection shares: the router, hyper's settings, the timeouts and the TLS, if any.
pub(super) struct Edge {
    pub app: Router,
    pub http: http1::Builder,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub tls: Option<Arc<super::tls::Tls>>,
}

/// Serves one connection until it ends, the watchdog closes it, or the server stops (`stop`
/// changes or closes: in-flight requests finish, then it ends). `permit` is its place under the
/// connection cap, given back when this returns.
pub(super) async fn serve(
    edge: Arc<Edge>,
    stream: TcpStream,
    peer: SocketAddr,
    stop: watch::Receiver<()>,
    permit: OwnedSemaphorePermit,
) {
    let _open = counters::record_open();
    let activity = Arc::new(Activity::new());
    let watched = Watched {
        stream,
        activity: Arc::clone(&activity),
    };
    match &edge.tls {
        None => drive(&edge, watched, peer, false, stop, activity).await,
        // The handshake counts as the first request's header time: a client that starts one and
        // stalls is closed as one that stalls in its header.
        Some(tls) => match tokio::time::timeout(edge.header_timeout, tls.acceptor().accept(watched)).await {
            Ok(Ok(stream)) => drive(&edge, stream, peer, true, stop, activity).await,
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => {
                counters::record_closed(Closed::Header);
                tracing::debug!(%peer, reason = Closed::Header.label(), "connection closed");
            }
        },
    }
    drop(permit);
}

/// Serves the connection's requests over `stream` (the socket, or TLS over it).
async fn drive<S>(
    edge: &Edge,
    stream: S,
    peer: SocketAddr,
    tls: bool,
    mut stop: watch::Receiver<()>,
    activity: Arc<Activity>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(stream);
    let service = ConnService {
        app: edge.app.clone(),
        peer,
        tls,
        activity: Arc::clone(&activity),
    };
    let mut conn = pin!(edge.http.serve_connection(io, service));
    let mut stopped = pin!(async move {
        // A value or a dropped sender: either way the server is stopping.
        let _ = stop.changed().await;
    });
    let mut watchdog = Watchdog::new(activity, edge);
    let mut draining = false;
    let ended = poll_fn(|cx| loop {
        // The connection first, so that the watchdog sees what this poll did to the activity.
        if let Poll::Ready(result) = conn.as_mut().poll(cx) {
            return Poll::Ready(result.err().map(Ended::Failed));
        }
        if !draining && stopped.as_mut().poll(cx).is_ready() {
            // hyper closes an idle connection (or one with a partial header) at once and lets
            // one serving a request answer it first; it has to be polled again to do so.
            conn.as_mut().graceful_shutdown();
            draining = true;
            continue;
        }
        return watchdog.poll(cx).map(|reason| Some(Ended::Closed(reason)));
    })
    .await;
    match ended {
        None => {}
        Some(Ended::Failed(e)) => tracing::debug!(%peer, error = %e, "connection ended"),
        Some(Ended::Closed(reason)) => {
            counters::record_closed(reason);
            tracing::debug!(%peer, reason = reason.label(), "connection closed");
        }
    }
}

enum Ended {
    Failed(hyper::Error),
    Closed(Closed),
}

/// Waiting for (the rest of) a request's header.
const HEADER: u32 = 0;
/// Kept alive between an answer and the next request's first byte.
const IDLE: u32 = 1;
/// Serving a request: from its whole header until the handler answers.
const BUSY: u32 = 2;
/// Writing the answer, until hyper is done with its body.
const WRITING: u32 = 3;
const PHASE: u32 = 0b11;

/// What a connection is doing: the phase in the low two bits, above them a count of changes, so
/// that the watchdog sees a change even when a poll brought the phase back to where it was (a
/// whole request served in one poll restarts the idle timer). Written and read by the
/// connection's own task only, so relaxed atomics suffice; they are atomics because the socket
/// wrapper and the service must be `Send`.
struct Activity {
    state: AtomicU32,
    /// The last write found the socket full: a timeout now is the client not reading its answer.
    write_stalled: AtomicBool,
}

impl Activity {
    /// A new connection owes its first request's header.
    fn new() -> Self {
        Activity {
            state: AtomicU32::new(HEADER),
            write_stalled: AtomicBool::new(false),
        }
    }

    fn state(&self) -> u32 {
        self.state.load(Ordering::Relaxed)
    }

    fn enter(&self, phase: u32) {
        let state = self.state();
        self.state.store(
            (state & !PHASE).wrapping_add(PHASE + 1) | phase,
            Ordering::Relaxed,
        );
    }
}

/// The socket, marking a request's first byte on a kept-alive connection and every write of an
/// answer that gets through.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before && this.activity.state() & PHASE == IDLE {
            this.activity.enter(HEADER);
        }
        Poll::Ready(Ok(()))
    }
}

impl Watched {
    /// A write that got through restarts the timer of an answer being written, and of the idle
    /// time after it (hyper may still be flushing the answer's end when it drops the body).
    fn wrote(&self, written: &Poll<io::Result<usize>>) {
        let phase = self.activity.state() & PHASE;
        let through = matches!(written, Poll::Ready(Ok(n)) if *n > 0);
        if through && (phase == WRITING || phase == IDLE) {
            self.activity.enter(phase);
        }
        if through || written.is_pending() {
            self.activity
                .write_stalled
                .store(written.is_pending(), Ordering::Relaxed);
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Closes the connection when the phase it is in has lasted too long.
struct Watchdog {
    activity: Arc<Activity>,
    /// The state the timer was set for.
    seen: u32,
    sleep: Pin<Box<Sleep>>,
    header_timeout: Duration,
    idle_timeout: Duration,
}

impl Watchdog {
    fn new(activity: Arc<Activity>, edge: &Edge) -> Self {
        Watchdog {
            seen: activity.state(),
            activity,
            // The first request's header is due from the accept.
            sleep: Box::pin(tokio::time::sleep(edge.header_timeout)),
            header_timeout: edge.header_timeout,
            idle_timeout: edge.idle_timeout,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Closed> {
        let state = self.activity.state();
        let phase = state & PHASE;
        if state != self.seen {
            self.seen = state;
            let limit = match phase {
                HEADER => self.header_timeout,
                IDLE | WRITING => self.idle_timeout,
                _ => return Poll::Pending,
            };
            self.sleep.as_mut().reset(Instant::now() + limit);
        }
        if phase == BUSY {
            return Poll::Pending;
        }
        ready!(self.sleep.as_mut().poll(cx));
        let stalled = self.activity.write_stalled.load(Ordering::Relaxed);
        Poll::Ready(match phase {
            WRITING => Closed::Write,
            IDLE if stalled => Closed::Write,
            IDLE => Closed::Idle,
            _ => Closed::Header,
        })
    }
}

/// The router as hyper calls it, for one connection.
struct ConnService {
    app: Router,
    peer: SocketAddr,
    /// The connection is our own TLS: requests on it are `https` (for `Secure` cookies).
    tls: bool,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<ConnBody>;
    type Error = Infallible;
    type Future = ConnFuture;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        self.activity.enter(BUSY);
        // What handlers read the client's address from (`crate::client_addr`).
        req.extensions_mut().insert(ConnectInfo(self.peer));
        if self.tls {
            req.extensions_mut().insert(super::OverTls);
        }
        ConnFuture {
            inner: self.app.clone().oneshot(req),
            activity: Some(Arc::clone(&self.activity)),
        }
    }
}

pin_project_lite::pin_project! {
    struct ConnFuture {
        #[pin]
        inner: Oneshot<Router, Request<Incoming>>,
        activity: Option<Arc<Activity>>,
    }
}

impl Future for ConnFuture {
    type Output = Result<Response<ConnBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let resp = ready!(this.inner.poll(cx))?;
        if let Some(activity) = this.activity {
            activity.enter(WRITING);
        }
        let done = IdleOnDrop(this.activity.take());
        Poll::Ready(Ok(resp.map(|inner| ConnBody { inner, _done: done })))
    }
}

/// An answer's body; when hyper is done with it (sent, or dropped unsent) the connection is idle.
struct ConnBody {
    inner: Body,
    _done: IdleOnDrop,
}

struct IdleOnDrop(Option<Arc<Activity>>);

impl Drop for IdleOnDrop {
    fn drop(&mut self) {
        if let Some(activity) = &self.0 {
            activity.enter(IDLE);
        }
    }
}

impl http_body::Body for ConnBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_counts_changes_that_return_to_the_same_phase() {
        let a = Activity::new();
        let start = a.state();
        assert_eq!(start & PHASE, HEADER);
        a.enter(BUSY);
        a.enter(IDLE);
        let idle = a.state();
        a.enter(HEADER);
        a.enter(BUSY);
        a.enter(IDLE);
        assert_eq!(a.state() & PHASE, IDLE);
        assert_ne!(a.state(), idle);
    }
}
