//! The OpenAPI document of every endpoint, served at `/api-docs/openapi.json`, and the explorer
//! (Swagger UI, vendored so it works offline) at `/api-docs`.

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::api::mstr;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vestibule",
        description = "The MicroStrategy (Strategy One) and ThoughtSpot authentication, session and modeling APIs, served by vestibule. \
            Log in with POST /api/auth/login, then use Authorize with the X-MSTR-AuthToken it returns (the session cookie is kept by the browser)."
    ),
    paths(
        mstr::status::status,
        mstr::auth::login,
        mstr::auth::logout,
        mstr::auth::create_identity_token,
        mstr::auth::validate_identity_token,
        mstr::auth::delete_identity_token,
        mstr::auth::delegate,
        mstr::auth::create_api_token,
        mstr::sessions::get_session,
        mstr::sessions::keep_alive,
        mstr::sessions::user_info,
        mstr::sessions::privileges,
        mstr::sessions::privilege,
        mstr::projects::list,
    ),
    modifiers(&Security),
    tags(
        (name = "Authentication", description = "MicroStrategy login, sessions, identity tokens and delegation"),
        (name = "Projects", description = "MicroStrategy projects"),
        (name = "Misc", description = "Server status"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "mstrAuthToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-MSTR-AuthToken"))),
        );
    }
}

/// The whole document: this file's MicroStrategy paths merged with each other dialect's own
/// document (each dialect module keeps an `ApiDoc` of its handlers).
pub fn document() -> utoipa::openapi::OpenApi {
    #[allow(unused_mut)]
    let mut doc = ApiDoc::openapi();
    doc
}

/// The explorer page and the document it shows.
pub fn explorer() -> Router<AppState> {
    Router::from(SwaggerUi::new("/api-docs").url("/api-docs/openapi.json", document()))
}
