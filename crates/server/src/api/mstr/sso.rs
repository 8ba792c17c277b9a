//! The MicroStrategy Library's browser sign-in: `{context}/auth/login` (the page, and the form
//! it posts: a Standard or LDAP login, or `loginMode=4194304` which starts OpenID Connect), the
//! callback's MicroStrategy session, the signed-in page with its personal API token, and
//! `GET /api/auth/token` (the auth token of the browser's session cookies).
//!
//! A browser session is the session `/api/auth/login` makes, its `JSESSIONID` cookie beside an
//! HttpOnly `iSession` cookie that holds its auth token (Library keeps the I-Server session in a
//! cookie of that name). Only `GET /api/auth/token` and these pages read `iSession`: the REST
//! API still needs the token in `X-MSTR-AuthToken`, so a cross-site request cannot use it.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use vestibule_core::auth::Credentials;
use vestibule_core::core::Principal;
use vestibule_core::credential::Credential;
use vestibule_core::session::login_mode;
use vestibule_core::sessions::NewSession;
use vestibule_core::sso::{SsoDone, SsoProtocol};
use vestibule_core::CoreError;

use super::auth::session_shape;
use super::error::{MstrError, MstrResult};
use super::extract::{AUTH_TOKEN, SESSION_COOKIE};
use crate::client_addr::ClientOrigin;
use crate::sso::pages::{self, escape};
use crate::sso::{self as shared, DIALECT_MSTR};
use crate::state::AppState;
use crate::{cookies, credentials};

/// The cookie holding a browser session's auth token.
pub const TOKEN_COOKIE: &str = "iSession";
/// The double-submit cookie of the pages' forms.
const CSRF_COOKIE: &str = "vestibule_csrf";

/// The pages under `{context}/auth`: browser pages, not API operations, so not in the OpenAPI
/// document.
pub fn router(context: &str) -> Router<AppState> {
    let page = |p: &str| format!("{context}/auth{p}");
    Router::new()
        .route(&page("/login"), get(login_page).post(login_form))
        .route(&page("/login-dialog.jsp"), get(login_dialog))
        .route(&page("/oidc/login"), get(shared::callback))
        .route(&format!("{context}/saml/authenticate"), get(saml_authenticate))
        .route(&format!("{context}/saml/SSO"), axum::routing::post(saml_acs))
        .route(&format!("{context}/saml/metadata"), get(saml_metadata))
        .route(&format!("{context}/saml/SingleLogout"), get(saml_single_logout))
        .route(&format!("{context}/saml/SPMetadata.xml"), get(saml_metadata))
        .route(&page("/oidc/logout"), get(logout).post(logout))
        .route(&page("/signed-out"), get(signed_out_page))
        .route(&page("/signed-in"), get(signed_in_page))
        .route(&page("/signed-in/api-token"), axum::routing::post(api_token_form))
}

fn cookie_path(state: &AppState) -> String {
    let c = &state.core.config().context_path;
    if c.is_empty() {
        "/".into()
    } else {
        c.clone()
    }
}

fn signed_in_path(state: &AppState) -> String {
    format!("{}/auth/signed-in", state.core.config().context_path)
}

