//! ThoughtSpot REST API v2.0: the `auth/` endpoints, under `/api/rest/2.0`.

pub mod access;
pub mod session;
pub mod token;

use axum::routing::{get, post};
use axum::Router;

use super::error::{TsError, V2Error};
use crate::state::AppState;

/// The v2 routes, relative to `/api/rest/2.0`. Unknown paths and methods answer with the v2 error
/// body, not the MicroStrategy one of the surrounding `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/session/login", post(session::login))
        .route("/auth/session/logout", post(session::logout))
        .route("/auth/session/user", get(session::user))
        .route("/auth/session/token", get(session::token))
        .route("/auth/token/full", post(token::full))
        .route("/auth/token/object", post(token::object))
        .route("/auth/token/custom", post(token::custom))
        .route("/auth/token/validate", post(token::validate))
        .route("/auth/token/revoke", post(token::revoke))
        .fallback(|| async { V2Error(TsError::not_found()) })
        .method_not_allowed_fallback(|| async { V2Error(TsError::method_not_allowed()) })
}
