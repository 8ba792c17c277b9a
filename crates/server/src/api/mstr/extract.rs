//! Extractors of the MicroStrategy dialect: the authenticated caller from `X-MSTR-AuthToken` and
//! its `JSESSIONID` cookie, and the cookie path a router serves under.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};

use vestibule_core::core::Principal;
use vestibule_core::credential::Credential;

use super::error::MstrError;
use crate::credentials;
use crate::state::AppState;

pub const AUTH_TOKEN: &str = "x-mstr-authtoken";
pub use crate::credentials::SESSION_COOKIE;

/// [`AUTH_TOKEN`] as a header name made once: a lookup by `&str` parses the name on every request.
static AUTH_TOKEN_NAME: HeaderName = HeaderName::from_static(AUTH_TOKEN);

/// The auth token of a request: `X-MSTR-AuthToken`, or a bearer token (one minted through the
/// ThoughtSpot dialect is a credential here too).
pub fn token(headers: &HeaderMap) -> Option<&str> {
    match headers.get(&AUTH_TOKEN_NAME).and_then(|v| v.to_str().ok()) {
        Some(t) => Some(t.trim()).filter(|t| !t.is_empty()),
        None => credentials::bearer(headers),
    }
}

/// The credential of a request: its token and every `JSESSIONID` it carries (a client logged in
/// under both `/api`, cookie Path=/, and the context path holds two and sends both; the token is
/// bound to one of them).
pub fn credential(headers: &HeaderMap) -> Option<Credential<'_>> {
    let token = token(headers)?;
    Some(Credential::new(token).with_cookies(credentials::session_cookies(headers)))
}

/// The caller, authenticated by token and cookie; its session is marked active.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = MstrError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let credential = credential(&parts.headers).ok_or_else(MstrError::session_invalid)?;
        Ok(Caller(state.core.resolve(&credential).await?))
    }
}

/// A request body as bytes, refused in the MicroStrategy error shape (not the framework's plain
/// text) when it is too large or cannot be read.
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for RawBody {
    type Rejection = MstrError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(RawBody(b)),
            Err(e) => Err(MstrError::new(
                e.status(),
                "ERR006",
                format!("The request body could not be read: {}", e.body_text()),
            )),
        }
    }
}

/// The `Path` session cookies get: the context path when the request came under it, else `/`.
#[derive(Clone, Debug)]
pub struct CookiePath(pub std::sync::Arc<str>);
