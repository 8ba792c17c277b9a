//! `/api/sessions*`: session info, keep-alive, the current user and its privileges.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use vestibule_core::clock::now_ms;
use vestibule_core::privilege::Privilege;
use vestibule_core::CoreError;

use super::error::{MstrErrorBody, MstrResult};
use super::extract::{Caller, MstrPath};
use crate::state::AppState;

// Borrows its strings: this is the session check's response, written on every call. (A plain
// comment: a doc comment would become the schema's description in the OpenAPI document.)
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo<'a> {
    /// LCID of the session's locale.
    locale: u32,
    max_search: u32,
    working_set: u32,
    /// Server session idle timeout in seconds.
    timeout: i64,
    /// The user's id.
    id: &'a str,
    full_name: &'a str,
    initials: &'a str,
}

/// Information about the caller's session; also marks it active.
#[utoipa::path(get, path = "/api/sessions", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 200, description = "The session", body = SessionInfo),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn get_session(Caller(caller): Caller) -> Response {
    let user = &caller.user.user;
    let mut id = [0u8; 32];
    SessionInfo {
        locale: 1033,
        max_search: 3,
        working_set: 10,
        timeout: caller.session.timeout_secs(now_ms()),
        id: upper_hex(&user.id.0, &mut id),
        full_name: user.display_name(),
        initials: &caller.user.initials,
    }
    .into_response()
}

impl SessionInfo<'_> {
    /// The bytes serde_json writes for this struct (a test holds them equal), with the constant
    /// keys copied rather than escaped one by one as serde does, which was most of the cost of
    /// this response; the values still go through serde_json.
    fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        // Destructured without `..`: a field added to the struct fails to compile here.
        let SessionInfo {
            locale,
            max_search,
            working_set,
            timeout,
            id,
            full_name,
            initials,
        } = self;
        let mut out = Vec::with_capacity(160 + full_name.len() + initials.len());
        out.extend_from_slice(b"{\"locale\":");
        serde_json::to_writer(&mut out, locale)?;
        out.extend_from_slice(b",\"maxSearch\":");
        serde_json::to_writer(&mut out, max_search)?;
        out.extend_from_slice(b",\"workingSet\":");
        serde_json::to_writer(&mut out, working_set)?;
        out.extend_from_slice(b",\"timeout\":");
        serde_json::to_writer(&mut out, timeout)?;
        out.extend_from_slice(b",\"id\":");
        serde_json::to_writer(&mut out, id)?;
        out.extend_from_slice(b",\"fullName\":");
        serde_json::to_writer(&mut out, full_name)?;
        out.extend_from_slice(b",\"initials\":");
        serde_json::to_writer(&mut out, initials)?;
        out.push(b'}');
        Ok(out)
    }
}

/// The response axum's `Json` makes: same body, same `content-type`.
impl IntoResponse for SessionInfo<'_> {
    fn into_response(self) -> Response {
        let Ok(body) = self.to_json() else {
            // Not reached for these fields; `Json` answers a failure with its own 500.
            return Json(self).into_response();
        };
        let mut resp = Response::new(Body::from(body));
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

/// The 32 upper-case hex characters of a GUID (as `Guid::to_hex`), written into `out`.
fn upper_hex<'a>(bytes: &[u8; 16], out: &'a mut [u8; 32]) -> &'a str {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
    // Hex digits are ASCII: this cannot fail.
    std::str::from_utf8(out).unwrap_or_default()
}

