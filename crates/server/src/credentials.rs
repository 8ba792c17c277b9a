//! Reading a request's credentials: the bearer token of `Authorization` and the values of a
//! cookie, parsed the same way for both dialects.

use axum::http::{header, HeaderMap};

/// The session cookie both dialects hand out.
pub const SESSION_COOKIE: &str = "JSESSIONID";

/// The token of `Authorization: Bearer <token>` (the scheme in any case), if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
        })
        .filter(|t| !t.is_empty())
}

/// Every value of cookie `name` in the request's `Cookie` headers, in order; quotes around a
/// value are not part of it. A header that is not visible ASCII is skipped whole.
pub fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(move |v| {
            // Header values are visible ASCII (`to_str`), so ASCII trimming is all the trimming.
            v.split(';').filter_map(move |pair| {
                let (k, value) = pair.trim_ascii().split_once('=')?;
                (k == name).then(|| value.trim_matches('"'))
            })
        })
}

/// The `JSESSIONID` values of a request, in order.
pub fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    cookie_values(headers, SESSION_COOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn finds_every_value_of_a_cookie_across_headers() {
        let h = headers(&[
            (header::COOKIE, "a=1; JSESSIONID=ABC; iSession=x"),
            (header::COOKIE, "JSESSIONID=\"DEF\""),
        ]);
        assert_eq!(session_cookies(&h).collect::<Vec<_>>(), ["ABC", "DEF"]);
        assert_eq!(cookie_values(&h, "a").next(), Some("1"));
        assert_eq!(cookie_values(&h, "missing").next(), None);
    }

    #[test]
    fn reads_bearer_tokens_in_any_case_of_the_scheme() {
        for v in ["Bearer tok", "bearer tok", "BEARER  tok ", " Bearer tok"] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            assert_eq!(bearer(&h), Some("tok"), "{v:?}");
        }
        for v in ["Basic dXNlcg==", "Bearer", "Bearer   ", "Token tok"] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            assert_eq!(bearer(&h), None, "{v:?}");
        }
    }
}
