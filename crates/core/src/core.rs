//! [`Core`]: the services both dialects call, wired to their stores.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::config::Config;
use crate::directory::{Directory, UserInfo};
use crate::error::{CoreError, Result};
use crate::password::PasswordHasher;
use crate::privilege::Privilege;
use crate::session::{Expiry, Session};
use crate::sessions::Sessions;
use crate::store::{MetadataStore, SessionStore};

pub struct Core {
    pub config: Arc<Config>,
    pub directory: Directory,
    pub sessions: Arc<Sessions>,
    pub started_ms: i64,
    /// Failed-login counters and lockouts (see `throttle.rs`).
    pub throttle: crate::throttle::Throttle,
    /// Where authentication events go; write through [`Core::audit`].
    pub audit_log: crate::audit::AuditLog,
    /// The directory LDAP logins (loginMode 16) are checked against, when configured.
    pub external: Option<Arc<dyn crate::provider::ExternalAuthenticator>>,
    /// The modeling service, when the store provides a model store (see [`Core::model`]).
    pub model: Option<Arc<crate::model::ModelService>>,
    /// The trusted-authentication key's state, cached briefly (see `trusted.rs`).
    pub trusted_key: crate::trusted::KeyCache,
}

/// An authenticated caller: its live session and its user.
#[derive(Debug, Clone)]
pub struct Principal {
    pub session: Session,
    pub user: Arc<UserInfo>,
}

impl Principal {
    /// `Ok` if the caller holds `p`, else [`CoreError::MissingPrivilege`].
    pub fn require(&self, p: Privilege) -> Result<()> {
        if self.user.has(p) {
            Ok(())
        } else {
            Err(CoreError::MissingPrivilege(p.name))
        }
    }

    /// `Ok` if the session's scope lets it read `object`.
    pub fn require_object(&self, object: crate::ids::Guid) -> Result<()> {
        if self.session.scope.allows(object) {
            Ok(())
        } else {
            Err(CoreError::OutOfScope(object.to_hex()))
        }
    }

    /// `Ok` if the session is not limited to one object: for endpoints that read or change
    /// anything other than that object.
    pub fn require_full_scope(&self) -> Result<()> {
        match self.session.scope {
            crate::session::Scope::Full => Ok(()),
            crate::session::Scope::Object(o) => Err(CoreError::OutOfScope(o.to_hex())),
        }
    }
}

impl Core {
    pub fn new(
        config: Config,
        metadata: Arc<dyn MetadataStore>,
        sessions: Arc<dyn SessionStore>,
    ) -> Result<Core> {
        let hasher = PasswordHasher::new(&config.password)?;
        let audit_log = crate::audit::AuditLog::open(&config.audit.target)
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        Ok(Core {
            throttle: crate::throttle::Throttle::new(config.throttle.clone()),
            audit_log,
            external: None,
            model: None,
            trusted_key: Default::default(),
            directory: Directory::new(metadata, hasher),
            sessions: Arc::new(Sessions::new(sessions, config.session.require_cookie)),
            config: Arc::new(config),
            started_ms: now_ms(),
        })
    }

    /// The modeling service; unavailable when the store has no model store.
    pub fn model(&self) -> Result<&crate::model::ModelService> {
        self.model
            .as_deref()
            .ok_or_else(|| CoreError::Unavailable("the modeling service is not configured".into()))
    }

    /// The expiry of a MicroStrategy session under the configured timeouts.
    pub fn mstr_expiry(&self) -> Expiry {
        let s = &self.config.session;
        Expiry::Idle {
            server_secs: s.server_timeout_secs.min(u32::MAX as u64) as u32,
            http_secs: s.http_timeout_secs.min(u32::MAX as u64) as u32,
        }
    }

    /// The caller behind `token` (and its cookie), with its session marked active.
    pub async fn principal(&self, token: &str, cookie: Option<&str>) -> Result<Principal> {
        let session = self.sessions.check(token, cookie).await?;
        let user = match self.directory.user_info(session.user_id).await {
            Ok(u) => u,
            Err(CoreError::NotFound(_)) => return Err(CoreError::SessionInvalid),
            Err(e) => return Err(e),
        };
        if !user.user.enabled {
            // A disabled user's sessions end at its next request.
            let _ = self.sessions.end(&session.token).await;
            return Err(CoreError::SessionInvalid);
        }
        if !user.has(Privilege::USE_REST_API) {
            return Err(CoreError::MissingPrivilege(Privilege::USE_REST_API.name));
        }
        Ok(Principal { session, user })
    }

    /// Starts the background sweep of expired sessions.
    /// Starts the background work: the sweep of expired sessions and, with the model, dropping
    /// the changesets of sessions that ended. Abort the handles to stop it.
    pub fn spawn_background(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let interval = Duration::from_secs(self.config.session.sweep_interval_secs);
        let mut tasks = vec![self.sessions.spawn_sweeper(interval)];
        if let Some(model) = self.model.clone() {
            let sessions = Arc::clone(self.sessions.store());
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(e) = model.drop_orphans(sessions.as_ref()).await {
                        tracing::warn!(error = %e, "dropping the changesets of ended sessions failed");
                    }
                }
            }));
        }
        tasks
    }
}
