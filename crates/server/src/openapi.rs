//! The OpenAPI document of every endpoint, served at `/api-docs/openapi.json`, and the explorer
//! (Swagger UI, vendored so it works offline) at `/api-docs`.

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::api::mstr;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vestibule",
        description = "The MicroStrategy (Strategy One) and ThoughtSpot authentication, session and modeling APIs, served by vestibule. \
            Log in with POST /api/auth/login, then use Authorize with the X-MSTR-AuthToken it returns (the session cookie is kept by the browser)."
    ),
    paths(
        mstr::status::status,
        mstr::auth::login,
        mstr::auth::logout,
        mstr::auth::create_identity_token,
        mstr::auth::validate_identity_token,
        mstr::auth::delete_identity_token,
        mstr::auth::delegate,
        mstr::auth::create_api_token,
        mstr::sso::token,
        mstr::sessions::get_session,
        mstr::sessions::keep_alive,
        mstr::sessions::user_info,
        mstr::sessions::privileges,
        mstr::sessions::privilege,
        mstr::projects::list,
        crate::telemetry::endpoint::render,
        crate::api::health::live,
        crate::api::health::ready,
    ),
    modifiers(&Security),
    tags(
        (name = "Authentication", description = "MicroStrategy login, sessions, identity tokens and delegation"),
        (name = "Projects", description = "MicroStrategy projects"),
        (name = "Misc", description = "Server status"),
        (name = "Operations", description = "Prometheus metrics and health probes"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "mstrAuthToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-MSTR-AuthToken"))),
        );
    }
}

/// The whole document: this file's MicroStrategy paths merged with each other dialect's own
/// document (each dialect module keeps an `ApiDoc` of its handlers).
pub fn document() -> utoipa::openapi::OpenApi {
    #[allow(unused_mut)]
    let mut doc = ApiDoc::openapi();
    merge_dialect(
        &mut doc,
        crate::api::thoughtspot::ApiDoc::openapi(),
        "ThoughtSpot",
    );
    merge_dialect(&mut doc, crate::api::mstr::model::ApiDoc::openapi(), "Model");
    secure_token_operations(&mut doc);
    unique_operation_ids(&mut doc);
    doc
}

/// Merges `other` into `doc`. utoipa's own merge keeps the first of two component schemas with the
/// same name, which would silently point the second dialect's operations at the first dialect's
/// schema (both have a `SessionInfo`, say); so a schema of `other` whose name is taken by a
/// different schema is renamed `{prefix}{name}`, references included, before merging.
pub fn merge_dialect(doc: &mut utoipa::openapi::OpenApi, other: utoipa::openapi::OpenApi, prefix: &str) {
    let taken: std::collections::BTreeMap<String, serde_json::Value> = doc
        .components
        .iter()
        .flat_map(|c| c.schemas.iter())
        .filter_map(|(name, schema)| Some((name.clone(), serde_json::to_value(schema).ok()?)))
        .collect();
    let clashes: Vec<String> = other
        .components
        .iter()
        .flat_map(|c| c.schemas.iter())
        .filter(|(name, schema)| {
            taken
                .get(*name)
                .is_some_and(|ours| serde_json::to_value(schema).ok().as_ref() != Some(ours))
        })
        .map(|(name, _)| name.clone())
        .collect();
    if clashes.is_empty() {
        doc.merge(other);
        return;
    }
    let renamed = serde_json::to_string(&other).ok().and_then(|mut text| {
        for name in &clashes {
            text = text.replace(
                &format!("\"#/components/schemas/{name}\""),
                &format!("\"#/components/schemas/{prefix}{name}\""),
            );
        }
        let mut value: serde_json::Value = serde_json::from_str(&text).ok()?;
        let schemas = value.get_mut("components")?.get_mut("schemas")?.as_object_mut()?;
        for name in &clashes {
            if let Some(schema) = schemas.remove(name) {
                schemas.insert(format!("{prefix}{name}"), schema);
            }
        }
        serde_json::from_value::<utoipa::openapi::OpenApi>(value).ok()
    });
    match renamed {
        Some(other) => doc.merge(other),
        None => {
            tracing::error!(prefix, "renaming clashing OpenAPI schemas failed; merging as is");
            doc.merge(other);
        }
    }
}

/// Handlers of different dialects share names (`login`, `logout`, `list`), and OpenAPI requires
/// operation ids to be unique: a shared id becomes `method_path` (`post_api_auth_login`) on
/// every operation that has it.
pub fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    use std::collections::HashMap;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in doc.paths.paths.values() {
        for op in [
            &item.get,
            &item.put,
            &item.post,
            &item.delete,
            &item.patch,
            &item.head,
            &item.options,
            &item.trace,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
            ("head", &mut item.head),
            ("options", &mut item.options),
            ("trace", &mut item.trace),
        ];
        for (method, op) in operations {
            let Some(op) = op.as_mut() else { continue };
            let shared = op
                .operation_id
                .as_ref()
                .is_some_and(|id| seen.get(id).copied().unwrap_or(0) > 1);
            if shared {
                let slug: String = path
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let slug = slug
                    .split('_')
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("_");
                op.operation_id = Some(format!("{method}_{slug}"));
            }
        }
    }
}

