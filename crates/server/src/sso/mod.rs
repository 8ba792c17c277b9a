//! Single sign-on in the browser, the parts both dialects share: the flow cookie, the start (a
//! 302 to the provider), the callback at `{context}/auth/oidc/login` (the one redirect URI
//! registered at every provider), which hands the signed-in user to the dialect the flow was
//! started for, and the error page every failure ends on.
//!
//! The flow itself (its secrets, single use across nodes) is the core's (`core/src/sso.rs`).

pub mod pages;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use vestibule_core::config::Config;
use vestibule_core::sso::{SsoDone, SsoError, SsoProtocol};
use vestibule_core::CoreError;

use crate::client_addr::ClientOrigin;
use crate::credentials;
use crate::state::AppState;

/// The cookie that binds a started sign-in to its browser.
pub const FLOW_COOKIE: &str = "vestibule_sso";
/// The cookie that keeps, for the logout only, which provider signed the browser in and the ID
/// token it signed (`<provider>~<token>`): the logout's `id_token_hint`, even once the
/// vestibule session is gone.
pub const ID_TOKEN_COOKIE: &str = "vestibule_oidc";
/// Browsers keep cookies of up to 4096 bytes; a longer ID token is not kept (its logout then
/// goes without the hint).
const MAX_COOKIE: usize = 3800;
/// The tags the flow records for the session the callback makes.
pub const DIALECT_MSTR: &str = "mstr";
pub const DIALECT_THOUGHTSPOT: &str = "thoughtspot";

/// `{context}/auth/oidc/login`: where providers send the browser back.
pub fn callback_path(config: &Config) -> String {
    format!("{}/auth/oidc/login", config.context_path)
}

/// `{context}/auth/oidc/logout`: ends the browser's sessions here, then at its provider.
pub fn logout_path(config: &Config) -> String {
    format!("{}/auth/oidc/logout", config.context_path)
}

/// `{context}/auth/signed-out`: where a logout ends (registered at the providers as the
/// post-logout redirect URI, under `sso.public_url`).
pub fn signed_out_path(config: &Config) -> String {
    format!("{}/auth/signed-out", config.context_path)
}

/// `{context}/saml/SingleLogout`: the SAML logout (and where providers answer it).
pub fn saml_logout_path(config: &Config) -> String {
    format!("{}/saml/SingleLogout", config.context_path)
}

/// The logout of a protocol: where its logout cookie is sent.
fn logout_path_of(config: &Config, protocol: SsoProtocol) -> String {
    match protocol {
        SsoProtocol::Oidc => logout_path(config),
        SsoProtocol::Saml => saml_logout_path(config),
    }
}

fn id_token_cookie(
    config: &Config,
    protocol: SsoProtocol,
    provider: &str,
    id_token: &str,
    https: bool,
) -> Option<HeaderValue> {
    if id_token.is_empty() || provider.len() + id_token.len() > MAX_COOKIE {
        return None;
    }
    let mut s = format!(
        "{ID_TOKEN_COOKIE}={provider}~{id_token}; Path={}; HttpOnly; SameSite=Lax",
        logout_path_of(config, protocol)
    );
    if crate::cookies::secure(&config.session.cookie_secure, https) {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

/// Makes the browser forget the logout's provider and hint, for both protocols' logouts.
pub fn clear_id_token_cookies(config: &Config) -> impl Iterator<Item = HeaderValue> + '_ {
    [SsoProtocol::Oidc, SsoProtocol::Saml]
        .into_iter()
        .filter_map(move |p| {
            HeaderValue::from_str(&format!(
                "{ID_TOKEN_COOKIE}=; Path={}; Max-Age=0; HttpOnly; SameSite=Lax",
                logout_path_of(config, p)
            ))
            .ok()
        })
}

/// The provider and ID token the browser's logout cookie names.
pub fn id_token_of(headers: &HeaderMap) -> Option<(&str, &str)> {
    credentials::cookie_values(headers, ID_TOKEN_COOKIE)
        .next()?
        .split_once('~')
        .filter(|(p, t)| !p.is_empty() && !t.is_empty())
}

/// The SAML assertion consumer service of a dialect: `{context}/saml/SSO` (MicroStrategy) or
/// `/callosum/v1/saml/SSO` (ThoughtSpot; the path is case-sensitive).
pub fn acs_path(config: &Config, dialect: &str) -> String {
    match dialect {
        DIALECT_THOUGHTSPOT => "/callosum/v1/saml/SSO".to_string(),
        _ => format!("{}/saml/SSO", config.context_path),
    }
}

/// Where a provider of `protocol` sends the browser back for `dialect`: the OpenID Connect
/// callback (one for both dialects) or the dialect's assertion consumer service.
fn return_path(config: &Config, protocol: SsoProtocol, dialect: &str) -> String {
    match protocol {
        SsoProtocol::Oidc => callback_path(config),
        SsoProtocol::Saml => acs_path(config, dialect),
    }
}

/// [`return_path`] under `sso.public_url`: the URL registered at the provider.
pub fn return_url(config: &Config, protocol: SsoProtocol, dialect: &str) -> String {
    format!(
        "{}{}",
        config.sso.public_url,
        return_path(config, protocol, dialect)
    )
}

/// The redirect URI registered at the providers: the callback under `sso.public_url`.
pub fn redirect_uri(config: &Config) -> String {
    format!("{}{}", config.sso.public_url, callback_path(config))
}

/// Whether `target` is a path on this origin: starts with one `/`, no scheme, no host, no
/// backslash (which browsers read as `/`), no control characters.
pub fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && !target.chars().any(char::is_control)
}

