//! v2 `auth/session/login`, `auth/session/logout`, `auth/session/user` and `auth/session/token`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::privilege::Privilege;
use vestibule_core::session::{login_mode, Scope};

use super::super::error::{TsError, V2ErrorBody, V2Result};
use super::super::extract::V2Body;
use super::super::extract::{self, V2Caller};
use super::super::login_flow::{self, Remember};
use super::access::AccessView;
use crate::api::body;
use crate::client_addr::{ClientAddr, ClientOrigin};
use crate::state::AppState;

/// Reads `org_identifier` and `org_id`: the Primary org, by id (number or text) or by name.
pub fn check_org(names: [&Option<String>; 2]) -> Result<(), TsError> {
    for v in names.into_iter().flatten() {
        let v = v.trim();
        if !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("primary")) {
            return Err(TsError::bad_request(
                "The specified org_identifier does not refer to a valid or accessible org.",
            ));
        }
    }
    Ok(())
}

/// The login body.
#[derive(Deserialize, ToSchema)]
pub struct V2LoginRequest {
    /// Required unless the request carries `Authorization: Bearer`.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    username: Option<String>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::nullable_text_schema)]
    password: Option<String>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = org_schema)]
    org_identifier: Option<String>,
    /// Read like `org_identifier`.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = org_schema)]
    org_id: Option<String>,
    /// A boolean or the strings "true"/"false".
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::nullable_flag_schema)]
    remember_me: Option<bool>,
}

/// The Primary org, the only one: 0, "0" or "Primary" (any case), or empty or null.
pub fn org_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::String, Type::Null]))
        .minimum(Some(0))
        .maximum(Some(0))
        .pattern(Some(
            "^[ \\t\\n\\r]*(0|[Pp][Rr][Ii][Mm][Aa][Rr][Yy])?[ \\t\\n\\r]*$",
        ))
        .into()
}

/// Log in and get a cookie session: with `username` and `password`, or with
/// `Authorization: Bearer <token>` and no user name (turns a token into a cookie session of the
/// same user and scope).
#[utoipa::path(post, path = "/api/rest/2.0/auth/session/login", tag = "ThoughtSpot v2",
    request_body(content = Option<V2LoginRequest>, content_type = "application/json"),
    responses(
        (status = 204, description = "Logged in; the session cookie is set"),
        (status = 400, description = "Malformed body or unknown org (10002)", body = V2ErrorBody),
        (status = 401, description = "Authentication failed (10097)", body = V2ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    V2Body(body): V2Body,
) -> V2Result<Response> {
    let body: V2LoginRequest = body::read(&headers, &body)?;
    check_org([&body.org_identifier, &body.org_id])?;
    let remember = Remember::from_flag(body.remember_me.unwrap_or(false));
    let core = &state.core;
    let username = body.username.filter(|u| !u.is_empty());
    let session = match (username, extract::bearer(&headers)) {
        (None, Some(_)) => {
            let caller = extract::authenticate(core, &headers).await?;
            let p = &caller.principal;
            let shape = login_flow::cookie_session_shape(core.config(), p.session.scope, remember);
            core.new_session(p.user.user.id, login_mode::TRUSTED, shape)
                .await?
        }
        (username, _) => {
            let username =
                username.ok_or_else(|| TsError::bad_request("The field 'username' is required"))?;
            let password = body.password.unwrap_or_default();
            let (user, mode) = login_flow::password_login(core, username, password, origin.addr).await?;
            let shape = login_flow::cookie_session_shape(core.config(), Scope::Full, remember);
            core.new_session(user.id, mode, shape).await?
        }
    };
    Ok(login_flow::cookie_session_response(
        core,
        origin.https,
        &session,
        remember,
    ))
}

/// Log out: the session (cookie or bearer token) ends at once.
#[utoipa::path(post, path = "/api/rest/2.0/auth/session/logout", tag = "ThoughtSpot v2",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No active session (10097)", body = V2ErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    V2Caller(caller): V2Caller,
) -> V2Result<Response> {
    Ok(login_flow::logout(&state.core, &caller.principal, client_addr).await?)
}

#[derive(Serialize, ToSchema)]
pub struct NamedRef {
    id: serde_json::Value,
    name: String,
}

