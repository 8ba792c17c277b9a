//! Logging in: the login modes, delegation through identity tokens, and API tokens.
//!
//! Every failure to authenticate is the same [`CoreError::BadCredentials`], reached after the same
//! amount of password work, so that an answer does not tell whether a user exists.

use std::time::Duration;

use crate::audit::{AuditEvent, AuditKind};
use crate::clock::now_ms;
use crate::core::{Core, Principal};
use crate::directory::{ApiToken, User, UserSource, GUEST_USER};
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::privilege::Privilege;
use crate::secret::{self, SecretHash};
use crate::session::{login_mode, GrantKind, Scope};
use crate::sessions::{NewSession, SessionShape};

/// A login request in dialect-neutral form.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub login_mode: i32,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The client's address, for throttling and the audit log; `None` when not known.
    pub client_addr: Option<std::net::IpAddr>,
    /// The API family the login came in by, as the HTTP layer names it (`/metrics`).
    pub dialect: &'static str,
}

impl Core {
    /// Checks a password against a local user found by name (loginMode 1); `None` = no such
    /// user. The same hashing work is done in every case, so the answer's timing says nothing.
    pub(crate) async fn verify_local(&self, user: Option<User>, password: &str) -> Result<User> {
        if password.is_empty() || password.len() > 1024 {
            let _ = self
                .directory()
                .hasher()
                .verify(password.get(..64).unwrap_or(""), None)
                .await;
            return Err(CoreError::BadCredentials);
        }
        let stored = user
            .as_ref()
            .filter(|u| u.source == UserSource::Local)
            .and_then(|u| u.password_hash.as_deref());
        let ok = self.directory().hasher().verify(password, stored).await?;
        match user {
            Some(u) if ok && u.enabled => Ok(u),
            _ => Err(CoreError::BadCredentials),
        }
    }

    /// Checks `credentials` of the modes that are not guesses at a secret (guest, and the modes
    /// this endpoint refuses). [`Core::authenticate`] (guard.rs) takes the password and token
    /// modes itself, behind the failed-login budgets; call that one.
    pub(crate) async fn authenticate_mode(&self, credentials: &Credentials) -> Result<User> {
        match credentials.login_mode {
            login_mode::GUEST => {
                if !self.config().auth.guest_enabled {
                    return Err(CoreError::LoginModeDisabled(
                        "This server is not configured to support anonymous (guest) authentication.".into(),
                    ));
                }
                match self.directory().user_by_name(GUEST_USER).await? {
                    Some(u) if u.enabled => Ok(u),
                    _ => Err(CoreError::BadCredentials),
                }
            }
            login_mode::DELEGATION => Err(CoreError::Invalid(
                "loginMode -1 (delegation) is only accepted at /api/auth/delegate".into(),
            )),
            other => Err(CoreError::LoginModeDisabled(format!(
                "Login mode {other} is not supported by this server."
            ))),
        }
    }

    /// Logs in and makes a session of `shape` for the user.
    pub async fn login(&self, credentials: &Credentials, shape: SessionShape) -> Result<(User, NewSession)> {
        let user = self.authenticate(credentials).await?;
        let session = self.new_session(user.id, credentials.login_mode, shape).await?;
        Ok((user, session))
    }

    /// Mints an identity token that hands the caller's identity to another application. It lives
    /// for the configured time and no longer than the session it was made from.
    pub async fn new_identity_token(&self, caller: &Principal) -> Result<String> {
        caller.require_full_scope()?;
        caller.require(Privilege::USE_IDENTITY_TOKENS)?;
        let ttl = Duration::from_secs(self.config().session.identity_token_ttl_secs);
        let (secret, _) = self
            .sessions
            .mint_grant(
                GrantKind::Identity,
                caller.user.user.id,
                Scope::Full,
                ttl,
                Some(caller.session.token),
            )
            .await?;
        self.audit(
            AuditEvent::new(AuditKind::IdentityTokenMinted)
                .user(&caller.user.user.username)
                .user_id(caller.user.user.id),
        );
        Ok(secret)
    }

