//! v1 trusted authentication: `session/auth/token` mints a token for a user from the secret key,
//! and `session/login/token` exchanges a token (v1, or a v2 bearer token) for a cookie session.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use vestibule_core::audit::{AuditEvent, AuditKind};
use vestibule_core::config::Config;
use vestibule_core::ids::Guid;
use vestibule_core::session::{login_mode, Scope};
use vestibule_core::trusted::{ChainedLifetime, Provisioning};

use super::super::error::{CallosumError, TsError, V1Result};
use super::super::extract;
use super::super::extract::V1Body;
use super::super::guarded::guarded;
use super::super::login_flow::{self, Remember};
use crate::api::body::{self, required};
use crate::client_addr::{ClientAddr, ClientOrigin};
use crate::state::AppState;

/// The token request form.
#[derive(Deserialize, ToSchema)]
pub struct AuthTokenForm {
    /// The key printed by `vestibule trusted-auth enable|rotate`.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    secret_key: Option<String>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    username: Option<String>,
    /// `FULL` (default) or `REPORT_BOOK_VIEW` (only the object `id`, which it requires), in any
    /// case.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = access_level_schema)]
    access_level: Option<String>,
    /// The object a `REPORT_BOOK_VIEW` token is limited to.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = guid_schema)]
    id: Option<String>,
    #[serde(default, deserialize_with = "body::int")]
    #[schema(schema_with = org_zero_schema)]
    orgid: Option<i64>,
    /// Attribute-based access control, which this server refuses rather than ignores.
    #[serde(default, deserialize_with = "body::any")]
    #[schema(ignore)]
    jwt_user_options: Option<serde_json::Value>,
    /// Create the user (without a password) when it does not exist.
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::flag_schema)]
    autocreate: Option<bool>,
    /// Read when `autocreate` is absent.
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::flag_schema)]
    auto_create: Option<bool>,
    /// Group names: a JSON array as text (`["sales","marketing"]`), or in a JSON body an array.
    #[serde(default, deserialize_with = "body::any")]
    #[schema(schema_with = groups_text_schema)]
    groups: Option<serde_json::Value>,
    /// More group names, in a JSON body (a form cannot carry a list).
    #[serde(default)]
    #[schema(ignore)]
    group_identifiers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::text_schema)]
    email: Option<String>,
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::text_schema)]
    display_name: Option<String>,
}

/// The just-in-time provisioning fields of a token request, as v1 and v2 name them.
pub struct JitFields {
    pub autocreate: Option<bool>,
    pub auto_create: Option<bool>,
    pub groups: Option<serde_json::Value>,
    pub group_identifiers: Option<Vec<String>>,
    pub email: Option<String>,
    pub display_name: Option<String>,
}

/// The schema of a `groups` field: a JSON array of names as text, or an array of names or
/// `{"identifier": name}` (or `{"name": name}`) objects.
pub fn groups_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    let name = || ObjectBuilder::new().schema_type(Type::String);
    let named = |key: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(key, name())
            .required(key)
    };
    let item = OneOfBuilder::new()
        .item(name())
        .item(named("identifier"))
        .item(named("name"));
    OneOfBuilder::new()
        .item(name().description(Some("A JSON array of group names, as text")))
        .item(ArrayBuilder::new().items(item))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// `FULL` in any case: `REPORT_BOOK_VIEW` needs `id`, which a schema of one field cannot say.
fn access_level_schema() -> utoipa::openapi::schema::Schema {
    body::pattern_schema("^([Ff][Uu][Ll][Ll])$", false)
}

fn guid_schema() -> utoipa::openapi::schema::Schema {
    body::pattern_schema(body::GUID_PATTERN, false)
}

/// The org of a form: 0 (Primary), the only one.
pub fn org_zero_schema() -> utoipa::openapi::schema::Schema {
    body::int_range_schema(0, 0, "-?0{1,18}", false)
}

