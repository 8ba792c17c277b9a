//! The ThoughtSpot error bodies, and the one place where core errors become ThoughtSpot status
//! codes and error codes.
//!
//! - v1 (Callosum): `{"code":10003,"incident_id_guid":"…","trace_id_guid":"…","debug":"[\"…\"]"}`,
//!   where `debug` is a JSON array encoded in a string (cs_tools runs `json.loads` on it).
//! - v2: `{"error":{"message":{"code":…,"incident_id_guid":…,"trace_id_guid":…,"debug":{<the v1
//!   object>}}}}`: the shape observed live (the v1 object under `message.debug`), with the code and
//!   ids also copied into `message` for clients written against the spec's examples.
//!
//! Both are always `application/json`: the TypeScript SDK cannot read an error without it.

use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use vestibule_core::ids::Guid;
use vestibule_core::CoreError;

use crate::api::body::BodyError;

/// Internal error (v1).
pub const V1_INTERNAL: u32 = 10000;
/// Bad request or invalid parameters (both versions).
pub const BAD_REQUEST: u32 = 10002;
/// Login failure or unauthorized request (v1).
pub const V1_UNAUTHORIZED: u32 = 10003;
/// Not found (vestibule's choice; ThoughtSpot documents no code for it).
pub const NOT_FOUND: u32 = 10004;
/// Forbidden (both versions).
pub const FORBIDDEN: u32 = 10023;
/// Unexpected server error (v2).
pub const V2_INTERNAL: u32 = 10038;
/// Unauthenticated (v2).
pub const V2_UNAUTHORIZED: u32 = 10097;

/// An error of the ThoughtSpot dialect, before it is rendered in v1 or v2 form.
#[derive(Debug)]
pub struct TsError {
    pub status: StatusCode,
    pub message: String,
}

impl TsError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        TsError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        TsError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        TsError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn not_found() -> Self {
        TsError::new(StatusCode::NOT_FOUND, "The requested resource was not found")
    }

    pub fn method_not_allowed() -> Self {
        TsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method is not allowed for the requested resource",
        )
    }

    fn code(&self, v2: bool) -> u32 {
        match self.status {
            StatusCode::BAD_REQUEST => BAD_REQUEST,
            StatusCode::UNAUTHORIZED if v2 => V2_UNAUTHORIZED,
            StatusCode::UNAUTHORIZED => V1_UNAUTHORIZED,
            StatusCode::FORBIDDEN => FORBIDDEN,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => NOT_FOUND,
            s if s.is_client_error() => BAD_REQUEST,
            _ if v2 => V2_INTERNAL,
            _ => V1_INTERNAL,
        }
    }

    fn callosum(&self, v2: bool) -> CallosumError {
        let incident = Guid::random().to_uuid();
        if self.status.is_server_error() {
            tracing::warn!(incident = %incident, status = self.status.as_u16(), "error answered");
        }
        CallosumError {
            code: self.code(v2),
            trace_id_guid: incident.clone(),
            incident_id_guid: incident,
            debug: serde_json::to_string(&[&self.message]).unwrap_or_else(|_| "[]".into()),
        }
    }
}

