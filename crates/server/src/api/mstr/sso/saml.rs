//! Library's SAML paths: `{context}/saml/authenticate`, the assertion consumer service
//! `{context}/saml/SSO`, `{context}/saml/SingleLogout` and the SP metadata.

use super::*;

#[derive(Deserialize)]
pub(super) struct SamlStartQuery {
    provider: Option<String>,
    /// Where the browser goes afterwards: a path on this server (the embedding pop-up), else the
    /// signed-in page.
    target: Option<String>,
}

/// `{context}/saml/authenticate?provider=…&target=…`: where Library's sign-in sends a SAML
/// sign-in.
pub(super) fn saml_authenticate_url(
    state: &AppState,
    provider: Option<&str>,
    target: Option<&str>,
) -> String {
    let mut q = Vec::new();
    if let Some(p) = provider {
        q.push(("provider", p));
    }
    if let Some(t) = target {
        q.push(("target", t));
    }
    let query = serde_urlencoded::to_string(q).unwrap_or_default();
    let base = format!("{}/saml/authenticate", state.core.config().context_path);
    if query.is_empty() {
        base
    } else {
        format!("{base}?{query}")
    }
}

/// `GET {context}/saml/authenticate`: starts a SAML sign-in (an `AuthnRequest` to the provider,
/// by the HTTP-Redirect binding) that ends on the signed-in page.
pub(super) async fn saml_authenticate(
    State(state): State<AppState>,
    origin: ClientOrigin,
    query: Result<axum::extract::Query<SamlStartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = query else {
        return pages::error(StatusCode::BAD_REQUEST, "The sign-in request could not be read.");
    };
    let target = q
        .target
        .filter(|t| shared::is_local_path(t))
        .unwrap_or_else(|| signed_in_path(&state));
    shared::start(
        &state,
        q.provider.as_deref().filter(|p| !p.is_empty()),
        SsoProtocol::Saml,
        &target,
        DIALECT_MSTR,
        origin.https,
    )
    .await
}

/// `POST {context}/saml/SSO`: the assertion consumer service of MicroStrategy sign-ins.
pub(super) async fn saml_acs(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared::acs(&state, &origin, &headers, &body, DIALECT_MSTR).await
}

#[derive(Deserialize)]
pub(super) struct SingleLogoutQuery {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
}

/// `GET {context}/saml/SingleLogout`: without parameters, the browser's logout (as
/// `{context}/auth/oidc/logout`, which sends a `LogoutRequest` to a SAML provider); with the
/// provider's `LogoutResponse`, the signed-out page (the sessions here already ended). A
/// provider's own `LogoutRequest` (IdP-initiated logout) is not served.
pub(super) async fn saml_single_logout(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    query: Result<axum::extract::Query<SingleLogoutQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = query else {
        return pages::error(StatusCode::BAD_REQUEST, "The logout request could not be read.");
    };
    if q.saml_response.is_some() {
        return logout::signed_out_page(State(state)).await;
    }
    if q.saml_request.is_some() {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Logout started by the identity provider is not supported here; sign out at this server.",
        );
    }
    logout::logout(State(state), origin, headers).await
}

/// `GET {context}/saml/metadata` (and `SPMetadata.xml`, the name Library gives the file): this
/// service provider's metadata for `provider` (the only SAML provider when absent), naming the
/// assertion consumer services of both dialects.
pub(super) async fn saml_metadata(
    State(state): State<AppState>,
    query: Result<axum::extract::Query<SamlStartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = query else {
        return pages::error(StatusCode::BAD_REQUEST, "The metadata request could not be read.");
    };
    let config = state.core.config();
    let acs = [
        shared::return_url(config, SsoProtocol::Saml, DIALECT_MSTR),
        shared::return_url(config, SsoProtocol::Saml, shared::DIALECT_THOUGHTSPOT),
    ];
    let slo = format!(
        "{}{}/saml/SingleLogout",
        config.sso.public_url, config.context_path
    );
    match state
        .core
        .sso_metadata(q.provider.as_deref().filter(|p| !p.is_empty()), &acs, &slo)
    {
        Ok(xml) => {
            let mut resp = (StatusCode::OK, xml).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            );
            resp
        }
        Err(e) => shared::error_page(&e),
    }
}
