//! The one configuration struct, loaded as defaults ← TOML file ← `VESTIBULE_*` environment ← flags,
//! and validated once at start with messages a person understands.
//!
//! Every leaf setting `section.key` can also be given as the environment variable
//! `VESTIBULE_SECTION_KEY` (top-level keys as `VESTIBULE_KEY`). Values that mean "not set" are
//! empty strings rather than options, so that every setting has a name in the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Environment variables that start with `VESTIBULE_` but are not settings.
const NOT_SETTINGS: &[&str] = &["VESTIBULE_ADMIN_PASSWORD", "VESTIBULE_CONFIG"];
const NOT_SETTINGS_PREFIXES: &[&str] = &["VESTIBULE_TEST_", "VESTIBULE_BENCH_", "VESTIBULE_COMPAT_"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: String,
    /// Directory of the embedded store (one SQLite file), created on first start.
    pub data_dir: PathBuf,
    /// The MicroStrategy Library context path the API is also served under.
    pub context_path: String,
    /// Name of the project made at first start.
    pub default_project: String,
    pub session: SessionConfig,
    pub password: PasswordConfig,
    pub auth: AuthConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
    pub thoughtspot: ThoughtSpotConfig,
    pub ldap: crate::auth_config::LdapConfig,
    pub throttle: crate::auth_config::ThrottleConfig,
    pub audit: crate::auth_config::AuditConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Intelligence Server session idle timeout, reported by `GET /api/sessions` as `timeout`.
    pub server_timeout_secs: u64,
    /// HTTP session (`JSESSIONID`) idle timeout; must be greater than `server_timeout_secs`.
    pub http_timeout_secs: u64,
    /// Refuse an auth token sent without the `JSESSIONID` cookie it was issued with.
    pub require_cookie: bool,
    /// How often expired sessions are swept from the store.
    pub sweep_interval_secs: u64,
    /// How often keep-alive times are written to the durable store.
    pub flush_interval_ms: u64,
    /// Lifetime of an identity token made by `POST /api/auth/identityToken`.
    pub identity_token_ttl_secs: u64,
    /// `Secure` on session cookies: "auto" (when the request came over TLS, as told by
    /// `X-Forwarded-Proto: https`), "always" or "never".
    pub cookie_secure: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// argon2id memory cost in KiB (OWASP: 19456 = 19 MiB).
    pub memory_kib: u32,
    /// argon2id iterations (OWASP: 2).
    pub iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub parallelism: u32,
    /// How many hashing threads run argon2id (so how many hashes at once); 0 = one per core.
    pub max_concurrent: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Allow anonymous (Guest, loginMode 8) logins.
    pub guest_enabled: bool,
    /// loginMode used when a login request names none.
    pub default_login_mode: i64,
    /// Lifetime of API tokens (loginMode 4096); 0 = until revoked.
    pub api_token_ttl_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// "embedded" (sessions in memory with durable copies in the SQLite file) or a `redis://` URL.
    pub sessions: String,
    /// "embedded" (the SQLite file in the data directory) or a `postgres://` URL.
    pub metadata: String,
    /// Seconds a store operation may take before the request answers 503.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// "text" or "json".
    pub format: String,
    /// A tracing filter, e.g. "info" or "vestibule=debug".
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ThoughtSpotConfig {
    /// Idle timeout of a ThoughtSpot cookie session without remember-me (3 h).
    pub session_idle_secs: u64,
    /// Idle timeout of a remember-me session (7 days).
    pub remember_me_secs: u64,
    /// Require `X-Requested-By` on state-changing v1 requests (CSRF defence).
    pub require_requested_by: bool,
    /// How ThoughtSpot password logins are checked: "standard" (local users) or "ldap" (the
    /// `ldap` section's directory).
    pub login_mode: String,
    /// How long a v1 trusted-authentication token stays valid after a newer one is minted with
    /// the same key (ThoughtSpot: five minutes).
    pub trusted_token_grace_secs: u64,
    /// Upper bound on a v1 trusted token's life even if no newer one is ever minted.
    pub trusted_token_max_secs: u64,
    /// Lifetime of the bearer token `GET /api/rest/2.0/auth/session/token` mints (24 h).
    pub session_token_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./vestibule-data"),
            context_path: "/MicroStrategyLibrary".into(),
            default_project: "Default Project".into(),
            session: SessionConfig::default(),
            password: PasswordConfig::default(),
            auth: AuthConfig::default(),
            store: StoreConfig::default(),
            log: LogConfig::default(),
            thoughtspot: ThoughtSpotConfig::default(),
            ldap: Default::default(),
            throttle: Default::default(),
            audit: Default::default(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            server_timeout_secs: 1800,
            http_timeout_secs: 2400,
            require_cookie: true,
            sweep_interval_secs: 30,
            flush_interval_ms: 1000,
            identity_token_ttl_secs: 300,
            cookie_secure: "auto".into(),
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            guest_enabled: false,
            default_login_mode: 1,
            api_token_ttl_secs: 0,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            sessions: "embedded".into(),
            metadata: "embedded".into(),
            timeout_secs: 5,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

impl Default for ThoughtSpotConfig {
    fn default() -> Self {
        ThoughtSpotConfig {
            session_idle_secs: 3 * 3600,
            remember_me_secs: 7 * 24 * 3600,
            require_requested_by: true,
            login_mode: "standard".into(),
            trusted_token_grace_secs: 300,
            trusted_token_max_secs: 24 * 3600,
            session_token_secs: 24 * 3600,
        }
    }
}

/// A configuration problem, worded for the person who wrote the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

impl Config {
    /// Defaults, then the TOML file (if any), then `VESTIBULE_*` variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut value = toml::Value::try_from(Config::default())
            .map_err(|e| ConfigError(format!("internal: default configuration: {e}")))?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!("cannot read configuration file {}: {e}", path.display()))
            })?;
            let from_file: toml::Value = text.parse().map_err(|e: toml::de::Error| {
                // The line the parser stopped at, so the person can find it.
                let line = e
                    .span()
                    .map(|s| {
                        format!(
                            ", line {}",
                            text.get(..s.start).unwrap_or(&text).matches('\n').count() + 1
                        )
                    })
                    .unwrap_or_default();
                ConfigError(format!(
                    "configuration file {}{line}: {}",
                    path.display(),
                    one_line(e.message())
                ))
            })?;
            merge(&mut value, from_file, "")?;
        }
        apply_env(&mut value, env)?;
        let config: Config = value
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(format!("configuration: {}", one_line(e.message()))))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules that span settings. Every message names the setting and what is allowed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return err(format!(
                "listen: '{}' is not an address and port such as 127.0.0.1:8080",
                self.listen
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            return err("data_dir: must not be empty");
        }
        // The path becomes a route prefix and a cookie `Path`: plain URL segments only.
        let segment_ok = |seg: &str| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        };
        if !self.context_path.is_empty()
            && (!self.context_path.starts_with('/')
                || self.context_path.starts_with("/api")
                || !self.context_path[1..].split('/').all(segment_ok))
        {
            return err(format!(
                "context_path: '{}' must be '/' followed by segments of letters, digits, '-', '_', '.' or '~', not end with '/' and not start with /api (e.g. /MicroStrategyLibrary)",
                self.context_path
            ));
        }
        let s = &self.session;
        if s.server_timeout_secs == 0 {
            return err("session.server_timeout_secs: must be at least 1");
        }
        if s.http_timeout_secs <= s.server_timeout_secs {
            return err(format!(
                "session.http_timeout_secs ({}) must be greater than session.server_timeout_secs ({}): the HTTP session must outlive the server session it carries",
                s.http_timeout_secs, s.server_timeout_secs
            ));
        }
        if s.sweep_interval_secs == 0 {
            return err("session.sweep_interval_secs: must be at least 1");
        }
        if s.flush_interval_ms == 0 {
            return err("session.flush_interval_ms: must be at least 1");
        }
        if s.identity_token_ttl_secs == 0 {
            return err("session.identity_token_ttl_secs: must be at least 1");
        }
        if !matches!(s.cookie_secure.as_str(), "auto" | "always" | "never") {
            return err(format!(
                "session.cookie_secure: '{}' is not one of auto, always, never",
                s.cookie_secure
            ));
        }
        let p = &self.password;
        if p.memory_kib < 8 * p.parallelism.max(1) || p.iterations == 0 || p.parallelism == 0 {
            return err(
                "password: memory_kib must be at least 8 per lane, iterations and parallelism at least 1",
            );
        }
        if ![1, 8, 16, 4096].contains(&self.auth.default_login_mode) {
            return err(format!(
                "auth.default_login_mode: {} is not one of 1 (standard), 8 (guest), 16 (LDAP), 4096 (API token)",
                self.auth.default_login_mode
            ));
        }
        let sessions = &self.store.sessions;
        if sessions != "embedded" && !sessions.starts_with("redis://") && !sessions.starts_with("rediss://") {
            return err(format!(
                "store.sessions: '{sessions}' is neither 'embedded' nor a redis:// URL"
            ));
        }
        let metadata = &self.store.metadata;
        if metadata != "embedded"
            && !metadata.starts_with("postgres://")
            && !metadata.starts_with("postgresql://")
        {
            return err(format!(
                "store.metadata: '{metadata}' is neither 'embedded' nor a postgres:// URL"
            ));
        }
        if self.store.timeout_secs == 0 {
            return err("store.timeout_secs: must be at least 1");
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return err(format!(
                "log.format: '{}' is not one of text, json",
                self.log.format
            ));
        }
        let t = &self.thoughtspot;
        if t.session_idle_secs == 0 || t.remember_me_secs == 0 {
            return err("thoughtspot.session_idle_secs and thoughtspot.remember_me_secs: must be at least 1");
        }
        if t.trusted_token_grace_secs == 0 || t.trusted_token_max_secs == 0 || t.session_token_secs == 0 {
            return err("thoughtspot.trusted_token_grace_secs, trusted_token_max_secs and session_token_secs: must be at least 1");
        }
        if !matches!(t.login_mode.as_str(), "standard" | "ldap") {
            return err(format!(
                "thoughtspot.login_mode: '{}' is not one of standard, ldap",
                t.login_mode
            ));
        }
        if t.login_mode == "ldap" && !self.ldap.enabled() {
            return err("thoughtspot.login_mode: 'ldap' needs ldap.url to be set");
        }
        crate::auth_config::validate(self)?;
        if self.default_project.trim().is_empty() {
            return err("default_project: must not be empty");
        }
        Ok(())
    }

    /// The names of every setting as environment variables, with their defaults (for the docs).
    pub fn env_names() -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Ok(v) = toml::Value::try_from(Config::default()) {
            for (path, leaf) in leaves(&v, "") {
                out.insert(env_name(&path), leaf.to_string());
            }
        }
        out
    }
}

