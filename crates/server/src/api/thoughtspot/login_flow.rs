//! The steps the v1 and v2 endpoints share: a password login in the ThoughtSpot login mode, the
//! shape of a cookie session, the 204 that hands one out, logging out, and the audit record of a
//! minted trusted token.

use std::net::IpAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use vestibule_core::audit::{AuditEvent, AuditKind};
use vestibule_core::auth::Credentials;
use vestibule_core::config::Config;
use vestibule_core::core::Principal;
use vestibule_core::directory::User;
use vestibule_core::session::{login_mode, Expiry, Scope};
use vestibule_core::sessions::{CookieMode, NewSession, SessionShape};
use vestibule_core::{Core, CoreError};

use super::extract;
use crate::sso::DIALECT_THOUGHTSPOT;

/// How a cookie session made from credentials or a token times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remember {
    /// The idle timeout (`thoughtspot.session_idle_secs`, 3 h).
    No,
    /// The long "remember me" timeout (`thoughtspot.remember_me_secs`, 7 days).
    Yes,
}

impl Remember {
    pub fn from_flag(remember: bool) -> Remember {
        if remember {
            Remember::Yes
        } else {
            Remember::No
        }
    }
}

/// A ThoughtSpot cookie session: its cookie is its token, and it times out when idle.
pub fn cookie_session_shape(config: &Config, scope: Scope, remember: Remember) -> SessionShape {
    let t = &config.thoughtspot;
    let secs = match remember {
        Remember::No => t.session_idle_secs,
        Remember::Yes => t.remember_me_secs,
    }
    .min(u64::from(u32::MAX)) as u32;
    SessionShape {
        scope,
        expiry: Expiry::Idle {
            server_secs: secs,
            http_secs: secs,
        },
        cookie: CookieMode::SameAsToken,
    }
}

/// The login mode a password login (user name + password) goes through:
/// `login_mode::LDAP` when `thoughtspot.login_mode = "ldap"`, else `login_mode::STANDARD`.
pub fn password_login_mode(config: &Config) -> i32 {
    if config.thoughtspot.login_mode == "ldap" {
        login_mode::LDAP
    } else {
        login_mode::STANDARD
    }
}

/// Checks a user name and password in the ThoughtSpot login mode (local or LDAP): the user and
/// that mode. Throttled and audited by the core.
pub async fn password_login(
    core: &Core,
    username: String,
    password: String,
    client_addr: Option<IpAddr>,
) -> Result<(User, i32), CoreError> {
    let mode = password_login_mode(core.config());
    let user = core
        .authenticate(&Credentials {
            login_mode: mode,
            username: Some(username),
            password: Some(password),
            client_addr,
            dialect: DIALECT_THOUGHTSPOT,
        })
        .await?;
    Ok((user, mode))
}

/// The 204 that hands out a cookie session; a remembered one gets a persistent cookie.
pub fn cookie_session_response(
    core: &Core,
    https: bool,
    session: &NewSession,
    remember: Remember,
) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let max_age = (remember == Remember::Yes).then_some(core.config().thoughtspot.remember_me_secs);
    extract::set_session_cookies(core, https, &mut resp, session, max_age);
    resp
}

/// Ends the caller's session at once (audited) and answers 204, clearing the cookies.
pub async fn logout(core: &Core, p: &Principal, client_addr: Option<IpAddr>) -> Result<Response, CoreError> {
    core.logout(p, client_addr, "thoughtspot").await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    extract::clear_session_cookies(core.config(), &mut resp);
    Ok(resp)
}

/// Records a trusted token minted for `user`; `api` names the endpoint family ("v1", "v2").
pub fn audit_minted(core: &Core, user: &User, scope: Scope, client_addr: Option<IpAddr>, api: &'static str) {
    let mut event = AuditEvent::new(AuditKind::TrustedTokenMinted)
        .user(&user.username)
        .user_id(user.id)
        .address(client_addr)
        .dialect("thoughtspot")
        .reason(api);
    if let Scope::Object(o) = scope {
        event = event.object(o);
    }
    core.audit(event);
}
