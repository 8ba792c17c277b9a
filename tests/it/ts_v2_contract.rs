//! The ThoughtSpot v2 `auth/` API against its official specification: the extract in
//! `compat/ts_v2_auth_spec.json` (operations vestibule serves and the schemas they reference, from
//! `thoughtspot/rest-api-sdk`, source in its `_source` key).
//!
//! - Every operation is driven to each status it can answer here (success and errors); every status
//!   must be one the specification documents for that operation, and every body must validate
//!   against the schema it documents for that status (OpenAPI 3.0 schemas, read as JSON Schema
//!   with `nullable` turned into `null` alternatives).
//! - Every request field the specification documents, at every depth (`filter_rules[0].operator`),
//!   is read: a value of the wrong type is a 400 whose message names the field's path. That a
//!   field is honoured, once valid, is shown by the behaviour tests (`ts_v2`, `ts_v2_access`).

use serde_json::{json as j, Map, Value};

use crate::common::ts::*;
use crate::common::{client, repo_root, TestServer, ADMIN_PASSWORD};

fn spec() -> Value {
    let path = repo_root().join("compat/ts_v2_auth_spec.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read the spec extract"))
        .expect("the extract is JSON")
}

/// An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes an `anyOf` with `null`;
/// examples are dropped.
fn json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                match k.as_str() {
                    "nullable" | "example" | "examples" => {}
                    // Property names are not keywords: only their schemas are converted.
                    "properties" => {
                        let props = x
                            .as_object()
                            .map(|p| p.iter().map(|(n, s)| (n.clone(), json_schema(s))).collect())
                            .unwrap_or_default();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    _ => {
                        out.insert(k.clone(), json_schema(x));
                    }
                }
            }
            if m.get("nullable") == Some(&Value::Bool(true)) {
                j!({"anyOf": [Value::Object(out), {"type": "null"}]})
            } else {
                Value::Object(out)
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

/// The operation object of `path` (its only method).
fn operation<'a>(spec: &'a Value, path: &str) -> &'a Value {
    let item = &spec["paths"][format!("{V2}{path}")];
    let ops = item.as_object().expect("a documented path");
    ops.values().next().expect("an operation")
}

/// Checks one response against the specification: its status is documented for the operation, and
/// its body validates against the documented schema (no body where none is documented).
fn check(spec: &Value, path: &str, status: u16, body: &str) -> Result<(), String> {
    let op = operation(spec, path);
    let Some(resp) = op["responses"].get(status.to_string()) else {
        return Err(format!("{path}: status {status} is not documented; body {body}"));
    };
    let Some(schema) = resp["content"]["application/json"].get("schema") else {
        return if body.is_empty() {
            Ok(())
        } else {
            Err(format!("{path} {status}: no body is documented, got {body}"))
        };
    };
    let instance: Value =
        serde_json::from_str(body).map_err(|e| format!("{path} {status}: not JSON ({e}): {body}"))?;
    let mut root = json_schema(schema);
    if let Value::Object(m) = &mut root {
        m.insert(
            "components".into(),
            j!({"schemas": json_schema(&spec["components"]["schemas"])}),
        );
    }
    let validator = jsonschema::validator_for(&root).map_err(|e| format!("{path}: bad schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{path} {status}: {}; body {body}", errors.join("; ")))
    }
}

/// Sends a request and returns (status, body text).
async fn call(req: reqwest::RequestBuilder) -> (u16, String) {
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("read the body"))
}

