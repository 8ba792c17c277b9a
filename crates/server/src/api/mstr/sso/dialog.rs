//! The embedding pop-up `{context}/auth/login-dialog.jsp` and what its last page posts to the
//! page that opened it.

use super::*;

/// The query of the embedding pop-up, as the Embedding SDK's `microstrategy.auth.oidcLogin`
/// opens it (`loginMode`, `callback-origin`, `generateIdentityToken=1`, `codeChallenge`,
/// `codeChallengeMethod=S256`) or as Library's samples do (`loginMode` alone).
#[derive(Deserialize)]
pub(super) struct DialogQuery {
    #[serde(rename = "loginMode")]
    login_mode: Option<String>,
    #[serde(rename = "callback-origin")]
    callback_origin: Option<String>,
    #[serde(rename = "generateIdentityToken")]
    generate_identity_token: Option<String>,
    #[serde(rename = "codeChallenge")]
    code_challenge: Option<String>,
    #[serde(rename = "codeChallengeMethod")]
    code_challenge_method: Option<String>,
    provider: Option<String>,
    /// Set on the way back from the provider, so that a browser whose session cookie did not
    /// stick ends on an error page rather than in a loop of sign-ins.
    #[serde(rename = "vestibule-returned")]
    returned: Option<String>,
}

/// The script of the pop-up's last page: posts `message` to each of `targets` (an origin a
/// message is not for never receives it: `postMessage` checks the opener's origin).
const DIALOG_SCRIPT: &str = "(function(){var d=JSON.parse(document.getElementById('page-data').textContent);\
if(!window.opener){return;}for(var i=0;i<d.targets.length;i++){window.opener.postMessage(d.message,d.targets[i]);}\
var s=document.getElementById('dialog-status');if(s){s.textContent='Signed in. This window can be closed.';}})();";

/// `GET {context}/auth/login-dialog.jsp`: the embedding pop-up. Without a browser session it
/// starts the sign-in and comes back here; with one, its last page posts the result to the
/// page that opened it — a hand-over identity token bound to `codeChallenge` for the SDK's
/// `oidcLogin` (exchanged at `/api/auth/delegate` with the verifier), else the session's auth
/// token (`{type: "auth-token", payload}`, Library's samples) — to `callback-origin` only, or,
/// when that is absent, to each of `server.allowed_origins` and this server's own origin.
pub(super) async fn login_dialog(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.unwrap_or_default();
    let Ok(q) = serde_urlencoded::from_str::<DialogQuery>(&raw) else {
        return pages::error(StatusCode::BAD_REQUEST, "The sign-in request could not be read.");
    };
    let config = state.core.config();
    let own = config.sso.public_origin();
    let targets: Vec<String> = match q.callback_origin.as_deref().map(str::trim) {
        Some(o) if !o.is_empty() => {
            if o != own && !config.server.is_allowed_origin(o) {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    &format!("The page that opened this sign-in ({o}) is not an origin this server may sign in for (server.allowed_origins)."),
                );
            }
            vec![o.to_string()]
        }
        _ => config
            .server
            .allowed_origins()
            .chain(Some(own).filter(|o| !o.is_empty()))
            .map(str::to_string)
            .collect(),
    };
    let handover = matches!(q.generate_identity_token.as_deref(), Some("1" | "true"));
    let challenge = q.code_challenge.as_deref().unwrap_or("");
    if handover {
        if q.code_challenge_method
            .as_deref()
            .unwrap_or(vestibule_core::pkce::METHOD)
            != vestibule_core::pkce::METHOD
        {
            return pages::error(StatusCode::BAD_REQUEST, "The only codeChallengeMethod is S256.");
        }
        if !vestibule_core::pkce::is_challenge(challenge) {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "generateIdentityToken needs a codeChallenge: 43 base64url characters (S256).",
            );
        }
        if q.callback_origin.as_deref().is_none_or(|o| o.trim().is_empty()) {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "generateIdentityToken needs the callback-origin of the page that opened this sign-in.",
            );
        }
    }
    let protocol = match q.login_mode.as_deref().map(str::trim) {
        None | Some("") => SsoProtocol::Oidc,
        Some(m) if m == login_mode::OIDC.to_string() => SsoProtocol::Oidc,
        Some(m) if m == login_mode::SAML.to_string() => SsoProtocol::Saml,
        Some(m) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                &format!("Login mode {m} is not offered in the sign-in pop-up."),
            );
        }
    };

    let caller = match browser_caller(&state, &headers).await {
        Ok(c) => c,
        Err(_) if q.returned.is_some() => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "The sign-in finished but this browser kept no session cookie; allow cookies for this site and try again.",
            )
        }
        Err(_) => {
            let back = format!(
                "{}/auth/login-dialog.jsp?{raw}{}vestibule-returned=1",
                config.context_path,
                if raw.is_empty() { "" } else { "&" }
            );
            let provider = q.provider.as_deref().filter(|p| !p.is_empty());
            if protocol == SsoProtocol::Saml {
                return shared::redirect(&saml::saml_authenticate_url(&state, provider, Some(&back)));
            }
            return shared::start(&state, provider, protocol, &back, DIALECT_MSTR, origin.https).await;
        }
    };
    let message = if handover {
        match state.core.new_handover_token(&caller, challenge).await {
            Ok(token) => serde_json::json!({
                "codeChallenge": challenge,
                "codeChallengeMethod": vestibule_core::pkce::METHOD,
                "identityToken": token,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "making a pop-up's identity token failed");
                return pages::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The sign-in could not be completed right now; try again later.",
                );
            }
        }
    } else {
        let token = credentials::cookie_values(&headers, TOKEN_COOKIE)
            .next()
            .unwrap_or("");
        serde_json::json!({ "type": "auth-token", "payload": token })
    };
    pages::page_with_script(
        StatusCode::OK,
        "Signed in",
        &format!(
            "{}<p id=\"dialog-status\" role=\"status\">Signed in.</p>",
            who(&caller)
        ),
        &serde_json::json!({ "message": message, "targets": targets }),
        DIALOG_SCRIPT,
    )
}
