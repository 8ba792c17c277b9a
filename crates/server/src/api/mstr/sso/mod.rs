//! The MicroStrategy Library's browser sign-in: the routes of `{context}/auth` and
//! `{context}/saml`, the session a finished single sign-on makes, and `GET /api/auth/token` (the
//! auth token of the browser's session cookies). The pages are in `sign_in` (the sign-in page, its
//! form, the signed-in page and its personal API token), `dialog` (the embedding pop-up),
//! `logout` and `saml`.
//!
//! A browser session is the session `/api/auth/login` makes, its `JSESSIONID` cookie beside an
//! HttpOnly `iSession` cookie that holds its auth token (Library keeps the I-Server session in a
//! cookie of that name). Only `GET /api/auth/token` and these pages read `iSession`: the REST
//! API still needs the token in `X-MSTR-AuthToken`, so a cross-site request cannot use it.

mod dialog;
mod logout;
mod saml;
mod sign_in;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use vestibule_core::auth::Credentials;
use vestibule_core::core::Principal;
use vestibule_core::credential::Credential;
use vestibule_core::session::login_mode;
use vestibule_core::sessions::NewSession;
use vestibule_core::sso::{SsoDone, SsoProtocol};
use vestibule_core::CoreError;

use super::auth::session_shape;
use super::error::{MstrError, MstrResult};
use super::extract::{AUTH_TOKEN, SESSION_COOKIE};
use crate::client_addr::ClientOrigin;
use crate::sso::pages::{self, escape};
use crate::sso::{self as shared, DIALECT_MSTR};
use crate::state::AppState;
use crate::{cookies, credentials};

/// The cookie holding a browser session's auth token.
pub const TOKEN_COOKIE: &str = "iSession";
/// The double-submit cookie of the pages' forms.
const CSRF_COOKIE: &str = "vestibule_csrf";

/// The pages under `{context}/auth`: browser pages, not API operations, so not in the OpenAPI
/// document.
pub fn router(context: &str) -> Router<AppState> {
    let page = |p: &str| format!("{context}/auth{p}");
    Router::new()
        .route(
            &page("/login"),
            get(sign_in::login_page).post(sign_in::login_form),
        )
        .route(&page("/login-dialog.jsp"), get(dialog::login_dialog))
        .route(&page("/oidc/login"), get(shared::callback))
        .route(
            &format!("{context}/saml/authenticate"),
            get(saml::saml_authenticate),
        )
        .route(
            &format!("{context}/saml/SSO"),
            axum::routing::post(saml::saml_acs),
        )
        .route(&format!("{context}/saml/metadata"), get(saml::saml_metadata))
        .route(
            &format!("{context}/saml/SingleLogout"),
            get(saml::saml_single_logout),
        )
        .route(
            &format!("{context}/saml/SPMetadata.xml"),
            get(saml::saml_metadata),
        )
        .route(&page("/oidc/logout"), get(logout::logout).post(logout::logout))
        .route(&page("/signed-out"), get(logout::signed_out_page))
        .route(&page("/signed-in"), get(sign_in::signed_in_page))
        .route(
            &page("/signed-in/api-token"),
            axum::routing::post(sign_in::api_token_form),
        )
}

fn cookie_path(state: &AppState) -> String {
    let c = &state.core.config().context_path;
    if c.is_empty() {
        "/".into()
    } else {
        c.clone()
    }
}

fn signed_in_path(state: &AppState) -> String {
    format!("{}/auth/signed-in", state.core.config().context_path)
}

