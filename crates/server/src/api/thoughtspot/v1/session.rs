//! v1 `session/login`, `session/logout`, `session/info` and `session/isactive`, under
//! `/callosum/v1/tspublic/v1/` and the `/callosum/v1/` aliases the Visual Embed SDK uses.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::clock::now_ms;
use vestibule_core::session::Scope;
use vestibule_core::CoreError;

use super::super::error::{CallosumError, V1Result};
use super::super::extract::V1Body;
use super::super::extract::{self, V1Caller};
use super::super::login_flow::{self, Remember};
use super::super::RELEASE_VERSION;
use crate::api::body::{self, required};
use crate::client_addr::{ClientAddr, ClientOrigin};
use crate::state::AppState;

/// The login form.
#[derive(Deserialize, ToSchema)]
pub struct V1LoginForm {
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    username: Option<String>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::text_schema)]
    password: Option<String>,
    /// `true` keeps the session for `thoughtspot.remember_me_secs` (7 days) of inactivity and
    /// makes the cookie persistent; otherwise the idle timeout is `thoughtspot.session_idle_secs`
    /// (3 h). Sent as the text `true`/`false`.
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::flag_schema)]
    rememberme: Option<bool>,
}

/// Log in with a user name and password. Sets the `JSESSIONID` (session), `clientId` and `userGUID`
/// cookies.
#[utoipa::path(post, path = "/callosum/v1/tspublic/v1/session/login", tag = "ThoughtSpot v1",
    request_body(content = V1LoginForm, content_type = "application/x-www-form-urlencoded"),
    params(("X-Requested-By" = String, Header, description = "Required (any value): CSRF protection")),
    responses(
        (status = 204, description = "Logged in; the session cookie is set"),
        (status = 400, description = "Malformed form, missing field or missing X-Requested-By (10002)", body = CallosumError),
        (status = 401, description = "Login failed (10003)", body = CallosumError),
    ))]
pub async fn login(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    V1Body(body): V1Body,
) -> V1Result<Response> {
    let body: V1LoginForm = body::read(&headers, &body)?;
    let username = required(body.username, "username")?;
    let password = body.password.unwrap_or_default();
    let remember = body.rememberme.unwrap_or(false);
    let core = &state.core;
    let (user, mode) = login_flow::password_login(core, username, password, origin.addr).await?;
    let remember = Remember::from_flag(remember);
    let shape = login_flow::cookie_session_shape(core.config(), Scope::Full, remember);
    let session = core.new_session(user.id, mode, shape).await?;
    Ok(login_flow::cookie_session_response(
        core,
        origin.https,
        &session,
        remember,
    ))
}

/// Log out: the session (cookie or bearer token) ends at once and the cookies are cleared.
#[utoipa::path(post, path = "/callosum/v1/tspublic/v1/session/logout", tag = "ThoughtSpot v1",
    params(("X-Requested-By" = String, Header, description = "Required (any value): CSRF protection")),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "Not logged in (10003)", body = CallosumError),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    V1Caller(caller): V1Caller,
) -> V1Result<Response> {
    Ok(login_flow::logout(&state.core, &caller.principal, client_addr).await?)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MixpanelConfig {
    dev_sdk_key: &'static str,
    prod_sdk_key: &'static str,
    production: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigInfo {
    /// Analytics keys the Visual Embed SDK reads without checking; empty: no analytics.
    mixpanel_config: MixpanelConfig,
    is_public_user: bool,
    self_cluster_id: String,
    self_cluster_name: &'static str,
    is_saas: bool,
    tse_rest_api_v2_playground_enabled: bool,
    roles_enabled: bool,
    orgs_configuration: OrgsConfiguration,
}

#[derive(Serialize, ToSchema)]
pub struct OrgsConfiguration {
    enabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FormatPattern {
    #[serde(rename = "formatPattern")]
    format_pattern: &'static str,
}

/// The session information the Visual Embed SDK and cs_tools read.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct V1SessionInfo {
    user_name: String,
    user_display_name: String,
    user_email: String,
    /// The user's id (dashed UUID).
    #[serde(rename = "userGUID")]
    user_guid: String,
    user_created_time: i64,
    user_expiration_time: i64,
    can_change_password: bool,
    is_system_user: bool,
    user_group_mask: i64,
    /// Privilege keys, e.g. `ADMINISTRATION`, `DATADOWNLOADING`.
    privileges: Vec<&'static str>,
    api_version: &'static str,
    release_version: &'static str,
    /// When the session ends if idle from now (seconds since the epoch).
    expiration_time: i64,
    /// The credential the request presented (cookie value or bearer token).
    auth_token: String,
    current_org_id: i64,
    locale: &'static str,
    timezone: &'static str,
    date_format: FormatPattern,
    time_format: FormatPattern,
    date_time_format: FormatPattern,
    /// Set when the session is limited to one object (`REPORT_BOOK_VIEW`): that object's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    restricted_object_id: Option<String>,
    config_info: ConfigInfo,
}

/// The session's user and the cluster's configuration. Answers 401 when not logged in, which the
/// Visual Embed SDK relies on to start authentication.
#[utoipa::path(get, path = "/callosum/v1/tspublic/v1/session/info", tag = "ThoughtSpot v1",
    responses(
        (status = 200, description = "Session information", body = V1SessionInfo),
        (status = 401, description = "Not logged in (10003)", body = CallosumError),
    ))]
