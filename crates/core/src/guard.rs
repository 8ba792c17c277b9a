//! The guard around every login: throttling of failed attempts (per account and per client
//! address), the audit log, and the small API other parts call (`Core::audit`,
//! `Core::unlock_account`).
//!
//! A locked account or blocked address answers exactly like a wrong password: the same error,
//! after the same password work and a delay, so the answer does not tell that a lock exists.

use std::net::IpAddr;
use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind};
use crate::auth::Credentials;
use crate::core::Core;
use crate::directory::User;
use crate::error::{CoreError, Result};
use crate::provider::ExternalAuthenticator;
use crate::session::login_mode;
use crate::sessions::{NewSession, SessionShape};
use crate::throttle;

impl Core {
    /// Uses `provider` for LDAP logins (loginMode 16, and ThoughtSpot logins when
    /// `thoughtspot.login_mode = "ldap"`).
    pub fn with_external_auth(mut self, provider: Arc<dyn ExternalAuthenticator>) -> Self {
        self.external = Some(provider);
        self
    }

    /// Writes one event to the audit log.
    pub fn audit(&self, event: AuditEvent) {
        self.audit_log.record(&event);
    }

    /// Authenticates `credentials` and returns the user; makes no session. Failed attempts are
    /// throttled and every outcome is audited.
    pub async fn authenticate(&self, credentials: &Credentials) -> Result<User> {
        let mode = credentials.login_mode;
        // Only a typed user name names an account; an API token (in `username`) is a secret.
        let account = match mode {
            login_mode::STANDARD | login_mode::LDAP => {
                credentials.username.as_deref().filter(|u| !u.is_empty())
            }
            _ => None,
        };
        let guarded = matches!(
            mode,
            login_mode::STANDARD | login_mode::LDAP | login_mode::API_TOKEN
        );
        let addr = credentials.client_addr;
        let event = |kind| {
            let e = AuditEvent::new(kind).mode(mode).address(addr);
            match account {
                Some(a) => e.user(a),
                None => e,
            }
        };
        if guarded && self.is_locked(account, addr).await? {
            return Err(self.refuse_locked(event(AuditKind::LoginFailed)).await);
        }
        let result = self.authenticate_mode(credentials).await;
        match &result {
            Ok(user) => {
                self.throttle.success(account);
                self.audit(
                    AuditEvent::new(AuditKind::LoginSucceeded)
                        .mode(mode)
                        .address(addr)
                        .user(&user.username)
                        .user_id(user.id),
                );
            }
            Err(CoreError::BadCredentials) if guarded => {
                self.audit(event(AuditKind::LoginFailed).reason("bad_credentials"));
                self.count_failure(account, addr).await;
            }
            Err(e) => self.audit(event(AuditKind::LoginFailed).reason(reason_of(e))),
        }
        result
    }

    /// Exchanges an identity token for a new session of `shape` for its user (loginMode -1),
    /// throttled by client address and audited.
    pub async fn delegate_from(
        &self,
        identity_token: &str,
        addr: Option<IpAddr>,
        shape: SessionShape,
    ) -> Result<(User, NewSession)> {
        let event = |kind| AuditEvent::new(kind).mode(login_mode::DELEGATION).address(addr);
        if self.is_locked(None, addr).await? {
            return Err(self.refuse_locked(event(AuditKind::LoginFailed)).await);
        }
        let result = self.delegate(identity_token, shape).await;
        match &result {
            Ok((user, _)) => self.audit(event(AuditKind::Delegation).user(&user.username).user_id(user.id)),
            Err(CoreError::BadCredentials) => {
                self.audit(event(AuditKind::LoginFailed).reason("bad_credentials"));
                self.count_failure(None, addr).await;
            }
            Err(e) => self.audit(event(AuditKind::LoginFailed).reason(reason_of(e))),
        }
        result
    }

    /// For a login path that does not go through [`Core::authenticate`] (e.g. a secret key sent
    /// by a dialect): call before checking the credential. A locked account or blocked address
    /// gets `Err(BadCredentials)`, after the wrong-password delay, and the attempt is audited.
    pub async fn login_gate(&self, mode: i32, account: Option<&str>, addr: Option<IpAddr>) -> Result<()> {
        if self.is_locked(account, addr).await? {
            let mut event = AuditEvent::new(AuditKind::LoginFailed).mode(mode).address(addr);
            if let Some(a) = account {
                event = event.user(a);
            }
            return Err(self.refuse_locked(event).await);
        }
        Ok(())
    }

    /// For the same paths: call when the credential was wrong. Audits the failure, counts it
    /// (possibly locking the account or blocking the address) and waits the growing delay.
    pub async fn login_failed(&self, mode: i32, account: Option<&str>, addr: Option<IpAddr>) {
        let mut event = AuditEvent::new(AuditKind::LoginFailed)
            .mode(mode)
            .address(addr)
            .reason("bad_credentials");
        if let Some(a) = account {
            event = event.user(a);
        }
        self.audit(event);
        self.count_failure(account, addr).await;
    }

    /// Ends an account's lockout (`vestibule user unlock`); `true` if it was locked.
    pub async fn unlock_account(&self, account: &str) -> Result<bool> {
        let was = throttle::unlock(self.directory.store().as_ref(), account).await?;
        self.audit(AuditEvent::new(AuditKind::AccountUnlocked).user(account));
        Ok(was)
    }

    async fn is_locked(&self, account: Option<&str>, addr: Option<IpAddr>) -> Result<bool> {
        self.throttle
            .is_locked(self.directory.store().as_ref(), account, addr)
            .await
    }

    /// The answer to an attempt on a locked account: what a wrong password gets.
    async fn refuse_locked(&self, event: AuditEvent) -> CoreError {
        let _ = self.directory.hasher().verify("locked", None).await;
        self.audit(event.reason("locked"));
        tokio::time::sleep(self.throttle.locked_delay()).await;
        CoreError::BadCredentials
    }

    async fn count_failure(&self, account: Option<&str>, addr: Option<IpAddr>) {
        let f = self.throttle.failure(account, addr);
        if f.account_locked {
            if let Some(name) = account {
                match self
                    .throttle
                    .lock(self.directory.store().as_ref(), name, f.locked_until_ms)
                    .await
                {
                    Ok(()) => self.audit(AuditEvent::new(AuditKind::AccountLocked).user(name).address(addr)),
                    Err(e) => tracing::error!(error = %e, "storing an account lockout failed"),
                }
            }
        }
        if f.address_blocked {
            self.audit(AuditEvent::new(AuditKind::AddressBlocked).address(addr));
        }
        tokio::time::sleep(f.delay).await;
    }
}

fn reason_of(e: &CoreError) -> &'static str {
    match e {
        CoreError::BadCredentials => "bad_credentials",
        CoreError::LoginModeDisabled(_) => "login_mode_disabled",
        CoreError::Unavailable(_) => "unavailable",
        CoreError::Invalid(_) | CoreError::MissingField(_) => "invalid_request",
        _ => "error",
    }
}
