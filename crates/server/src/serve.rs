//! Builds the whole router and serves it on the HTTP edge (`crate::edge`) until shutdown, then
//! flushes the session store.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use vestibule_core::Core;

use crate::api::mstr;
use crate::edge::tls::Reload;
use crate::edge::BodyTimeoutLayer;
use crate::state::AppState;

/// Connections at most on the metrics address (scrapers and probes, a handful).
const METRICS_CONNECTIONS: usize = 64;

pub struct ServeOptions {
    pub listener: TcpListener,
    /// Open connections at most, as [`crate::edge::connection_cap_for`] computes it.
    pub max_connections: usize,
    /// The server's own TLS on `listener` (as [`crate::edge::Tls::from_config`] read it) and its
    /// reloads.
    pub reload: Reload,
    /// `server.metrics_listen`, bound: `/metrics` and the health probes are served there (plain
    /// HTTP) instead of `/metrics` on `listener`.
    pub metrics_listener: Option<TcpListener>,
}

/// Every route of both dialects and the explorer, with `/metrics`.
pub fn router(core: Arc<Core>) -> Router {
    routers(core, false).0
}

/// The API's router and, with `metrics_apart`, that of the separate metrics address (`/metrics`
/// and the health probes), both observed into the same metrics.
fn routers(core: Arc<Core>, metrics_apart: bool) -> (Router, Option<Router>) {
    let context = core.config().context_path.clone();
    let state = AppState::new(core.clone());
    // The ThoughtSpot routes include /api/rest/2.0 with its own 404, more specific than the
    // MicroStrategy routes under /api, so requests there (known or not) reach the ThoughtSpot v2
    // router. Unknown paths elsewhere under /api get the MicroStrategy 404 of the fallback below.
    let mut app = Router::new()
        .merge(crate::api::thoughtspot::router(state.clone()))
        .merge(mstr::router("/api", "/"))
        .merge(mstr::sso::router(&context))
        .merge(crate::api::health::router());
    if !context.is_empty() {
        app = app.merge(mstr::router(&format!("{context}/api"), &context));
    }
    let body_timeout = Duration::from_secs(core.config().server.body_read_timeout_secs);
    let app = app
        .merge(crate::openapi::explorer())
        .fallback(|| async { mstr::error::MstrError::not_found() })
        .with_state(state)
        // Inside the observer, so that a body's timeout is logged and counted as the 408 it is.
        .layer(BodyTimeoutLayer(body_timeout));
    let app = match crate::cors::layer(&core.config().server) {
        Some(cors) => app.layer(cors),
        None => app,
    };
    let apart = metrics_apart.then(|| {
        crate::api::health::router()
            .fallback(|| async { mstr::error::MstrError::not_found() })
            .with_state(AppState::new(core.clone()))
    });
    // Outermost, so that the request id, the logs and the metrics cover every route.
    crate::telemetry::instrument(app, core, apart)
}

/// Serves until `shutdown` resolves: in-flight requests finish, then the sessions are flushed to
/// their store.
pub async fn serve(
    core: Arc<Core>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut background = core.spawn_background();
    let tls = options.reload.tls();
    background.push(tokio::spawn(options.reload.run()));
    let (app, ops) = routers(core.clone(), options.metrics_listener.is_some());
    // One shutdown for both addresses.
    let (stop, stopping) = tokio::sync::watch::channel(());
    let stopped = move |mut rx: tokio::sync::watch::Receiver<()>| async move {
        let _ = rx.changed().await;
    };
    let config = &core.config().server;
    let metrics = match (options.metrics_listener, ops) {
        (Some(listener), Some(ops)) => {
            let config = config.clone();
            let done = stopped(stopping.clone());
            Some(tokio::spawn(async move {
                crate::edge::serve(listener, ops, &config, METRICS_CONNECTIONS, None, done).await
            }))
        }
        _ => None,
    };
    let api = crate::edge::serve(
        options.listener,
        app,
        config,
        options.max_connections,
        tls,
        stopped(stopping),
    );
    tokio::select! {
        () = api => {}
        () = async {
            shutdown.await;
            let _ = stop.send(());
            std::future::pending::<()>().await
        } => {}
    }
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    for task in background {
        task.abort();
    }
    if let Err(e) = core.flush_sessions().await {
        tracing::error!(error = %e, "flushing sessions at shutdown failed");
    }
    Ok(())
}
