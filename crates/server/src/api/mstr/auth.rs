//! `/api/auth/*`: login, logout, identity tokens, delegation and API tokens.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::auth::Credentials;
use vestibule_core::config::Config;
use vestibule_core::ids::Guid;
use vestibule_core::session::{login_mode, Expiry, Scope};
use vestibule_core::sessions::{CookieMode, NewSession, SessionShape};
use vestibule_core::CoreError;

use super::error::{MstrError, MstrErrorBody, MstrResult};
use super::extract::{Caller, CookiePath, RawBody, AUTH_TOKEN, SESSION_COOKIE};
use crate::api::body::{self, required};
use crate::client_addr::{ClientAddr, ClientOrigin};
use crate::cookies;
use crate::sso::DIALECT_MSTR;
use crate::state::AppState;

pub const IDENTITY_TOKEN: &str = "x-mstr-identitytoken";

/// A MicroStrategy session: idle timeouts from the `session` section, bound to a `JSESSIONID`.
pub fn session_shape(config: &Config) -> SessionShape {
    let s = &config.session;
    SessionShape {
        scope: Scope::Full,
        expiry: Expiry::Idle {
            server_secs: s.server_timeout_secs.min(u64::from(u32::MAX)) as u32,
            http_secs: s.http_timeout_secs.min(u64::from(u32::MAX)) as u32,
        },
        cookie: CookieMode::Bound,
    }
}

/// A 204 that hands out a new session: the token header, the bound cookie, and no caching.
fn session_response(state: &AppState, https: bool, path: &str, s: &NewSession) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&s.token) {
        h.insert(AUTH_TOKEN, v);
    }
    if let Some(cookie) = &s.cookie {
        let attrs = cookies::SessionAttrs::of(&state.core.config().session, https);
        h.append(
            header::SET_COOKIE,
            cookies::session(SESSION_COOKIE, cookie, path, attrs),
        );
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::EXPIRES, HeaderValue::from_static("0"));
    resp
}

/// Log in with a login mode: Standard (1), Guest (8, when enabled), LDAP (16, when configured) or
/// API token (4096, the token in `username`). The body may be JSON or form-encoded; numbers may
/// come as strings and keys in any case.
#[utoipa::path(post, path = "/api/auth/login", tag = "Authentication",
    request_body(description = "Credentials (JSON or form-encoded)", content(
        (LoginRequest = "application/json",
            example = json!({"loginMode": 1, "username": "administrator", "password": "your-password"})),
        (LoginRequest = "application/x-www-form-urlencoded",
            example = json!({"loginMode": 1, "username": "administrator", "password": "your-password", "applicationType": 76})),
    )),
    responses(
        (status = 204, description = "Logged in; the auth token is in the X-MSTR-AuthToken header and the session cookie is set",
            headers(("X-MSTR-AuthToken" = String, description = "Auth token for later requests"))),
        (status = 400, description = "Malformed body or missing field (ERR006, ERR007)", body = MstrErrorBody),
        (status = 401, description = "Login failed (ERR003) or login mode not enabled (ERR001)", body = MstrErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    Extension(CookiePath(path)): Extension<CookiePath>,
    origin: ClientOrigin,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> MstrResult<Response> {
    let client_addr = origin.addr;
    let body: LoginRequest = body::read(&headers, &body)?;
    let mode = match body.login_mode {
        Some(m) => i32::try_from(m).map_err(|_| MstrError::invalid(format!("Unknown loginMode {m}")))?,
        None => state.core.config().auth.default_login_mode as i32,
    };
    if mode == login_mode::OIDC || mode == login_mode::SAML {
        // A browser sign-in: the REST API cannot perform it (Library answers these modes only
        // at `{context}/auth/login`).
        let config = state.core.config();
        state.core.audit(
            vestibule_core::audit::AuditEvent::new(vestibule_core::audit::AuditKind::LoginFailed)
                .mode(mode)
                .address(client_addr)
                .dialect("mstr")
                .reason("login_mode_disabled"),
        );
        return Err(MstrError::new(
            StatusCode::UNAUTHORIZED,
            "ERR003",
            format!(
                "loginMode {mode} is a browser sign-in: sign in at {}{}/auth/login",
                config.sso.public_url, config.context_path
            ),
        ));
    }
    let credentials = match mode {
        login_mode::STANDARD | login_mode::LDAP => Credentials {
            login_mode: mode,
            username: Some(required(body.username, "username")?),
            password: Some(body.password.unwrap_or_default()),
            client_addr,
            dialect: DIALECT_MSTR,
        },
        login_mode::API_TOKEN => Credentials {
            login_mode: mode,
            username: Some(required(body.username, "username")?),
            password: None,
            client_addr,
            dialect: DIALECT_MSTR,
        },
        _ => Credentials {
            login_mode: mode,
            username: body.username,
            password: body.password,
            client_addr,
            dialect: DIALECT_MSTR,
        },
    };
    let (_, session) = state
        .core
        .login(&credentials, session_shape(state.core.config()))
        .await?;
    Ok(session_response(&state, origin.https, &path, &session))
}

/// Log out: the session ends at once, and its cookie is cleared.
#[utoipa::path(post, path = "/api/auth/logout", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    Extension(CookiePath(path)): Extension<CookiePath>,
    ClientAddr(client_addr): ClientAddr,
    Caller(caller): Caller,
) -> MstrResult<Response> {
    state.core.logout(&caller, client_addr, "mstr").await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(SESSION_COOKIE, &path, &state.core.config().session),
    );
    Ok(resp)
}