/// Every operation that documents an `X-MSTR-AuthToken` header parameter gets the `mstrAuthToken`
/// security requirement instead, or `bearerAuth` (the extractor takes a bearer token in its
/// place), so that the explorer's Authorize button (and a fuzzer's auth
/// header) supplies the token for all of them, whichever module declared them.
pub fn secure_token_operations(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::security::SecurityRequirement;
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for op in operations.into_iter().flatten() {
            let Some(params) = op.parameters.as_mut() else {
                continue;
            };
            let before = params.len();
            params.retain(|p| {
                !(p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("X-MSTR-AuthToken"))
            });
            if params.len() == before {
                continue;
            }
            if params.is_empty() {
                op.parameters = None;
            }
            let security = op.security.get_or_insert_with(Vec::new);
            security.push(SecurityRequirement::new("mstrAuthToken", Vec::<String>::new()));
            security.push(SecurityRequirement::new("bearerAuth", Vec::<String>::new()));
            // The token extractor answers 401 ERR009 for every one of them.
            op.responses.responses.entry("401".into()).or_insert_with(|| {
                utoipa::openapi::ResponseBuilder::new()
                    .description("No valid session (ERR009)")
                    .content(
                        "application/json",
                        utoipa::openapi::Content::new(Some(utoipa::openapi::Ref::from_schema_name(
                            "MstrErrorBody",
                        ))),
                    )
                    .build()
                    .into()
            });
        }
    }
}

/// The explorer page and the document it shows.
pub fn explorer() -> Router<AppState> {
    let config = utoipa_swagger_ui::Config::new(["/api-docs/openapi.json"])
        .try_it_out_enabled(true)
        .persist_authorization(true)
        .display_request_duration(true)
        .show_mutated_request(true)
        // The default validator badge calls an outside service; the explorer must work offline.
        .validator_url("none");
    Router::from(
        SwaggerUi::new("/api-docs")
            .url("/api-docs/openapi.json", document())
            .config(config),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(schema_name: &str, schema_type: &str, path: &str) -> utoipa::openapi::OpenApi {
        serde_json::from_value(serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {path: {"get": {
                "operationId": "info",
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": format!("#/components/schemas/{schema_name}")}}}}}}}},
            "components": {"schemas": {schema_name: {"type": schema_type}}}
        }))
        .unwrap()
    }

    #[test]
    fn clashing_schemas_are_renamed_with_their_references() {
        let mut doc = api("SessionInfo", "object", "/a");
        merge_dialect(&mut doc, api("SessionInfo", "string", "/b"), "ThoughtSpot");
        unique_operation_ids(&mut doc);
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["components"]["schemas"]["SessionInfo"]["type"], "object");
        assert_eq!(
            v["components"]["schemas"]["ThoughtSpotSessionInfo"]["type"],
            "string"
        );
        let b = &v["paths"]["/b"]["get"];
        assert_eq!(
            b["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ThoughtSpotSessionInfo"
        );
        assert_eq!(b["operationId"], "get_b");
        // The same schema under the same name is shared, not duplicated.
        let mut doc = api("Error", "object", "/a");
        merge_dialect(&mut doc, api("Error", "object", "/c"), "X");
        let v = serde_json::to_value(&doc).unwrap();
        assert!(v["components"]["schemas"].get("XError").is_none());
    }

    /// The modeling bodies are documented by the structs their handlers read and write.
    #[test]
    fn the_model_bodies_are_schemas_of_the_document() {
        let v = serde_json::to_value(document()).unwrap();
        let schemas = &v["components"]["schemas"];
        for name in [
            "AttributeBody",
            "AttributeJson",
            "AttributeList",
            "TableBody",
            "TableJson",
            "TableList",
            "ChangesetJson",
            "RelationshipsBody",
            "RelationshipList",
            "InfoPatchBody",
            "ObjectInfoJson",
        ] {
            assert!(schemas.get(name).is_some(), "{name} is not in the document");
        }
        let create =
            &v["paths"]["/api/model/attributes"]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(create["schema"]["$ref"], "#/components/schemas/AttributeBody");
        let form = &schemas["FormIn"]["properties"];
        assert!(
            form.get("expressions").is_some() && form.get("isMultilingual").is_some(),
            "{form}"
        );
    }

    #[test]
    fn every_reference_of_the_document_resolves() {
        let v = serde_json::to_value(document()).unwrap();
        let text = v.to_string();
        let schemas = v["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "dangling reference to {name}");
        }
    }
}