/// A parser message on one line: configuration errors are reported as a single line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn env_name(path: &str) -> String {
    format!("VESTIBULE_{}", path.replace('.', "_").to_uppercase())
}

fn leaves<'a>(v: &'a toml::Value, prefix: &str) -> Vec<(String, &'a toml::Value)> {
    match v {
        toml::Value::Table(t) => t
            .iter()
            .flat_map(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &path)
            })
            .collect(),
        _ => vec![(prefix.to_string(), v)],
    }
}

/// Every unknown setting and wrong type of `from` against the defaults, not just the first.
fn structure_problems(defaults: &toml::Value, from: &toml::Value, prefix: &str, out: &mut Vec<ConfigError>) {
    match (defaults, from) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            for (k, v) in b {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match a.get(k) {
                    Some(slot) => structure_problems(slot, v, &path, out),
                    None => out.push(ConfigError(format!("unknown setting '{path}'"))),
                }
            }
        }
        (slot, v) if std::mem::discriminant(slot) != std::mem::discriminant(v) => out.push(ConfigError(
            format!("{prefix}: expected {}, found {}", slot.type_str(), v.type_str()),
        )),
        _ => {}
    }
}

impl Config {
    /// Every problem `vestibule check-config` can name: all the unknown settings and wrong types
    /// of the file at once, else the first problem [`Config::load`] finds (syntax, environment,
    /// rules across settings). Empty when the configuration is valid.
    pub fn check(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Vec<ConfigError> {
        if let Some(path) = file {
            let parsed = std::fs::read_to_string(path)
                .ok()
                .and_then(|text| text.parse::<toml::Value>().ok());
            if let (Some(from_file), Ok(defaults)) = (parsed, toml::Value::try_from(Config::default())) {
                let mut out = Vec::new();
                structure_problems(&defaults, &from_file, "", &mut out);
                if !out.is_empty() {
                    return out;
                }
            }
        }
        Config::load(file, env).err().into_iter().collect()
    }
}

/// Overlays `from` onto `into`, refusing keys the defaults do not have.
fn merge(into: &mut toml::Value, from: toml::Value, prefix: &str) -> Result<(), ConfigError> {
    match (into, from) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            for (k, v) in b {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match a.get_mut(&k) {
                    Some(slot) => merge(slot, v, &path)?,
                    None => return err(format!("unknown setting '{path}'")),
                }
            }
            Ok(())
        }
        (slot, v) => {
            if std::mem::discriminant(slot) != std::mem::discriminant(&v) {
                return err(format!(
                    "{prefix}: expected {}, found {}",
                    slot.type_str(),
                    v.type_str()
                ));
            }
            *slot = v;
            Ok(())
        }
    }
}

