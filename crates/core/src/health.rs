//! Readiness: whether each store and directory this node depends on answers, every one within
//! a short timeout, for `/health/ready` and `vestibule healthcheck`. Liveness needs no check:
//! a process that answers is live.

use std::future::Future;
use std::time::Duration;

use crate::core::Core;

/// One dependency's answer: `error` says why it is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `metadata` (users, groups, the model), `sessions`, `login_budgets`, `ldap`.
    pub name: &'static str,
    pub error: Option<String>,
}

async fn check<E: std::fmt::Display>(
    name: &'static str,
    timeout: Duration,
    ping: impl Future<Output = Result<(), E>>,
) -> Check {
    let error = match tokio::time::timeout(timeout, ping).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} ms", timeout.as_millis())),
    };
    Check { name, error }
}

impl Core {
    /// Pings every configured store and the LDAP directory at once, each bounded by `timeout`.
    pub async fn readiness(&self, timeout: Duration) -> Vec<Check> {
        let ldap = async {
            match &self.external {
                Some(dir) => Some(check("ldap", timeout, dir.ping()).await),
                None => None,
            }
        };
        let (metadata, sessions, budgets, ldap) = tokio::join!(
            check("metadata", timeout, self.directory.ping()),
            check("sessions", timeout, self.sessions.ping()),
            check("login_budgets", timeout, self.throttle.ping()),
            ldap,
        );
        let mut out = vec![metadata, sessions, budgets];
        out.extend(ldap);
        out
    }
}