/// The org of a form that must name one: 0 (Primary).
pub fn required_org_zero_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Integer,
            utoipa::openapi::schema::Type::String,
        ]))
        .minimum(Some(0))
        .maximum(Some(0))
        .pattern(Some("^[ \\t\\n\\f\\r]*-?0{1,18}[ \\t\\n\\f\\r]*$"))
        .into()
}

/// Group names as the text of a JSON array of strings (without escapes, as a form sends them).
fn groups_text_schema() -> utoipa::openapi::schema::Schema {
    body::pattern_schema(
        r#"^[ \t\n\r]*\[[ \t\n\r]*("[^"\\\x00-\x1f]*"([ \t\n\r]*,[ \t\n\r]*"[^"\\\x00-\x1f]*")*)?[ \t\n\r]*\][ \t\n\r]*$"#,
        false,
    )
}

/// Reads the org a token request names: only the Primary org (0) exists.
pub fn check_org(org: Option<i64>) -> Result<(), TsError> {
    match org {
        None | Some(0) => Ok(()),
        Some(o) => Err(TsError::bad_request(format!(
            "The specified org {o} does not refer to a valid or accessible org."
        ))),
    }
}

/// Reads the `groups` field: a JSON array of names, as a string or as an array.
fn groups(value: Option<serde_json::Value>) -> Result<Vec<String>, TsError> {
    let parsed = match value {
        None => return Ok(Vec::new()),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
        Some(serde_json::Value::String(s)) => serde_json::from_str::<serde_json::Value>(&s)
            .map_err(|_| TsError::bad_request("'groups' must be a JSON array of group names"))?,
        Some(v) => v,
    };
    let serde_json::Value::Array(items) = parsed else {
        return Err(TsError::bad_request(
            "'groups' must be a JSON array of group names",
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            serde_json::Value::String(s) => Ok(s),
            serde_json::Value::Object(o) => match o.get("identifier").or_else(|| o.get("name")) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                _ => Err(TsError::bad_request(format!(
                    "'groups[{i}].identifier' must be a group name: a group is a name or {{\"identifier\": name}}"
                ))),
            },
            _ => Err(TsError::bad_request(format!(
                "'groups[{i}]' must be a group name or {{\"identifier\": name}}"
            ))),
        })
        .collect()
}

/// The just-in-time provisioning of a token request.
pub fn provisioning(f: JitFields, auto_create_default: bool) -> Result<Provisioning, TsError> {
    let auto_create = f.autocreate.or(f.auto_create).unwrap_or(auto_create_default);
    let mut groups = groups(f.groups)?;
    groups.extend(f.group_identifiers.unwrap_or_default());
    Ok(Provisioning {
        auto_create,
        display_name: f.display_name,
        email: f.email,
        groups,
    })
}

/// Mint a trusted-authentication token for a user with the secret key. The token stays valid until
/// another token is minted with the same key, then for five more minutes
/// (`thoughtspot.trusted_token_grace_secs`), and at most `thoughtspot.trusted_token_max_secs`.
/// The lifetime rule of v1 trusted tokens, from the `thoughtspot` section: a superseded token
/// lives `trusted_token_grace_secs` more, any token at most `trusted_token_max_secs`.
fn chained_lifetime(config: &Config) -> ChainedLifetime {
    let t = &config.thoughtspot;
    ChainedLifetime {
        grace: Duration::from_secs(t.trusted_token_grace_secs),
        max: Duration::from_secs(t.trusted_token_max_secs),
    }
}

#[utoipa::path(post, path = "/callosum/v1/tspublic/v1/session/auth/token", tag = "ThoughtSpot v1",
    request_body(content = AuthTokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token, as text/plain", body = String, content_type = "text/plain"),
        (status = 400, description = "Malformed form, missing field, bad access_level or id (10002)", body = CallosumError),
        (status = 401, description = "Wrong secret key, or unknown user without autocreate (10003)", body = CallosumError),
        (status = 403, description = "Trusted authentication is not enabled (10023)", body = CallosumError),
    ))]
