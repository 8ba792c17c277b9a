//! Who is calling a ThoughtSpot endpoint, the session cookies the dialect hands out, and the CSRF
//! check of v1.
//!
//! A caller is authenticated by `Authorization: Bearer <token>` (a v2 token, a trusted-token
//! session, or a MicroStrategy session's token with its `JSESSIONID`), else by the `JSESSIONID`
//! cookie of a ThoughtSpot cookie session (whose value is its token). The bearer wins when both are
//! present, so a revoked bearer is refused even if a cookie came along.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use vestibule_core::core::Principal;
use vestibule_core::credential::{Credential, ForeignCookies};
use vestibule_core::sessions::NewSession;
use vestibule_core::{Core, CoreError};

use super::error::{TsError, V1Error, V2Error};
use crate::cookies;
use crate::credentials;
use crate::state::AppState;

pub use crate::credentials::{bearer, SESSION_COOKIE};
pub const CLIENT_ID_COOKIE: &str = "clientId";
pub const USER_GUID_COOKIE: &str = "userGUID";

/// An authenticated ThoughtSpot caller and the credential it presented.
#[derive(Debug, Clone)]
pub struct TsCaller {
    pub principal: Principal,
    /// The bearer token or cookie value the request carried (for `session/info`'s `authToken`).
    pub presented: String,
    /// Whether the credential was a bearer token (not a cookie).
    pub by_bearer: bool,
}

/// The credential of a request, and whether it is a bearer token. A bearer token may be a
/// MicroStrategy session's token with its own `JSESSIONID`, a cookie session's token (its
/// cookie), or a v2 token with no cookie; a `JSESSIONID` of another session beside it is
/// ignored. Without a bearer token the `JSESSIONID` of a cookie session is its token.
pub fn credential(headers: &HeaderMap) -> Option<(Credential<'_>, bool)> {
    let cookie = credentials::session_cookies(headers)
        .next()
        .filter(|c| !c.is_empty());
    if let Some(token) = bearer(headers) {
        let credential = Credential::new(token)
            .with_cookies(cookie)
            .token_is_cookie()
            .foreign_cookies(ForeignCookies::Ignore);
        return Some((credential, true));
    }
    let cookie = cookie?;
    Some((Credential::cookie(cookie), false))
}

/// Authenticates a request's headers; [`CoreError::SessionInvalid`] when nothing valid came.
pub async fn authenticate(core: &Core, headers: &HeaderMap) -> Result<TsCaller, CoreError> {
    let (credential, by_bearer) = credential(headers).ok_or(CoreError::SessionInvalid)?;
    let principal = core.resolve(&credential).await?;
    crate::telemetry::note_user(principal.user.user.id);
    Ok(TsCaller {
        principal,
        presented: credential.token().to_owned(),
        by_bearer,
    })
}

/// The caller of a v1 endpoint (401 with the v1 body otherwise).
pub struct V1Caller(pub TsCaller);

/// The caller of a v2 endpoint (401 with the v2 body otherwise).
pub struct V2Caller(pub TsCaller);

impl FromRequestParts<AppState> for V1Caller {
    type Rejection = V1Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(V1Caller(authenticate(&state.core, &parts.headers).await?))
    }
}

impl FromRequestParts<AppState> for V2Caller {
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(V2Caller(authenticate(&state.core, &parts.headers).await?))
    }
}

/// Adds the cookies of a new ThoughtSpot cookie session to `resp`: `JSESSIONID` (the session;
/// `Secure` only under `session.cookie_secure`, so plain-HTTP clients send it back), `clientId`
/// (a random id, `Secure` as ThoughtSpot sets it) and `userGUID`. A remember-me session's
/// `JSESSIONID` persists (`Max-Age`); otherwise it is a browser-session cookie.
pub fn set_session_cookies(
    core: &Core,
    https: bool,
    resp: &mut Response,
    session: &NewSession,
    remember_secs: Option<u64>,
) {
    let attrs = cookies::SessionAttrs::of(&core.config().session, https);
    let h = resp.headers_mut();
    if let Some(cookie) = &session.cookie {
        let mut v = format!("{SESSION_COOKIE}={cookie}; Path=/; HttpOnly");
        if let Some(secs) = remember_secs {
            v.push_str(&format!("; Max-Age={secs}"));
        }
        attrs.write(&mut v);
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.append(header::SET_COOKIE, v);
        }
    }
    let client_id = vestibule_core::ids::Guid::random().to_uuid();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{CLIENT_ID_COOKIE}={client_id}; Path=/; Secure; HttpOnly"
    )) {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{USER_GUID_COOKIE}={}; Path=/",
        session.session.user_id.to_uuid()
    )) {
        h.append(header::SET_COOKIE, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
}

/// Makes the client forget the session cookies.
pub fn clear_session_cookies(config: &vestibule_core::config::Config, resp: &mut Response) {
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookies::clear(SESSION_COOKIE, "/", &config.session),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{USER_GUID_COOKIE}=; Path=/; Max-Age=0")) {
        h.append(header::SET_COOKIE, v);
    }
}

/// v1 CSRF defence, a route layer (it sees only requests whose route and method matched): a
/// request that may change state (POST, PUT, PATCH, DELETE) must carry `X-Requested-By` (any value: ThoughtSpot's clients send "ThoughtSpot" or "CS Tools").
/// `session/auth/token` is exempt: it is authenticated by the secret key in its body, never by a
/// cookie, and ThoughtSpot's own example calls it without the header.
pub async fn require_requested_by(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let exempt = request.uri().path().ends_with("/session/auth/token");
    if !safe
        && !exempt
        && state.core.config().thoughtspot.require_requested_by
        && !request.headers().contains_key("x-requested-by")
    {
        return V1Error(TsError::bad_request(
            "The header X-Requested-By is required on this request (CSRF protection)",
        ))
        .into_response();
    }
    next.run(request).await
}

/// Reads a request body; a body too large or unreadable becomes a dialect error (not the framework's
/// plain text).
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, TsError> {
    use axum::extract::FromRequest;
    axum::body::Bytes::from_request(req, state).await.map_err(|e| {
        TsError::new(
            e.status(),
            format!("The request body could not be read: {}", e.body_text()),
        )
    })
}

/// A v1 request body (errors in the v1 shape).
pub struct V1Body(pub axum::body::Bytes);

/// A v2 request body (errors in the v2 shape).
pub struct V2Body(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for V1Body {
    type Rejection = V1Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(V1Body(read_body(req, state).await?))
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for V2Body {
    type Rejection = V2Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(V2Body(read_body(req, state).await?))
    }
}

// --- path parameters ---------------------------------------------------------------------------

/// The path parameters of a v1 route, refused in the v1 error body (not the framework's plain
/// text) when they cannot be read: a percent-encoded byte that is not UTF-8, say.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(V1Error))]
pub struct V1Path<T>(pub T);
