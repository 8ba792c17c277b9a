//! v2 `auth/token/*`: minting bearer tokens (`full`, `object`, `custom`), checking one
//! (`validate`) and revoking (`revoke`).
//!
//! A token is a session of the core with an absolute expiry and no cookie, so it is reusable until
//! it expires or is revoked, and works on both dialects. With `secret_key`, minting is one
//! constant-time comparison against the cached key, a user lookup and a store insert (the
//! TypeScript SDK mints before every call); with `password`, the password is checked (and hashed)
//! as for a login.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::ToSchema;

use vestibule_core::access::{Access, Persist};
use vestibule_core::audit::{AuditEvent, AuditKind};
use vestibule_core::credential::Credential;
use vestibule_core::directory::User;
use vestibule_core::ids::Guid;
use vestibule_core::privilege::Privilege;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{login_mode, Scope, Session};
use vestibule_core::sessions::NewSession;
use vestibule_core::tokens::MAX_TOKEN_SECS;
use vestibule_core::trusted::Provisioning;
use vestibule_core::CoreError;

use super::super::error::{TsError, V2ErrorBody, V2Result};
use super::super::extract::V2Body;
use super::super::extract::V2Caller;
use super::super::guarded::guarded;
use super::super::login_flow;
use super::super::v1::token::{groups_schema, provisioning, JitFields};
use super::access::{
    custom_rules, runtime_rules, AccessView, FilterRuleIn, NamedValuesIn, ObjectIn, UserParametersIn,
};
use super::session::{check_org, org_schema};
use crate::api::body::{self, required};
use crate::client_addr::ClientAddr;
use crate::state::AppState;

/// `validity_time_in_sec` when a request names none.
const DEFAULT_VALIDITY_SECS: i64 = 300;

#[derive(Serialize, ToSchema)]
pub struct TokenScope {
    /// `FULL` or `REPORT_BOOK_VIEW`.
    access_type: &'static str,
    org_id: i64,
    /// The object a `REPORT_BOOK_VIEW` token is limited to.
    metadata_id: Option<String>,
}

impl TokenScope {
    fn of(scope: Scope) -> TokenScope {
        match scope {
            Scope::Full => TokenScope {
                access_type: "FULL",
                org_id: 0,
                metadata_id: None,
            },
            Scope::Object(o) => TokenScope {
                access_type: "REPORT_BOOK_VIEW",
                org_id: 0,
                metadata_id: Some(o.to_uuid()),
            },
        }
    }
}

/// The `Token` schema.
#[derive(Serialize, ToSchema)]
pub struct Token {
    token: String,
    creation_time_in_millis: i64,
    expiration_time_in_millis: i64,
    scope: TokenScope,
    valid_for_user_id: String,
    valid_for_username: String,
}

/// The token request body (`token/full`; `token/object` needs `object_id`).
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    username: Option<String>,
    /// Takes precedence over `secret_key` when both are given; one of them is required (which a
    /// schema of one field cannot say, so it names `password`).
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    password: Option<String>,
    /// The key printed by `vestibule trusted-auth enable|rotate`.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    secret_key: Option<String>,
    /// 1 s to one year (31536000 s); default 300.
    #[serde(default, deserialize_with = "body::int")]
    #[schema(schema_with = validity_schema)]
    validity_time_in_sec: Option<i64>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = org_schema)]
    org_identifier: Option<String>,
    /// Read like `org_identifier`.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = org_schema)]
    org_id: Option<String>,
    /// Create the user (without a password) when it does not exist.
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::nullable_flag_schema)]
    auto_create: Option<bool>,
    /// Read when `auto_create` is absent.
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::nullable_flag_schema)]
    autocreate: Option<bool>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    email: Option<String>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    display_name: Option<String>,
    /// Group names: a JSON array as text, or an array of names or `{"identifier": name}`.
    #[serde(default, deserialize_with = "body::any")]
    #[schema(schema_with = groups_schema)]
    groups: Option<serde_json::Value>,
    /// More group names.
    #[serde(default)]
    group_identifiers: Option<Vec<String>>,
    /// `token/object`: the object the token is limited to (`token/full` does not read it).
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = object_id_schema, required = true)]
    object_id: Option<String>,
    /// Runtime filters, parameters and sorts the token carries; items with `persist: true` are
    /// also stored on the user (shown as its `user_parameters`).
    #[serde(default)]
    user_parameters: Option<UserParametersIn>,
}

