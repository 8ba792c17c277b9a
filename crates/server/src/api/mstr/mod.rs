//! The MicroStrategy Library REST API dialect.

pub mod acl;
pub mod auth;
pub mod error;
pub mod extract;
pub mod folders;
pub mod journal;
pub mod model;
pub mod objects;
pub mod params;
pub mod projects;
pub mod search;
pub mod sessions;
pub mod sso;
pub mod status;

use axum::routing::{get, post};
use axum::{Extension, Router};

use self::error::MstrError;
use self::extract::CookiePath;
use crate::state::AppState;

/// The routes of the dialect at their full paths under `prefix` (`/api`, or `{context}/api`);
/// session cookies get `cookie_path`. The caller merges this router rather than nesting it: a
/// nested router wraps every route in prefix-stripping layers, which cost each request a rebuilt
/// URI and several allocations, and unknown paths get the same 404 from the top-level fallback.
pub fn router(prefix: &str, cookie_path: &str) -> Router<AppState> {
    let at = |path: &str| format!("{prefix}{path}");
    // Only the handlers that set a session cookie read its path: a layer on every route would
    // cost every request (the session check included) one more boxed service.
    let cookie = Extension(CookiePath(cookie_path.into()));
    Router::new()
        .route(&at("/status"), get(status::status))
        .route(&at("/auth/login"), post(auth::login).layer(cookie.clone()))
        .route(&at("/auth/logout"), post(auth::logout).layer(cookie.clone()))
        .route(
            &at("/auth/identityToken"),
            post(auth::create_identity_token)
                .get(auth::validate_identity_token)
                .delete(auth::delete_identity_token),
        )
        .route(&at("/auth/delegate"), post(auth::delegate).layer(cookie))
        .route(&at("/auth/apiTokens"), post(auth::create_api_token))
        .route(&at("/auth/token"), get(sso::token))
        .route(
            &at("/sessions"),
            get(sessions::get_session).put(sessions::keep_alive),
        )
        .route(&at("/sessions/userInfo"), get(sessions::user_info))
        .route(&at("/sessions/privileges"), get(sessions::privileges))
        .route(&at("/sessions/privileges/{id}"), get(sessions::privilege))
        .route(&at("/projects"), get(projects::list))
        .route(
            &at("/objects/{id}"),
            get(objects::get).put(objects::put).delete(objects::delete),
        )
        .route(&at("/objects/{id}/copy"), post(objects::copy))
        .route(&at("/folders"), get(folders::list).post(folders::create))
        .route(&at("/folders/{id}"), get(folders::get).delete(folders::delete))
        .route(
            &at("/folders/preDefined/{folderType}"),
            get(folders::predefined_contents),
        )
        .route(
            &at("/folders/preDefined/{folderType}/id"),
            get(folders::predefined_id),
        )
        .route(
            &at("/metadataSearches/results"),
            post(search::store_v1).get(search::results),
        )
        .route(&at("/v2/metadataSearches/results"), post(search::store_v2))
        .route(
            &at("/changeJournal"),
            post(journal::create).delete(journal::purge),
        )
        .route(&at("/changeJournal/{searchId}"), get(journal::results))
        .route(&at("/model/changesets"), post(model::changesets::create))
        .route(
            &at("/model/changesets/{id}"),
            get(model::changesets::get).delete(model::changesets::delete),
        )
        .route(
            &at("/model/changesets/{id}/commit"),
            post(model::changesets::commit),
        )
        .route(
            &at("/model/attributes"),
            post(model::attributes::create).get(model::attributes::list),
        )
        .route(
            &at("/model/attributes/{id}"),
            get(model::attributes::get).patch(model::attributes::patch),
        )
        .route(
            &at("/model/systemHierarchy/attributes/{id}/relationships"),
            get(model::relationships::get).put(model::relationships::put),
        )
        .route(
            &at("/model/tables"),
            get(model::tables::list).post(model::tables::create),
        )
        .route(&at("/model/tables/{id}"), get(model::tables::get))
        .route(
            &at("/model/schema/lock"),
            get(model::schema::get_lock)
                .post(model::schema::lock)
                .delete(model::schema::unlock),
        )
        .route(
            &at("/model/schema/reload"),
            post(model::schema::reload).get(model::schema::last_reload),
        )
        .route(&at("/model/tasks/{id}"), get(model::tasks::get))
        .route(
            &at("/model/tables/{id}/physicalTable/refresh"),
            post(model::tables::refresh),
        )
        .method_not_allowed_fallback(|| async { MstrError::method_not_allowed() })
}
