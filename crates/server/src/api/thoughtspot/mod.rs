//! The ThoughtSpot REST API dialect: the v1 session API with trusted authentication
//! (`/callosum/v1/tspublic/v1/session/*` and the `/callosum/v1/session/*` aliases) and the v2
//! `auth/` API (`/api/rest/2.0/auth/*`), over the same core sessions as the MicroStrategy dialect.

pub mod error;
pub mod extract;
pub mod guarded;
pub mod login_flow;
pub mod sso;
pub mod v1;
pub mod v2;

use axum::routing::any;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use self::error::{TsError, V2Error};

use crate::state::AppState;

/// The ThoughtSpot release vestibule reports (`releaseVersion`); cs_tools splits it on dots.
pub const RELEASE_VERSION: &str = "10.4.0.cl";

/// Every ThoughtSpot route. `/api/rest/2.0` is nested here, with its own 404; the MicroStrategy
/// routes under `/api` are merged beside it at their full paths.
pub fn router(state: AppState) -> Router<AppState> {
    let v1 = v1::router(state);
    Router::new()
        .nest("/callosum/v1/tspublic/v1", v1.clone())
        .nest("/callosum/v1", v1)
        // Browser pages and the SAML assertion consumer service, not API operations: kept out of
        // the OpenAPI document.
        .route(sso::OIDC_LOGIN, axum::routing::get(sso::oidc_login))
        .route(sso::SAML_LOGIN, axum::routing::get(sso::saml_login))
        .route(sso::SAML_ACS, axum::routing::post(sso::saml_acs))
        .route(sso::APP, axum::routing::get(sso::app_page))
        .route(sso::APP_ROOT, axum::routing::get(sso::app_page))
        .nest("/api/rest/2.0", v2::router())
        // The bare prefix is not matched by the nest; it gets the v2 404 too.
        .route("/api/rest/2.0", any(v2_not_found))
        .route("/api/rest/2.0/", any(v2_not_found))
}

async fn v2_not_found() -> V2Error {
    V2Error(TsError::not_found())
}

#[derive(OpenApi)]
#[openapi(
    paths(
        v1::session::login,
        v1::session::logout,
        v1::session::info,
        v1::session::isactive,
        v1::orgs::list,
        v1::orgs::switch,
        v1::orgs::of_user,
        v1::token::auth_token,
        v1::token::login_token_get,
        v1::token::login_token_post,
        v2::session::login,
        v2::session::logout,
        v2::session::user,
        v2::session::token,
        v2::token::full,
        v2::token::object,
        v2::token::custom,
        v2::token::validate,
        v2::token::revoke,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "ThoughtSpot v1", description = "ThoughtSpot session API v1 and trusted authentication. \
            Also served under /callosum/v1/session/* (the Visual Embed SDK's paths). \
            Requests other than GET need an X-Requested-By header (any value), except session/auth/token."),
        (name = "ThoughtSpot v2", description = "ThoughtSpot REST API v2.0 authentication: sessions and bearer tokens"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
