//! Bearer tokens with a fixed lifetime, and exchanging a token for a cookie session.
//!
//! A bearer token (ThoughtSpot v2 `auth/token/full|object`, `auth/session/token`) is a session of
//! the core with no cookie and an absolute expiry: any node can check it, it is reusable until it
//! expires or is revoked, and a logout or revoke ends it like any other session. Minting one costs a
//! random draw and a store insert; only the password variant pays for password hashing.

use crate::clock::now_ms;
use crate::core::{Core, Principal};
use crate::credential::Credential;
use crate::directory::User;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::session::{login_mode, Expiry, Scope, Session};
use crate::sessions::{CookieMode, NewSession, SessionShape, SessionSpec};

/// The longest lifetime a client may ask for a bearer token (one year).
pub const MAX_TOKEN_SECS: u64 = 365 * 24 * 3600;

impl Core {
    /// A bearer token for `user` that lives exactly `validity_secs` (1 s to [`MAX_TOKEN_SECS`]).
    pub async fn new_bearer_token(
        &self,
        user: Guid,
        mode: i32,
        scope: Scope,
        validity_secs: u64,
    ) -> Result<NewSession> {
        if validity_secs == 0 || validity_secs > MAX_TOKEN_SECS {
            return Err(CoreError::Invalid(format!(
                "a bearer token must live between 1 and {MAX_TOKEN_SECS} seconds"
            )));
        }
        self.sessions
            .create(SessionSpec {
                user_id: user,
                login_mode: mode,
                scope,
                expiry: Expiry::Absolute {
                    expires_ms: now_ms().saturating_add(1000 * validity_secs as i64),
                },
                cookie: CookieMode::None,
            })
            .await
    }

    /// Exchanges a token for a new session of `shape` (its scope replaced by the token's) for the
    /// same user. Accepts a chained trusted-authentication token (reusable until it expires under the
    /// key's rule) or any live bearer token (a v2 token, or another session's token). When
    /// `username` is given it must name the token's user. Every failure is
    /// [`CoreError::BadCredentials`].
    pub async fn login_with_token(
        &self,
        token: &str,
        username: Option<&str>,
        shape: SessionShape,
    ) -> Result<(User, NewSession)> {
        let token = token.trim();
        let (user_id, scope) = if let Some(grant) = self.chained_token(token).await? {
            (grant.user_id, grant.scope)
        } else {
            // A cookie session's token is its cookie, so presenting it presents the cookie too.
            match self
                .sessions
                .check(&Credential::new(token).token_is_cookie())
                .await
            {
                Ok(Session { user_id, scope, .. }) => (user_id, scope),
                Err(CoreError::SessionInvalid) => return Err(CoreError::BadCredentials),
                Err(e) => return Err(e),
            }
        };
        let info = match self.directory.user_info(user_id).await {
            Ok(i) => i,
            Err(CoreError::NotFound(_)) => return Err(CoreError::BadCredentials),
            Err(e) => return Err(e),
        };
        if !info.user.enabled {
            return Err(CoreError::BadCredentials);
        }
        if let Some(name) = username
            .map(crate::login_name::account_key)
            .filter(|n| !n.is_empty())
        {
            if name != crate::login_name::account_key(&info.user.username) {
                return Err(CoreError::BadCredentials);
            }
        }
        let shape = SessionShape { scope, ..shape };
        let session = self.new_session(user_id, login_mode::TRUSTED, shape).await?;
        Ok((info.user.clone(), session))
    }

    /// Whether `credential` is a credential right now, without starting a session or using it
    /// up: a live session or bearer token, or a live chained trusted token. Returns its user.
    pub async fn token_is_live(&self, credential: &Credential<'_>) -> Result<Guid> {
        match self.resolve(credential).await {
            Ok(p) => Ok(p.user.user.id),
            Err(CoreError::SessionInvalid) => match self.chained_token(credential.token()).await? {
                Some(g) => Ok(g.user_id),
                None => Err(CoreError::SessionInvalid),
            },
            Err(e) => Err(e),
        }
    }

    /// Revokes the bearer token or session `token`. A caller may revoke its own tokens; revoking
    /// another user's needs the administration privilege. `false` if there was no such token.
    pub async fn revoke_token(&self, caller: &Principal, token: &str) -> Result<bool> {
        let hash = crate::secret::SecretHash::of(token.trim());
        let Some(target) = self.sessions.store().touch(&hash, now_ms()).await? else {
            return Ok(false);
        };
        if target.user_id != caller.user.user.id {
            caller.require(crate::privilege::Privilege::ADMINISTRATION)?;
        }
        self.sessions.end(&hash).await
    }
}
