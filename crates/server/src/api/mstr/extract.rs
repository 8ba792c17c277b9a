//! Extractors of the MicroStrategy dialect: the authenticated caller from `X-MSTR-AuthToken` and
//! its `JSESSIONID` cookie, and the cookie path a router serves under.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use vestibule_core::core::Principal;

use super::error::MstrError;
use crate::cookies;
use crate::state::AppState;

pub const AUTH_TOKEN: &str = "x-mstr-authtoken";
pub const SESSION_COOKIE: &str = "JSESSIONID";

/// The auth token of a request: `X-MSTR-AuthToken`, or a bearer token (one minted through the
/// ThoughtSpot dialect is a credential here too).
pub fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTH_TOKEN)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The caller, authenticated by token and cookie; its session is marked active.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = MstrError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = token(&parts.headers).ok_or_else(MstrError::session_invalid)?;
        let cookie = cookies::get(&parts.headers, SESSION_COOKIE);
        Ok(Caller(state.core.principal(token, cookie).await?))
    }
}

/// The `Path` session cookies get: the context path when the request came under it, else `/`.
#[derive(Clone, Debug)]
pub struct CookiePath(pub String);
