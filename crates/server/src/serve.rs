//! Builds the whole router and serves it on the HTTP edge (`crate::edge`) until shutdown, then
//! flushes the session store.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use vestibule_core::Core;

use crate::api::mstr;
use crate::edge::BodyTimeoutLayer;
use crate::state::AppState;

pub struct ServeOptions {
    pub listener: TcpListener,
    /// Open connections at most, as [`crate::edge::connection_cap_for`] computes it.
    pub max_connections: usize,
}

/// Every route of both dialects and the explorer.
pub fn router(core: Arc<Core>) -> Router {
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
    // Outermost, so that the request id, the logs and the metrics cover every route.
    crate::telemetry::instrument(app, core)
}

/// Serves until `shutdown` resolves: in-flight requests finish, then the sessions are flushed to
/// their store.
pub async fn serve(
    core: Arc<Core>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = core.spawn_background();
    let app = router(core.clone());
    crate::edge::serve(
        options.listener,
        app,
        &core.config().server,
        options.max_connections,
        shutdown,
    )
    .await;
    for task in background {
        task.abort();
    }
    if let Err(e) = core.flush_sessions().await {
        tracing::error!(error = %e, "flushing sessions at shutdown failed");
    }
    Ok(())
}