    /// Mints the identity token a sign-in pop-up hands to the page that opened it, bound to that
    /// page's PKCE challenge: `delegate` exchanges it only with the verifier, and once. The
    /// caller is the pop-up's own browser session (no privilege beyond it is needed: the user
    /// gets a second session of their own), and the token lives no longer than that session.
    pub async fn new_handover_token(&self, caller: &Principal, code_challenge: &str) -> Result<String> {
        caller.require_full_scope()?;
        if !crate::pkce::is_challenge(code_challenge) {
            return Err(CoreError::Invalid(
                "codeChallenge must be an S256 challenge: 43 base64url characters".into(),
            ));
        }
        let ttl = Duration::from_secs(self.config().session.identity_token_ttl_secs);
        let (secret, _) = self
            .sessions
            .mint_bound_grant(
                GrantKind::Identity,
                caller.user.user.id,
                Scope::Full,
                ttl,
                Some(caller.session.token),
                code_challenge,
            )
            .await?;
        self.audit(
            AuditEvent::new(AuditKind::IdentityTokenMinted)
                .user(&caller.user.user.username)
                .user_id(caller.user.user.id),
        );
        Ok(secret)
    }

    /// The user an identity token stands for.
    pub async fn identity_token_user(&self, token: &str) -> Result<Guid> {
        match self.sessions.grant(GrantKind::Identity, token).await? {
            Some(g) => Ok(g.user_id),
            None => Err(CoreError::BadCredentials),
        }
    }

    /// Exchanges an identity token for a new session of `shape` for the same user (loginMode -1).
    /// With `code_verifier`, only a hand-over token bound to its challenge
    /// ([`Core::new_handover_token`]) is exchanged, and used up.
    pub(crate) async fn delegate(
        &self,
        identity_token: &str,
        code_verifier: Option<&str>,
        shape: SessionShape,
    ) -> Result<(User, NewSession)> {
        let user_id = match code_verifier {
            None => self.identity_token_user(identity_token).await?,
            Some(verifier) => {
                let key = crate::sessions::bound(identity_token, &crate::pkce::challenge_of(verifier));
                let user = self.identity_token_user(&key).await?;
                // Used once: of two requests racing with it, one removes it.
                if !self.sessions.revoke_grant(&key).await? {
                    return Err(CoreError::BadCredentials);
                }
                user
            }
        };
        let info = self
            .directory()
            .user_info(user_id)
            .await
            .map_err(|_| CoreError::BadCredentials)?;
        if !info.user.enabled {
            return Err(CoreError::BadCredentials);
        }
        let session = self.new_session(user_id, login_mode::DELEGATION, shape).await?;
        Ok((info.user.clone(), session))
    }

    /// Revokes an identity token: the caller's own, or anyone's with the administration
    /// privilege. [`CoreError::NotFound`] when there is no such live token.
    pub async fn revoke_identity_token(&self, caller: &Principal, token: &str) -> Result<()> {
        let owner = self
            .identity_token_user(token)
            .await
            .map_err(|_| CoreError::NotFound("No such identity token".into()))?;
        if owner != caller.user.user.id {
            caller.require(Privilege::ADMINISTRATION)?;
        }
        self.sessions.revoke_grant(token).await?;
        Ok(())
    }

    /// Makes an API token for the caller, or for another user when the caller administers users.
    pub async fn new_api_token(&self, caller: &Principal, target: Option<Guid>) -> Result<String> {
        caller.require_full_scope()?;
        caller.require(Privilege::CREATE_API_TOKENS)?;
        let user_id = match target {
            Some(t) if t != caller.user.user.id => {
                caller.require(Privilege::ADMINISTRATION)?;
                self.directory
                    .user_info(t)
                    .await
                    .map_err(|_| CoreError::NotFound(format!("user {t} not found")))?
                    .user
                    .id
            }
            _ => caller.user.user.id,
        };
        let secret = secret::new_opaque_token();
        let now = now_ms();
        let ttl = self.config().auth.api_token_ttl_secs;
        let token = ApiToken {
            hash: SecretHash::of(&secret),
            user_id,
            created_ms: now,
            expires_ms: (ttl > 0).then(|| now + 1000 * ttl as i64),
        };
        self.directory().store().insert_api_token(&token).await?;
        Ok(secret)
    }

    pub(crate) async fn check_api_token(&self, secret: &str) -> Result<User> {
        if secret.is_empty() || secret.len() > 512 {
            return Err(CoreError::BadCredentials);
        }
        let Some(token) = self
            .directory()
            .store()
            .api_token(&SecretHash::of(secret))
            .await?
        else {
            return Err(CoreError::BadCredentials);
        };
        if token.expires_ms.is_some_and(|e| e <= now_ms()) {
            return Err(CoreError::BadCredentials);
        }
        match self.directory().store().user_by_id(token.user_id).await? {
            Some(u) if u.enabled => Ok(u),
            _ => Err(CoreError::BadCredentials),
        }
    }
}