/// Whether a sign-in may end on `target`: a path here ([`is_local_path`]), or a URL on this
/// server's public origin (the Visual Embed SDK's pop-up names `{host}/v2/#/embed/…`) or on one
/// of `server.allowed_origins` (the origin exactly, then the end, `/`, `?` or `#`).
pub fn is_allowed_target(config: &Config, target: &str) -> bool {
    if is_local_path(target) {
        return true;
    }
    if target.contains('\\') || target.chars().any(|c| c.is_control() || c == ' ') {
        return false;
    }
    let own = Some(config.sso.public_origin()).filter(|o| !o.is_empty());
    own.into_iter()
        .chain(config.server.allowed_origins())
        .any(|origin| {
            target
                .strip_prefix(origin)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
        })
}

/// A 302 to `location` (a URL we built or checked).
pub fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    no_store(&mut resp);
    resp
}

pub fn no_store(resp: &mut Response) {
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
}

/// The flow cookie's `SameSite`: OpenID Connect comes back by a top-level GET, which `Lax`
/// lets through; SAML's POST from the provider's site needs `None`, which browsers take only
/// with `Secure` (over plain HTTP, a provider on the same site, as in tests, works with `Lax`).
fn flow_same_site(protocol: SsoProtocol, secure: bool) -> &'static str {
    match protocol {
        SsoProtocol::Saml if secure => "None",
        _ => "Lax",
    }
}