pub async fn auth_token(
    State(state): State<AppState>,
    ClientAddr(client_addr): ClientAddr,
    headers: HeaderMap,
    V1Body(body): V1Body,
) -> V1Result<Response> {
    let body: AuthTokenForm = body::read(&headers, &body)?;
    let secret_key = required(body.secret_key, "secret_key")?;
    let username = required(body.username, "username")?;
    check_org(body.orgid)?;
    if body.jwt_user_options.is_some() {
        return Err(TsError::bad_request(
            "jwt_user_options (attribute-based access control) is not supported by this server",
        )
        .into());
    }
    let access = body.access_level.unwrap_or_else(|| "FULL".into());
    let scope = match access.to_ascii_uppercase().as_str() {
        "FULL" => Scope::Full,
        "REPORT_BOOK_VIEW" => {
            let id = required(body.id, "id")?;
            Scope::Object(
                id.parse::<Guid>()
                    .map_err(|_| TsError::bad_request(format!("'id' is not a valid object id: '{id}'")))?,
            )
        }
        other => {
            return Err(TsError::bad_request(format!(
                "access_level must be FULL or REPORT_BOOK_VIEW, not '{other}'"
            ))
            .into())
        }
    };
    let jit = provisioning(
        JitFields {
            autocreate: body.autocreate,
            auto_create: body.auto_create,
            groups: body.groups,
            group_identifiers: body.group_identifiers,
            email: body.email,
            display_name: body.display_name,
        },
        false,
    )?;
    let core = &state.core;
    let (token, user) = guarded(
        core,
        login_mode::TRUSTED,
        Some(&username),
        client_addr,
        core.mint_chained_token(
            &secret_key,
            &username,
            scope,
            &jit,
            chained_lifetime(core.config()),
        ),
    )
    .await?;
    login_flow::audit_minted(core, &user, scope, client_addr, "v1");
    let mut resp = token.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(resp)
}

/// Whether `url` may be redirected to: a path on this server, or an absolute http(s) URL whose
/// host is the one the request was sent to (no open redirects).
fn redirect_allowed(url: &str, headers: &HeaderMap) -> bool {
    if url.starts_with('/') {
        return !url.starts_with("//") && !url.starts_with("/\\");
    }
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    !authority.is_empty() && !authority.contains('@') && authority.eq_ignore_ascii_case(host)
}

async fn login_token(
    state: AppState,
    origin: ClientOrigin,
    headers: HeaderMap,
    body: LoginTokenForm,
) -> V1Result<Response> {
    let client_addr = origin.addr;
    let token = required(body.auth_token, "auth_token")?;
    let username = body.username;
    let no_redirect = body.no_url_redirection.unwrap_or(false);
    let redirect = body.redirect_url.filter(|u| !u.trim().is_empty());
    if let Some(url) = &redirect {
        if !no_redirect && !redirect_allowed(url, &headers) {
            return Err(TsError::bad_request(
                "redirect_url must be a path on this server or a URL with this server's host",
            )
            .into());
        }
    }
    let core = &state.core;
    let (user, session) = guarded(
        core,
        login_mode::TRUSTED,
        username.as_deref(),
        client_addr,
        core.login_with_token(
            &token,
            username.as_deref(),
            login_flow::cookie_session_shape(core.config(), Scope::Full, Remember::No),
        ),
    )
    .await?;
    core.audit(
        AuditEvent::new(AuditKind::LoginSucceeded)
            .mode(login_mode::TRUSTED)
            .user(&user.username)
            .user_id(user.id)
            .address(client_addr)
            .dialect("thoughtspot")
            .reason("token"),
    );
    let mut resp = match redirect {
        Some(url) if !no_redirect => {
            let mut r = (
                StatusCode::FOUND,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<html><body>Logged in; redirecting.</body></html>",
            )
                .into_response();
            let location = HeaderValue::from_str(&url)
                .map_err(|_| TsError::bad_request("redirect_url is not a valid URL"))?;
            r.headers_mut().insert(header::LOCATION, location);
            r
        }
        _ => StatusCode::NO_CONTENT.into_response(),
    };
    extract::set_session_cookies(core, origin.https, &mut resp, &session, None);
    Ok(resp)
}

