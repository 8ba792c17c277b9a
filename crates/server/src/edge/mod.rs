//! The HTTP edge: accepting connections and what each is held to before and around the router
//! (issue 14, slow clients). Slow or idle clients must not be able to hold the server's files:
//!
//! - a connection has `server.header_read_timeout_secs` to send a request's whole header, and a
//!   kept-alive one `server.idle_timeout_secs` to start its next request (or to take any of its
//!   answer), or it is closed ([`conn`]);
//! - a request body must arrive whole within `server.body_read_timeout_secs` of the handler's
//!   first read, or the request is answered 408 and the connection closed ([`body`]);
//! - at most [`connection_cap`] connections are open; one more is accepted and closed at once, and
//!   running out of files makes the accept loop wait a little, never spin or stop ([`serve`]).
//!
//! Shutdown is graceful as `axum::serve`'s was: stop accepting (the listener is closed), let every
//! connection finish the request it serves, then return.

mod body;
mod cap;
mod conn;
pub(crate) mod counters;
pub mod tls;

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use vestibule_core::config::ServerConfig;

pub(crate) use body::BodyTimeoutLayer;
pub use cap::{connection_cap, open_file_limit, CapError};
pub use tls::{Tls, TlsError};

/// On a request that came over the server's own TLS (an extension the connection puts on it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverTls;

/// How long the accept loop waits after an accept error that is not one connection's (no files
/// left, say) before it tries again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The cap for `config` under this process's open-file limit; refused when the limit cannot hold
/// it. The binary calls this before it binds, so that a bad setting fails the start.
pub fn connection_cap_for(config: &ServerConfig) -> Result<usize, CapError> {
    connection_cap(config.max_connections, open_file_limit())
}

/// Accepts connections on `listener` and serves `app` on them until `shutdown` resolves, then
/// waits for the open connections to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    config: &ServerConfig,
    max_connections: usize,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    // The header timeout is the watchdog's (see `conn`); hyper's would also cut idle connections.
    http.header_read_timeout(None);
    let edge = Arc::new(conn::Edge {
        app,
        http,
        header_timeout: Duration::from_secs(config.header_read_timeout_secs),
        idle_timeout: Duration::from_secs(config.idle_timeout_secs),
        tls,
    });
    let permits = Arc::new(Semaphore::new(max_connections));
    let (stop, stopped) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    // One warning per burst, not one per refused connection or failed accept.
    let mut refusing = false;
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                failing = false;
                match Arc::clone(&permits).try_acquire_owned() {
                    Ok(permit) => {
                        refusing = false;
                        tokio::spawn(conn::serve(
                            Arc::clone(&edge),
                            stream,
                            peer,
                            stopped.clone(),
                            permit,
                        ));
                    }
                    Err(_) => {
                        // Closed at once; the established connections are not touched.
                        drop(stream);
                        counters::record_refused();
                        if !refusing {
                            refusing = true;
                            tracing::warn!(
                                max_connections,
                                "connection cap reached (server.max_connections): new connections are closed until some end"
                            );
                        }
                    }
                }
            }
            // The peer gave up before it was accepted: nothing to wait for.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                if !failing {
                    failing = true;
                    tracing::warn!(error = %e, "accepting connections failed (out of open files?); retrying");
                }
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
    // Not accepting from here: connecting is refused, as clients and load balancers expect.
    drop(listener);
    drop(stop);
    // Each connection holds a permit until it ends: all of them back means all have ended.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}
