//! One OpenID Connect provider: its discovery document and keys (fetched when first needed,
//! then cached), the authorization URL of a sign-in, and the code exchange with the ID-token
//! checks that end it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClientAuthMethod, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse,
    CoreTokenType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalClaims, AuthType, AuthorizationCode, ClaimsVerificationError,
    Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IdTokenFields, IdTokenVerifier, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
    SubjectIdentifier, TokenResponse, UserInfoError,
};

/// A token response read without its ID token.
type BasicTokenResponse = StandardTokenResponse<EmptyExtraTokenFields, CoreTokenType>;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use vestibule_core::config::OidcProviderConfig;

use crate::error::chain;
use crate::OidcError;

/// The signature algorithms an ID token may use: vestibule's policy, never the provider's
/// advertised list. No `none` (the crate refuses it anyway) and no HMAC: an `HS*` token is keyed
/// with the client secret, which sits in a configuration file, and whoever reads that file could
/// then mint sign-ins.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 7] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// How far in the future an ID token's `iat` may lie: the two clocks' allowed disagreement.
const IAT_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The least time between two refetches of the JWKS caused by a token naming an unknown key: a
/// rotation is picked up at once, a flood of forged `kid`s costs one request per interval.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Every claim the crate's standard-claims struct does not take, by name (`groups` among them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct OtherClaims(BTreeMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type IdToken = openidconnect::IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type IdTokenClaims = openidconnect::IdTokenClaims<OtherClaims, CoreGenderClaim>;
type UserInfoClaims = openidconnect::UserInfoClaims<OtherClaims, CoreGenderClaim>;
type TokenResp = StandardTokenResponse<
    IdTokenFields<
        OtherClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;
/// A client as `from_provider_metadata` makes it: authorization URL set, token and userinfo
/// URLs as discovery gave them.
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResp,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The start of a sign-in: send the browser to `url`; keep `state`, `nonce` and `pkce_verifier`
/// bound to that browser (they are secrets of this one sign-in) for [`OidcProvider::finish`].
pub struct Start {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who signed in, as the provider vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's `id` in the settings.
    pub provider: String,
    /// `sub`: the provider's stable identifier of the user.
    pub subject: String,
    /// The claim named by `username_claim`.
    pub username: String,
    /// `name`.
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// The claim named by `groups_claim` (empty when that is unset or the claim is missing).
    pub groups: Vec<String>,
    /// The ID token as the provider signed it: the `id_token_hint` of a later logout.
    pub id_token: String,
}

/// A provider's published keys, read from a JWKS document: what
/// [`OidcProvider::verify_id_token`] checks signatures against.
pub struct Keys(CoreJsonWebKeySet);

impl Keys {
    pub fn from_json(jwks: &str) -> Result<Keys, OidcError> {
        serde_json::from_str(jwks)
            .map(Keys)
            .map_err(|e| OidcError::Config(format!("the keys (JWKS): {e}")))
    }
}

/// The discovery document with the keys, as last fetched.
struct Discovered {
    metadata: ProviderMetadataWithLogout,
    auth_type: AuthType,
}

#[derive(Default)]
struct Cache {
    discovered: Option<Arc<Discovered>>,
    /// When a token naming an unknown key last made us refetch the JWKS.
    last_refetch: Option<Instant>,
}

/// One configured OpenID Connect provider. Making it touches no network: discovery happens at
/// the first [`start`](Self::start) or [`finish`](Self::finish), and a provider that is down
/// then gives [`OidcError::Unavailable`] until it is back.
pub struct OidcProvider {
    id: String,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    scopes: Vec<String>,
    username_claim: String,
    groups_claim: String,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

/// The HTTP client for providers: no redirects followed (a redirect could point the server at
/// an internal address) and a bound on every request.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|e| OidcError::Config(format!("the HTTP client: {}", chain(&e))))
}

