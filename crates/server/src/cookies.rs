//! Reading request cookies and writing `Set-Cookie` values.

use axum::http::{header, HeaderMap, HeaderValue};

/// The first value of cookie `name` in the request's `Cookie` headers.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// Whether the request came to us over TLS, as a TLS-terminating proxy tells it.
pub fn is_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Whether a session cookie should carry `Secure`, under the `session.cookie_secure` setting.
pub fn secure(setting: &str, headers: &HeaderMap) -> bool {
    match setting {
        "always" => true,
        "never" => false,
        _ => is_tls(headers),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; JSESSIONID=ABC; iSession=x"),
        );
        assert_eq!(get(&h, "JSESSIONID"), Some("ABC"));
        assert_eq!(get(&h, "a"), Some("1"));
        assert_eq!(get(&h, "missing"), None);
    }
}