/// Who asks for a token, and the user to provision when trusted authentication creates one.
struct TokenAsker {
    username: Option<String>,
    password: Option<String>,
    secret_key: Option<String>,
    jit: Provisioning,
}

/// The asker of a token request body; its provisioning fields are read (and refused when
/// malformed) here, before any credential is checked, with `auto_create` defaulting as given.
macro_rules! asker {
    ($body:expr, $auto_create_default:expr) => {
        TokenAsker {
            username: $body.username,
            password: $body.password,
            secret_key: $body.secret_key,
            jit: provisioning(
                JitFields {
                    autocreate: $body.autocreate,
                    auto_create: $body.auto_create,
                    groups: $body.groups,
                    group_identifiers: $body.group_identifiers,
                    email: $body.email,
                    display_name: $body.display_name,
                },
                $auto_create_default,
            )?,
        }
    };
}

/// Authenticates a token request (password first, else secret key) and returns the user.
async fn token_user(
    state: &AppState,
    asker: TokenAsker,
    client_addr: Option<IpAddr>,
) -> Result<(User, i32), TsError> {
    let username = required(asker.username, "username")?;
    let core = &state.core;
    if let Some(password) = asker.password.filter(|p| !p.is_empty()) {
        return Ok(login_flow::password_login(core, username, password, client_addr).await?);
    }
    if let Some(key) = asker.secret_key.filter(|k| !k.is_empty()) {
        let jit = asker.jit;
        let user = guarded(
            core,
            login_mode::TRUSTED,
            Some(&username),
            client_addr,
            core.user_by_secret_key(&key, &username, &jit),
        )
        .await?;
        return Ok((user, login_mode::TRUSTED));
    }
    Err(TsError::bad_request(
        "Either secret_key or password must be provided.",
    ))
}

/// The lifetime asked for: 1 s up to the core's [`MAX_TOKEN_SECS`] (one year).
fn validity(secs: Option<i64>) -> Result<u64, TsError> {
    let secs = secs.unwrap_or(DEFAULT_VALIDITY_SECS);
    u64::try_from(secs)
        .ok()
        .filter(|s| (1..=MAX_TOKEN_SECS).contains(s))
        .ok_or_else(|| {
            TsError::bad_request(format!(
                "validity_time_in_sec must be between 1 and {MAX_TOKEN_SECS} seconds"
            ))
        })
}

async fn mint(
    state: &AppState,
    client_addr: Option<IpAddr>,
    headers: &HeaderMap,
    body: &[u8],
    object: bool,
) -> V2Result<(User, NewSession)> {
    let mut body: TokenRequest = body::read(headers, body)?;
    check_org([&body.org_identifier, &body.org_id])?;
    let validity = validity(body.validity_time_in_sec)?;
    let runtime = runtime_rules(body.user_parameters.take())?;
    let scope = if object {
        let id = required(body.object_id, "object_id")?;
        Scope::Object(
            id.parse::<Guid>()
                .map_err(|_| TsError::bad_request(format!("'object_id' is not a valid object id: '{id}'")))?,
        )
    } else {
        Scope::Full
    };
    let (user, mode) = token_user(state, asker!(body, false), client_addr).await?;
    let core = &state.core;
    // Stored when the token is made, whether or not it is ever used.
    if runtime.change.changes() {
        core.change_user_access(user.id, |a| runtime.change.apply(&mut a.runtime))
            .await?;
    }
    let carried = Access {
        runtime: runtime.carried,
        ..Access::default()
    };
    let session = core
        .new_bearer_token_carrying(user.id, mode, scope, validity, &carried)
        .await?;
    if mode == login_mode::TRUSTED {
        login_flow::audit_minted(&state.core, &user, scope, client_addr, "v2");
    }
    Ok((user, session))
}

fn token_body(user: &User, s: &NewSession) -> Token {
    Token {
        token: s.token.clone(),
        creation_time_in_millis: s.session.created_ms,
        expiration_time_in_millis: s.session.expires_ms(),
        scope: TokenScope::of(s.session.scope),
        valid_for_user_id: user.id.to_uuid(),
        valid_for_username: user.username.clone(),
    }
}

