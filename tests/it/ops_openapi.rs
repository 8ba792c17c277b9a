//! The OpenAPI document: valid OpenAPI 3.1, covering every route the server's source registers, with
//! no operation that the router does not serve; and the explorer page that shows it.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::ops::{artifacts_dir, fuzz_python, parse_prometheus};
use crate::common::{client, repo_root, TestServer};

const METHODS: &[&str] = &["get", "post", "put", "delete", "patch", "head", "options"];

async fn document(server: &TestServer) -> serde_json::Value {
    let resp = client()
        .get(server.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// `(method, path)` of every operation in the document.
fn operations(doc: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(*m).is_some() {
                out.push((m.to_string(), path.clone()));
            }
        }
    }
    out
}

/// `{name}` → `{}`, so that a route and its documented path compare by shape.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The text of the call that starts at `open` (just after its `(`), up to the matching `)`,
/// skipping string literals.
fn call_args(src: &str, open: usize) -> &str {
    let bytes = src.as_bytes();
    let (mut depth, mut i, mut in_str) = (1usize, open, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_str {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                in_str = false;
            }
        } else {
            match b {
                b'"' => in_str = true,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return &src[open..i];
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    &src[open..]
}

/// Every `.route("PATH", method(..).method(..))` in the server's source, as `(method, PATH, file)`.
fn source_routes() -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    rust_files(&repo_root().join("crates/server/src"), &mut files);
    let mut out = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let rel = f.strip_prefix(repo_root()).unwrap().display().to_string();
        let mut from = 0;
        while let Some(at) = src[from..].find(".route(") {
            let open = from + at + ".route(".len();
            from = open;
            let args = call_args(&src, open);
            let rest = args.trim_start();
            // A literal path, or the MicroStrategy router's `&at("/path")` (its prefix added).
            let (rest, at_prefix) = match rest.strip_prefix("&at(") {
                Some(r) => (r.trim_start(), true),
                None => (rest, false),
            };
            let Some(rest) = rest.strip_prefix('"') else {
                continue; // a computed path; not checkable from the source
            };
            let Some(end) = rest.find('"') else { continue };
            let path = &rest[..end];
            let handlers = &rest[end + 1..];
            for m in METHODS {
                // `get(`, `.post(`, `routing::put(` as the method router, not inside a handler name.
                let mut search = 0;
                while let Some(i) = handlers[search..].find(&format!("{m}(")) {
                    let pos = search + i;
                    let before = handlers[..pos].chars().last().unwrap_or(' ');
                    if !(before.is_alphanumeric() || before == '_') {
                        let full = if at_prefix {
                            format!("{{prefix}}{path}")
                        } else {
                            path.to_string()
                        };
                        out.push((m.to_string(), full, rel.clone()));
                        break;
                    }
                    search = pos + 1;
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn openapi_document_is_3_1_and_secures_token_operations() {
    let server = TestServer::start();
    let doc = document(&server).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let schemes = &doc["components"]["securitySchemes"]["mstrAuthToken"];
    assert_eq!(schemes["type"], "apiKey");
    assert_eq!(schemes["in"], "header");
    assert_eq!(schemes["name"], "X-MSTR-AuthToken");

    // Authenticated operations carry the security requirement instead of a hand-typed header.
    for (method, path) in [
        ("get", "/api/sessions"),
        ("post", "/api/auth/logout"),
        ("get", "/api/projects"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(
            op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("mstrAuthToken").is_some())),
            "{method} {path} lacks the mstrAuthToken requirement: {op}"
        );
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        assert!(
            !params.iter().any(|p| p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("x-mstr-authtoken"))),
            "{method} {path} still has the token as a parameter"
        );
    }
    // The login is usable from the explorer: JSON and form bodies with examples, no security.
    let login = &doc["paths"]["/api/auth/login"]["post"];
    assert!(login.get("security").is_none());
    for ct in ["application/json", "application/x-www-form-urlencoded"] {
        let example = &login["requestBody"]["content"][ct]["example"];
        assert_eq!(example["loginMode"], 1, "{ct} example: {example}");
        assert!(example["username"].is_string(), "{ct} example: {example}");
    }
    assert!(login["responses"]["204"]["headers"]["X-MSTR-AuthToken"].is_object());
    // Every operation answers something documented.
    for (method, path) in operations(&doc) {
        let responses = doc["paths"][&path][&method]["responses"].as_object();
        assert!(
            responses.is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
    }
}

#[tokio::test]
async fn openapi_document_passes_the_openapi_spec_validator() {
    let python = fuzz_python("ops_openapi::openapi_document_passes_the_openapi_spec_validator");
    let server = TestServer::start();
    let doc = document(&server).await;
    let file = artifacts_dir().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import json,sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator\n\
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
             print('valid OpenAPI 3.1')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The full paths a route registered in `file` is served at: the routers' mount points (see
/// `api/thoughtspot/mod.rs` and `serve.rs`); `{prefix}` marks the MicroStrategy router's prefix,
/// documented under `/api`.
fn mounts(file: &str, path: &str) -> Vec<String> {
    if let Some(path) = path.strip_prefix("{prefix}") {
        return vec![format!("/api{path}")];
    }
    let prefixes: &[&str] = if file.contains("api/thoughtspot/v1/") {
        &["/callosum/v1/tspublic/v1", "/callosum/v1"]
    } else if file.contains("api/thoughtspot/v2/") {
        &["/api/rest/2.0"]
    } else {
        &[""]
    };
    prefixes.iter().map(|p| format!("{p}{path}")).collect()
}

#[tokio::test]
async fn every_route_in_the_source_is_documented() {
    let server = TestServer::start();
    let doc = document(&server).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p)| (m, shape(&p)))
        .collect();
    let routes = source_routes();
    assert!(
        routes.len() >= 10,
        "the source scan found too few routes: {routes:?}"
    );
    let mut missing = Vec::new();
    for (method, path, file) in &routes {
        let found = mounts(file, path).iter().any(|full| {
            let want = shape(full);
            documented.iter().any(|(m, p)| m == method && *p == want)
        });
        if !found {
            missing.push(format!("{} {path} (registered in {file})", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes without an operation in the OpenAPI document (add #[utoipa::path] and list the handler in its dialect's ApiDoc):\n  {}",
        missing.join("\n  ")
    );
}

/// Calls every documented operation (unauthenticated, placeholder parameters) and reads the
/// server's own route metrics: each must have reached a route of that template and method, not a
/// fallback and not a 405.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let server = TestServer::start();
    let doc = document(&server).await;
    let c = client();
    let ops = operations(&doc);
    for (method, path) in &ops {
        let mut url = String::new();
        let mut in_param = false;
        for ch in path.chars() {
            match ch {
                '{' => {
                    in_param = true;
                    url.push_str("00000000000000000000000000000000");
                }
                '}' => in_param = false,
                _ if !in_param => url.push(ch),
                _ => {}
            }
        }
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut req = c.request(m.clone(), server.url(&url));
        if matches!(method.as_str(), "post" | "put" | "patch") {
            req = req.header("content-type", "application/json").body("{}");
        }
        let resp = req.send().await.unwrap();
        assert!(
            resp.status().as_u16() < 500,
            "{method} {path} answered {} to an empty request",
            resp.status()
        );
    }
    let text = c
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = parse_prometheus(&text);
    let mut unserved = Vec::new();
    for (method, path) in &ops {
        let prefix = format!(
            "vestibule_http_requests_total{{route=\"{path}\",method=\"{}\",status=\"",
            method.to_uppercase()
        );
        let statuses: Vec<&str> = samples
            .iter()
            .filter_map(|(s, _)| s.strip_prefix(&prefix))
            .collect();
        if statuses.is_empty() || statuses.iter().all(|s| s.starts_with("405")) {
            unserved.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        unserved.is_empty(),
        "documented operations that no route serves (wrong path, parameter name or method):\n  {}\n{text}",
        unserved.join("\n  ")
    );
}

#[tokio::test]
async fn explorer_page_is_served_offline() {
    let server = TestServer::start();
    let c = client();
    let r = c.get(server.url("/api-docs")).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let r = c.get(server.url("/api-docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "the page loads something from outside:\n{html}"
    );
    let init = c
        .get(server.url("/api-docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api-docs/openapi.json"), "{init}");
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js"] {
        let r = c
            .get(server.url(&format!("/api-docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{asset}");
    }
}
