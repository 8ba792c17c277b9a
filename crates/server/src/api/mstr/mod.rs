//! The MicroStrategy Library REST API dialect.

pub mod auth;
pub mod error;
pub mod extract;
pub mod projects;
pub mod sessions;
pub mod status;

use axum::routing::{get, post};
use axum::{Extension, Router};

use self::error::MstrError;
use self::extract::CookiePath;
use crate::state::AppState;

/// The `/api` routes of the dialect; session cookies get `cookie_path`.
pub fn router(cookie_path: &str) -> Router<AppState> {
    Router::new()
        .route("/status", get(status::status))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route(
            "/auth/identityToken",
            post(auth::create_identity_token)
                .get(auth::validate_identity_token)
                .delete(auth::delete_identity_token),
        )
        .route("/auth/delegate", post(auth::delegate))
        .route("/auth/apiTokens", post(auth::create_api_token))
        .route("/sessions", get(sessions::get_session).put(sessions::keep_alive))
        .route("/sessions/userInfo", get(sessions::user_info))
        .route("/sessions/privileges", get(sessions::privileges))
        .route("/sessions/privileges/{id}", get(sessions::privilege))
        .route("/projects", get(projects::list))
        .fallback(|| async { MstrError::not_found() })
        .method_not_allowed_fallback(|| async { MstrError::method_not_allowed() })
        .layer(Extension(CookiePath(cookie_path.to_owned())))
}