/// The `User` schema of the v2 API (the fields vestibule knows).
#[derive(Serialize, ToSchema)]
pub struct User {
    /// Dashed UUID.
    id: String,
    name: String,
    display_name: String,
    /// `SHARABLE`.
    visibility: &'static str,
    email: String,
    account_type: &'static str,
    /// `ACTIVE` (disabled users cannot have a session).
    account_status: &'static str,
    current_org: NamedRef,
    orgs: Vec<NamedRef>,
    /// Privilege keys.
    privileges: Vec<&'static str>,
    user_groups: Vec<NamedRef>,
    creation_time_in_millis: i64,
    modification_time_in_millis: i64,
    super_user: bool,
    system_user: bool,
    can_change_password: bool,
    complete_detail: bool,
    is_first_login: bool,
    /// Set when the session is limited to one object: that object's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    restricted_object_id: Option<String>,
    /// The access properties the user holds (persisted by token requests; `{}` each when none).
    #[serde(flatten)]
    access: AccessView,
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/rest/2.0/auth/session/user", tag = "ThoughtSpot v2",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 401, description = "Not logged in (10097)", body = V2ErrorBody),
    ))]
pub async fn user(State(state): State<AppState>, V2Caller(caller): V2Caller) -> V2Result<Json<User>> {
    let info = &caller.principal.user;
    let u = &info.user;
    let groups = state.core.directory().groups_of(u.id).await?;
    let access = state.core.user_access(u.id).await?;
    let primary = || NamedRef {
        id: serde_json::json!(0),
        name: "Primary".into(),
    };
    Ok(Json(User {
        id: u.id.to_uuid(),
        name: u.username.clone(),
        display_name: u.display_name().to_owned(),
        visibility: "SHARABLE",
        email: u.email.clone(),
        account_type: match u.source {
            vestibule_core::directory::UserSource::Ldap => "LDAP_USER",
            _ => "LOCAL_USER",
        },
        account_status: "ACTIVE",
        current_org: primary(),
        orgs: vec![primary()],
        privileges: info.privileges.iter().map(|p| p.key).collect(),
        user_groups: groups
            .into_iter()
            .map(|g| NamedRef {
                id: serde_json::json!(g.id.to_uuid()),
                name: g.name,
            })
            .collect(),
        creation_time_in_millis: u.created_ms,
        modification_time_in_millis: u.modified_ms,
        super_user: info.has(Privilege::ADMINISTRATION),
        system_user: false,
        can_change_password: u.password_hash.is_some(),
        complete_detail: true,
        is_first_login: false,
        restricted_object_id: match caller.principal.session.scope {
            Scope::Full => None,
            Scope::Object(o) => Some(o.to_uuid()),
        },
        access: AccessView::of(&access),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct GetTokenResponse {
    token: String,
    creation_time_in_millis: i64,
    expiration_time_in_millis: i64,
    valid_for_user_id: String,
    valid_for_username: String,
}

/// A bearer token for the caller. Called with a bearer token, it answers that token's details
/// (it does not make a new one); called with a session cookie, it mints a bearer token of the same
/// user and scope that lives `thoughtspot.session_token_secs` (24 h).
#[utoipa::path(get, path = "/api/rest/2.0/auth/session/token", tag = "ThoughtSpot v2",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The token", body = GetTokenResponse),
        (status = 401, description = "Not logged in (10097)", body = V2ErrorBody),
    ))]
pub async fn token(
    State(state): State<AppState>,
    V2Caller(caller): V2Caller,
) -> V2Result<Json<GetTokenResponse>> {
    let p = &caller.principal;
    let u = &p.user.user;
    let (token, created, expires) = if caller.by_bearer {
        (
            caller.presented.clone(),
            p.session.created_ms,
            p.session.expires_ms(),
        )
    } else {
        let secs = state.core.config().thoughtspot.session_token_secs;
        let s = state
            .core
            .new_bearer_token(u.id, p.session.login_mode, p.session.scope, secs)
            .await?;
        (s.token, s.session.created_ms, s.session.expires_ms())
    };
    Ok(Json(GetTokenResponse {
        token,
        creation_time_in_millis: created,
        expiration_time_in_millis: expires,
        valid_for_user_id: u.id.to_uuid(),
        valid_for_username: u.username.clone(),
    }))
}
