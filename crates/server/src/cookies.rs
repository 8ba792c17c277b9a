//! Writing `Set-Cookie` values (reading cookies is in `credentials.rs`).

use axum::http::HeaderValue;
use vestibule_core::config::SessionConfig;

/// Whether a session cookie should carry `Secure`, under the `session.cookie_secure` setting;
/// `https`: the request came over TLS as a trusted proxy says ([`crate::client_addr::ClientOrigin`]).
pub fn secure(setting: &str, https: bool) -> bool {
    match setting {
        "always" => true,
        "never" => false,
        _ => https,
    }
}

/// The attributes every session cookie carries: `Secure` and `SameSite` as the `session`
/// settings say.
#[derive(Debug, Clone, Copy)]
pub struct SessionAttrs {
    secure: bool,
    same_site: &'static str,
    partitioned: bool,
}

impl SessionAttrs {
    /// From `session.cookie_secure`, `cookie_same_site` and `cookie_partitioned`; `SameSite=None`
    /// and `Partitioned` are always `Secure` (browsers drop them otherwise).
    pub fn of(session: &SessionConfig, https: bool) -> SessionAttrs {
        let same_site = match session.cookie_same_site.as_str() {
            "lax" => "Lax",
            "strict" => "Strict",
            "none" => "None",
            _ => "",
        };
        SessionAttrs {
            secure: secure(&session.cookie_secure, https)
                || same_site == "None"
                || session.cookie_partitioned,
            same_site,
            partitioned: session.cookie_partitioned,
        }
    }

    /// Appends `; Secure`, `; SameSite=…` and `; Partitioned` as they apply.
    pub fn write(&self, cookie: &mut String) {
        if self.secure {
            cookie.push_str("; Secure");
        }
        if !self.same_site.is_empty() {
            cookie.push_str("; SameSite=");
            cookie.push_str(self.same_site);
        }
        if self.partitioned {
            cookie.push_str("; Partitioned");
        }
    }
}

/// A session cookie: HttpOnly, with the given path and the session attributes.
pub fn session(name: &str, value: &str, path: &str, attrs: SessionAttrs) -> HeaderValue {
    let mut s = format!("{name}={value}; Path={path}; HttpOnly");
    attrs.write(&mut s);
    // Values are our own hex or URL-safe secrets and paths are validated configuration.
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A cookie that makes the client forget the session cookie `name` (with the session attributes:
/// a partitioned cookie is reached only by a `Partitioned` one).
pub fn clear(name: &str, path: &str, session: &SessionConfig) -> HeaderValue {
    let mut s = format!("{name}=; Path={path}; Max-Age=0; HttpOnly");
    SessionAttrs::of(session, false).write(&mut s);
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}
