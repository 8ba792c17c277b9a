//! A small pool of LDAP connections, each returned to the pool bound as the search account.
//!
//! A connection that saw any error other than an LDAP result code is dropped, never reused, so a
//! directory that restarts costs at most one retry: a pooled connection that fails its first bind
//! is replaced by a fresh one at once.

use std::sync::Mutex;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError};
use tokio::sync::{Semaphore, SemaphorePermit};

use vestibule_core::config::ConfigError;
use vestibule_core::config::LdapConfig;

/// Why a pool operation failed.
#[derive(Debug)]
pub enum PoolError {
    /// The directory answered with a result code (e.g. 49 for a refused bind).
    Refused(u32, String),
    /// No answer: network, TLS, timeout, closed connection.
    Down(String),
}

impl From<LdapError> for PoolError {
    fn from(e: LdapError) -> Self {
        match e {
            LdapError::LdapResult { result } => PoolError::Refused(result.rc, result.text),
            other => PoolError::Down(other.to_string()),
        }
    }
}

pub struct Pool {
    url: String,
    settings: LdapConnSettings,
    bind_dn: String,
    bind_password: String,
    op_timeout: Duration,
    idle: Mutex<Vec<Ldap>>,
    max_idle: usize,
    /// Bounds the connections in use at once, so a storm of logins cannot open hundreds.
    busy: Semaphore,
}

impl Pool {
    pub fn new(config: &LdapConfig) -> Result<Pool, ConfigError> {
        let mut tls = native_tls::TlsConnector::builder();
        if !config.tls_verify {
            tls.danger_accept_invalid_certs(true);
        }
        if !config.ca_file.is_empty() {
            let pem = std::fs::read(&config.ca_file)
                .map_err(|e| ConfigError(format!("ldap.ca_file: cannot read {}: {e}", config.ca_file)))?;
            let ca = native_tls::Certificate::from_pem(&pem).map_err(|e| {
                ConfigError(format!(
                    "ldap.ca_file: {} is not a PEM certificate: {e}",
                    config.ca_file
                ))
            })?;
            tls.add_root_certificate(ca);
        }
        let connector = tls
            .build()
            .map_err(|e| ConfigError(format!("ldap: cannot set up TLS: {e}")))?;
        let settings = LdapConnSettings::new()
            .set_conn_timeout(Duration::from_secs(config.connect_timeout_secs))
            .set_starttls(config.starttls)
            .set_connector(connector);
        Ok(Pool {
            url: config.url.clone(),
            settings,
            bind_dn: config.bind_dn.clone(),
            bind_password: config.bind_password.clone(),
            op_timeout: Duration::from_secs(config.operation_timeout_secs),
            idle: Mutex::new(Vec::new()),
            max_idle: config.pool_size as usize,
            busy: Semaphore::new((config.pool_size as usize * 4).max(4)),
        })
    }

    /// A turn to use a connection; held for the whole login.
    pub async fn turn(&self) -> Result<SemaphorePermit<'_>, PoolError> {
        self.busy
            .acquire()
            .await
            .map_err(|_| PoolError::Down("the LDAP pool is closed".into()))
    }

    pub fn op_timeout(&self) -> Duration {
        self.op_timeout
    }

    async fn connect(&self) -> Result<Ldap, PoolError> {
        let (conn, ldap) = LdapConnAsync::with_settings(self.settings.clone(), &self.url).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection closed");
            }
        });
        Ok(ldap)
    }

    /// Binds `ldap` as the search account (anonymously when none is configured).
    pub async fn bind_search(&self, ldap: &mut Ldap) -> Result<(), PoolError> {
        ldap.with_timeout(self.op_timeout)
            .simple_bind(&self.bind_dn, &self.bind_password)
            .await?
            .success()?;
        Ok(())
    }

    /// A connection bound as the search account: an idle one if it still works, else a new one.
    pub async fn checkout(&self) -> Result<Ldap, PoolError> {
        loop {
            let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
            let Some(mut ldap) = idle else { break };
            match self.bind_search(&mut ldap).await {
                Ok(()) => return Ok(ldap),
                Err(PoolError::Refused(rc, text)) => return Err(PoolError::Refused(rc, text)),
                // A stale connection (the directory restarted): try the next one, then a new one.
                Err(PoolError::Down(_)) => continue,
            }
        }
        let mut ldap = self.connect().await?;
        self.bind_search(&mut ldap).await?;
        Ok(ldap)
    }

    /// Returns a healthy connection, bound as the search account, to the pool.
    pub fn checkin(&self, mut ldap: Ldap) {
        if ldap.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.max_idle {
                idle.push(ldap);
            }
        }
    }
}
