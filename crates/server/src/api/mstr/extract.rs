//! Extractors of the MicroStrategy dialect: the authenticated caller from `X-MSTR-AuthToken` and
//! its `JSESSIONID` cookie, and the cookie path a router serves under.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};

use vestibule_core::core::Principal;

use super::error::MstrError;
use crate::state::AppState;

pub const AUTH_TOKEN: &str = "x-mstr-authtoken";
pub const SESSION_COOKIE: &str = "JSESSIONID";

/// [`AUTH_TOKEN`] as a header name made once: a lookup by `&str` parses the name on every request.
static AUTH_TOKEN_NAME: HeaderName = HeaderName::from_static(AUTH_TOKEN);

/// The auth token of a request: `X-MSTR-AuthToken`, or a bearer token (one minted through the
/// ThoughtSpot dialect is a credential here too).
pub fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(&AUTH_TOKEN_NAME)
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
        // A client logged in under both `/api` (cookie Path=/) and the context path holds two
        // JSESSIONIDs and sends both there; the token is bound to one of them.
        let first = session_cookies(&parts.headers).next();
        let result = state.core.principal(token, first).await;
        if first.is_some() && matches!(result, Err(vestibule_core::CoreError::SessionInvalid)) {
            // The retry is boxed, and `result` dropped before it: otherwise their state would be
            // part of every request's future, which axum boxes (and copies) per request.
            drop(result);
            return Box::pin(other_cookies(&parts.headers, state, token)).await;
        }
        Ok(Caller(result?))
    }
}

/// The caller by the second and later `JSESSIONID`s, once the first one did not fit the token.
async fn other_cookies(headers: &HeaderMap, state: &AppState, token: &str) -> Result<Caller, MstrError> {
    let mut result = Err(vestibule_core::CoreError::SessionInvalid);
    for cookie in session_cookies(headers).skip(1) {
        result = state.core.principal(token, Some(cookie)).await;
        if !matches!(result, Err(vestibule_core::CoreError::SessionInvalid)) {
            break;
        }
    }
    Ok(Caller(result?))
}

/// Every `JSESSIONID` value the request carries, in order (at most a few are looked at).
fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim_matches('"'))
        .take(4)
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

// --- modeling requests: where they work, and their path parameters -------------------------------

/// The project header of a modeling request.
pub const PROJECT_HEADER: &str = "x-mstr-projectid";
/// The changeset header of a modeling request.
pub const CHANGESET_HEADER: &str = "x-mstr-ms-changeset";
/// What mstrio-py sends instead of `X-MSTR-MS-Changeset` on `/api/model/tables*`.
pub const CHANGESET_HEADER_TABLES: &str = "x-mstr-changeset";

/// An id header; blank is none, anything else must be 32 hex characters.
fn guid_header(
    headers: &HeaderMap,
    name: &str,
    label: &str,
) -> Result<Option<vestibule_core::ids::Guid>, MstrError> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    let s = v.to_str().map(str::trim).unwrap_or("");
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| {
        MstrError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "ERR006",
            format!("The {label} header '{s}' is not a valid id (32 hex characters)"),
        )
    })
}

/// `X-MSTR-ProjectID`, when the request has one.
pub struct ProjectId(pub Option<vestibule_core::ids::Guid>);

impl<S: Send + Sync> FromRequestParts<S> for ProjectId {
    type Rejection = MstrError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        guid_header(&parts.headers, PROJECT_HEADER, "X-MSTR-ProjectID").map(ProjectId)
    }
}

/// `X-MSTR-MS-Changeset` (or `X-MSTR-Changeset`), when the request has one.
pub struct ChangesetId(pub Option<vestibule_core::ids::Guid>);

impl<S: Send + Sync> FromRequestParts<S> for ChangesetId {
    type Rejection = MstrError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let h = &parts.headers;
        Ok(ChangesetId(
            match guid_header(h, CHANGESET_HEADER, "X-MSTR-MS-Changeset")? {
                Some(c) => Some(c),
                None => guid_header(h, CHANGESET_HEADER_TABLES, "X-MSTR-Changeset")?,
            },
        ))
    }
}

/// Where a modeling request works: a changeset wins over the project. The view itself is
/// resolved by [`ModelPlace::view`] in the handler, after the checks that come before it.
pub struct ModelPlace {
    pub project: Option<vestibule_core::ids::Guid>,
    pub changeset: Option<vestibule_core::ids::Guid>,
}

impl<S: Send + Sync> FromRequestParts<S> for ModelPlace {
    type Rejection = MstrError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ProjectId(project) = ProjectId::from_request_parts(parts, state).await?;
        let ChangesetId(changeset) = ChangesetId::from_request_parts(parts, state).await?;
        Ok(ModelPlace { project, changeset })
    }
}

impl ModelPlace {
    /// The model as the caller sees it here: the changeset's view, or the project's committed one.
    pub async fn view(
        &self,
        state: &AppState,
        caller: &Principal,
    ) -> Result<vestibule_core::model::View, MstrError> {
        Ok(state
            .core
            .model()?
            .view(caller, self.project, self.changeset)
            .await?)
    }
}

/// The path parameters of a route, refused in the MicroStrategy error body (not the framework's
/// plain text) when they cannot be read: a percent-encoded byte that is not UTF-8, say.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(MstrError))]
pub struct MstrPath<T>(pub T);
