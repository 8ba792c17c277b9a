//! The guard around every login: the failed-login budgets (per account and per client address,
//! see `throttle/`), the audit log, and the small API other parts call (`Core::audit`,
//! `Core::guarded`, `Core::unlock_account`).
//!
//! A name is normalised before it is looked up (`login_name.rs`), the identity it resolves to
//! names the account's budget, and the attempt takes its places **before** the credential is
//! judged. A refused attempt (locked account, blocked address, budget taken by attempts in flight)
//! answers exactly like a wrong password: the same error, after the same password work and a
//! delay, so the answer does not tell that a lock exists.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind};
use crate::auth::Credentials;
use crate::core::Core;
use crate::directory::User;
use crate::error::{CoreError, Result};
use crate::login_name::{account_key, normalize};
use crate::provider::{ExternalAuthError, ExternalAuthenticator};
use crate::session::login_mode;
use crate::sessions::{NewSession, SessionShape};
use crate::store::AttemptStore;
use crate::throttle::Throttle;

/// Who a guarded attempt is by, for its budgets and its audit events.
#[derive(Debug, Clone, Copy)]
pub struct Attempter<'a> {
    /// The API family the attempt came in by, as the HTTP layer names it (`/metrics` counts
    /// logins by it).
    pub dialect: &'a str,
    pub mode: i32,
    /// The name as typed, for the audit log.
    pub typed: Option<&'a str>,
    /// The account's budget key: the identity the name resolved to, in
    /// [`crate::login_name::account_key`] form. `None` = the address's budget only.
    pub identity: Option<&'a str>,
    pub addr: Option<IpAddr>,
    /// The single sign-on provider the attempt came through, for its audit events.
    pub provider: Option<&'a str>,
}

impl Attempter<'_> {
    pub(crate) fn event(&self, kind: AuditKind) -> AuditEvent {
        let mut e = AuditEvent::new(kind).mode(self.mode).address(self.addr);
        if let Some(t) = self.typed {
            e = e.user(t);
        }
        if let Some(i) = self.identity {
            e = e.identity(i);
        }
        if let Some(p) = self.provider {
            e = e.provider(p);
        }
        e
    }
}

/// Longest user name or password looked at; longer ones are wrong without a look-up.
const MAX_SECRET: usize = 1024;

impl Core {
    /// Uses `provider` for LDAP logins (loginMode 16, and ThoughtSpot logins when
    /// `thoughtspot.login_mode = "ldap"`).
    pub fn with_external_auth(mut self, provider: Arc<dyn ExternalAuthenticator>) -> Self {
        self.external = Some(provider);
        self
    }

    /// Keeps the failed-login budgets in `store` (Redis, shared by every node) instead of this
    /// process's memory.
    pub fn with_attempt_store(mut self, store: Arc<dyn AttemptStore>) -> Self {
        self.throttle = Throttle::new(self.config.throttle.clone(), store);
        self
    }

    /// Writes one event to the audit log.
    pub fn audit(&self, event: AuditEvent) {
        self.audit_log.record(&event);
    }

    /// Authenticates `credentials` and returns the user; makes no session. Password and API-token
    /// attempts are throttled; every outcome is audited.
    pub async fn authenticate(&self, credentials: &Credentials) -> Result<User> {
        let mode = credentials.login_mode;
        let typed = credentials.username.as_deref().unwrap_or("");
        let password = credentials.password.as_deref().unwrap_or("");
        let addr = credentials.client_addr;
        let dialect = credentials.dialect;
        let result = match mode {
            login_mode::STANDARD => self.local_login(dialect, typed, password, addr).await,
            login_mode::LDAP => self.ldap_login(dialect, typed, password, addr).await,
            // The token is a secret, not a name: the address's budget only.
            login_mode::API_TOKEN => {
                let who = Attempter {
                    dialect,
                    mode,
                    typed: None,
                    identity: None,
                    addr,
                    provider: None,
                };
                self.guarded(who, self.check_api_token(typed)).await
            }
            _ => {
                let result = self.authenticate_mode(credentials).await;
                crate::metrics::record_login(dialect, mode, result.is_ok());
                if let Err(e) = &result {
                    self.audit(
                        AuditEvent::new(AuditKind::LoginFailed)
                            .mode(mode)
                            .address(addr)
                            .reason(reason_of(e)),
                    );
                }
                result
            }
        };
        if let Ok(user) = &result {
            self.audit(
                AuditEvent::new(AuditKind::LoginSucceeded)
                    .mode(mode)
                    .address(addr)
                    .user(&user.username)
                    .user_id(user.id),
            );
        }
        result
    }

