//! The HTML of the sign-in pages: plain, accessible (labels, one heading, a language), no
//! external assets, every inserted text escaped. Scripts only where a pop-up must tell the page
//! that opened it (one inline script, allowed by a nonce; its data in a JSON block).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `s` safe inside HTML text and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}\
form{margin:1rem 0}label{display:block;margin-top:.5rem}input[type=text],input[type=password]{width:100%;padding:.4rem}\
button{margin-top:.75rem;padding:.5rem 1rem}code{word-break:break-all;background:#eee;padding:.2rem}";

/// A whole page: `body` is HTML already escaped where it holds input.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    render(status, title, body, None)
}

/// A page that runs `script` (our own text) with `data` as the JSON block `#page-data`.
pub fn page_with_script(
    status: StatusCode,
    title: &str,
    body: &str,
    data: &serde_json::Value,
    script: &str,
) -> Response {
    // Inside <script>, only `<` could end the block early; `&` and `>` are escaped likewise.
    let json = data
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let nonce = vestibule_core::secret::new_opaque_token();
    let body = format!(
        "{body}<script type=\"application/json\" id=\"page-data\">{json}</script>\
<script nonce=\"{nonce}\">{script}</script>"
    );
    render(status, title, &body, Some(&nonce))
}

fn render(status: StatusCode, title: &str, body: &str, nonce: Option<&str>) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>{STYLE}</style></head>\
<body><main><h1>{t}</h1>{body}</main></body></html>\n",
        t = escape(title)
    );
    let csp = match nonce {
        None => "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'".to_string(),
        Some(n) => format!(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{n}'; frame-ancestors 'none'"
        ),
    };
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert("content-security-policy", v);
    }
    resp
}

/// The page a failed sign-in ends on.
pub fn error(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Sign-in failed",
        &format!("<p role=\"alert\" id=\"sso-error\">{}</p>", escape(message)),
    )
}
