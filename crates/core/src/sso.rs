//! Single sign-on: a browser signs in at an identity provider and comes back as a vestibule user.
//! The core defines the provider trait (implemented by `vestibule-oidc` and `vestibule-saml`), keeps each sign-in's
//! secrets between the start and the callback, and links the provider's identity to a user.
//! Which session the sign-in then makes, and where the browser goes, is the dialect's.
//!
//! # The flow's state, on several nodes
//! A start makes a [`Flow`]: the provider, its `state`, `nonce` and PKCE verifier, the return
//! target and a tag the server chose (its dialect), and 32 random bytes. The whole flow, as hex
//! JSON, is the value of a short-lived cookie the browser holds; the session store keeps only a
//! grant ([`GrantKind::SsoFlow`]) under the SHA-256 of that value, expiring with the flow.
//! At the callback the grant is removed, and only the request that removed it goes on
//! (`SessionStore::remove_grant` says whether it existed: one winner across nodes). So:
//! - a flow is usable once, on whichever node the callback reaches, and for
//!   [`FLOW_TTL`] at most;
//! - a changed cookie hashes to no grant, so its content needs no key of its own to be
//!   trusted (no key to share between nodes, none to rotate);
//! - a callback is bound to the browser that started the flow: without its cookie there is no
//!   grant to remove, and the callback's `state` must be the cookie's.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::audit::AuditKind;
use crate::clock::now_ms;
use crate::core::Core;
use crate::directory::{User, UserSource};
use crate::error::CoreError;
use crate::guard::Attempter;
use crate::ids::Guid;
use crate::login_name::normalize;
use crate::secret::{ct_str_eq, SecretHash};
use crate::session::{login_mode, Grant, GrantKind, Scope};

/// How long a started sign-in may take to come back.
pub const FLOW_TTL: Duration = Duration::from_secs(600);
/// Longest flow cookie read; a longer one is not ours.
const MAX_FLOW: usize = 4096;

/// What a provider speaks: it decides the login mode of the sessions it makes and the users'
/// source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoProtocol {
    Oidc,
    Saml,
}

impl SsoProtocol {
    /// MicroStrategy's login mode for sign-ins of this protocol.
    pub fn login_mode(self) -> i32 {
        match self {
            SsoProtocol::Oidc => login_mode::OIDC,
            SsoProtocol::Saml => login_mode::SAML,
        }
    }

    fn source(self, provider: &str, subject: &str) -> UserSource {
        let (provider, subject) = (provider.to_string(), subject.to_string());
        match self {
            SsoProtocol::Oidc => UserSource::Oidc { provider, subject },
            SsoProtocol::Saml => UserSource::Saml { provider, subject },
        }
    }
}