#[tokio::test]
async fn ts_v2_auth_answers_as_the_specification_documents() {
    let spec = spec();
    let server = TestServer::start();
    let key = trusted_auth(&server, "enable");
    server.add_user("plain", "plain-pass");
    let url = |p: &str| server.url(&format!("{V2}{p}"));
    let post = |p: &str| client().post(url(p));
    let admin = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let plain = v2_token(&server, "plain", "plain-pass").await;
    let object = "7a9a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    let rules = j!({
        "username": "abac-user", "secret_key": key, "persist_option": "APPEND",
        "filter_rules": [{"column_name": "Region", "operator": "IN", "values": ["West", 2, true]}],
        "parameter_values": [{"name": "Secured", "values": ["s3cr3t"]}],
        "variable_values": [{"name": "country_var", "values": ["Japan"]}],
        "objects": [{"type": "LOGICAL_TABLE", "identifier": object}],
    });
    let user_parameters = j!({
        "username": "administrator", "password": ADMIN_PASSWORD,
        "user_parameters": {
            "runtime_filters": [{"column_name": "Color", "operator": "EQ", "values": ["red"], "persist": true}],
            "parameters": [{"name": "Secured", "values": ["x"], "persist": false,
                            "objects": [{"type": "LOGICAL_TABLE", "identifier": object}]}],
            "runtime_sorts": [{"column_name": "Color", "order": "DESC", "persist": true}],
        },
    });
    let custom = {
        let (status, body) = call(post("/auth/token/custom").json(&rules)).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let session = client();
    let login = |c: &reqwest::Client, body: Value| c.post(url("/auth/session/login")).json(&body);

    let mut seen: Vec<(&str, u16, String)> = Vec::new();
    let mut record = |path: &'static str, (status, body): (u16, String)| seen.push((path, status, body));

    record(
        "/auth/session/login",
        call(login(
            &session,
            j!({"username": "administrator", "password": ADMIN_PASSWORD}),
        ))
        .await,
    );
    record(
        "/auth/session/login",
        call(login(
            &client(),
            j!({"username": "administrator", "password": ADMIN_PASSWORD, "org_identifier": "Elsewhere"}),
        ))
        .await,
    );
    record(
        "/auth/session/login",
        call(login(
            &client(),
            j!({"username": "administrator", "password": "wrong"}),
        ))
        .await,
    );
    record(
        "/auth/session/user",
        call(client().get(url("/auth/session/user")).bearer_auth(&custom)).await,
    );
    record(
        "/auth/session/user",
        call(session.get(url("/auth/session/user"))).await,
    );
    record(
        "/auth/session/user",
        call(client().get(url("/auth/session/user"))).await,
    );
    record(
        "/auth/session/token",
        call(session.get(url("/auth/session/token"))).await,
    );
    record(
        "/auth/session/token",
        call(client().get(url("/auth/session/token")).bearer_auth(&admin)).await,
    );
    record(
        "/auth/session/token",
        call(client().get(url("/auth/session/token"))).await,
    );
    record(
        "/auth/session/logout",
        call(session.post(url("/auth/session/logout"))).await,
    );
    record(
        "/auth/session/logout",
        call(client().post(url("/auth/session/logout"))).await,
    );

    record(
        "/auth/token/full",
        call(post("/auth/token/full").json(&user_parameters)).await,
    );
    record(
        "/auth/token/full",
        call(post("/auth/token/full").json(
            &j!({"username": "jit", "secret_key": key, "auto_create": true, "group_identifiers": ["g1"]}),
        ))
        .await,
    );
    record(
        "/auth/token/full",
        call(post("/auth/token/full").json(&j!({"username": "administrator"}))).await,
    );
    record(
        "/auth/token/full",
        call(post("/auth/token/full").json(&j!({"username": "administrator", "password": "wrong"}))).await,
    );
    record(
        "/auth/token/object",
        call(
            post("/auth/token/object")
                .json(&j!({"username": "administrator", "password": ADMIN_PASSWORD, "object_id": object})),
        )
        .await,
    );
    record(
        "/auth/token/object",
        call(post("/auth/token/object").json(&j!({"username": "administrator", "password": ADMIN_PASSWORD})))
            .await,
    );
    record(
        "/auth/token/object",
        call(
            post("/auth/token/object")
                .json(&j!({"username": "administrator", "password": "wrong", "object_id": object})),
        )
        .await,
    );
    record(
        "/auth/token/custom",
        call(post("/auth/token/custom").json(&rules)).await,
    );
    record(
        "/auth/token/custom",
        call(post("/auth/token/custom").json(
            &j!({"username": "abac-user", "secret_key": key, "persist_option": "NONE",
            "variable_values": [{"name": "v", "values": ["x"]}]}),
        ))
        .await,
    );
    record(
        "/auth/token/custom",
        call(
            post("/auth/token/custom")
                .json(&j!({"username": "abac-user", "secret_key": "not-the-key", "persist_option": "NONE"})),
        )
        .await,
    );
    record(
        "/auth/token/validate",
        call(
            post("/auth/token/validate")
                .bearer_auth(&admin)
                .json(&j!({"token": custom})),
        )
        .await,
    );
    record(
        "/auth/token/validate",
        call(
            post("/auth/token/validate")
                .bearer_auth(&admin)
                .json(&j!({"token": "garbage"})),
        )
        .await,
    );
    record(
        "/auth/token/validate",
        call(post("/auth/token/validate").json(&j!({"token": custom}))).await,
    );
    record(
        "/auth/token/revoke",
        call(
            post("/auth/token/revoke")
                .bearer_auth(&admin)
                .json(&j!({"user_identifier": "nobody-at-all"})),
        )
        .await,
    );
    record(
        "/auth/token/revoke",
        call(
            post("/auth/token/revoke")
                .bearer_auth(&plain)
                .json(&j!({"user_identifier": "administrator"})),
        )
        .await,
    );
    record(
        "/auth/token/revoke",
        call(post("/auth/token/revoke").json(&j!({"token": custom}))).await,
    );
    record(
        "/auth/token/revoke",
        call(
            post("/auth/token/revoke")
                .bearer_auth(&admin)
                .json(&j!({"token": custom})),
        )
        .await,
    );
    // Trusted authentication off (by the CLI, another process): once this node's cached copy of
    // the key has expired (`KEY_CACHE_TTL`, 1 s; docs/performance.md, "Cached trusted key"), the secret-key mints are
    // forbidden. Waited for by polling, up to 3 s, so the answers recorded below are the settled ones.
    trusted_auth(&server, "disable");
    let full = j!({"username": "administrator", "secret_key": key});
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while call(post("/auth/token/full").json(&full)).await.0 != 403 {
        assert!(
            std::time::Instant::now() < deadline,
            "secret-key mints were not forbidden 3 s after trusted authentication was disabled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for path in ["/auth/token/full", "/auth/token/object", "/auth/token/custom"] {
        let body = j!({"username": "administrator", "secret_key": key, "object_id": object, "persist_option": "NONE"});
        record(path, call(post(path).json(&body)).await);
    }

    let failures: Vec<String> = seen
        .iter()
        .filter_map(|(path, status, body)| check(&spec, path, *status, body).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Each operation was driven to its success and to every error status this setup can cause.
    for (path, statuses) in [
        ("/auth/session/login", &[204, 400, 401][..]),
        ("/auth/session/logout", &[204, 401]),
        ("/auth/session/user", &[200, 401]),
        ("/auth/session/token", &[200, 401]),
        ("/auth/token/full", &[200, 400, 401, 403]),
        ("/auth/token/object", &[200, 400, 401, 403]),
        ("/auth/token/custom", &[200, 400, 401, 403]),
        ("/auth/token/validate", &[200, 400, 401]),
        ("/auth/token/revoke", &[204, 400, 401, 403]),
    ] {
        for s in statuses {
            assert!(
                seen.iter().any(|(p, st, _)| p == &path && st == s),
                "{path} never answered {s}: {:?}",
                seen.iter()
                    .filter(|(p, ..)| p == &path)
                    .map(|(_, s, b)| (s, b))
                    .collect::<Vec<_>>()
            );
        }
    }
    // Every operation the extract documents was driven.
    for path in spec["paths"].as_object().unwrap().keys() {
        let short = path.trim_start_matches(V2);
        assert!(seen.iter().any(|(p, ..)| *p == short), "{path} was not driven");
    }
}

/// A value of `schema` (resolving `$ref`s): every property, the first enum value or alternative.
fn example(spec: &Value, schema: &Value) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default();
        return example(spec, &spec["components"]["schemas"][name]);
    }
    for alternatives in ["allOf", "anyOf", "oneOf"] {
        if let Some(first) = schema[alternatives].get(0) {
            return example(spec, first);
        }
    }
    if let Some(first) = schema["enum"].get(0) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("object") => {
            let props = schema["properties"].as_object().cloned().unwrap_or_default();
            Value::Object(props.iter().map(|(k, s)| (k.clone(), example(spec, s))).collect())
        }
        Some("array") => j!([example(spec, &schema["items"])]),
        Some("integer") => j!(1),
        Some("number") => j!(1.5),
        Some("boolean") => j!(true),
        _ => j!("x"),
    }
}