fn csrf_cookie(state: &AppState, value: &str, https: bool) -> Option<HeaderValue> {
    let config = state.core.config();
    let mut s = format!(
        "{CSRF_COOKIE}={value}; Path={}/auth; HttpOnly; SameSite=Strict",
        config.context_path
    );
    if cookies::secure(&config.session.cookie_secure, https) {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

/// Whether the form's `csrf` field is the request's CSRF cookie.
fn csrf_ok(headers: &HeaderMap, field: Option<&str>) -> bool {
    match (credentials::cookie_values(headers, CSRF_COOKIE).next(), field) {
        (Some(c), Some(f)) if !c.is_empty() => vestibule_core::secret::ct_str_eq(c, f),
        _ => false,
    }
}

/// The browser session's credential: the `iSession` token and the `JSESSIONID` cookies.
fn browser_credential(headers: &HeaderMap) -> Option<Credential<'_>> {
    let token = credentials::cookie_values(headers, TOKEN_COOKIE)
        .next()
        .filter(|t| !t.is_empty())?;
    Some(Credential::new(token).with_cookies(credentials::session_cookies(headers)))
}

async fn browser_caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, CoreError> {
    let credential = browser_credential(headers).ok_or(CoreError::SessionInvalid)?;
    state.core.resolve(&credential).await
}

/// A 302 to `location` that hands out a browser session: its `JSESSIONID` and `iSession`.
fn session_redirect(state: &AppState, https: bool, session: &NewSession, location: &str) -> Response {
    let mut resp = shared::redirect(location);
    let path = cookie_path(state);
    let attrs = cookies::SessionAttrs::of(&state.core.config().session, https);
    let h = resp.headers_mut();
    if let Some(cookie) = &session.cookie {
        h.append(
            header::SET_COOKIE,
            cookies::session(SESSION_COOKIE, cookie, &path, attrs),
        );
    }
    h.append(
        header::SET_COOKIE,
        cookies::session(TOKEN_COOKIE, &session.token, &path, attrs),
    );
    resp
}

/// The MicroStrategy session of a finished single sign-on, then a 302 to the flow's target.
pub async fn signed_in(state: &AppState, https: bool, done: &SsoDone) -> Result<Response, CoreError> {
    let shape = session_shape(state.core.config());
    let session = state
        .core
        .new_session(done.user.id, done.login_mode, shape)
        .await?;
    // The target was ours (the signed-in page); checked again all the same.
    let target = if shared::is_local_path(&done.return_to) {
        done.return_to.clone()
    } else {
        signed_in_path(state)
    };
    Ok(session_redirect(state, https, &session, &target))
}

fn not_signed_in(state: &AppState) -> Response {
    let login = format!("{}/auth/login", state.core.config().context_path);
    pages::page(
        StatusCode::UNAUTHORIZED,
        "Not signed in",
        &format!(
            "<p role=\"alert\">This browser has no live session.</p><p><a href=\"{}\">Sign in</a></p>",
            escape(&login)
        ),
    )
}

fn who(caller: &Principal) -> String {
    let u = &caller.user.user;
    let email = if u.email.is_empty() {
        String::new()
    } else {
        format!(" &lt;{}&gt;", escape(&u.email))
    };
    format!(
        "<p>Signed in as <strong id=\"full-name\">{}</strong>{email} (user name <code id=\"username\">{}</code>).</p>",
        escape(u.display_name()),
        escape(&u.username)
    )
}

/// The auth token of the browser's session (its `iSession` and `JSESSIONID` cookies), for a page
/// that signed in through the browser (Library's embedding samples call this).
#[utoipa::path(get, path = "/api/auth/token", tag = "Authentication",
    responses(
        (status = 204, description = "The session is live; its auth token is in the header",
            headers(("X-MSTR-AuthToken" = String, description = "Auth token of the browser's session"))),
        (status = 401, description = "No live browser session (ERR009)", body = super::error::MstrErrorBody),
    ))]
pub async fn token(State(state): State<AppState>, headers: HeaderMap) -> MstrResult<Response> {
    let credential = browser_credential(&headers).ok_or_else(MstrError::session_invalid)?;
    let token = credential.token().to_string();
    state.core.resolve(&credential).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        AUTH_TOKEN,
        HeaderValue::from_str(&token).map_err(|_| MstrError::session_invalid())?,
    );
    shared::no_store(&mut resp);
    Ok(resp)
}