/// Mint a full-access bearer token for a user, with the user's password or the trusted
/// authentication secret key.
#[utoipa::path(post, path = "/api/rest/2.0/auth/token/full", tag = "ThoughtSpot v2",
    request_body(content = TokenRequest, content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "The token", body = Token),
        (status = 400, description = "Malformed body, neither password nor secret_key, bad validity (10002)", body = V2ErrorBody),
        (status = 401, description = "Invalid credentials (10097)", body = V2ErrorBody),
        (status = 403, description = "Trusted authentication is not enabled (10023)", body = V2ErrorBody),
    ))]
pub async fn full(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    headers: HeaderMap,
    V2Body(body): V2Body,
) -> V2Result<Json<Token>> {
    let (user, session) = mint(&state, client_addr, &headers, &body, false).await?;
    Ok(Json(token_body(&user, &session)))
}

/// Mint a bearer token limited to one object (`REPORT_BOOK_VIEW`): the session it opens can read
/// that object and nothing else, in both dialects.
#[utoipa::path(post, path = "/api/rest/2.0/auth/token/object", tag = "ThoughtSpot v2",
    request_body(content = TokenRequest, content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "The token", body = Token),
        (status = 400, description = "Malformed body, missing or bad object_id (10002)", body = V2ErrorBody),
        (status = 401, description = "Invalid credentials (10097)", body = V2ErrorBody),
        (status = 403, description = "Trusted authentication is not enabled (10023)", body = V2ErrorBody),
    ))]
pub async fn object(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    headers: HeaderMap,
    V2Body(body): V2Body,
) -> V2Result<Json<Token>> {
    let (user, session) = mint(&state, client_addr, &headers, &body, true).await?;
    Ok(Json(token_body(&user, &session)))
}

#[derive(Serialize, ToSchema)]
pub struct OrgRef {
    id: i64,
    name: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct UserRef {
    id: String,
    name: String,
}

/// The `AccessToken` schema of `token/custom`.
#[derive(Serialize, ToSchema)]
pub struct AccessToken {
    /// An id of the token (not the token).
    id: String,
    token: String,
    org: OrgRef,
    user: UserRef,
    creation_time_in_millis: i64,
    expiration_time_in_millis: i64,
}

/// The custom token body.
#[derive(Deserialize, ToSchema)]
pub struct CustomTokenRequest {
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    username: Option<String>,
    /// Takes precedence over `secret_key` when both are given; one of them is required (which a
    /// schema of one field cannot say, so it names `password`).
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    password: Option<String>,
    /// The key printed by `vestibule trusted-auth enable|rotate`.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    secret_key: Option<String>,
    /// 1 s to one year (31536000 s); default 300.
    #[serde(default, deserialize_with = "body::int")]
    #[schema(schema_with = validity_schema)]
    validity_time_in_sec: Option<i64>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = org_schema)]
    org_identifier: Option<String>,
    /// Read like `org_identifier`.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = org_schema)]
    org_id: Option<String>,
    /// Create the user (without a password) when it does not exist; default true.
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::nullable_flag_schema)]
    auto_create: Option<bool>,
    /// Read when `auto_create` is absent.
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::nullable_flag_schema)]
    autocreate: Option<bool>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    email: Option<String>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    display_name: Option<String>,
    /// Group names: a JSON array as text, or an array of names or `{"identifier": name}`.
    #[serde(default, deserialize_with = "body::any")]
    #[schema(schema_with = groups_schema)]
    groups: Option<serde_json::Value>,
    /// More group names.
    #[serde(default)]
    group_identifiers: Option<Vec<String>>,
    /// `REPLACE`, `APPEND`, `NONE` or `RESET`, in any case; default NONE (the Python client never
    /// sends it).
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = persist_option_schema)]
    persist_option: Option<String>,
    /// Filter rules the token carries (and, with a `persist_option` other than `NONE`, the
    /// user holds).
    #[serde(default)]
    filter_rules: Option<Vec<FilterRuleIn>>,
    /// Parameter values, carried and persisted like `filter_rules`.
    #[serde(default)]
    parameter_values: Option<Vec<NamedValuesIn>>,
    /// Variable values: only with `persist_option` `APPEND` or `REPLACE`.
    #[serde(default)]
    variable_values: Option<Vec<NamedValuesIn>>,
    /// The objects the rules apply to (every object when absent).
    #[serde(default)]
    objects: Option<Vec<ObjectIn>>,
}

