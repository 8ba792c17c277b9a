//! [`Core`]: the services both dialects call, wired to their stores.

use std::sync::Arc;
use std::time::Duration;

use std::net::IpAddr;

use crate::audit::{AuditEvent, AuditKind};
use crate::clock::now_ms;
use crate::config::Config;
use crate::credential::Credential;
use crate::directory::{Directory, UserInfo};
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::password::PasswordHasher;
use crate::privilege::Privilege;
use crate::session::Session;
use crate::sessions::{NewSession, SessionShape, Sessions};
use crate::store::{MetadataStore, SessionStore};

/// The services both dialects call. Its fields are the crate's own: handlers call one operation
/// each (`resolve`, `login`, `logout`, …) and the bookkeeping (audit, throttling, store calls)
/// happens inside.
pub struct Core {
    pub(crate) config: Arc<Config>,
    pub(crate) directory: Directory,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) started_ms: i64,
    /// Failed-login budgets and lockouts (see `throttle/`).
    pub(crate) throttle: crate::throttle::Throttle,
    /// Where authentication events go; write through [`Core::audit`].
    pub(crate) audit_log: crate::audit::AuditLog,
    /// The directory LDAP logins (loginMode 16) are checked against, when configured.
    pub(crate) external: Option<Arc<dyn crate::provider::ExternalAuthenticator>>,
    /// The modeling service, when the store provides a model store (see [`Core::model`]).
    pub(crate) model: Option<Arc<crate::model::ModelService>>,
    /// The trusted-authentication key's state, cached briefly (see `trusted.rs`).
    pub(crate) trusted_key: crate::trusted::KeyCache,
    /// The single sign-on providers, one per configured provider (see `sso.rs`).
    pub(crate) sso: Vec<Arc<dyn crate::sso::SsoProvider>>,
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
            throttle: crate::throttle::Throttle::new(
                config.throttle.clone(),
                Arc::new(crate::throttle::MemoryAttempts::new(Some(metadata.clone()))),
            ),
            audit_log,
            external: None,
            model: None,
            trusted_key: Default::default(),
            sso: Vec::new(),
            directory: Directory::new(metadata, hasher),
            sessions: Arc::new(Sessions::new(sessions, config.session.require_cookie)),
            config: Arc::new(config),
            started_ms: now_ms(),
        })
    }

    /// Serves the modeling API from `model`; its schema locks live as long as this core's
    /// sessions.
    pub fn with_model(mut self, model: crate::model::ModelService) -> Self {
        let model = model.with_sessions(Arc::clone(self.sessions.store()));
        self.model = Some(Arc::new(model));
        self
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Users, groups, privileges and projects.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// When this process started (ms since the epoch).
    pub fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// The modeling service; unavailable when the store has no model store.
    pub fn model(&self) -> Result<&crate::model::ModelService> {
        self.model
            .as_deref()
            .ok_or_else(|| CoreError::Unavailable("the modeling service is not configured".into()))
    }

    /// The caller a credential stands for. Its session is marked active only when the credential
    /// opens it (token and cookie); then its user must exist, be enabled and hold the REST API
    /// privilege.
    pub async fn resolve(&self, credential: &Credential<'_>) -> Result<Principal> {
        let session = self.sessions.check(credential).await?;
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

    /// Makes a session of `shape` for a user who has already been authenticated in `login_mode`.
    pub async fn new_session(
        &self,
        user_id: Guid,
        login_mode: i32,
        shape: SessionShape,
    ) -> Result<NewSession> {
        self.sessions.create(shape.spec(user_id, login_mode)).await
    }

    /// Ends the caller's session at once (on every node) and audits the logout; `dialect` names
    /// the API it came through, for the audit record.
    pub async fn logout(
        &self,
        caller: &Principal,
        addr: Option<IpAddr>,
        dialect: &'static str,
    ) -> Result<()> {
        self.sessions.end(&caller.session.token).await?;
        self.audit(
            AuditEvent::new(AuditKind::Logout)
                .user(&caller.user.user.username)
                .user_id(caller.user.user.id)
                .address(addr)
                .dialect(dialect),
        );
        Ok(())
    }

    /// Ends the caller's session at once, without an audit record (the caller writes one that
    /// says why); `false` if it had already ended.
    pub async fn end_session(&self, caller: &Principal) -> Result<bool> {
        self.sessions.end(&caller.session.token).await
    }

    /// Deletes a user and ends its sessions; returns it and how many sessions ended. The
    /// directory row goes first, so a session that outlives the second step (a server's memory)
    /// finds no user and is refused.
    pub async fn delete_user(&self, username: &str) -> Result<(crate::directory::User, usize)> {
        let user = self.directory.delete_user(username).await?;
        let ended = self.end_sessions_of(user.id).await?;
        Ok((user, ended))
    }

    /// Ends every session of a user; returns how many.
    pub async fn end_sessions_of(&self, user: Guid) -> Result<usize> {
        self.sessions.end_all_of(user).await
    }

    /// The number of live sessions.
    pub async fn live_sessions(&self) -> Result<usize> {
        self.sessions.count().await
    }

    /// Writes what the session store holds only in memory to durable storage (on shutdown).
    pub async fn flush_sessions(&self) -> Result<()> {
        self.sessions.flush().await
    }

    /// Drops the changesets whose sessions ended; returns how many went.
    pub async fn drop_orphan_changesets(&self) -> Result<usize> {
        self.model()?.drop_orphans(self.sessions.store().as_ref()).await
    }

    /// Starts the background work: the sweep of expired sessions and, with the model, dropping
    /// the changesets and schema locks of sessions that ended and settling old schema tasks.
    /// Abort the handles to stop it.
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
                    if let Err(e) = model.drop_dead_locks().await {
                        tracing::warn!(error = %e, "dropping the schema locks of ended sessions failed");
                    }
                    if let Err(e) = model.sweep_tasks().await {
                        tracing::warn!(error = %e, "sweeping the schema tasks failed");
                    }
                }
            }));
        }
        tasks
    }
}