/// Log in with a token (deprecated GET form: the fields in the query string).
#[utoipa::path(get, path = "/callosum/v1/tspublic/v1/session/login/token", tag = "ThoughtSpot v1",
    params(("username" = Option<String>, Query, description = "Must name the token's user when given"),
           ("auth_token" = String, Query, min_length = 1, description = "A v1 trusted token or a v2 bearer token"),
           ("redirect_url" = Option<String>, Query, pattern = "^(/([^/\\\\\\x00-\\x1f\\x7f][^\\x00-\\x1f\\x7f]*)?)?$", description = "Where to redirect: a path here or a URL with this host"),
           ("no_url_redirection" = Option<bool>, Query, description = "true: answer 204 instead of redirecting")),
    responses(
        (status = 302, description = "Logged in; redirected to redirect_url"),
        (status = 204, description = "Logged in (no_url_redirection=true, or no redirect_url)"),
        (status = 400, description = "Missing auth_token, or a redirect_url elsewhere (10002)", body = CallosumError),
        (status = 401, description = "Invalid or expired token, or the wrong user (10003)", body = CallosumError),
    ))]
pub async fn login_token_get(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> V1Result<Response> {
    let body: LoginTokenForm = body::read_form(query.unwrap_or_default().as_bytes())?;
    login_token(state, origin, headers, body).await
}

/// The token login form (`POST`), or the query string (`GET`).
#[derive(Deserialize, ToSchema)]
pub struct LoginTokenForm {
    /// Must name the token's user when given.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::text_schema)]
    username: Option<String>,
    /// A v1 trusted token or a v2 bearer token.
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = body::required_text_schema, required = true)]
    auth_token: Option<String>,
    /// Where to redirect: a path here, or an absolute http(s) URL whose host is the one the
    /// request was sent to (which the pattern cannot name).
    #[serde(default, deserialize_with = "body::text")]
    #[schema(schema_with = redirect_schema)]
    redirect_url: Option<String>,
    /// `true`: answer 204 instead of redirecting.
    #[serde(default, deserialize_with = "body::flag")]
    #[schema(schema_with = body::flag_schema)]
    no_url_redirection: Option<bool>,
}

/// A path on this server (not `//…`), without control characters; or empty.
fn redirect_schema() -> utoipa::openapi::schema::Schema {
    body::pattern_schema(r"^(/([^/\\\x00-\x1f\x7f][^\x00-\x1f\x7f]*)?)?$", false)
}

/// Log in with a token: 302 to `redirect_url` with the session cookies, or 204 with
/// `no_url_redirection=true` (or without a `redirect_url`). The token stays usable (v1 tokens are
/// not single-use).
#[utoipa::path(post, path = "/callosum/v1/tspublic/v1/session/login/token", tag = "ThoughtSpot v1",
    request_body(content = LoginTokenForm, content_type = "application/x-www-form-urlencoded"),
    params(("X-Requested-By" = String, Header, description = "Required (any value): CSRF protection")),
    responses(
        (status = 302, description = "Logged in; redirected to redirect_url"),
        (status = 204, description = "Logged in (no_url_redirection=true, or no redirect_url)"),
        (status = 400, description = "Missing auth_token, or a redirect_url elsewhere (10002)", body = CallosumError),
        (status = 401, description = "Invalid or expired token, or the wrong user (10003)", body = CallosumError),
    ))]
pub async fn login_token_post(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    V1Body(body): V1Body,
) -> V1Result<Response> {
    let body: LoginTokenForm = body::read(&headers, &body)?;
    login_token(state, origin, headers, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_server() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(redirect_allowed("/callosum/v1/session/isactive", &h));
        assert!(redirect_allowed("http://127.0.0.1:8080/x?y#z", &h));
        assert!(!redirect_allowed("//evil.example/x", &h));
        assert!(!redirect_allowed("http://evil.example/", &h));
        assert!(!redirect_allowed("http://127.0.0.1:8080@evil.example/", &h));
        assert!(!redirect_allowed("javascript:alert(1)", &h));
    }
}