/// 1 to 31536000 seconds, as a number or its text; or empty or null.
fn validity_schema() -> Schema {
    body::int_range_schema(1, MAX_TOKEN_SECS as i64, VALIDITY_DIGITS, true)
}

/// The text of a whole number from 1 to [`MAX_TOKEN_SECS`] (31536000), leading zeros allowed:
/// up to seven digits, or eight up to 31536000.
const VALIDITY_DIGITS: &str =
    "0*([1-9][0-9]{0,6}|[12][0-9]{7}|30[0-9]{6}|31[0-4][0-9]{5}|315[0-2][0-9]{4}|3153[0-5][0-9]{3}|31536000)";

fn object_id_schema() -> Schema {
    body::pattern_schema(body::GUID_PATTERN, false)
}

/// The schema of `persist_option`: one of the four options in any case, or null.
fn persist_option_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(
            "^([Rr][Ee][Pp][Ll][Aa][Cc][Ee]|[Aa][Pp][Pp][Ee][Nn][Dd]|[Nn][Oo][Nn][Ee]|[Rr][Ee][Ss][Ee][Tt])$",
        ))
        .into()
}

/// Mint a full-access token in the `AccessToken` shape, carrying attribute-based access control
/// rules (`filter_rules`, `parameter_values`, `variable_values`, for the `objects` given). With a
/// `persist_option` other than `NONE` the request also changes the rules the user holds, when the
/// token is made: `APPEND` adds them, `REPLACE` puts them in place of the user's, `RESET` clears
/// the user's filter rules and parameter values.
#[utoipa::path(post, path = "/api/rest/2.0/auth/token/custom", tag = "ThoughtSpot v2",
    request_body(content = CustomTokenRequest, content_type = "application/json"),
    security(()),
    responses(
        (status = 200, description = "The token", body = AccessToken),
        (status = 400, description = "Malformed body, a field of the wrong type, bad persist_option, variable_values with NONE or RESET (10002)", body = V2ErrorBody),
        (status = 401, description = "Invalid credentials (10097)", body = V2ErrorBody),
        (status = 403, description = "Trusted authentication is not enabled (10023)", body = V2ErrorBody),
    ))]
