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
        let principal = state.core.resolve(&credential).await?;
        crate::telemetry::note_user(principal.user.user.id);
        Ok(Caller(principal))
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

// --- modeling requests: where they work, and their path parameters -------------------------------

/// The project header of a modeling request.
pub const PROJECT_HEADER: &str = "x-mstr-projectid";
/// The changeset header of a modeling request.
pub const CHANGESET_HEADER: &str = "x-mstr-ms-changeset";
/// What mstrio-py sends instead of `X-MSTR-MS-Changeset` on `/api/model/tables*`.
pub const CHANGESET_HEADER_TABLES: &str = "x-mstr-changeset";

/// An id header; blank is none, anything else (a value that is not visible ASCII too) must be
/// 32 hex characters.
fn guid_header(
    headers: &HeaderMap,
    name: &str,
    label: &str,
) -> Result<Option<vestibule_core::ids::Guid>, MstrError> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    let Ok(s) = v.to_str().map(str::trim) else {
        return Err(MstrError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "ERR006",
            format!("The {label} header is not a valid id (32 hex characters)"),
        ));
    };
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