/// A value no reading of `schema` accepts: an object for a scalar or an array, a list for an
/// object.
fn wrong(spec: &Value, schema: &Value) -> Value {
    let resolved = match schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str())
    {
        Some(r) => spec["components"]["schemas"][r.rsplit('/').next().unwrap_or_default()].clone(),
        None => schema.clone(),
    };
    if resolved["type"] == "object" {
        j!(["not", "an", "object"])
    } else {
        j!({"not": "a value of this field"})
    }
}

/// The paths of every field in `body` (built by [`example`] from `schema`), each with its schema:
/// `filter_rules`, `filter_rules[0]` is skipped (an item), `filter_rules[0].operator`, …
fn fields(
    spec: &Value,
    schema: &Value,
    prefix: &str,
    out: &mut Vec<(String, Value, Vec<PathStep>)>,
    steps: Vec<PathStep>,
) {
    let resolved = match schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str())
    {
        Some(r) => spec["components"]["schemas"][r.rsplit('/').next().unwrap_or_default()].clone(),
        None => schema.clone(),
    };
    match resolved["type"].as_str() {
        Some("object") => {
            for (name, s) in resolved["properties"].as_object().cloned().unwrap_or_default() {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                let mut next = steps.clone();
                next.push(PathStep::Key(name.clone()));
                out.push((path.clone(), s.clone(), next.clone()));
                fields(spec, &s, &path, out, next);
            }
        }
        Some("array") => {
            let mut next = steps.clone();
            next.push(PathStep::Index);
            fields(spec, &resolved["items"], &format!("{prefix}[0]"), out, next);
        }
        _ => {}
    }
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index,
}