fn csrf_cookie(state: &AppState, value: &str, https: bool) -> Option<HeaderValue> {
    let config = state.core.config();
    let mut s = format!(
        "{CSRF_COOKIE}={value}; Path={}/auth; HttpOnly; SameSite=Strict",
        config.context_path
    );
    if cookies::secure(&config.session.cookie_secure, https) {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

/// Whether the form's `csrf` field is the request's CSRF cookie.
fn csrf_ok(headers: &HeaderMap, field: Option<&str>) -> bool {
    match (credentials::cookie_values(headers, CSRF_COOKIE).next(), field) {
        (Some(c), Some(f)) if !c.is_empty() => vestibule_core::secret::ct_str_eq(c, f),
        _ => false,
    }
}

/// The browser session's credential: the `iSession` token and the `JSESSIONID` cookies.
fn browser_credential(headers: &HeaderMap) -> Option<Credential<'_>> {
    let token = credentials::cookie_values(headers, TOKEN_COOKIE)
        .next()
        .filter(|t| !t.is_empty())?;
    Some(Credential::new(token).with_cookies(credentials::session_cookies(headers)))
}

async fn browser_caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, CoreError> {
    let credential = browser_credential(headers).ok_or(CoreError::SessionInvalid)?;
    state.core.resolve(&credential).await
}

/// A 302 to `location` that hands out a browser session: its `JSESSIONID` and `iSession`.
fn session_redirect(state: &AppState, https: bool, session: &NewSession, location: &str) -> Response {
    let mut resp = shared::redirect(location);
    let path = cookie_path(state);
    let attrs = cookies::SessionAttrs::of(&state.core.config().session, https);
    let h = resp.headers_mut();
    if let Some(cookie) = &session.cookie {
        h.append(
            header::SET_COOKIE,
            cookies::session(SESSION_COOKIE, cookie, &path, attrs),
        );
    }
    h.append(
        header::SET_COOKIE,
        cookies::session(TOKEN_COOKIE, &session.token, &path, attrs),
    );
    resp
}

/// `GET {context}/auth/login`: a Standard form (and LDAP when configured) and one button per
/// single sign-on provider.
async fn login_page(State(state): State<AppState>, origin: ClientOrigin) -> Response {
    let config = state.core.config();
    let action = format!("{}/auth/login", config.context_path);
    let csrf = vestibule_core::secret::new_opaque_token();
    let mut body = String::new();
    let choices = state.core.sso_choices();
    if !choices.is_empty() {
        body.push_str("<h2>Single sign-on</h2>");
        for c in &choices {
            body.push_str(&format!(
                "<form method=\"post\" action=\"{a}\"><input type=\"hidden\" name=\"loginMode\" value=\"{m}\">\
<input type=\"hidden\" name=\"provider\" value=\"{id}\"><button type=\"submit\">Sign in with {name}</button></form>",
                a = escape(&action),
                m = c.protocol.login_mode(),
                id = escape(&c.id),
                name = escape(&c.display_name),
            ));
        }
    }
    let ldap = if config.ldap.enabled() {
        format!(
            "<label><input type=\"radio\" name=\"loginMode\" value=\"{}\"> LDAP</label>",
            login_mode::LDAP
        )
    } else {
        String::new()
    };
    body.push_str(&format!(
        "<h2>User name and password</h2><form method=\"post\" action=\"{a}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<fieldset><legend>Login mode</legend><label><input type=\"radio\" name=\"loginMode\" value=\"{std}\" checked> Standard</label>{ldap}</fieldset>\
<label for=\"username\">User name</label><input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required>\
<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\">\
<button type=\"submit\">Sign in</button></form>",
        a = escape(&action),
        std = login_mode::STANDARD,
    ));
    let mut resp = pages::page(StatusCode::OK, "Sign in", &body);
    if let Some(c) = csrf_cookie(&state, &csrf, origin.https) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginForm {
    login_mode: Option<String>,
    provider: Option<String>,
    username: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
}

/// `POST {context}/auth/login`: `loginMode=4194304` starts OpenID Connect at `provider` (or the
/// only provider) — no CSRF token, as Library's own auto-submitted forms send none, and a
/// started flow signs nobody in; 1 or 16 with the page's CSRF token is a password login.
async fn login_form(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return pages::error(StatusCode::BAD_REQUEST, "The sign-in form could not be read.");
    };
    let mode = form.login_mode.as_deref().map(str::trim).unwrap_or("1");
    let mode: i32 = match mode.parse() {
        Ok(m) => m,
        Err(_) => return pages::error(StatusCode::BAD_REQUEST, "The login mode is not a number."),
    };
    match mode {
        // As Library: a SAML sign-in goes through `{context}/saml/authenticate`.
        login_mode::SAML => shared::redirect(&saml_authenticate_url(
            &state,
            form.provider.as_deref().filter(|p| !p.is_empty()),
            None,
        )),
        login_mode::OIDC => {
            let target = signed_in_path(&state);
            shared::start(
                &state,
                form.provider.as_deref().filter(|p| !p.is_empty()),
                SsoProtocol::Oidc,
                &target,
                DIALECT_MSTR,
                origin.https,
            )
            .await
        }
        login_mode::STANDARD | login_mode::LDAP => {
            if !csrf_ok(&headers, form.csrf.as_deref()) {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "The sign-in form has expired; open the sign-in page again.",
                );
            }
            let credentials = Credentials {
                login_mode: mode,
                username: Some(form.username.unwrap_or_default()),
                password: Some(form.password.unwrap_or_default()),
                client_addr: origin.addr,
            };
            let shape = session_shape(state.core.config());
            match state.core.login(&credentials, shape).await {
                Ok((_, session)) => session_redirect(&state, origin.https, &session, &signed_in_path(&state)),
                Err(CoreError::BadCredentials) => {
                    pages::error(StatusCode::UNAUTHORIZED, "Wrong user name or password.")
                }
                Err(CoreError::LoginModeDisabled(m)) => pages::error(StatusCode::UNAUTHORIZED, &m),
                Err(e) => {
                    tracing::warn!(error = %e, "a sign-in page login failed");
                    pages::error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "The sign-in could not be completed right now; try again later.",
                    )
                }
            }
        }
        _ => pages::error(
            StatusCode::BAD_REQUEST,
            &format!("Login mode {mode} is not offered on this page."),
        ),
    }
}