/// Create an identity token that lets another application log in as the caller.
#[utoipa::path(post, path = "/api/auth/identityToken", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    responses(
        (status = 201, description = "Created; the token is in the X-MSTR-IdentityToken header",
            headers(("X-MSTR-IdentityToken" = String, description = "The identity token"))),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
    ))]
pub async fn create_identity_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> MstrResult<Response> {
    let token = state.core.new_identity_token(&caller).await?;
    let mut resp = StatusCode::CREATED.into_response();
    resp.headers_mut().insert(
        IDENTITY_TOKEN,
        HeaderValue::from_str(&token).map_err(|_| MstrError::from(CoreError::Internal("token".into())))?,
    );
    Ok(resp)
}

fn identity_header(headers: &HeaderMap) -> MstrResult<&str> {
    headers
        .get(IDENTITY_TOKEN)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            MstrError::new(
                StatusCode::BAD_REQUEST,
                "ERR007",
                "The header 'X-MSTR-IdentityToken' is required",
            )
        })
}

#[derive(Serialize, ToSchema)]
pub struct IdentityTokenInfo {
    /// The user the token stands for.
    #[serde(rename = "userId")]
    user_id: String,
}

/// Validate an identity token: answers the user it stands for.
#[utoipa::path(get, path = "/api/auth/identityToken", tag = "Authentication",
    params(("X-MSTR-IdentityToken" = String, Header, min_length = 1, description = "The identity token to check")),
    responses(
        (status = 200, description = "Valid", body = IdentityTokenInfo),
        (status = 400, description = "Header missing (ERR007)", body = MstrErrorBody),
        (status = 401, description = "Unknown or expired token (ERR003)", body = MstrErrorBody),
    ))]
pub async fn validate_identity_token(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> MstrResult<Json<IdentityTokenInfo>> {
    let token = identity_header(&headers)?;
    let user = state.core.identity_token_user(token).await?;
    Ok(Json(IdentityTokenInfo {
        user_id: user.to_hex(),
    }))
}

/// Revoke an identity token of the caller's (or any, for an administrator).
#[utoipa::path(delete, path = "/api/auth/identityToken", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-IdentityToken" = String, Header, min_length = 1, description = "The identity token to revoke")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Header X-MSTR-IdentityToken missing (ERR007)", body = MstrErrorBody),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
        (status = 404, description = "No such identity token (ERR004)", body = MstrErrorBody),
    ))]
pub async fn delete_identity_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
) -> MstrResult<StatusCode> {
    let token = identity_header(&headers)?;
    state.core.revoke_identity_token(&caller, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a new session for the user of an identity token (loginMode -1, as number or string).
#[utoipa::path(post, path = "/api/auth/delegate", tag = "Authentication",
    request_body(content = DelegateRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Logged in as the token's user",
            headers(("X-MSTR-AuthToken" = String, description = "Auth token of the new session"))),
        (status = 400, description = "Malformed body or missing field", body = MstrErrorBody),
        (status = 401, description = "Unknown or expired identity token (ERR003)", body = MstrErrorBody),
    ))]