/// The start of a sign-in at a provider: where to send the browser, and the secrets to keep.
pub struct SsoStart {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who signed in, as the provider vouches for it (after its token checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    /// The provider's `id` in the settings.
    pub provider: String,
    /// The provider's stable identifier of the user (`sub`).
    pub subject: String,
    /// The name the vestibule user has (the configured username claim).
    pub username: String,
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// The user's groups at the provider.
    pub groups: Vec<String>,
    /// The provider's signed statement of the sign-in (an OpenID Connect ID token), handed back
    /// to it as the hint of a logout; empty when there is none.
    pub id_token: String,
    /// An identifier of this statement that must never be accepted twice (a SAML assertion's
    /// `ID`), with until when it is valid: the core refuses a second sight on any node.
    pub once: Option<(String, i64)>,
}

/// Why a sign-in did not end in a user. Each says whose fault it is; none carries a secret.
#[derive(Debug, Error)]
pub enum SsoError {
    /// The provider sent the browser back with `error=` (the user declined, …).
    #[error("the identity provider refused the sign-in: {error}{}", describe(description))]
    ProviderRefused {
        error: String,
        description: Option<String>,
    },
    /// The callback is not one this sign-in expects (no code, a `state` that is not the flow's,
    /// another issuer).
    #[error("the sign-in callback is not valid: {0}")]
    BadCallback(String),
    /// No flow to finish: the flow cookie is missing or not ours, or the flow expired or was
    /// already used.
    #[error("this sign-in is unknown, expired or already used; start it again")]
    NoFlow,
    /// The provider's ID token or userinfo failed a check.
    #[error("the identity provider's token is not acceptable: {0}")]
    BadToken(String),
    /// A provider's statement (a SAML response) failed a check; `reason` names which, for the
    /// audit log only — the browser is told no more than this.
    #[error("the identity provider's response did not pass its checks")]
    Refused { reason: &'static str },
    /// The token endpoint refused the authorization code.
    #[error("the authorization code could not be exchanged: {0}")]
    Exchange(String),
    /// The provider cannot be reached right now.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// No provider of that id is configured.
    #[error("no single sign-on provider '{0}' is configured")]
    UnknownProvider(String),
    /// The provider vouched for the user, but vestibule does not let it in: why, in words.
    #[error("this user may not sign in here: {0}")]
    NotAllowed(&'static str),
    /// A store or the directory failed.
    #[error("{0}")]
    Core(CoreError),
}

impl SsoError {
    /// The audit log's `reason` of a refused sign-in, when it is more than `bad_credentials`.
    pub fn audit_reason(&self) -> Option<&'static str> {
        match self {
            SsoError::Refused { reason } => Some(reason),
            SsoError::NoFlow => Some("no_flow"),
            SsoError::NotAllowed(_) => Some("user_not_allowed"),
            SsoError::BadToken(_) => Some("bad_token"),
            SsoError::BadCallback(_) => Some("bad_callback"),
            _ => None,
        }
    }
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

/// A single sign-on provider. Implementations live in their own crates (`vestibule-oidc`).
#[async_trait]
pub trait SsoProvider: Send + Sync + 'static {
    /// The provider's `id` in the settings.
    fn id(&self) -> &str;
    fn protocol(&self) -> SsoProtocol {
        SsoProtocol::Oidc
    }
    /// Whether a callback that came without a started sign-in (a SAML IdP-initiated response,
    /// as `query` holds it) is this provider's to judge: it allows such sign-ins and the
    /// callback names it. [`SsoProvider::finish`] is then called with an empty `nonce`.
    fn takes_unsolicited(&self, _query: &str) -> bool {
        false
    }
    /// This server's metadata for the provider (SAML's SP `EntityDescriptor`) naming the
    /// assertion consumer services `acs` and the single logout service `slo`; `None` when the
    /// protocol has none.
    fn metadata(&self, _acs: &[String], _slo: &str) -> Option<String> {
        None
    }
    /// A new sign-in: the URL to send the browser to, and its secrets.
    async fn start(&self, redirect_uri: &str) -> Result<SsoStart, SsoError>;
    /// The `(code, state)` of a callback's query, or the provider's refusal.
    fn parse_callback(&self, query: &str) -> Result<(String, String), SsoError>;
    /// Exchanges the code and checks the tokens, ending in the identity.
    async fn finish(
        &self,
        redirect_uri: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<SsoIdentity, SsoError>;
    /// Where to send the browser to end its session at the provider as well, then back to
    /// `post_logout_redirect_uri`; `None` when the provider offers no such logout.
    async fn logout_url(
        &self,
        _id_token_hint: Option<&str>,
        _post_logout_redirect_uri: &str,
    ) -> Result<Option<String>, SsoError> {
        Ok(None)
    }
}

/// A started sign-in, as the browser's flow cookie holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Flow {
    /// Random: makes the value, so the grant's key, unguessable.
    k: String,
    /// Provider id.
    p: String,
    s: String,
    n: String,
    v: String,
    /// Where the browser goes afterwards (checked by the server, at the start and at the end).
    r: String,
    /// The server's tag for the session to make (its dialect).
    d: String,
}

impl Flow {
    fn encode(&self) -> Result<String, CoreError> {
        serde_json::to_vec(self)
            .map(hex::encode)
            .map_err(|e| CoreError::Internal(format!("encoding a sign-in flow: {e}")))
    }

    fn decode(cookie: &str) -> Option<Flow> {
        if cookie.len() > MAX_FLOW {
            return None;
        }
        serde_json::from_slice(&hex::decode(cookie).ok()?).ok()
    }
}

/// What a finished sign-in returns besides the user: what its start asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoDone {
    pub user: User,
    pub provider: String,
    pub return_to: String,
    pub dialect: String,
    /// The provider's ID token of this sign-in (for the logout's hint).
    pub id_token: String,
    /// The login mode of the session to make (OIDC or SAML).
    pub login_mode: i32,
}

/// A configured provider, as a sign-in page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoChoice {
    pub id: String,
    pub display_name: String,
    pub protocol: SsoProtocol,
}

/// A provider's settings that the core applies to its users.
struct Policy<'a> {
    display_name: &'a str,
    auto_create: bool,
    group_map: &'a std::collections::BTreeMap<String, String>,
}

impl Core {
    /// Serves single sign-on through `provider` (one call per configured provider).
    pub fn with_sso_provider(mut self, provider: std::sync::Arc<dyn SsoProvider>) -> Self {
        self.sso.push(provider);
        self
    }

