//! The MicroStrategy Library REST API dialect.

pub mod auth;
pub mod error;
pub mod extract;
pub mod model;
pub mod objects;
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
        .route(
            "/objects/{id}",
            get(objects::get).put(objects::put).delete(objects::delete),
        )
        .route("/model/changesets", post(model::changesets::create))
        .route(
            "/model/changesets/{id}",
            get(model::changesets::get).delete(model::changesets::delete),
        )
        .route("/model/changesets/{id}/commit", post(model::changesets::commit))
        .route(
            "/model/attributes",
            post(model::attributes::create).get(model::attributes::list),
        )
        .route(
            "/model/attributes/{id}",
            get(model::attributes::get).patch(model::attributes::patch),
        )
        .route(
            "/model/systemHierarchy/attributes/{id}/relationships",
            get(model::relationships::get).put(model::relationships::put),
        )
        .route(
            "/model/tables",
            get(model::tables::list).post(model::tables::create),
        )
        .route("/model/tables/{id}", get(model::tables::get))
        .fallback(|| async { MstrError::not_found() })
        .method_not_allowed_fallback(|| async { MstrError::method_not_allowed() })
        .layer(Extension(CookiePath(cookie_path.into())))
}
