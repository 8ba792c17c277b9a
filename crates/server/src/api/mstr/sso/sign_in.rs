//! Library's sign-in page (`{context}/auth/login`: the providers' buttons and the Standard/LDAP
//! form with its CSRF token) and the signed-in page with its personal API token.

use super::*;

/// `GET {context}/auth/login`: a Standard form (and LDAP when configured) and one button per
/// single sign-on provider.
pub(super) async fn login_page(State(state): State<AppState>, origin: ClientOrigin) -> Response {
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
pub(super) struct LoginForm {
    login_mode: Option<String>,
    provider: Option<String>,
    username: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
}

/// `POST {context}/auth/login`: `loginMode=4194304` starts OpenID Connect at `provider` (or the
/// only provider) — no CSRF token, as Library's own auto-submitted forms send none, and a
/// started flow signs nobody in; 1 or 16 with the page's CSRF token is a password login.
pub(super) async fn login_form(
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
        login_mode::SAML => shared::redirect(&saml::saml_authenticate_url(
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
                dialect: DIALECT_MSTR,
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

/// `GET {context}/auth/signed-in`: who is signed in, the API explorer, and a button that makes
/// a personal API token.
pub(super) async fn signed_in_page(
    State(state): State<AppState>,
    origin: ClientOrigin,
    headers: HeaderMap,
) -> Response {
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
pub(super) struct TokenForm {
    csrf: Option<String>,
}

/// `POST {context}/auth/signed-in/api-token`: a new API token for the signed-in user, shown once.
pub(super) async fn api_token_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