/// The MicroStrategy session of a finished single sign-on, then a 302 to the flow's target.
pub async fn signed_in(state: &AppState, https: bool, done: &SsoDone) -> Result<Response, CoreError> {
    let shape = session_shape(state.core.config());
    let session = state
        .core
        .new_session(done.user.id, done.login_mode, shape)
        .await?;
    // The target was ours (the signed-in page); checked again all the same.
    let target = if shared::is_local_path(&done.return_to) {
        done.return_to.clone()
    } else {
        signed_in_path(state)
    };
    Ok(session_redirect(state, https, &session, &target))
}

/// The query of the embedding pop-up, as the Embedding SDK's `microstrategy.auth.oidcLogin`
/// opens it (`loginMode`, `callback-origin`, `generateIdentityToken=1`, `codeChallenge`,
/// `codeChallengeMethod=S256`) or as Library's samples do (`loginMode` alone).
#[derive(Deserialize)]
struct DialogQuery {
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
async fn login_dialog(
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
                return shared::redirect(&saml_authenticate_url(&state, provider, Some(&back)));
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

/// `{context}/auth/oidc/logout`: ends the browser's sessions here (its MicroStrategy browser
/// session and its ThoughtSpot cookie session, each audited), clears their cookies, then sends
/// the browser to its provider's `end_session_endpoint` (OpenID Connect RP-Initiated Logout,
/// with the sign-in's ID token as `id_token_hint`), which sends it back to
/// `{context}/auth/signed-out`; straight there when the provider offers no logout.
async fn logout(State(state): State<AppState>, origin: ClientOrigin, headers: HeaderMap) -> Response {
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
async fn signed_out_page(State(state): State<AppState>) -> Response {
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

#[derive(Deserialize)]
struct SamlStartQuery {
    provider: Option<String>,
    /// Where the browser goes afterwards: a path on this server (the embedding pop-up), else the
    /// signed-in page.
    target: Option<String>,
}

/// `{context}/saml/authenticate?provider=…&target=…`: where Library's sign-in sends a SAML
/// sign-in.
fn saml_authenticate_url(state: &AppState, provider: Option<&str>, target: Option<&str>) -> String {
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
async fn saml_authenticate(
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
async fn saml_acs(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared::acs(&state, &origin, &headers, &body, DIALECT_MSTR).await
}

#[derive(Deserialize)]
struct SingleLogoutQuery {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
}

/// `GET {context}/saml/SingleLogout`: without parameters, the browser's logout (as
/// `{context}/auth/oidc/logout`, which sends a `LogoutRequest` to a SAML provider); with the
/// provider's `LogoutResponse`, the signed-out page (the sessions here already ended). A
/// provider's own `LogoutRequest` (IdP-initiated logout) is not served.
async fn saml_single_logout(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
    query: Result<axum::extract::Query<SingleLogoutQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = query else {
        return pages::error(StatusCode::BAD_REQUEST, "The logout request could not be read.");
    };
    if q.saml_response.is_some() {
        return signed_out_page(State(state)).await;
    }
    if q.saml_request.is_some() {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Logout started by the identity provider is not supported here; sign out at this server.",
        );
    }
    logout(State(state), origin, headers).await
}

/// `GET {context}/saml/metadata` (and `SPMetadata.xml`, the name Library gives the file): this
/// service provider's metadata for `provider` (the only SAML provider when absent), naming the
/// assertion consumer services of both dialects.
async fn saml_metadata(
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

fn not_signed_in(state: &AppState) -> Response {
    let login = format!("{}/auth/login", state.core.config().context_path);
    pages::page(
        StatusCode::UNAUTHORIZED,
        "Not signed in",
        &format!(
            "<p role=\"alert\">This browser has no live session.</p><p><a href=\"{}\">Sign in</a></p>",
            escape(&login)
        ),
    )
}

fn who(caller: &Principal) -> String {
    let u = &caller.user.user;
    let email = if u.email.is_empty() {
        String::new()
    } else {
        format!(" &lt;{}&gt;", escape(&u.email))
    };
    format!(
        "<p>Signed in as <strong id=\"full-name\">{}</strong>{email} (user name <code id=\"username\">{}</code>).</p>",
        escape(u.display_name()),
        escape(&u.username)
    )
}

/// `GET {context}/auth/signed-in`: who is signed in, the API explorer, and a button that makes
/// a personal API token.
async fn signed_in_page(State(state): State<AppState>, origin: ClientOrigin, headers: HeaderMap) -> Response {
    let caller = match browser_caller(&state, &headers).await {
        Ok(c) => c,
        Err(_) => return not_signed_in(&state),
    };
    let csrf = vestibule_core::secret::new_opaque_token();
    let action = format!("{}/auth/signed-in/api-token", state.core.config().context_path);
    let body = format!(
        "{}<p><a href=\"/api-docs\">The REST API explorer</a></p>\
<h2>Personal API token</h2><p>For clients that cannot sign in through a browser, such as mstrio-py \
(<code>Connection(base_url, api_token=…)</code>, login mode 4096). It is shown once.</p>\
<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\">Make a personal API token</button></form>",
        who(&caller),
        escape(&action)
    );
    let mut resp = pages::page(StatusCode::OK, "Signed in", &body);
    if let Some(c) = csrf_cookie(&state, &csrf, origin.https) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: Option<String>,
}

/// `POST {context}/auth/signed-in/api-token`: a new API token for the signed-in user, shown once.
async fn api_token_form(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = serde_urlencoded::from_bytes::<TokenForm>(&body).ok();
    if !csrf_ok(&headers, form.as_ref().and_then(|f| f.csrf.as_deref())) {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The form has expired; open the signed-in page again.",
        );
    }
    let caller = match browser_caller(&state, &headers).await {
        Ok(c) => c,
        Err(_) => return not_signed_in(&state),
    };
    match state.core.new_api_token(&caller, None).await {
        Ok(token) => pages::page(
            StatusCode::CREATED,
            "Personal API token",
            &format!(
                "{}<p>Your new API token (it is not shown again):</p><p><code id=\"api-token\">{}</code></p>",
                who(&caller),
                escape(&token)
            ),
        ),
        Err(CoreError::MissingPrivilege(p)) => pages::error(
            StatusCode::FORBIDDEN,
            &format!("You do not have the privilege '{p}' needed to make API tokens."),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "making an API token from the signed-in page failed");
            pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The token could not be made right now; try again later.",
            )
        }
    }
}

/// The auth token of the browser's session (its `iSession` and `JSESSIONID` cookies), for a page
/// that signed in through the browser (Library's embedding samples call this).
#[utoipa::path(get, path = "/api/auth/token", tag = "Authentication",
    responses(
        (status = 204, description = "The session is live; its auth token is in the header",
            headers(("X-MSTR-AuthToken" = String, description = "Auth token of the browser's session"))),
        (status = 401, description = "No live browser session (ERR009)", body = super::error::MstrErrorBody),
    ))]
pub async fn token(State(state): State<AppState>, headers: HeaderMap) -> MstrResult<Response> {
    let credential = browser_credential(&headers).ok_or_else(MstrError::session_invalid)?;
    let token = credential.token().to_string();
    state.core.resolve(&credential).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        AUTH_TOKEN,
        HeaderValue::from_str(&token).map_err(|_| MstrError::session_invalid())?,
    );
    shared::no_store(&mut resp);
    Ok(resp)
}
