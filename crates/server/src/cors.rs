//! Cross-origin requests from the pages that embed vestibule (`server.allowed_origins`): the
//! embedding SDKs call the APIs from the browser with its cookies (`credentials: "include"`) —
//! MicroStrategy's `/api/auth/delegate` and `/api/auth/token`, ThoughtSpot's `session/isactive`
//! and `session/info` — and read the token headers of the answers.
//!
//! tower-http's CORS layer answers the preflights and writes the headers; an origin that is not
//! listed gets none, so the browser keeps the answer from the page. With no origins configured
//! the layer is not installed at all.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use vestibule_core::config::ServerConfig;

/// Response headers a page may read: the tokens, the changeset and the request id.
const EXPOSED: [&str; 5] = [
    "x-mstr-authtoken",
    "x-mstr-identitytoken",
    "x-mstr-ms-changeset",
    "x-request-id",
    "location",
];

/// The layer for `server.allowed_origins`, or `None` when none are configured.
pub fn layer(server: &ServerConfig) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = server
        .allowed_origins()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            // The dialects' own headers (X-MSTR-*, X-Requested-By, Authorization, …): whatever
            // the page asks for; the handlers check them as for any other client.
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(EXPOSED.map(HeaderName::from_static))
            .max_age(Duration::from_secs(600)),
    )
}
