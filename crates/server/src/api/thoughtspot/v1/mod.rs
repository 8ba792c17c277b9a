//! ThoughtSpot REST API v1: the session API, served under `/callosum/v1/tspublic/v1` and, for the
//! Visual Embed SDK, under `/callosum/v1`.

pub mod orgs;
pub mod session;
pub mod token;

use axum::routing::{get, post, MethodRouter};
use axum::{middleware, Router};

use super::error::{TsError, V1Error};
use super::extract::require_requested_by;
use crate::state::AppState;

/// The v1 routes, relative to either prefix. The CSRF check runs once a route and one of its
/// methods matched, so a method the route does not have is the 405 and an unknown path the 404.
pub fn router(state: AppState) -> Router<AppState> {
    let csrf = |methods: MethodRouter<AppState>| {
        methods.route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_requested_by,
        ))
    };
    Router::new()
        .route("/session/login", csrf(post(session::login)))
        .route("/session/logout", csrf(post(session::logout)))
        .route("/session/info", csrf(get(session::info)))
        .route("/session/isactive", csrf(get(session::isactive)))
        .route("/session/orgs", csrf(get(orgs::list).put(orgs::switch)))
        .route("/session/orgs/users/{userid}", csrf(get(orgs::of_user)))
        .route("/session/auth/token", csrf(post(token::auth_token)))
        .route(
            "/session/login/token",
            csrf(get(token::login_token_get).post(token::login_token_post)),
        )
        .fallback(|| async { V1Error(TsError::not_found()) })
        .method_not_allowed_fallback(|| async { V1Error(TsError::method_not_allowed()) })
}