impl OidcProvider {
    /// A provider from its settings (validated by `SsoConfig::validate`); reads
    /// `client_secret_file` when that is the secret's source. `http` should come from
    /// [`http_client`].
    pub fn new(config: &OidcProviderConfig, http: reqwest::Client) -> Result<Self, OidcError> {
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| OidcError::Config(format!("issuer '{}': {e}", config.issuer)))?;
        let secret = if config.client_secret_file.is_empty() {
            config.client_secret.clone()
        } else {
            std::fs::read_to_string(&config.client_secret_file)
                .map_err(|e| {
                    OidcError::Config(format!("client_secret_file '{}': {e}", config.client_secret_file))
                })?
                .trim()
                .to_string()
        };
        if secret.is_empty() {
            return Err(OidcError::Config(format!(
                "provider '{}': the client secret is empty",
                config.id
            )));
        }
        Ok(OidcProvider {
            id: config.id.clone(),
            issuer,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: ClientSecret::new(secret),
            scopes: config.scopes.clone(),
            username_claim: config.username_claim.clone(),
            groups_claim: config.groups_claim.clone(),
            http,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// The provider's `id` in the settings.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The authorization URL of a new sign-in (authorization-code flow, PKCE S256, fresh random
    /// `state` and `nonce`); `redirect_uri` is where the provider sends the browser back.
    pub async fn start(&self, redirect_uri: &str) -> Result<Start, OidcError> {
        let discovered = self.discovered().await?;
        let client = self.client(&discovered, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        // `openid` is always sent by the crate; the others as configured.
        for scope in self.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Start {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Reads the query of the callback request: `(code, state)`, or the provider's `error=` as
    /// [`OidcError::ProviderError`]. An `iss` parameter (RFC 9207) must name this provider's
    /// issuer, so a response from another provider is not taken for this one's. Comparing `state`
    /// with the one kept for the browser is the caller's.
    pub fn parse_callback(&self, query: &str) -> Result<(String, String), OidcError> {
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in openidconnect::url::form_urlencoded::parse(query.as_bytes()) {
            if params.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(OidcError::BadCallback(format!("'{name}' is given twice")));
            }
        }
        if let Some(iss) = params.get("iss") {
            if iss != self.issuer.as_str() {
                return Err(OidcError::BadCallback(format!(
                    "it comes from issuer '{iss}', not '{}'",
                    self.issuer.as_str()
                )));
            }
        }
        if let Some(error) = params.remove("error") {
            return Err(OidcError::ProviderError {
                error,
                description: params.remove("error_description"),
            });
        }
        let code = params.remove("code").filter(|c| !c.is_empty());
        let state = params.remove("state").filter(|s| !s.is_empty());
        match (code, state) {
            (Some(code), Some(state)) => Ok((code, state)),
            (None, _) => Err(OidcError::BadCallback("it has no 'code'".into())),
            (_, None) => Err(OidcError::BadCallback("it has no 'state'".into())),
        }
    }

    /// Ends a sign-in: exchanges `code` (with the PKCE verifier and the same `redirect_uri` as
    /// [`start`](Self::start)), verifies the ID token against the `nonce` of that start, and
    /// reads the user's claims, from userinfo too when the ID token lacks the username or groups.
    pub async fn finish(
        &self,
        redirect_uri: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<Identity, OidcError> {
        let discovered = self.discovered().await?;
        let client = self.client(&discovered, redirect_uri)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Unavailable(chain(&e)))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(exchange_error)?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::BadToken("the token response has no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_string());

        // A key the cached JWKS does not have may be a rotation: fetch the keys again (at most
        // once per interval) and verify once more.
        let mut discovered = discovered;
        let claims = match self.verify(
            discovered.metadata.jwks(),
            id_token,
            &nonce,
            response.access_token(),
        ) {
            Err(Verify::UnknownKey) => {
                discovered = self.refetch_jwks(&discovered).await?;
                self.verify(
                    discovered.metadata.jwks(),
                    id_token,
                    &nonce,
                    response.access_token(),
                )
            }
            other => other,
        }
        .map_err(Verify::into_error)?;

        let mut user = User::from_id_token(&claims);
        let needs_userinfo = self.claim(&user, &self.username_claim).is_none()
            || (!self.groups_claim.is_empty() && !user.other.contains_key(&self.groups_claim));
        if needs_userinfo && discovered.metadata.userinfo_endpoint().is_some() {
            let info = self
                .userinfo(&client, response.access_token(), claims.subject())
                .await?;
            user.fill_from(User::from_userinfo(&info));
        }
        let mut identity = self.identity(user)?;
        identity.id_token = id_token.to_string();
        Ok(identity)
    }

    /// Where to send the browser to end its session at the provider too (OpenID Connect
    /// RP-Initiated Logout 1.0), then back to `post_logout_redirect_uri`; `None` when the
    /// provider publishes no `end_session_endpoint`. `id_token_hint` is the ID token of the
    /// sign-in (some providers, Okta among them, require it); `client_id` is always sent.
    pub async fn logout_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: &str,
    ) -> Result<Option<String>, OidcError> {
        let discovered = self.discovered().await?;
        let Some(end) = discovered
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
        else {
            return Ok(None);
        };
        let back = PostLogoutRedirectUrl::new(post_logout_redirect_uri.to_string())
            .map_err(|e| OidcError::Config(format!("post-logout URI '{post_logout_redirect_uri}': {e}")))?;
        let mut request = LogoutRequest::from(end)
            .set_client_id(self.client_id.clone())
            .set_post_logout_redirect_uri(back);
        // A hint that is not a JWT (a cookie someone changed) is left out rather than sent.
        if let Some(token) = id_token_hint.and_then(|t| t.parse::<IdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        Ok(Some(request.http_get_url().to_string()))
    }

    /// The cached discovery, or a fresh one (with its JWKS) when there is none yet. A failure is
    /// not cached: the next sign-in tries again. The lock is held across the fetch, so sign-ins
    /// arriving together wait for one discovery instead of each making one (each request is
    /// bounded by the client's timeout).
    async fn discovered(&self) -> Result<Arc<Discovered>, OidcError> {
        let mut cache = self.cache.lock().await;
        if let Some(d) = &cache.discovered {
            return Ok(d.clone());
        }
        let metadata = ProviderMetadataWithLogout::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery: {}", chain(&e))))?;
        if metadata.token_endpoint().is_none() {
            return Err(OidcError::Unavailable(
                "discovery: the provider publishes no token_endpoint".into(),
            ));
        }
        // client_secret_basic is the default when the provider lists no methods (OpenID
        // Connect Discovery §3).
        let auth_type =
            match metadata.token_endpoint_auth_methods_supported() {
                None => AuthType::BasicAuth,
                Some(m) if m.contains(&CoreClientAuthMethod::ClientSecretBasic) => AuthType::BasicAuth,
                Some(m) if m.contains(&CoreClientAuthMethod::ClientSecretPost) => AuthType::RequestBody,
                Some(_) => return Err(OidcError::Unavailable(
                    "discovery: the token endpoint takes neither client_secret_basic nor client_secret_post"
                        .into(),
                )),
            };
        let d = Arc::new(Discovered { metadata, auth_type });
        cache.discovered = Some(d.clone());
        Ok(d)
    }

    /// The JWKS fetched again, unless a refetch happened within the interval (then the keys as
    /// they are).
    async fn refetch_jwks(&self, seen: &Arc<Discovered>) -> Result<Arc<Discovered>, OidcError> {
        let mut cache = self.cache.lock().await;
        let current = cache.discovered.clone().unwrap_or_else(|| seen.clone());
        if !Arc::ptr_eq(&current, seen) {
            // Another sign-in refreshed the keys meanwhile.
            return Ok(current);
        }
        if cache
            .last_refetch
            .is_some_and(|t| t.elapsed() < JWKS_REFETCH_INTERVAL)
        {
            return Ok(current);
        }
        cache.last_refetch = Some(Instant::now());
        let jwks = CoreJsonWebKeySet::fetch_async(current.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| OidcError::Unavailable(format!("the keys (JWKS): {}", chain(&e))))?;
        let d = Arc::new(Discovered {
            metadata: current.metadata.clone().set_jwks(jwks),
            auth_type: current.auth_type.clone(),
        });
        cache.discovered = Some(d.clone());
        Ok(d)
    }

    fn client(&self, d: &Discovered, redirect_uri: &str) -> Result<OidcClient, OidcError> {
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|e| OidcError::Config(format!("redirect URI '{redirect_uri}': {e}")))?;
        Ok(OidcClient::from_provider_metadata(
            d.metadata.clone(),
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_auth_type(d.auth_type.clone())
        .set_redirect_uri(redirect))
    }

    /// The checks [`finish`](Self::finish) makes on the ID token of a code exchange, and the
    /// identity it names, against `keys` instead of the fetched JWKS and without userinfo: a
    /// sign-in's cost besides its HTTP round trips, which the benchmark measures (figure h).
    pub fn verify_id_token(
        &self,
        keys: &Keys,
        id_token: &str,
        nonce: &str,
        access_token: &str,
    ) -> Result<Identity, OidcError> {
        let token: IdToken = id_token
            .parse()
            .map_err(|e| OidcError::BadToken(format!("it does not parse: {e}")))?;
        let claims = self
            .verify(
                &keys.0,
                &token,
                &Nonce::new(nonce.to_string()),
                &AccessToken::new(access_token.to_string()),
            )
            .map_err(Verify::into_error)?;
        let mut identity = self.identity(User::from_id_token(&claims))?;
        identity.id_token = id_token.to_string();
        Ok(identity)
    }

    /// The ID token's claims after every check of OpenID Connect Core §3.1.3.7 that applies.
    fn verify(
        &self,
        jwks: &CoreJsonWebKeySet,
        id_token: &IdToken,
        nonce: &Nonce,
        access_token: &AccessToken,
    ) -> Result<IdTokenClaims, Verify> {
        // A verifier without the client secret: HMAC-signed tokens are refused even if the
        // allowlist let one through.
        let verifier =
            IdTokenVerifier::new_public_client(self.client_id.clone(), self.issuer.clone(), jwks.clone())
                .set_allowed_algs(ALLOWED_ALGS)
                // Other audiences beside ours are let through here and judged by `azp` below.
                .set_other_audience_verifier_fn(|_| true)
                .set_issue_time_verifier_fn(|iat| {
                    let latest = chrono::Utc::now() + IAT_SKEW;
                    if iat > latest {
                        Err(format!("it is issued in the future ({iat})"))
                    } else {
                        Ok(())
                    }
                });
        let claims = match id_token.claims(&verifier, nonce) {
            Ok(c) => c.clone(),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => return Err(Verify::UnknownKey),
            Err(e) => return Err(Verify::Bad(chain(&e))),
        };
        // Several audiences need an `azp` naming us; an `azp` is always ours (§3.1.3.7 items
        // 4 and 5, which the crate leaves to its user).
        match claims.authorized_party() {
            Some(azp) if **azp != *self.client_id => {
                return Err(Verify::Bad(format!(
                    "it is authorized for '{}' (azp), not for this client",
                    azp.as_str()
                )))
            }
            None if claims.audiences().len() > 1 => {
                return Err(Verify::Bad(
                    "it has several audiences and no azp naming this client".into(),
                ))
            }
            _ => {}
        }
        // `at_hash`, when present, ties the access token (used for userinfo) to this ID token.
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(|e| Verify::Bad(chain(&e)))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| Verify::Bad(chain(&e)))?;
            let actual =
                AccessTokenHash::from_token(access_token, alg, key).map_err(|e| Verify::Bad(chain(&e)))?;
            if actual != *expected {
                return Err(Verify::Bad("its at_hash does not match the access token".into()));
            }
        }
        Ok(claims)
    }

    async fn userinfo(
        &self,
        client: &OidcClient,
        access_token: &AccessToken,
        subject: &SubjectIdentifier,
    ) -> Result<UserInfoClaims, OidcError> {
        client
            .user_info(access_token.clone(), Some(subject.clone()))
            .map_err(|e| OidcError::Unavailable(format!("userinfo: {}", chain(&e))))?
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                // Another subject, or a bad signature on a signed answer.
                UserInfoError::ClaimsVerification(e) => {
                    OidcError::BadToken(format!("userinfo: {}", chain(&e)))
                }
                e => OidcError::Unavailable(format!("userinfo: {}", chain(&e))),
            })
    }

    fn claim(&self, user: &User, name: &str) -> Option<String> {
        match name {
            "sub" => Some(user.subject.clone()),
            "preferred_username" => user.preferred_username.clone(),
            // An address the provider says it has not verified names nobody.
            "email" => user.email.clone().filter(|_| user.email_verified != Some(false)),
            _ => None,
        }
    }

    fn identity(&self, user: User) -> Result<Identity, OidcError> {
        let username = self
            .claim(&user, &self.username_claim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                OidcError::BadToken(format!(
                    "neither the ID token nor userinfo gives the user's '{}'{}",
                    self.username_claim,
                    if self.username_claim == "email" {
                        " (or the address is not verified)"
                    } else {
                        ""
                    }
                ))
            })?;
        let groups = if self.groups_claim.is_empty() {
            Vec::new()
        } else {
            match user.other.get(&self.groups_claim) {
                None | Some(serde_json::Value::Null) => Vec::new(),
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|g| g.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| self.groups_not_strings())?,
                Some(_) => return Err(self.groups_not_strings()),
            }
        };
        Ok(Identity {
            provider: self.id.clone(),
            subject: user.subject,
            username,
            full_name: user.name,
            email: user.email,
            groups,
            id_token: String::new(),
        })
    }

    fn groups_not_strings(&self) -> OidcError {
        OidcError::BadToken(format!(
            "the '{}' claim is not a list of strings",
            self.groups_claim
        ))
    }
}

