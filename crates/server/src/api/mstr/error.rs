//! The MicroStrategy error body `{code, message, ticketId}`, and the one place where core errors
//! become MicroStrategy status codes and error codes.

use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use vestibule_core::model::Place;
use vestibule_core::CoreError;

use crate::api::body::BodyError;

/// The error body every MicroStrategy endpoint answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct MstrErrorBody {
    /// Error code, e.g. `ERR009`.
    pub code: &'static str,
    pub message: String,
    /// 32 lower-case hex characters, also written to the server log.
    #[serde(rename = "ticketId")]
    pub ticket_id: String,
}

#[derive(Debug)]
pub struct MstrError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl MstrError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        MstrError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        MstrError::new(StatusCode::NOT_FOUND, "ERR004", "HTTP 404 Not Found")
    }

    pub fn method_not_allowed() -> Self {
        MstrError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "ERR001",
            "HTTP 405 Method Not Allowed",
        )
    }

    pub fn session_invalid() -> Self {
        CoreError::SessionInvalid.into()
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        MstrError::new(StatusCode::BAD_REQUEST, "ERR006", message)
    }
}

impl From<CoreError> for MstrError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        let (status, code) = match &e {
            CoreError::BadCredentials => (S::UNAUTHORIZED, "ERR003"),
            CoreError::SessionInvalid => (S::UNAUTHORIZED, "ERR009"),
            CoreError::LoginModeDisabled(_) => (S::UNAUTHORIZED, "ERR001"),
            CoreError::MissingPrivilege(_) => (S::FORBIDDEN, "ERR014"),
            CoreError::OutOfScope(_) => (S::FORBIDDEN, "ERR017"),
            // MicroStrategy's "Insufficient permission" (an object's ACL), as its 403 example.
            CoreError::AccessDenied(_) => (S::FORBIDDEN, "ERR017"),
            CoreError::NotFound(_) => (S::NOT_FOUND, "ERR004"),
            CoreError::Invalid(_) => (S::BAD_REQUEST, "ERR006"),
            CoreError::MissingField(_) | CoreError::Unplaced(_) => (S::BAD_REQUEST, "ERR007"),
            CoreError::AlreadyExists(_) => (S::CONFLICT, "ERR015"),
            CoreError::Conflict(_) => (S::CONFLICT, "ERR001"),
            CoreError::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "ERR016"),
            CoreError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "ERR001"),
        };
        let message = match &e {
            // Do not pass storage details to clients; they go to the log with the ticket id.
            CoreError::Internal(_) => "Internal server error".to_string(),
            CoreError::Unavailable(_) => "The service is temporarily unavailable, please retry".to_string(),
            CoreError::Unplaced(place) => unplaced(*place).to_string(),
            other => other.to_string(),
        };
        if matches!(e, CoreError::Internal(_) | CoreError::Unavailable(_)) {
            tracing::error!(error = %e, "request failed");
        }
        MstrError {
            status,
            code,
            message,
        }
    }
}

/// Where a model request says its project and changeset: the headers of spec §4.
fn unplaced(place: Place) -> &'static str {
    match place {
        Place::Changeset => {
            "A changeset is required for this change: send its id in the X-MSTR-MS-Changeset header"
        }
        Place::ProjectOrChangeset => {
            "The X-MSTR-ProjectID header (or a changeset id in X-MSTR-MS-Changeset) is required"
        }
    }
}

/// A path axum could not read (an id that is not UTF-8 once percent-decoded, say).
impl From<PathRejection> for MstrError {
    fn from(e: PathRejection) -> Self {
        let status = e.status();
        let code = if status.is_client_error() {
            "ERR006"
        } else {
            "ERR001"
        };
        MstrError::new(status, code, e.body_text())
    }
}

impl From<BodyError> for MstrError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(m) => MstrError::new(StatusCode::BAD_REQUEST, "ERR006", m),
            BodyError::Missing(m) => MstrError::new(StatusCode::BAD_REQUEST, "ERR007", m),
            BodyError::Invalid(m) => MstrError::new(StatusCode::BAD_REQUEST, "ERR006", m),
        }
    }
}

impl IntoResponse for MstrError {
    fn into_response(self) -> Response {
        let ticket_id = hex::encode(rand::random::<[u8; 16]>());
        if self.status.is_server_error() {
            tracing::warn!(ticket = %ticket_id, code = self.code, status = self.status.as_u16(), "error answered");
        }
        let body = MstrErrorBody {
            code: self.code,
            message: self.message,
            ticket_id,
        };
        (self.status, Json(body)).into_response()
    }
}

pub type MstrResult<T> = Result<T, MstrError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_request_without_its_place_is_told_which_header_to_send() {
        let e = MstrError::from(CoreError::Unplaced(Place::Changeset));
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, "ERR007"));
        assert_eq!(
            e.message,
            "A changeset is required for this change: send its id in the X-MSTR-MS-Changeset header"
        );
        let e = MstrError::from(CoreError::Unplaced(Place::ProjectOrChangeset));
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, "ERR007"));
        assert_eq!(
            e.message,
            "The X-MSTR-ProjectID header (or a changeset id in X-MSTR-MS-Changeset) is required"
        );
    }
}
