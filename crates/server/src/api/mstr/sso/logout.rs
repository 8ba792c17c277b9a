//! The browser's logout at `{context}/auth/oidc/logout` (here and at its provider) and the
//! signed-out page it ends on.

use super::*;

/// `{context}/auth/oidc/logout`: ends the browser's sessions here (its MicroStrategy browser
/// session and its ThoughtSpot cookie session, each audited), clears their cookies, then sends
/// the browser to its provider's `end_session_endpoint` (OpenID Connect RP-Initiated Logout,
/// with the sign-in's ID token as `id_token_hint`), which sends it back to
/// `{context}/auth/signed-out`; straight there when the provider offers no logout.
pub(super) async fn logout(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
) -> Response {
    let core = &state.core;
    let config = core.config();
    if let Ok(caller) = browser_caller(&state, &headers).await {
        if let Err(e) = core.logout(&caller, origin.addr, "mstr").await {
            tracing::warn!(error = %e, "ending a browser session at logout failed");
        }
    }
    if let Some((credential, _)) = crate::api::thoughtspot::extract::credential(&headers) {
        if let Ok(caller) = core.resolve(&credential).await {
            if let Err(e) = core.logout(&caller, origin.addr, "thoughtspot").await {
                tracing::warn!(error = %e, "ending a ThoughtSpot cookie session at logout failed");
            }
        }
    }
    let signed_out = shared::signed_out_path(config);
    let mut target = signed_out.clone();
    if let Some((provider, id_token)) = shared::id_token_of(&headers) {
        let back = format!("{}{signed_out}", config.sso.public_url);
        match core.sso_logout_url(provider, Some(id_token), &back).await {
            Ok(Some(url)) => target = url,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, provider, "the provider's logout could not be reached"),
        }
    }
    let mut resp = shared::redirect(&target);
    let path = cookie_path(&state);
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookies::clear(SESSION_COOKIE, &path, &config.session),
    );
    h.append(
        header::SET_COOKIE,
        cookies::clear(TOKEN_COOKIE, &path, &config.session),
    );
    for c in shared::clear_id_token_cookies(config) {
        h.append(header::SET_COOKIE, c);
    }
    crate::api::thoughtspot::extract::clear_session_cookies(config, &mut resp);
    resp
}

/// `GET {context}/auth/signed-out`: where a logout ends.
pub(super) async fn signed_out_page(State(state): State<AppState>) -> Response {
    let login = format!("{}/auth/login", state.core.config().context_path);
    pages::page(
        StatusCode::OK,
        "Signed out",
        &format!(
            "<p id=\"signed-out\" role=\"status\">You are signed out.</p><p><a href=\"{}\">Sign in again</a></p>",
            escape(&login)
        ),
    )
}