    /// loginMode 1: the user is found by its normal name, and its budget is the stored user's.
    async fn local_login(
        &self,
        dialect: &str,
        typed: &str,
        password: &str,
        addr: Option<IpAddr>,
    ) -> Result<User> {
        let name = normalize(typed);
        let usable = !name.is_empty() && name.len() <= MAX_SECRET;
        let user = if usable {
            self.directory().user_by_name(&name).await?
        } else {
            None
        };
        let identity = user
            .as_ref()
            .map(|u| account_key(&u.username))
            .or_else(|| usable.then(|| account_key(&name)));
        let who = Attempter {
            dialect,
            mode: login_mode::STANDARD,
            typed: Some(typed).filter(|t| !t.is_empty()),
            identity: identity.as_deref(),
            addr,
            provider: None,
        };
        self.guarded(who, self.verify_local(user, password)).await
    }

    /// loginMode 16: the directory finds the entry first; its budget is the entry's user name as
    /// the directory returns it; then the password is bound against it.
    async fn ldap_login(
        &self,
        dialect: &str,
        typed: &str,
        password: &str,
        addr: Option<IpAddr>,
    ) -> Result<User> {
        let Some(provider) = self.external.clone() else {
            crate::metrics::record_login(dialect, login_mode::LDAP, false);
            let e = CoreError::LoginModeDisabled(
                "This server is not configured to support LDAP authentication.".into(),
            );
            self.audit(
                AuditEvent::new(AuditKind::LoginFailed)
                    .mode(login_mode::LDAP)
                    .address(addr)
                    .reason(reason_of(&e)),
            );
            return Err(e);
        };
        let name = normalize(typed);
        // Never hand an empty password to a directory: many treat it as an anonymous bind.
        let usable = !name.is_empty()
            && name.len() <= MAX_SECRET
            && !password.is_empty()
            && password.len() <= MAX_SECRET;
        let entry = if usable {
            match provider.find(&name).await {
                Ok(entry) => entry,
                Err(e) => {
                    crate::metrics::record_login(dialect, login_mode::LDAP, false);
                    let e = external_error(e);
                    self.audit(
                        AuditEvent::new(AuditKind::LoginFailed)
                            .mode(login_mode::LDAP)
                            .address(addr)
                            .user(typed)
                            .reason(reason_of(&e)),
                    );
                    return Err(e);
                }
            }
        } else {
            None
        };
        let identity = entry
            .as_ref()
            .map(|e| account_key(&e.username))
            .or_else(|| (!name.is_empty() && name.len() <= MAX_SECRET).then(|| account_key(&name)));
        let who = Attempter {
            dialect,
            mode: login_mode::LDAP,
            typed: Some(typed).filter(|t| !t.is_empty()),
            identity: identity.as_deref(),
            addr,
            provider: None,
        };
        let judge = async {
            let Some(entry) = entry else {
                return Err(CoreError::BadCredentials);
            };
            let identity = provider.verify(&entry, password).await.map_err(external_error)?;
            self.link_external_user(&identity).await
        };
        self.guarded(who, judge).await
    }

    /// Exchanges an identity token (with the PKCE verifier of a pop-up's hand-over token) for a
    /// new session of `shape` for its user (loginMode -1), throttled by client address and
    /// audited.
    pub async fn delegate_from(
        &self,
        identity_token: &str,
        code_verifier: Option<&str>,
        addr: Option<IpAddr>,
        dialect: &str,
        shape: SessionShape,
    ) -> Result<(User, NewSession)> {
        let who = Attempter {
            dialect,
            mode: login_mode::DELEGATION,
            typed: None,
            identity: None,
            addr,
            provider: None,
        };
        let (user, session) = self
            .guarded(who, self.delegate(identity_token, code_verifier, shape))
            .await?;
        self.audit(
            who.event(AuditKind::Delegation)
                .user(&user.username)
                .user_id(user.id),
        );
        Ok((user, session))
    }

