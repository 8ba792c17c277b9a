//! vestibule's HTTP layer: one axum router per API dialect over the one [`Core`].
//!
//! - `api::mstr`: the MicroStrategy Library REST API, under `/api` and under the context path;
//! - `client_addr`, `forwarded`: the client's address and scheme, behind trusted proxies too;
//! - `openapi`: the OpenAPI document of every endpoint and the offline explorer at `/api-docs`;
//! - `telemetry`: log lines, request ids, the access line and `/metrics`;
//! - `cors`: cross-origin calls from the pages that embed vestibule;
//! - `edge`: the accept loop, the header, idle and body timeouts and the connection cap.
#![forbid(unsafe_code)]

pub mod api;
pub mod client_addr;
pub mod cookies;
pub mod cors;
pub mod credentials;
pub mod edge;
pub mod forwarded;
pub mod openapi;
pub mod serve;
pub mod sso;
pub mod state;
pub mod telemetry;

pub use serve::{router, serve, ServeOptions};
pub use state::AppState;
