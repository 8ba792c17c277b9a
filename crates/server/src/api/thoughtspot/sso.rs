//! ThoughtSpot's browser sign-in through OpenID Connect: `GET /callosum/v1/oidc/login?
//! targetURLPath=…` (what the Visual Embed SDK opens) starts the flow; the shared callback
//! (`crate::sso`) then makes a ThoughtSpot cookie session and sends the browser to the target.
//!
//! The target must be a path on this origin (`/…`, not `//…`, no scheme) or a URL on an origin
//! of `server.allowed_origins` (the SDK's redirect mode sends the embedding page's absolute
//! URL); anything else is refused on the error page — a sign-in must not end on a site an
//! attacker names. `forceSAMLAutoRedirect` (the SDK adds it) is accepted and ignored.
//!
//! The SDK's pop-up (`inPopup`) names `{host}/v2/#/embed/saml-complete` as its target: `/v2/` is
//! ThoughtSpot's web application, here a page whose script, on that route, tells the opener
//! `{type: "samlComplete"}`; the SDK then closes the pop-up and checks `session/isactive`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use vestibule_core::session::Scope;
use vestibule_core::sso::{SsoDone, SsoProtocol};
use vestibule_core::CoreError;

use super::extract;
use super::login_flow::{cookie_session_shape, Remember};
use crate::client_addr::ClientOrigin;
use crate::sso::{self as shared, pages, DIALECT_THOUGHTSPOT};
use crate::state::AppState;

/// Where the Visual Embed SDK starts an OpenID Connect sign-in.
pub const OIDC_LOGIN: &str = "/callosum/v1/oidc/login";
/// Where it starts a SAML sign-in (`doSamlAuth`), and where the provider posts the response.
pub const SAML_LOGIN: &str = "/callosum/v1/saml/login";
pub const SAML_ACS: &str = "/callosum/v1/saml/SSO";
/// ThoughtSpot's web application, where the embedding pop-up ends (`/v2/#/embed/…`).
pub const APP: &str = "/v2";
pub const APP_ROOT: &str = "/v2/";

#[derive(Deserialize)]
pub struct OidcLoginQuery {
    #[serde(rename = "targetURLPath")]
    target_url_path: Option<String>,
    provider: Option<String>,
}

/// `GET /callosum/v1/oidc/login`: a 302 to the provider, or the error page.
pub async fn oidc_login(
    state: State<AppState>,
    origin: ClientOrigin,
    query: Result<Query<OidcLoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    login(state, origin, query, SsoProtocol::Oidc).await
}

async fn login(
    State(state): State<AppState>,
    origin: ClientOrigin,
    query: Result<Query<OidcLoginQuery>, axum::extract::rejection::QueryRejection>,
    protocol: SsoProtocol,
) -> Response {
    let Ok(Query(q)) = query else {
        return pages::error(StatusCode::BAD_REQUEST, "The sign-in request could not be read.");
    };
    let target = q.target_url_path.unwrap_or_else(|| "/".into());
    if !shared::is_allowed_target(state.core.config(), &target) {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The sign-in's targetURLPath must be a path on this server (starting with a single '/'), or a URL on this server's origin or on an origin in server.allowed_origins.",
        );
    }
    shared::start(
        &state,
        q.provider.as_deref().filter(|p| !p.is_empty()),
        protocol,
        &target,
        DIALECT_THOUGHTSPOT,
        origin.https,
    )
    .await
}

/// `GET /callosum/v1/saml/login`: as [`oidc_login`], through a SAML provider.
pub async fn saml_login(
    state: State<AppState>,
    origin: ClientOrigin,
    query: Result<Query<OidcLoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    login(state, origin, query, SsoProtocol::Saml).await
}

/// `POST /callosum/v1/saml/SSO`: the assertion consumer service of ThoughtSpot sign-ins.
pub async fn saml_acs(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    shared::acs(&state, &origin, &headers, &body, DIALECT_THOUGHTSPOT).await
}

/// The ThoughtSpot cookie session of a finished single sign-on, then a 302 to the target.
pub async fn signed_in(state: &AppState, https: bool, done: &SsoDone) -> Result<Response, CoreError> {
    let core = &state.core;
    let shape = cookie_session_shape(core.config(), Scope::Full, Remember::No);
    let session = core.new_session(done.user.id, done.login_mode, shape).await?;
    // Checked at the start; checked again, as the flow cookie came back from the browser.
    let target = if shared::is_allowed_target(core.config(), &done.return_to) {
        done.return_to.as_str()
    } else {
        "/"
    };
    let mut resp = shared::redirect(target);
    extract::set_session_cookies(core, https, &mut resp, &session, None);
    Ok(resp)
}

/// What the pop-up's last page posts to its opener (the Visual Embed SDK waits for this `type`).
/// It holds no secret, so it goes to any opener; the session stays in the cookie.
const COMPLETE_SCRIPT: &str = "(function(){var r=(location.hash||'').indexOf('#/embed/saml-complete')===0;\
var s=document.getElementById('app-status');if(!r){return;}\
if(window.opener){window.opener.postMessage({type:'samlComplete'},'*');}\
if(s){s.textContent='Signed in. This window can be closed.';}})();";

/// `GET /v2/`: where ThoughtSpot's web application lives. vestibule serves no application, only
/// the route the embedding pop-up ends on (`#/embed/saml-complete`, seen by the page's script).
pub async fn app_page() -> Response {
    pages::page_with_script(
        StatusCode::OK,
        "vestibule",
        "<p id=\"app-status\" role=\"status\">This server speaks ThoughtSpot's REST API; it serves no web application.</p>",
        &serde_json::Value::Null,
        COMPLETE_SCRIPT,
    )
}