/// A failed verification: a key the JWKS lacks (worth a refetch) or any other reason.
enum Verify {
    UnknownKey,
    Bad(String),
}

impl Verify {
    fn into_error(self) -> OidcError {
        OidcError::BadToken(match self {
            Verify::UnknownKey => "it is signed with a key the provider does not publish".into(),
            Verify::Bad(reason) => reason,
        })
    }
}

/// The claims an identity is made of, from the ID token and from userinfo alike.
struct User {
    subject: String,
    preferred_username: Option<String>,
    name: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    other: BTreeMap<String, serde_json::Value>,
}

impl User {
    fn from_id_token(c: &IdTokenClaims) -> Self {
        User {
            subject: c.subject().to_string(),
            preferred_username: c.preferred_username().map(|u| u.to_string()),
            name: c.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
            email: c.email().map(|e| e.to_string()),
            email_verified: c.email_verified(),
            other: c.additional_claims().0.clone(),
        }
    }

    fn from_userinfo(c: &UserInfoClaims) -> Self {
        User {
            subject: c.subject().to_string(),
            preferred_username: c.preferred_username().map(|u| u.to_string()),
            name: c.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
            email: c.email().map(|e| e.to_string()),
            email_verified: c.email_verified(),
            other: c.additional_claims().0.clone(),
        }
    }