/// Keep the session alive: resets the HTTP and server session timeouts.
#[utoipa::path(put, path = "/api/sessions", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 204, description = "Extended"),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn keep_alive(_caller: Caller) -> StatusCode {
    // Authenticating the caller has already touched the session.
    StatusCode::NO_CONTENT
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoBody {
    metadata_user: bool,
    id: String,
    name: String,
    username: String,
    full_name: String,
    initials: String,
    email: String,
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/sessions/userInfo", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 200, description = "The user", body = UserInfoBody),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn user_info(Caller(caller): Caller) -> Json<UserInfoBody> {
    let u = &caller.user.user;
    Json(UserInfoBody {
        metadata_user: true,
        id: u.id.to_hex(),
        name: u.display_name().to_owned(),
        username: u.username.clone(),
        full_name: u.display_name().to_owned(),
        initials: u.initials(),
        email: u.email.clone(),
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectGrant {
    id: String,
    is_allowed: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrivilegeBody {
    /// The privilege's stable id, as a string.
    id: String,
    name: &'static str,
    description: &'static str,
    is_user_level_allowed: bool,
    projects: Vec<ProjectGrant>,
}

#[derive(Serialize, ToSchema)]
pub struct PrivilegeList {
    privileges: Vec<PrivilegeBody>,
}

async fn privilege_body(state: &AppState, p: Privilege, held: bool) -> MstrResult<PrivilegeBody> {
    let projects = state
        .core
        .directory()
        .projects()
        .await?
        .into_iter()
        .map(|pr| ProjectGrant {
            id: pr.id.to_hex(),
            is_allowed: held,
        })
        .collect();
    Ok(PrivilegeBody {
        id: p.id.to_string(),
        name: p.name,
        description: p.description,
        is_user_level_allowed: held,
        projects,
    })
}

/// The privileges the caller holds, directly or through its groups.
#[utoipa::path(get, path = "/api/sessions/privileges", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 200, description = "Held privileges", body = PrivilegeList),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn privileges(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> MstrResult<Json<PrivilegeList>> {
    let mut privileges = Vec::new();
    for p in &caller.user.privileges {
        privileges.push(privilege_body(&state, *p, true).await?);
    }
    Ok(Json(PrivilegeList { privileges }))
}

/// One privilege of the catalogue, with whether the caller holds it.
#[utoipa::path(get, path = "/api/sessions/privileges/{id}", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("id" = String, Path, description = "Privilege id")),
    responses(
        (status = 200, description = "The privilege", body = PrivilegeBody),
        (status = 400, description = "The id is not UTF-8 once percent-decoded (ERR006)", body = MstrErrorBody),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
        (status = 404, description = "No such privilege (ERR004)", body = MstrErrorBody),
    ))]
pub async fn privilege(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MstrPath(id): MstrPath<String>,
) -> MstrResult<Json<PrivilegeBody>> {
    let p = id
        .parse::<u32>()
        .ok()
        .and_then(Privilege::by_id)
        .ok_or_else(|| CoreError::NotFound(format!("No privilege with id '{id}'")))?;
    Ok(Json(privilege_body(&state, p, caller.user.has(p)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vestibule_core::ids::Guid;

    #[test]
    fn upper_hex_is_the_guid_form() {
        for g in [Guid([0; 16]), Guid([0xff; 16]), Guid::random(), Guid::random()] {
            let mut out = [0u8; 32];
            assert_eq!(upper_hex(&g.0, &mut out), g.to_hex());
        }
    }

    async fn body_of(resp: Response) -> axum::body::Bytes {
        axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap()
    }

    #[tokio::test]
    async fn session_response_is_what_json_makes() {
        let names = [
            "Administrator",
            "",
            "J\"o\\ \u{1}\u{1f}\n\t\r é 😀 </x> \u{7f}\u{2028}",
            "a'b/c",
        ];
        for (i, name) in names.into_iter().enumerate() {
            let info = || SessionInfo {
                locale: 1033,
                max_search: 3,
                working_set: 10,
                timeout: [1800, -5, 0, i64::MAX][i],
                id: "00FF",
                full_name: name,
                initials: name,
            };
            let ours = info().into_response();
            let theirs = Json(info()).into_response();
            assert_eq!(ours.status(), theirs.status());
            assert_eq!(ours.headers(), theirs.headers());
            assert_eq!(body_of(ours).await, body_of(theirs).await, "{name:?}");
        }
    }
}