fn apply_env(
    value: &mut toml::Value,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let known: BTreeMap<String, String> = leaves(value, "")
        .into_iter()
        .map(|(path, _)| (env_name(&path), path))
        .collect();
    for (name, raw) in env {
        if !name.starts_with("VESTIBULE_")
            || NOT_SETTINGS.contains(&name.as_str())
            || NOT_SETTINGS_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            continue;
        }
        let Some(path) = known.get(&name) else {
            return err(format!("{name}: no such setting (see docs/configuration.md)"));
        };
        let slot = lookup_mut(value, path)
            .ok_or_else(|| ConfigError(format!("internal: setting {path} vanished")))?;
        *slot = match slot {
            toml::Value::String(_) => toml::Value::String(raw),
            toml::Value::Integer(_) => toml::Value::Integer(
                raw.trim()
                    .parse()
                    .map_err(|_| ConfigError(format!("{name}: '{raw}' is not a whole number")))?,
            ),
            toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return err(format!("{name}: '{raw}' is not true or false")),
            }),
            other => {
                return err(format!(
                    "{name}: cannot set a {} from the environment",
                    other.type_str()
                ))
            }
        };
    }
    Ok(())
}

fn lookup_mut<'a>(v: &'a mut toml::Value, path: &str) -> Option<&'a mut toml::Value> {
    path.split('.').try_fold(v, |v, k| v.get_mut(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::load(None, vec![]).unwrap(), Config::default());
    }

    #[test]
    fn env_overrides_and_types_are_checked() {
        let c = Config::load(
            None,
            env(&[
                ("VESTIBULE_LISTEN", "127.0.0.1:9"),
                ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "5"),
                ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "6"),
                ("VESTIBULE_AUTH_GUEST_ENABLED", "true"),
                ("VESTIBULE_ADMIN_PASSWORD", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9");
        assert_eq!(c.session.server_timeout_secs, 5);
        assert!(c.auth.guest_enabled);
        let e = Config::load(None, env(&[("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "soon")])).unwrap_err();
        assert!(e.0.contains("not a whole number"), "{e}");
        let e = Config::load(None, env(&[("VESTIBULE_NO_SUCH", "1")])).unwrap_err();
        assert!(e.0.contains("no such setting"), "{e}");
    }

    #[test]
    fn http_timeout_must_exceed_server_timeout() {
        let e = Config::load(
            None,
            env(&[
                ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "60"),
                ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "60"),
            ]),
        )
        .unwrap_err();
        assert!(e.0.contains("must be greater than"), "{e}");
    }

    #[test]
    fn file_keys_are_checked() {
        let dir = std::env::temp_dir().join(format!("vestibule-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("c.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:1\"\n[session]\nserver_timeout_secs = 10\n",
        )
        .unwrap();
        let c = Config::load(Some(&f), vec![]).unwrap();
        assert_eq!(c.session.server_timeout_secs, 10);
        std::fs::write(&f, "[session]\nbogus = 1\n").unwrap();
        assert!(Config::load(Some(&f), vec![])
            .unwrap_err()
            .0
            .contains("unknown setting 'session.bogus'"));
        std::fs::write(&f, "listen = 5\n").unwrap();
        assert!(Config::load(Some(&f), vec![])
            .unwrap_err()
            .0
            .contains("expected string"));
    }
}

#[cfg(test)]
mod docs_tests {
    use super::*;

    /// docs/configuration.md names every setting, so the documentation cannot fall behind.
    #[test]
    fn every_setting_is_documented() {
        let docs = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/configuration.md"
        ))
        .expect("docs/configuration.md");
        let missing: Vec<String> = Config::env_names()
            .into_keys()
            .map(|name| name.trim_start_matches("VESTIBULE_").to_string())
            .filter(|short| !docs.contains(&format!("(`{short}`)")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/configuration.md does not document: {missing:?}"
        );
    }
}