pub async fn custom(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    headers: HeaderMap,
    V2Body(body): V2Body,
) -> V2Result<Json<AccessToken>> {
    let mut body: CustomTokenRequest = body::read(&headers, &body)?;
    check_org([&body.org_identifier, &body.org_id])?;
    let rules = custom_rules(
        body.persist_option.take(),
        body.filter_rules.take(),
        body.parameter_values.take(),
        body.variable_values.take(),
        body.objects.take(),
    )?;
    let validity = validity(body.validity_time_in_sec)?;
    let (user, mode) = token_user(&state, asker!(body, true), client_addr).await?;
    let core = &state.core;
    // Stored when the token is made, whether or not it is ever used.
    if rules.persist != Persist::None {
        core.change_user_access(user.id, |a| rules.persist.apply(&mut a.rules, &rules.asked))
            .await?;
    }
    let carried = Access {
        rules: rules.asked,
        ..Access::default()
    };
    let s = core
        .new_bearer_token_carrying(user.id, mode, Scope::Full, validity, &carried)
        .await?;
    let mut id = [0u8; 16];
    id.copy_from_slice(&SecretHash::of(&s.token).0[16..]);
    Ok(Json(AccessToken {
        id: Guid(id).to_uuid(),
        token: s.token.clone(),
        org: OrgRef {
            id: 0,
            name: "Primary",
        },
        user: UserRef {
            id: user.id.to_uuid(),
            name: user.username.clone(),
        },
        creation_time_in_millis: s.session.created_ms,
        expiration_time_in_millis: s.session.expires_ms(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TokenValidationResponse {
    creation_time_in_millis: i64,
    expiration_time_in_millis: i64,
    scope: TokenScope,
    valid_for_user_id: String,
    /// `BEARER`.
    token_type: &'static str,
    /// What the token carries (`{}` each when nothing): the rules of `token/custom`, the
    /// `user_parameters` of `token/full` and `token/object`.
    #[serde(flatten)]
    carried: AccessView,
}

/// The validate body.
#[derive(Deserialize, ToSchema)]
pub struct ValidateRequest {
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    token: Option<String>,
}

/// Check a token: its lifetime, scope and user. The caller must be authenticated.
#[utoipa::path(post, path = "/api/rest/2.0/auth/token/validate", tag = "ThoughtSpot v2",
    request_body(content = ValidateRequest, content_type = "application/json"),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Valid", body = TokenValidationResponse),
        (status = 400, description = "Missing, malformed, unknown or expired token (10002)", body = V2ErrorBody),
        (status = 401, description = "Caller not authenticated (10097)", body = V2ErrorBody),
    ))]
pub async fn validate(
    State(state): State<AppState>,
    V2Caller(_caller): V2Caller,
    headers: HeaderMap,
    V2Body(body): V2Body,
) -> V2Result<Json<TokenValidationResponse>> {
    let body: ValidateRequest = body::read(&headers, &body)?;
    let token = required(body.token, "token")?;
    let invalid = || TsError::bad_request("The provided token is malformed, unknown or has expired.");
    // The token may be a cookie session's (its cookie) or a bearer token of any kind.
    let credential = Credential::new(&token).token_is_cookie();
    let session: Session = match state.core.resolve(&credential).await {
        Ok(p) => p.session,
        Err(CoreError::SessionInvalid) => return Err(invalid().into()),
        Err(e) => return Err(e.into()),
    };
    let carried = state.core.token_access(&session).await?;
    Ok(Json(TokenValidationResponse {
        creation_time_in_millis: session.created_ms,
        expiration_time_in_millis: session.expires_ms(),
        scope: TokenScope::of(session.scope),
        valid_for_user_id: session.user_id.to_uuid(),
        token_type: "BEARER",
        carried: AccessView::of(&carried),
    }))
}

/// The revoke body (optional).
#[derive(Deserialize, ToSchema)]
pub struct RevokeTokenRequest {
    /// Revoke every token and session of this user (name or id): the caller's own, or anyone's
    /// with the administration privilege.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    user_identifier: Option<String>,
    /// The token to revoke.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    token: Option<String>,
}

/// Revoke a token, or every token of a user. With an empty body (as the Python client sends it),
/// the caller's own bearer token (or session) is revoked.
#[utoipa::path(post, path = "/api/rest/2.0/auth/token/revoke", tag = "ThoughtSpot v2",
    request_body(content = Option<RevokeTokenRequest>, content_type = "application/json"),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Caller not authenticated (10097)", body = V2ErrorBody),
        (status = 400, description = "Malformed body, unknown token or user (10002)", body = V2ErrorBody),
        (status = 403, description = "Another user's tokens without the administration privilege (10023)", body = V2ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    V2Caller(caller): V2Caller,
    headers: HeaderMap,
    V2Body(body): V2Body,
) -> V2Result<StatusCode> {
    let body: RevokeTokenRequest = body::read(&headers, &body)?;
    let core = &state.core;
    let p = &caller.principal;
    let token = body.token.filter(|t| !t.trim().is_empty());
    let user = body.user_identifier.filter(|u| !u.trim().is_empty());
    // The event names the account whose sessions ended when that is known (its own session, or
    // every session of a named user); for one named token it names the caller who revoked it.
    let (name, id, reason) = match (token, user) {
        (Some(token), _) => {
            if !core.revoke_token(p, &token).await? {
                return Err(TsError::bad_request("The provided token is unknown or has expired.").into());
            }
            (p.user.user.username.clone(), p.user.user.id, "token_revoked")
        }
        (None, Some(who)) => {
            let found = match who.parse::<Guid>() {
                Ok(id) => core.directory().user_info(id).await.map(|i| i.user.clone()),
                Err(_) => core.directory().require_user(&who).await,
            };
            // The spec documents 400, not 404, for a request naming no user.
            let target = match found {
                Err(CoreError::NotFound(_)) => {
                    return Err(TsError::bad_request(
                        "The specified user_identifier does not refer to a valid user.",
                    )
                    .into())
                }
                other => other?,
            };
            if target.id != p.user.user.id {
                p.require(Privilege::ADMINISTRATION)?;
            }
            core.end_sessions_of(target.id).await?;
            (target.username, target.id, "user_tokens_revoked")
        }
        (None, None) => {
            core.end_session(p).await?;
            (p.user.user.username.clone(), p.user.user.id, "token_revoked")
        }
    };
    core.audit(
        AuditEvent::new(AuditKind::Logout)
            .user(&name)
            .user_id(id)
            .address(client_addr)
            .dialect("thoughtspot")
            .reason(reason),
    );
    Ok(StatusCode::NO_CONTENT)
}