impl From<CoreError> for TsError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        let status = match &e {
            CoreError::BadCredentials | CoreError::SessionInvalid => S::UNAUTHORIZED,
            // The only login mode the ThoughtSpot dialect can find disabled is trusted
            // authentication: ThoughtSpot's v2 answers 403 for it, and v1 does the same here
            // rather than its documented 500 (a 500 would say the server is broken).
            CoreError::LoginModeDisabled(_)
            | CoreError::MissingPrivilege(_)
            | CoreError::OutOfScope(_)
            | CoreError::AccessDenied(_) => S::FORBIDDEN,
            CoreError::NotFound(_) => S::NOT_FOUND,
            CoreError::Invalid(_) | CoreError::MissingField(_) | CoreError::Unplaced(_) => S::BAD_REQUEST,
            CoreError::AlreadyExists(_) | CoreError::Conflict(_) => S::CONFLICT,
            CoreError::Unavailable(_) => S::SERVICE_UNAVAILABLE,
            #[allow(unreachable_patterns)]
            _ => S::INTERNAL_SERVER_ERROR,
        };
        let message = match &e {
            CoreError::BadCredentials => {
                "Authentication failed. Verify that the username and password (or token) are correct."
                    .to_string()
            }
            CoreError::SessionInvalid => "No active session found. User is not logged in.".to_string(),
            CoreError::Unavailable(_) => "The service is temporarily unavailable, please retry".to_string(),
            other if status == S::INTERNAL_SERVER_ERROR => {
                // Storage details go to the log, not to the client.
                tracing::error!(error = %other, "request failed");
                "Internal server error".to_string()
            }
            other => other.to_string(),
        };
        if matches!(e, CoreError::Unavailable(_)) {
            tracing::error!(error = %e, "request failed");
        }
        TsError { status, message }
    }
}

/// A path axum could not read (a user id that is not UTF-8 once percent-decoded, say).
impl From<PathRejection> for TsError {
    fn from(e: PathRejection) -> Self {
        TsError::new(e.status(), e.body_text())
    }
}

impl From<BodyError> for TsError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(m) | BodyError::Missing(m) | BodyError::Invalid(m) => {
                TsError::bad_request(m)
            }
        }
    }
}

/// The Callosum (v1) error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallosumError {
    /// 10000 internal, 10002 bad request, 10003 unauthorized, 10004 not found, 10023 forbidden
    /// (v1); inside a v2 body: 10097 unauthenticated, 10038 internal.
    pub code: u32,
    /// Also written to the server log for 5xx answers.
    pub incident_id_guid: String,
    pub trace_id_guid: String,
    /// A JSON array of messages, encoded as a string: `"[\"…\"]"`.
    pub debug: String,
}

/// `error.message` of a v2 error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct V2ErrorMessage {
    pub code: u32,
    pub incident_id_guid: String,
    pub trace_id_guid: String,
    /// The Callosum error object, as ThoughtSpot returns it.
    pub debug: CallosumError,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct V2ErrorInner {
    pub message: V2ErrorMessage,
}

/// The v2 error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct V2ErrorBody {
    pub error: V2ErrorInner,
}

/// An error answered by a v1 endpoint.
#[derive(Debug)]
pub struct V1Error(pub TsError);

/// An error answered by a v2 endpoint.
#[derive(Debug)]
pub struct V2Error(pub TsError);

macro_rules! wrap {
    ($t:ident) => {
        impl<E: Into<TsError>> From<E> for $t {
            fn from(e: E) -> Self {
                $t(e.into())
            }
        }
    };
}
wrap!(V1Error);
wrap!(V2Error);

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        (self.0.status, Json(self.0.callosum(false))).into_response()
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let inner = self.0.callosum(true);
        let body = V2ErrorBody {
            error: V2ErrorInner {
                message: V2ErrorMessage {
                    code: inner.code,
                    incident_id_guid: inner.incident_id_guid.clone(),
                    trace_id_guid: inner.trace_id_guid.clone(),
                    debug: inner,
                },
            },
        };
        (self.0.status, Json(body)).into_response()
    }
}

pub type V1Result<T> = Result<T, V1Error>;
pub type V2Result<T> = Result<T, V2Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_a_json_array_in_a_string() {
        let body = TsError::bad_request("bad \"x\"").callosum(false);
        let parsed: Vec<String> = serde_json::from_str(&body.debug).unwrap();
        assert_eq!(parsed, vec!["bad \"x\"".to_string()]);
        assert_eq!(body.code, BAD_REQUEST);
        assert_eq!(TsError::unauthorized("x").callosum(true).code, V2_UNAUTHORIZED);
        assert_eq!(TsError::unauthorized("x").callosum(false).code, V1_UNAUTHORIZED);
    }
}