fn flow_cookie(
    config: &Config,
    value: &str,
    https: bool,
    path: &str,
    protocol: SsoProtocol,
) -> Option<HeaderValue> {
    let secure = crate::cookies::secure(&config.session.cookie_secure, https);
    let mut s = format!(
        "{FLOW_COOKIE}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite={}",
        vestibule_core::sso::FLOW_TTL.as_secs(),
        flow_same_site(protocol, secure)
    );
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

fn clear_flow_cookie(path: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{FLOW_COOKIE}=; Path={path}; Max-Age=0; HttpOnly")).ok()
}

/// Starts a sign-in at `provider` (the only one of `protocol` when `None`): a 302 to it with
/// the flow cookie, or the error page.
pub async fn start(
    state: &AppState,
    provider: Option<&str>,
    protocol: SsoProtocol,
    return_to: &str,
    dialect: &str,
    https: bool,
) -> Response {
    let core = &state.core;
    let choices: Vec<_> = core
        .sso_choices()
        .into_iter()
        .filter(|c| c.protocol == protocol)
        .collect();
    let provider = match (provider, choices.as_slice()) {
        (Some(p), _) if choices.iter().any(|c| c.id == p) => p.to_string(),
        (Some(p), _) => return error_page(&SsoError::UnknownProvider(p.chars().take(64).collect())),
        (None, [only]) => only.id.clone(),
        (None, []) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "Single sign-on is not configured on this server.",
            )
        }
        (None, _) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "Several identity providers are configured: choose one on the sign-in page.",
            )
        }
    };
    let config = core.config();
    let back = return_url(config, protocol, dialect);
    match core.sso_start(&provider, &back, return_to, dialect).await {
        Ok((url, cookie)) => {
            let mut resp = redirect(&url);
            let path = return_path(config, protocol, dialect);
            if let Some(c) = flow_cookie(config, &cookie, https, &path, protocol) {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => error_page(&e),
    }
}

/// The page a failed sign-in ends on: 400 for a callback or flow that is not valid, 401 for a
/// token or user that is refused, 503 when the provider or a store cannot be reached.
pub fn error_page(e: &SsoError) -> Response {
    let status = match e {
        SsoError::ProviderRefused { .. }
        | SsoError::BadCallback(_)
        | SsoError::NoFlow
        | SsoError::UnknownProvider(_) => StatusCode::BAD_REQUEST,
        SsoError::BadToken(_)
        | SsoError::Refused { .. }
        | SsoError::Exchange(_)
        | SsoError::NotAllowed(_) => StatusCode::UNAUTHORIZED,
        SsoError::Unavailable(_) | SsoError::Core(CoreError::Unavailable(_)) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        SsoError::Core(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let message = match e {
        // Store and internal details stay in the log.
        SsoError::Core(_) => "The sign-in could not be completed right now; try again later.".to_string(),
        other => capitalize(&other.to_string()),
    };
    pages::error(status, &message)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `GET {context}/auth/oidc/login`: the provider's callback. Uses up the flow, makes the session
/// of the dialect the flow was started for, and clears the flow cookie whatever the outcome.
pub async fn callback(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let core = &state.core;
    let config = core.config();
    let cookie = credentials::cookie_values(&headers, FLOW_COOKIE).next();
    let result = core
        .sso_finish(
            cookie,
            query.as_deref().unwrap_or(""),
            &redirect_uri(config),
            origin.addr,
            None,
        )
        .await;
    let mut resp = match result {
        Ok(done) => signed_in(&state, origin.https, done).await,
        Err(e) => error_page(&e),
    };
    if let Some(c) = clear_flow_cookie(&callback_path(config)) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// A dialect's SAML assertion consumer service (`POST`, the HTTP-POST binding's form with
/// `SAMLResponse` and `RelayState`): as the OpenID Connect callback, with the posted form as
/// the callback; a response without a started sign-in is judged only by a provider that allows
/// IdP-initiated sign-on, and makes a session of this dialect.
pub async fn acs(
    state: &AppState,
    origin: &ClientOrigin,
    headers: &HeaderMap,
    form: &[u8],
    dialect: &'static str,
) -> Response {
    let core = &state.core;
    let config = core.config();
    let path = acs_path(config, dialect);
    let form = String::from_utf8_lossy(form);
    let cookie = credentials::cookie_values(headers, FLOW_COOKIE).next();
    let acs_url = format!("{}{path}", config.sso.public_url);
    let result = core
        .sso_finish(cookie, &form, &acs_url, origin.addr, Some(dialect))
        .await;
    let mut resp = match result {
        Ok(done) => signed_in(state, origin.https, done).await,
        Err(e) => error_page(&e),
    };
    if let Some(c) = clear_flow_cookie(&path) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

async fn signed_in(state: &AppState, https: bool, done: SsoDone) -> Response {
    let made = match done.dialect.as_str() {
        DIALECT_THOUGHTSPOT => crate::api::thoughtspot::sso::signed_in(state, https, &done).await,
        _ => crate::api::mstr::sso::signed_in(state, https, &done).await,
    };
    match made {
        Ok(mut resp) => {
            let protocol = if done.login_mode == vestibule_core::session::login_mode::SAML {
                SsoProtocol::Saml
            } else {
                SsoProtocol::Oidc
            };
            if let Some(c) = id_token_cookie(
                state.core.config(),
                protocol,
                &done.provider,
                &done.id_token,
                https,
            ) {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "making the session of a single sign-on failed");
            error_page(&SsoError::Core(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_allowed_target, is_local_path};
    use vestibule_core::config::Config;

    #[test]
    fn only_paths_on_this_origin_are_targets() {
        for ok in ["/", "/ts-after", "/a/b?x=1#f", "/%2F%2Fx"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "ts",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/a\nb",
            "javascript:x",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }

    #[test]
    fn allowed_origins_are_matched_whole() {
        let mut config = Config::default();
        config.server.allowed_origins = "https://app.example.com".into();
        config.sso.public_url = "https://bi.example.com/base".into();
        for ok in [
            "https://app.example.com",
            "https://app.example.com/x#?tsSSOMarker=1",
            "/here",
            "https://bi.example.com/v2/#/embed/saml-complete",
        ] {
            assert!(is_allowed_target(&config, ok), "{ok}");
        }
        for bad in [
            "https://app.example.com.evil.example/",
            "https://app.example.com@evil.example/",
            "https://app.example.com:444/",
            "http://app.example.com/",
            "https://evil.example/",
            "https://bi.example.com.evil.example/",
        ] {
            assert!(!is_allowed_target(&config, bad), "{bad}");
        }
    }
}
