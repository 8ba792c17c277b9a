//! The audit log: one JSON line per authentication event (logins, logouts, delegation, tokens
//! minted, lockouts) and per schema lock, unlock and reload, written to stdout or appended to a
//! file, as `audit.target` says.
//!
//! An event has only fixed fields: names, ids, modes, addresses and a fixed reason word. There is
//! no field that could carry a password, a token or a secret, so none can reach the log; a user
//! name is cut to 256 characters because it is whatever the client typed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::sync::Mutex;

use serde::Serialize;

use crate::clock::{now_ms, rfc3339_ms};
use crate::config::ConfigError;
use crate::ids::Guid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    LoginSucceeded,
    LoginFailed,
    Logout,
    Delegation,
    IdentityTokenMinted,
    TrustedTokenMinted,
    AccountLocked,
    AccountUnlocked,
    AddressBlocked,
    SchemaLocked,
    SchemaUnlocked,
    SchemaReloaded,
}

/// One event. Build it with [`AuditEvent::new`] and the setters, then hand it to
/// [`crate::Core::audit`].
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub event: AuditKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The identity a login name resolved to (its failed-login budget's key), when it differs
    /// from nothing typed: lets a reader see that `" Alice"` and `alice` were one account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_mode: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// "mstr" or "thoughtspot" when the event came through an API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<&'static str>,
    /// Why a login failed or what a token is for: a fixed word, never input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The object a scoped token is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The single sign-on provider (`sso.oidc[].id`) a sign-in came through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The provider's identifier of the user (`sub`): not a secret, and what links the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The project whose schema was locked, unlocked or reloaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl AuditEvent {
    pub fn new(event: AuditKind) -> Self {
        AuditEvent {
            event,
            user: None,
            identity: None,
            user_id: None,
            login_mode: None,
            address: None,
            dialect: None,
            reason: None,
            object: None,
            provider: None,
            subject: None,
            project: None,
        }
    }

    pub fn user(mut self, name: &str) -> Self {
        self.user = Some(name.chars().take(256).collect());
        self
    }

    pub fn identity(mut self, identity: &str) -> Self {
        self.identity = Some(identity.chars().take(256).collect());
        self
    }

    pub fn user_id(mut self, id: Guid) -> Self {
        self.user_id = Some(id.to_hex());
        self
    }

    pub fn mode(mut self, login_mode: i32) -> Self {
        self.login_mode = Some(login_mode);
        self
    }

    pub fn address(mut self, address: Option<IpAddr>) -> Self {
        self.address = address.map(|a| a.to_string());
        self
    }

    pub fn dialect(mut self, dialect: &'static str) -> Self {
        self.dialect = Some(dialect);
        self
    }

    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn provider(mut self, provider: &str) -> Self {
        self.provider = Some(provider.chars().take(64).collect());
        self
    }

    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = Some(subject.chars().take(256).collect());
        self
    }

    pub fn object(mut self, object: Guid) -> Self {
        self.object = Some(object.to_hex());
        self
    }

    pub fn project(mut self, project: Guid) -> Self {
        self.project = Some(project.to_hex());
        self
    }
}

enum Target {
    Off,
    Stdout,
    Stderr,
    File(Mutex<File>),
}

/// Where events go. Writes are one `write_all` of a whole line, so lines from concurrent
/// requests (and from a CLI appending to the same file) never interleave.
pub struct AuditLog {
    target: Target,
}

impl AuditLog {
    /// Opens the target named by `audit.target`.
    pub fn open(target: &str) -> Result<AuditLog, ConfigError> {
        let target = match target {
            "off" => Target::Off,
            "stdout" => Target::Stdout,
            "stderr" => Target::Stderr,
            other => match other.strip_prefix("file:") {
                Some(path) if !path.is_empty() => {
                    let file = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| ConfigError(format!("audit.target: cannot open {path}: {e}")))?;
                    Target::File(Mutex::new(file))
                }
                _ => {
                    return Err(ConfigError(format!(
                        "audit.target: '{other}' is not one of stdout, stderr, off, file:/path"
                    )))
                }
            },
        };
        Ok(AuditLog { target })
    }

    pub fn off() -> AuditLog {
        AuditLog { target: Target::Off }
    }

    pub fn record(&self, event: &AuditEvent) {
        if matches!(self.target, Target::Off) {
            return;
        }
        // `{"ts":"…",` and then the event's own fields: the event serialized as an object, less
        // its opening brace (cheaper than `#[serde(flatten)]`, which buffers every field; mints
        // write one line each, thousands per second).
        let mut text = Vec::with_capacity(256);
        text.extend_from_slice(b"{\"ts\":\"");
        text.extend_from_slice(rfc3339_ms(now_ms()).as_bytes());
        text.extend_from_slice(b"\",");
        let fields = text.len();
        if serde_json::to_writer(&mut text, event).is_err() || text.get(fields) != Some(&b'{') {
            return;
        }
        text.remove(fields);
        text.push(b'\n');
        let result = match &self.target {
            Target::Off => Ok(()),
            Target::Stdout => std::io::stdout().lock().write_all(&text),
            Target::Stderr => std::io::stderr().lock().write_all(&text),
            Target::File(f) => match f.lock() {
                Ok(mut f) => f.write_all(&text),
                Err(_) => Ok(()),
            },
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "writing the audit log failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_one_json_line_each() {
        let dir = std::env::temp_dir().join(format!("vestibule-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.log");
        let log = AuditLog::open(&format!("file:{}", path.display())).unwrap();
        log.record(
            &AuditEvent::new(AuditKind::LoginFailed)
                .user("bob\n{\"event\":\"forged\"}")
                .mode(1)
                .reason("bad_credentials"),
        );
        log.record(&AuditEvent::new(AuditKind::Logout).user("bob"));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "login_failed");
        assert_eq!(lines[0]["login_mode"], 1);
        assert_eq!(lines[1]["event"], "logout");
        assert!(lines[0]["ts"].as_str().unwrap().ends_with('Z'));
        // The time first, then the event's fields in their order.
        let first = text.lines().next().unwrap();
        assert!(first.starts_with("{\"ts\":\""), "{first}");
        assert!(
            first.contains("Z\",\"event\":\"login_failed\",\"user\":"),
            "{first}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
