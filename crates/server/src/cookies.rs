//! Writing `Set-Cookie` values (reading cookies is in `credentials.rs`).

use axum::http::HeaderValue;

/// Whether a session cookie should carry `Secure`, under the `session.cookie_secure` setting;
/// `https`: the request came over TLS as a trusted proxy says ([`crate::client_addr::ClientOrigin`]).
pub fn secure(setting: &str, https: bool) -> bool {
    match setting {
        "always" => true,
        "never" => false,
        _ => https,
    }
}

/// A session cookie: HttpOnly, with the given path, and Secure when asked.
pub fn session(name: &str, value: &str, path: &str, secure: bool) -> HeaderValue {
    let mut s = format!("{name}={value}; Path={path}; HttpOnly");
    if secure {
        s.push_str("; Secure");
    }
    // Values are our own hex or URL-safe secrets and paths are validated configuration.
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A cookie that makes the client forget `name`.
pub fn clear(name: &str, path: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{name}=; Path={path}; Max-Age=0; HttpOnly"))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}