fn set_at(body: &mut Value, steps: &[PathStep], value: Value) {
    let mut at = body;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        at = match step {
            PathStep::Key(k) if last => {
                at[k.as_str()] = value;
                return;
            }
            PathStep::Key(k) => &mut at[k.as_str()],
            PathStep::Index => &mut at[0],
        };
    }
}

#[tokio::test]
async fn ts_v2_every_documented_request_field_is_read() {
    let spec = spec();
    let server = TestServer::start();
    let token = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(op) = item.get("post") else { continue };
        let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") else {
            continue;
        };
        let mut base = example(&spec, schema);
        // The one org is 0: a base naming another would be refused for that before some fields
        // (`groups`) are read.
        for org in ["org_identifier", "org_id"] {
            if base.get(org).is_some() {
                base[org] = j!(0);
            }
        }
        let mut all = Vec::new();
        fields(&spec, schema, "", &mut all, Vec::new());
        for (field, field_schema, steps) in all {
            let mut body = base.clone();
            set_at(&mut body, &steps, wrong(&spec, &field_schema));
            let resp = client()
                .post(server.url(path))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            checked += 1;
            if status != 400 || !text.contains(&format!("'{field}")) {
                failures.push(format!("{path} {field}: {status} {text}"));
            }
        }
    }
    assert!(checked > 60, "only {checked} fields checked");
    assert!(
        failures.is_empty(),
        "{} fields not read:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