    /// Takes from `info` what the ID token did not say (the ID token wins where both do).
    fn fill_from(&mut self, info: User) {
        if self.preferred_username.is_none() {
            self.preferred_username = info.preferred_username;
        }
        if self.name.is_none() {
            self.name = info.name;
        }
        if self.email.is_none() {
            self.email = info.email;
            self.email_verified = info.email_verified;
        }
        for (k, v) in info.other {
            self.other.entry(k).or_insert(v);
        }
    }
}

/// What a failed exchange means: a refusal of the token endpoint, a provider out of reach, or an
/// answer that is no token response (an ID token that does not parse is a bad token).
fn exchange_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> OidcError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let mut text = r.error().to_string();
            if let Some(d) = r.error_description() {
                text.push_str(&format!(" ({d})"));
            }
            OidcError::Exchange(format!("the token endpoint answered {text}"))
        }
        RequestTokenError::Request(e) => OidcError::Unavailable(format!("token endpoint: {}", chain(&e))),
        // The answer is a token response but for its ID token: that token is malformed.
        RequestTokenError::Parse(e, body) if serde_json::from_slice::<BasicTokenResponse>(&body).is_ok() => {
            OidcError::BadToken(format!("it does not parse: {}", chain(&e)))
        }
        RequestTokenError::Parse(e, _) => OidcError::Exchange(format!(
            "the token endpoint's answer does not parse: {}",
            chain(&e)
        )),
        RequestTokenError::Other(text) => OidcError::Exchange(text),
    }
}
