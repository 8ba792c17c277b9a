//! ThoughtSpot REST API v1: the session API, served under `/callosum/v1/tspublic/v1` and, for the
//! Visual Embed SDK, under `/callosum/v1`.

pub mod orgs;
pub mod session;
pub mod token;

use axum::routing::{get, post};
use axum::{middleware, Router};

use super::error::{TsError, V1Error};
use super::extract::require_requested_by;
use crate::state::AppState;

/// The v1 routes, relative to either prefix.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/session/login", post(session::login))
        .route("/session/logout", post(session::logout))
        .route("/session/info", get(session::info))
        .route("/session/isactive", get(session::isactive))
        .route("/session/orgs", get(orgs::list).put(orgs::switch))
        .route("/session/orgs/users/{userid}", get(orgs::of_user))
        .route("/session/auth/token", post(token::auth_token))
        .route(
            "/session/login/token",
            get(token::login_token_get).post(token::login_token_post),
        )
        .fallback(|| async { V1Error(TsError::not_found()) })
        .method_not_allowed_fallback(|| async { V1Error(TsError::method_not_allowed()) })
        .layer(middleware::from_fn_with_state(state, require_requested_by))
}
