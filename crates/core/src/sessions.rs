//! The session service: making, checking, keeping alive and ending sessions, and the grants
//! (identity and trusted tokens) that can be exchanged for one.
//!
//! Secrets are made here and handed to the caller once; the store only ever sees their hashes.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::credential::Credential;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::secret::{self, CookieTag, SecretHash};
use crate::session::{Expiry, Grant, GrantKind, Scope, Session};
use crate::store::SessionStore;

/// How a new session's cookie relates to its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieMode {
    /// No cookie: a bearer token on its own.
    None,
    /// A separate `JSESSIONID` the token is bound to (MicroStrategy).
    Bound,
    /// The cookie is the token itself (ThoughtSpot cookie sessions).
    SameAsToken,
}

/// What to make a session for.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub user_id: Guid,
    pub login_mode: i32,
    pub scope: Scope,
    pub expiry: Expiry,
    pub cookie: CookieMode,
}

/// What a dialect decides about a new session: what it may read, how it ends and its cookie.
#[derive(Debug, Clone, Copy)]
pub struct SessionShape {
    pub scope: Scope,
    pub expiry: Expiry,
    pub cookie: CookieMode,
}

impl SessionShape {
    /// The session of this shape for `user_id`, logged in through `login_mode`.
    pub fn spec(self, user_id: Guid, login_mode: i32) -> SessionSpec {
        SessionSpec {
            user_id,
            login_mode,
            scope: self.scope,
            expiry: self.expiry,
            cookie: self.cookie,
        }
    }
}

/// A session just made, with its secrets in the clear for the one response that hands them out.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub cookie: Option<String>,
    pub session: Session,
}

pub struct Sessions {
    store: Arc<dyn SessionStore>,
    require_cookie: bool,
}

impl Sessions {
    /// A round trip to the session store (readiness).
    pub(crate) async fn ping(&self) -> crate::store::StoreResult<()> {
        self.store.ping().await
    }

    pub fn new(store: Arc<dyn SessionStore>, require_cookie: bool) -> Self {
        Sessions {
            store,
            require_cookie,
        }
    }

    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// Makes a new session with fresh secrets (never reusing one a client sent: no fixation).
    pub async fn create(&self, spec: SessionSpec) -> Result<NewSession> {
        let now = now_ms();
        let (token, cookie) = match spec.cookie {
            CookieMode::None => (secret::new_opaque_token(), None),
            CookieMode::Bound => (secret::new_auth_token(), Some(secret::new_session_cookie())),
            CookieMode::SameAsToken => {
                let t = secret::new_opaque_token();
                (t.clone(), Some(t))
            }
        };
        let session = Session {
            token: SecretHash::of(&token),
            cookie: cookie.as_deref().map(CookieTag::of),
            user_id: spec.user_id,
            login_mode: spec.login_mode,
            scope: spec.scope,
            created_ms: now,
            last_active_ms: now,
            expiry: spec.expiry,
        };
        self.store.insert(session.clone()).await?;
        Ok(NewSession {
            token,
            cookie,
            session,
        })
    }

    /// The live session `credential` opens, marked active. A session issued with a cookie must be
    /// presented with that cookie (unless configured otherwise); a wrong cookie is always refused
    /// (see [`Credential`] for the exceptions a caller can ask for). A refused request leaves the
    /// session as it was.
    pub async fn check(&self, credential: &Credential<'_>) -> Result<Session> {
        if !credential.is_plausible() {
            return Err(CoreError::SessionInvalid);
        }
        let admission = credential.admission(!self.require_cookie);
        self.store
            .touch_if(credential.hash(), now_ms(), &admission)
            .await?
            .ok_or(CoreError::SessionInvalid)
    }

    /// Ends a session at once; `false` if there was none.
    pub async fn end(&self, token: &SecretHash) -> Result<bool> {
        Ok(self.store.remove(token).await?)
    }

    pub async fn end_all_of(&self, user: Guid) -> Result<usize> {
        Ok(self.store.remove_user(user).await?)
    }

    pub async fn count(&self) -> Result<usize> {
        Ok(self.store.count().await?)
    }

    /// Mints a grant and returns its secret.
    pub async fn mint_grant(
        &self,
        kind: GrantKind,
        user_id: Guid,
        scope: Scope,
        ttl: Duration,
        origin: Option<SecretHash>,
    ) -> Result<(String, Grant)> {
        self.mint(kind, user_id, scope, ttl, origin, None).await
    }

    /// Mints a grant that only its secret together with `binding` finds (see [`bound`]): the
    /// secret alone is worth nothing to whoever intercepts it.
    pub async fn mint_bound_grant(
        &self,
        kind: GrantKind,
        user_id: Guid,
        scope: Scope,
        ttl: Duration,
        origin: Option<SecretHash>,
        binding: &str,
    ) -> Result<(String, Grant)> {
        self.mint(kind, user_id, scope, ttl, origin, Some(binding)).await
    }

    async fn mint(
        &self,
        kind: GrantKind,
        user_id: Guid,
        scope: Scope,
        ttl: Duration,
        origin: Option<SecretHash>,
        binding: Option<&str>,
    ) -> Result<(String, Grant)> {
        let secret = secret::new_opaque_token();
        let now = now_ms();
        let key = match binding {
            Some(b) => bound(&secret, b),
            None => secret.clone(),
        };
        let grant = Grant {
            hash: SecretHash::of(&key),
            kind,
            user_id,
            scope,
            created_ms: now,
            expires_ms: now.saturating_add(ttl.as_millis() as i64),
            origin,
        };
        self.store.insert_grant(grant.clone()).await?;
        Ok((secret, grant))
    }

    /// The unexpired grant of this kind for `secret`. An identity grant also needs the session it
    /// was made from to be alive.
    pub async fn grant(&self, kind: GrantKind, secret: &str) -> Result<Option<Grant>> {
        if secret.is_empty() || secret.len() > 512 {
            return Ok(None);
        }
        let now = now_ms();
        let Some(grant) = self.store.grant(&SecretHash::of(secret), now).await? else {
            return Ok(None);
        };
        if grant.kind != kind {
            return Ok(None);
        }
        if let Some(origin) = grant.origin {
            if kind == GrantKind::Identity && self.store.touch(&origin, now).await?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(grant))
    }

    /// Whether `id` is seen for the first time (then remembered until `until_ms`, on every node
    /// sharing the store).
    pub async fn first_sight(&self, id: &str, until_ms: i64) -> Result<bool> {
        Ok(self
            .store
            .first_sight(&SecretHash::of(id), until_ms, now_ms())
            .await?)
    }

    /// Removes the grant of `secret`; whether it was there (of requests racing to use up a
    /// grant, exactly one is told `true`).
    pub async fn revoke_grant(&self, secret: &str) -> Result<bool> {
        Ok(self.store.remove_grant(&SecretHash::of(secret)).await?)
    }

    /// Sweeps expired sessions every `interval` until the returned handle is aborted.
    pub fn spawn_sweeper(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match this.store.sweep(now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(expired = n, "swept expired sessions"),
                    Err(e) => tracing::warn!(error = %e, "session sweep failed"),
                }
            }
        })
    }

    pub async fn flush(&self) -> Result<()> {
        Ok(self.store.flush().await?)
    }
}

/// What a bound grant is found by: its secret and the binding, together.
pub fn bound(secret: &str, binding: &str) -> String {
    format!("{secret}.{binding}")
}