    /// The providers a browser can sign in with, in the order they were added.
    pub fn sso_choices(&self) -> Vec<SsoChoice> {
        self.sso
            .iter()
            .filter_map(|p| {
                let policy = self.sso_policy(p.id())?;
                Some(SsoChoice {
                    id: p.id().to_string(),
                    display_name: if policy.display_name.is_empty() {
                        p.id().to_string()
                    } else {
                        policy.display_name.to_string()
                    },
                    protocol: p.protocol(),
                })
            })
            .collect()
    }

    fn sso_policy(&self, id: &str) -> Option<Policy<'_>> {
        let sso = &self.config.sso;
        let oidc = sso.oidc.iter().find(|c| c.id == id).map(|c| Policy {
            display_name: &c.display_name,
            auto_create: c.auto_create,
            group_map: &c.group_map,
        });
        oidc.or_else(|| {
            sso.saml.iter().find(|c| c.id == id).map(|c| Policy {
                display_name: &c.display_name,
                auto_create: c.auto_create,
                group_map: &c.group_map,
            })
        })
    }

    /// The service-provider metadata for `provider` (the only provider that has metadata when
    /// `None`).
    pub fn sso_metadata(
        &self,
        provider: Option<&str>,
        acs: &[String],
        slo: &str,
    ) -> Result<String, SsoError> {
        let found: Vec<String> = self
            .sso
            .iter()
            .filter(|p| provider.is_none_or(|id| p.id() == id))
            .filter_map(|p| p.metadata(acs, slo))
            .take(2)
            .collect();
        match (found.as_slice(), provider) {
            ([one], _) => Ok(one.clone()),
            ([], Some(id)) => Err(SsoError::UnknownProvider(id.chars().take(64).collect())),
            ([], None) => Err(SsoError::UnknownProvider(
                "(no SAML provider is configured)".into(),
            )),
            _ => Err(SsoError::BadCallback(
                "several SAML providers are configured: name one with ?provider=".into(),
            )),
        }
    }

    /// The protocol of the provider `id`, when there is one.
    pub fn sso_protocol(&self, id: &str) -> Option<SsoProtocol> {
        self.sso.iter().find(|p| p.id() == id).map(|p| p.protocol())
    }

    fn sso_provider(&self, id: &str) -> Result<&dyn SsoProvider, SsoError> {
        self.sso
            .iter()
            .find(|p| p.id() == id)
            .map(|p| p.as_ref())
            .ok_or_else(|| SsoError::UnknownProvider(id.chars().take(64).collect()))
    }

    /// Starts a sign-in at `provider`: the provider's URL, and the value of the flow cookie
    /// the browser must bring to the callback. `return_to` and `dialect` come back from
    /// [`Core::sso_finish`] as given.
    pub async fn sso_start(
        &self,
        provider: &str,
        redirect_uri: &str,
        return_to: &str,
        dialect: &str,
    ) -> Result<(String, String), SsoError> {
        let p = self.sso_provider(provider)?;
        let start = match p.start(redirect_uri).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, provider, "starting a single sign-on failed");
                self.audit(
                    crate::audit::AuditEvent::new(AuditKind::LoginFailed)
                        .mode(p.protocol().login_mode())
                        .provider(provider)
                        .reason("unavailable"),
                );
                return Err(e);
            }
        };
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        let flow = Flow {
            k: hex::encode(k),
            p: provider.into(),
            s: start.state,
            n: start.nonce,
            v: start.pkce_verifier,
            r: return_to.into(),
            d: dialect.into(),
        };
        let cookie = flow.encode().map_err(SsoError::Core)?;
        let now = now_ms();
        let grant = Grant {
            hash: SecretHash::of(&cookie),
            kind: GrantKind::SsoFlow,
            user_id: Guid::default(),
            scope: Scope::Full,
            created_ms: now,
            expires_ms: now.saturating_add(FLOW_TTL.as_millis() as i64),
            origin: None,
        };
        self.sessions
            .store()
            .insert_grant(grant)
            .await
            .map_err(|e| SsoError::Core(e.into()))?;
        Ok((start.url, cookie))
    }

    /// Ends a sign-in at its callback: `cookie` is the flow cookie (if the browser sent one),
    /// `query` the callback's query (or posted form). The flow is used up; the provider's identity
    /// is checked and linked to a user ([`Core::sso_login`]). `unsolicited`: the dialect this
    /// callback makes sessions for when it came without a flow and a provider takes such
    /// callbacks (SAML IdP-initiated sign-on); `None` where none may. Guarded by the address's
    /// failed-login budget and audited, success and failure alike.
    pub async fn sso_finish(
        &self,
        cookie: Option<&str>,
        query: &str,
        redirect_uri: &str,
        addr: Option<IpAddr>,
        unsolicited: Option<&str>,
    ) -> Result<SsoDone, SsoError> {
        let flow = cookie.and_then(Flow::decode);
        let stranger = match (&flow, unsolicited) {
            (None, Some(_)) => self.sso.iter().find(|p| p.takes_unsolicited(query)),
            _ => None,
        };
        let provider = flow.as_ref().map(|f| f.p.as_str()).or(stranger.map(|p| p.id()));
        let protocol = provider
            .and_then(|p| self.sso_protocol(p))
            .unwrap_or(SsoProtocol::Oidc);
        // The dialect the flow was started for (the metrics keep a bounded set of labels, whatever
        // a cookie says).
        let dialect = flow.as_ref().map(|f| f.d.as_str()).or(unsolicited).unwrap_or("");
        let who = Attempter {
            dialect,
            mode: protocol.login_mode(),
            typed: None,
            identity: None,
            addr,
            provider,
        };
        let mut detail: Option<SsoError> = None;
        let judge = async {
            let result = match (&flow, cookie, stranger) {
                (Some(f), Some(c), _) => self.sso_judge(f, c, query, redirect_uri).await,
                (None, _, Some(p)) => {
                    let identity = p.finish(redirect_uri, query, "", "").await;
                    match identity {
                        Ok(i) => self.sso_accept(p.id(), i).await,
                        Err(e) => Err(e),
                    }
                }
                _ => Err(SsoError::NoFlow),
            };
            result.map_err(|e| {
                let core = match &e {
                    SsoError::ProviderRefused { .. } | SsoError::UnknownProvider(_) => {
                        CoreError::Invalid(e.to_string())
                    }
                    SsoError::Unavailable(m) => CoreError::Unavailable(m.clone()),
                    SsoError::Core(_) => CoreError::Unavailable("store".into()),
                    // Someone's guess, a replay or a forgery: counted against the address.
                    _ => CoreError::BadCredentials,
                };
                tracing::warn!(error = %e, "single sign-on refused");
                let reason = e.audit_reason();
                detail = Some(e);
                (core, reason)
            })
        };
        let result = self.guarded_explained(who, judge).await;
        match result {
            Ok((user, subject, id_token)) => {
                self.audit(
                    who.event(AuditKind::LoginSucceeded)
                        .user(&user.username)
                        .user_id(user.id)
                        .subject(&subject),
                );
                let (provider, return_to, dialect) = match (&flow, stranger, unsolicited) {
                    (Some(f), _, _) => (f.p.clone(), f.r.clone(), f.d.clone()),
                    (None, Some(p), Some(d)) => (p.id().to_string(), String::new(), d.to_string()),
                    _ => return Err(SsoError::NoFlow),
                };
                Ok(SsoDone {
                    user,
                    provider,
                    return_to,
                    dialect,
                    id_token,
                    login_mode: protocol.login_mode(),
                })
            }
            Err(e) => Err(detail.unwrap_or(SsoError::Core(e))),
        }
    }

    /// A verified identity, once more checked here: it names the provider that vouched for it,
    /// it was not seen before (when it must be seen once), and it is a user this provider may
    /// sign in.
    async fn sso_accept(
        &self,
        provider: &str,
        identity: SsoIdentity,
    ) -> Result<(User, String, String), SsoError> {
        if identity.provider != provider {
            return Err(SsoError::BadToken("the identity names another provider".into()));
        }
        if let Some((id, until)) = &identity.once {
            let key = format!("sso-once:{provider}:{id}");
            if !self
                .sessions
                .first_sight(&key, *until)
                .await
                .map_err(SsoError::Core)?
            {
                return Err(SsoError::Refused { reason: "replayed" });
            }
        }
        let user = self.sso_login(&identity).await?;
        Ok((user, identity.subject, identity.id_token))
    }

    async fn sso_judge(
        &self,
        flow: &Flow,
        cookie: &str,
        query: &str,
        redirect_uri: &str,
    ) -> Result<(User, String, String), SsoError> {
        let store = self.sessions.store();
        let hash = SecretHash::of(cookie);
        let kept = store
            .grant(&hash, now_ms())
            .await
            .map_err(|e| SsoError::Core(e.into()))?;
        if kept.is_none_or(|g| g.kind != GrantKind::SsoFlow) {
            return Err(SsoError::NoFlow);
        }
        // The one request that removes the grant goes on; a concurrent replay finds it gone.
        if !store
            .remove_grant(&hash)
            .await
            .map_err(|e| SsoError::Core(e.into()))?
        {
            return Err(SsoError::NoFlow);
        }
        let provider = self.sso_provider(&flow.p)?;
        let (code, state) = provider.parse_callback(query)?;
        if !ct_str_eq(&state, &flow.s) {
            return Err(SsoError::BadCallback("its state is not this sign-in's".into()));
        }
        let identity = provider.finish(redirect_uri, &code, &flow.n, &flow.v).await?;
        self.sso_accept(&flow.p, identity).await
    }

    /// Where a browser signed in through `provider` goes to end its session there too (then
    /// back to `post_logout_redirect_uri`); `None` when the provider offers no logout.
    pub async fn sso_logout_url(
        &self,
        provider: &str,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: &str,
    ) -> Result<Option<String>, SsoError> {
        self.sso_provider(provider)?
            .logout_url(id_token_hint, post_logout_redirect_uri)
            .await
    }

    /// The vestibule user for a provider's verified identity: made at the first sign-in when
    /// the provider's `auto_create` allows, its full name, e-mail and mapped groups updated at
    /// every sign-in. A user of the same name from elsewhere (local, LDAP, another provider or
    /// another subject) is never taken over.
    pub async fn sso_login(&self, id: &SsoIdentity) -> Result<User, SsoError> {
        let settings = self
            .sso_policy(&id.provider)
            .ok_or_else(|| SsoError::UnknownProvider(id.provider.clone()))?;
        let protocol = self
            .sso_protocol(&id.provider)
            .ok_or_else(|| SsoError::UnknownProvider(id.provider.clone()))?;
        let dir = &self.directory;
        let username = normalize(&id.username);
        let username = username.as_ref();
        if username.is_empty() || id.subject.is_empty() {
            return Err(SsoError::NotAllowed("the provider named no user"));
        }
        let source = protocol.source(&id.provider, &id.subject);
        let core = SsoError::Core;
        let full_name = id.full_name.clone().unwrap_or_default();
        let mut user = match dir.user_by_name(username).await.map_err(core)? {
            Some(u) => u,
            None if settings.auto_create => {
                match dir.add_user(username, &full_name, None, source.clone()).await {
                    Ok(u) => u,
                    // A concurrent first sign-in made it.
                    Err(CoreError::AlreadyExists(_)) => dir.require_user(username).await.map_err(core)?,
                    Err(CoreError::Invalid(m)) => {
                        tracing::warn!(reason = %m, "a provider's user name cannot be used here");
                        return Err(SsoError::NotAllowed("the user name cannot be used here"));
                    }
                    Err(e) => return Err(core(e)),
                }
            }
            None => return Err(SsoError::NotAllowed("no such user, and this provider makes none")),
        };
        if user.source != source {
            tracing::warn!(user = %user.username, "single sign-on refused: the user of this name is not this provider's");
            return Err(SsoError::NotAllowed(
                "a user of this name exists and does not sign in through this provider",
            ));
        }
        if !user.enabled {
            return Err(SsoError::NotAllowed("the user is disabled"));
        }
        let full_name = if full_name.is_empty() {
            user.full_name.clone()
        } else {
            full_name
        };
        let email = id.email.clone().unwrap_or_default();
        if user.full_name != full_name || user.email != email {
            user.full_name = full_name;
            user.email = email;
            dir.update_user(&user).await.map_err(core)?;
        }
        let mut managed: Vec<&String> = settings.group_map.values().collect();
        managed.sort();
        managed.dedup();
        for group in managed {
            if dir
                .store()
                .group_by_name(group)
                .await
                .map_err(|e| core(e.into()))?
                .is_none()
            {
                match dir
                    .add_group(group, "Mapped from a single sign-on provider.")
                    .await
                {
                    Ok(_) | Err(CoreError::AlreadyExists(_)) => {}
                    Err(e) => return Err(core(e)),
                }
            }
            let member = settings
                .group_map
                .iter()
                .any(|(theirs, ours)| ours == group && id.groups.iter().any(|g| g == theirs));
            dir.set_membership(group, &user.username, member)
                .await
                .map_err(core)?;
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_survives_its_cookie_and_nothing_else_does() {
        let f = Flow {
            k: "k".into(),
            p: "corp".into(),
            s: "st".into(),
            n: "no".into(),
            v: "ve".into(),
            r: "/after?x=1".into(),
            d: "mstr".into(),
        };
        let c = f.encode().unwrap();
        assert!(c.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(Flow::decode(&c), Some(f));
        assert_eq!(Flow::decode("zz"), None);
        assert_eq!(Flow::decode(&"a".repeat(MAX_FLOW + 2)), None);
    }
}