    /// Runs `judge` (which checks a password, key or token) as a guarded attempt: it takes its
    /// places in the budgets first, and is refused unjudged — answered like a wrong credential,
    /// after the same work and delay — when they are locked or full. `BadCredentials` counts as a
    /// failure (audited, maybe locking, then the growing delay); other errors (a mode turned off,
    /// a store down) are not guesses and give the places back. Success is the caller's to audit.
    pub async fn guarded<T>(&self, who: Attempter<'_>, judge: impl Future<Output = Result<T>>) -> Result<T> {
        self.guarded_explained(who, async { judge.await.map_err(|e| (e, None)) })
            .await
    }

    /// As [`Core::guarded`]; a failure may name its `reason` for the audit log (a refused single
    /// sign-on says which check refused it).
    pub async fn guarded_explained<T>(
        &self,
        who: Attempter<'_>,
        judge: impl Future<Output = std::result::Result<T, (CoreError, Option<&'static str>)>>,
    ) -> Result<T> {
        let Some(attempt) = self.throttle.begin(who.identity, who.addr).await? else {
            crate::metrics::record_login(who.dialect, who.mode, false);
            return Err(self.refuse_locked(who.event(AuditKind::LoginFailed)).await);
        };
        let (result, why) = match judge.await {
            Ok(v) => (Ok(v), None),
            Err((e, why)) => (Err(e), why),
        };
        crate::metrics::record_login(who.dialect, who.mode, result.is_ok());
        match &result {
            Ok(_) => {
                if let Err(e) = attempt.succeeded().await {
                    tracing::error!(error = %e, "giving back a login attempt's place failed");
                }
            }
            Err(CoreError::BadCredentials) => {
                self.audit(
                    who.event(AuditKind::LoginFailed)
                        .reason(why.unwrap_or("bad_credentials")),
                );
                match attempt.failed().await {
                    Ok(f) => {
                        if f.account_locked {
                            self.audit(who.event(AuditKind::AccountLocked));
                        }
                        if f.address_blocked {
                            self.audit(AuditEvent::new(AuditKind::AddressBlocked).address(who.addr));
                        }
                        tokio::time::sleep(f.delay).await;
                    }
                    Err(e) => tracing::error!(error = %e, "counting a failed login failed"),
                }
            }
            Err(e) => {
                self.audit(
                    who.event(AuditKind::LoginFailed)
                        .reason(why.unwrap_or(reason_of(e))),
                );
                if let Err(e) = attempt.withdrawn().await {
                    tracing::error!(error = %e, "giving back a login attempt's place failed");
                }
            }
        }
        result
    }

    /// Ends an account's lock (`vestibule user unlock`); `true` if it was locked. The name is
    /// taken as typed and normalised like a login's.
    pub async fn unlock_account(&self, account: &str) -> Result<bool> {
        let name = normalize(account);
        let identity = match self.directory().user_by_name(&name).await? {
            Some(u) => account_key(&u.username),
            None => account_key(&name),
        };
        let was = self.throttle.unlock(&identity).await?;
        self.audit(
            AuditEvent::new(AuditKind::AccountUnlocked)
                .user(account)
                .identity(&identity),
        );
        Ok(was)
    }

    /// The answer to a refused attempt: what a wrong password gets.
    async fn refuse_locked(&self, event: AuditEvent) -> CoreError {
        let _ = self.directory.hasher().verify("locked", None).await;
        self.audit(event.reason("locked"));
        tokio::time::sleep(self.throttle.locked_delay()).await;
        CoreError::BadCredentials
    }
}

fn external_error(e: ExternalAuthError) -> CoreError {
    match e {
        ExternalAuthError::BadCredentials => CoreError::BadCredentials,
        ExternalAuthError::Unavailable(m) => CoreError::Unavailable(m),
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