pub async fn info(State(state): State<AppState>, V1Caller(caller): V1Caller) -> Json<V1SessionInfo> {
    let u = &caller.principal.user.user;
    let s = &caller.principal.session;
    Json(V1SessionInfo {
        user_name: u.username.clone(),
        user_display_name: u.display_name().to_owned(),
        user_email: u.email.clone(),
        user_guid: u.id.to_uuid(),
        user_created_time: u.created_ms,
        user_expiration_time: 0,
        can_change_password: u.password_hash.is_some(),
        is_system_user: false,
        user_group_mask: 0,
        privileges: caller.principal.user.privileges.iter().map(|p| p.key).collect(),
        api_version: "v1",
        release_version: RELEASE_VERSION,
        expiration_time: s.expires_ms().max(now_ms()) / 1000,
        auth_token: caller.presented.clone(),
        current_org_id: 0,
        locale: "en-US",
        timezone: "UTC",
        date_format: FormatPattern {
            format_pattern: "MM/dd/yyyy",
        },
        time_format: FormatPattern {
            format_pattern: "HH:mm:ss",
        },
        date_time_format: FormatPattern {
            format_pattern: "MM/dd/yyyy HH:mm:ss",
        },
        restricted_object_id: match s.scope {
            Scope::Full => None,
            Scope::Object(o) => Some(o.to_uuid()),
        },
        config_info: ConfigInfo {
            mixpanel_config: MixpanelConfig {
                dev_sdk_key: "",
                prod_sdk_key: "",
                production: false,
            },
            is_public_user: false,
            self_cluster_id: cluster_id(&state),
            self_cluster_name: "vestibule",
            is_saas: false,
            tse_rest_api_v2_playground_enabled: false,
            roles_enabled: false,
            orgs_configuration: OrgsConfiguration { enabled: false },
        },
    })
}

/// A stable id of this deployment, the same on every node: derived from settings the nodes share.
fn cluster_id(state: &AppState) -> String {
    let c = &state.core.config();
    let h = vestibule_core::secret::SecretHash::of(&format!("{}\u{0}{}", c.context_path, c.default_project));
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.0[..16]);
    vestibule_core::ids::Guid(b).to_uuid()
}

/// Whether the session cookie or bearer token is live: 204 if so. Also accepts a fresh v1
/// trusted-authentication token as a bearer without using it up (the Visual Embed SDK checks a
/// token here before logging in with it).
#[utoipa::path(get, path = "/callosum/v1/session/isactive", tag = "ThoughtSpot v1",
    responses(
        (status = 204, description = "Active"),
        (status = 401, description = "Not logged in, or the token is not valid (10003)", body = CallosumError),
    ))]
pub async fn isactive(State(state): State<AppState>, headers: HeaderMap) -> V1Result<StatusCode> {
    let (credential, by_bearer) = extract::credential(&headers).ok_or(CoreError::SessionInvalid)?;
    if by_bearer {
        state.core.token_is_live(&credential).await?;
    } else {
        state.core.resolve(&credential).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