pub async fn delegate(
    State(state): State<AppState>,
    Extension(CookiePath(path)): Extension<CookiePath>,
    origin: ClientOrigin,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> MstrResult<Response> {
    let client_addr = origin.addr;
    let body: DelegateRequest = body::read(&headers, &body)?;
    if let Some(mode) = body.login_mode {
        if mode != i64::from(login_mode::DELEGATION) {
            return Err(MstrError::invalid(format!(
                "loginMode must be -1 for delegation, not {mode}"
            )));
        }
    }
    let token = required(body.identity_token, "identityToken")?;
    if let Some(v) = &body.code_verifier {
        if !vestibule_core::pkce::is_verifier(v) {
            return Err(MstrError::invalid(
                "codeVerifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'",
            ));
        }
    }
    let shape = session_shape(state.core.config());
    let (_, session) = state
        .core
        .delegate_from(
            &token,
            body.code_verifier.as_deref(),
            client_addr,
            DIALECT_MSTR,
            shape,
        )
        .await?;
    Ok(session_response(&state, origin.https, &path, &session))
}

#[derive(Serialize, ToSchema)]
pub struct ApiTokenCreated {
    #[serde(rename = "apiToken")]
    api_token: String,
}

/// Create an API token for logging in with loginMode 4096; for another user (`userId`) the caller
/// must administer users.
#[utoipa::path(post, path = "/api/auth/apiTokens", tag = "Authentication",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token")),
    request_body(content = Option<ApiTokenRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = ApiTokenCreated),
        (status = 400, description = "Malformed body or a field of the wrong type (ERR006)", body = MstrErrorBody),
        (status = 401, description = "No valid session (ERR009)", body = MstrErrorBody),
        (status = 403, description = "Creating a token for another user needs the administration privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "No such user (ERR004)", body = MstrErrorBody),
    ))]
pub async fn create_api_token(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> MstrResult<(StatusCode, Json<ApiTokenCreated>)> {
    let body: ApiTokenRequest = body::read(&headers, &body)?;
    let target = match body.user_id {
        Some(id) => Some(
            id.parse::<Guid>()
                .map_err(|_| MstrError::invalid(format!("'userId' is not a valid object id: '{id}'")))?,
        ),
        None => None,
    };
    let api_token = state.core.new_api_token(&caller, target).await?;
    Ok((StatusCode::CREATED, Json(ApiTokenCreated { api_token })))
}

/// The login body.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    #[serde(default, deserialize_with = "body::int")]
    #[schema(schema_with = login_mode_schema)]
    login_mode: Option<i64>,
    /// User name; for loginMode 4096, the API token. Guest logins (8) need none.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    username: Option<String>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::text_schema)]
    password: Option<String>,
    /// Accepted and not used (mstrio-py sends 76); a value of the wrong type is refused so that
    /// typos surface.
    #[serde(rename = "applicationType", default, deserialize_with = "body::int")]
    #[schema(schema_with = body::int_schema)]
    _application_type: Option<i64>,
    /// Accepted and not used.
    #[serde(rename = "workingSet", default, deserialize_with = "body::int")]
    #[schema(schema_with = body::int_schema)]
    _working_set: Option<i64>,
    /// Accepted and not used.
    #[serde(rename = "maxSearch", default, deserialize_with = "body::int")]
    #[schema(schema_with = body::int_schema)]
    _max_search: Option<i64>,
}

/// The delegation body.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DelegateRequest {
    #[serde(default, deserialize_with = "body::int")]
    #[schema(schema_with = delegation_mode_schema)]
    login_mode: Option<i64>,
    /// The identity token of `POST /api/auth/identityToken`, or the one a sign-in pop-up posted
    /// (`{context}/auth/login-dialog.jsp?generateIdentityToken=1`).
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    identity_token: Option<String>,
    /// The PKCE verifier whose S256 challenge the pop-up's identity token is bound to (the
    /// embedding SDK's `microstrategy.auth.oidcLogin`); such a token is refused without it.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(min_length = 43, max_length = 128, pattern = "^[A-Za-z0-9._~-]+$")]
    code_verifier: Option<String>,
}

/// The API token body (optional: an empty body makes a token for the caller).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenRequest {
    /// The user to make the token for (an object id); the caller when absent.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = user_id_schema)]
    user_id: Option<String>,
}

/// The login modes this server knows, as numbers or their text; `auth.default_login_mode` when
/// absent. Any other whole number is answered 401 ERR001, -1 (delegation) 400 ERR006.
fn login_mode_schema() -> utoipa::openapi::schema::Schema {
    let modes = [1, 8, 16, 4096];
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Integer,
            utoipa::openapi::schema::Type::String,
        ]))
        .description(Some(
            "1 Standard, 8 Guest, 16 LDAP, 4096 API token; a number or its text",
        ))
        .enum_values(Some(
            modes
                .iter()
                .map(|m| serde_json::json!(m))
                .chain(modes.iter().map(|m| serde_json::json!(m.to_string()))),
        ))
        .examples([serde_json::json!(1)])
        .into()
}

/// -1 (delegation), as a number or its text, or null.
fn delegation_mode_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Integer,
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .enum_values(Some([
            serde_json::json!(-1),
            serde_json::json!("-1"),
            serde_json::Value::Null,
        ]))
        .into()
}

fn user_id_schema() -> utoipa::openapi::schema::Schema {
    body::pattern_schema(body::GUID_PATTERN, true)
}
