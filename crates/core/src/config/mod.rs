//! The one configuration struct and its sections, with the rules a valid configuration keeps
//! ([`Config::validate`], messages a person understands). Loading it (defaults ← TOML file ←
//! `VESTIBULE_*` environment ← flags) is the binary's job.
//!
//! Values that mean "not set" are empty strings rather than options, so that every setting has a
//! name in the environment.

mod login;
mod saml;
mod server;
mod sso;

pub use login::{AuditConfig, LdapConfig, ThrottleConfig};
pub use server::ServerConfig;
pub use sso::{OidcProviderConfig, SamlProviderConfig, SsoConfig};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
    pub server: ServerConfig,
    pub session: SessionConfig,
    pub password: PasswordConfig,
    pub auth: AuthConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
    pub thoughtspot: ThoughtSpotConfig,
    pub ldap: LdapConfig,
    pub throttle: ThrottleConfig,
    pub audit: AuditConfig,
    pub sso: SsoConfig,
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
    /// `SameSite` on session cookies: "" (none written: browsers treat them as `Lax`), "lax",
    /// "strict" or "none" (cross-site embedding; the cookies are then always `Secure`).
    pub cookie_same_site: String,
    /// `Partitioned` (CHIPS) on session cookies: a page embedding vestibule from another site
    /// keeps them in its own partition, so they work where browsers block third-party cookies.
    /// Implies `Secure`; use with `cookie_same_site = "none"`.
    pub cookie_partitioned: bool,
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
    /// "embedded" (sessions in memory with durable copies in the SQLite file), a `redis://` URL,
    /// or a Redis Cluster as `redis+cluster://host:port,host:port` (some of its nodes).
    pub sessions: String,
    /// "embedded" (the SQLite file in the data directory) or a `postgres://` URL.
    pub metadata: String,
    /// Seconds a store operation may take before the request answers 503.
    pub timeout_secs: u64,
    /// Replicas that must acknowledge each login, logout and grant in Redis (`WAIT` on the
    /// master that took it) before it is answered; 0 (default): none waited for.
    pub redis_wait_replicas: u32,
    /// With sessions in Redis: how many sessions each node keeps a copy of, so that their checks
    /// answer without Redis (a logout still waits until every node dropped its copy); 0: none.
    pub redis_cache_sessions: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// "text" or "json".
    pub format: String,
    /// A tracing filter, e.g. "info" or "vestibule=debug".
    pub level: String,
    /// The level of the access line written for every request (target `vestibule::access`):
    /// "info" (default), "debug", "trace", "warn", "error" or "off". The filter in `level` still
    /// decides whether a line of that level is written.
    pub access: String,
    /// Whether the health probes (`/health/live`, `/health/ready`) get access lines too.
    pub access_health: bool,
}

/// The values `log.access` takes.
pub const ACCESS_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

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
            server: ServerConfig::default(),
            session: SessionConfig::default(),
            password: PasswordConfig::default(),
            auth: AuthConfig::default(),
            store: StoreConfig::default(),
            log: LogConfig::default(),
            thoughtspot: ThoughtSpotConfig::default(),
            ldap: Default::default(),
            throttle: Default::default(),
            audit: Default::default(),
            sso: Default::default(),
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
            cookie_same_site: String::new(),
            cookie_partitioned: false,
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
            redis_wait_replicas: 0,
            redis_cache_sessions: 1_000_000,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            level: "info".into(),
            access: "info".into(),
            access_health: false,
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

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

impl Config {
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
        if !matches!(s.cookie_same_site.as_str(), "" | "lax" | "strict" | "none") {
            return err(format!(
                "session.cookie_same_site: '{}' is not one of lax, strict, none (or empty)",
                s.cookie_same_site
            ));
        }
        if s.cookie_same_site == "none" && s.cookie_secure == "never" {
            return err(
                "session.cookie_same_site: 'none' needs Secure cookies, but session.cookie_secure is 'never'",
            );
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
        if sessions != "embedded"
            && !["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"]
                .iter()
                .any(|scheme| sessions.starts_with(scheme))
        {
            return err(format!(
                "store.sessions: '{sessions}' is neither 'embedded' nor a redis:// or redis+cluster:// URL"
            ));
        }
        if self.store.redis_wait_replicas > 0 && sessions == "embedded" {
            return err("store.redis_wait_replicas: needs store.sessions in Redis");
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
        if !ACCESS_LEVELS.contains(&self.log.access.as_str()) {
            return err(format!(
                "log.access: '{}' is not one of {}",
                self.log.access,
                ACCESS_LEVELS.join(", ")
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
        self.server.validate()?;
        self.ldap.validate()?;
        self.throttle.validate()?;
        self.audit.validate()?;
        self.sso.validate()?;
        if self.default_project.trim().is_empty() {
            return err("default_project: must not be empty");
        }
        Ok(())
    }
}
