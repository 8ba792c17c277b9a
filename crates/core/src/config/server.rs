//! The `server` section: the HTTP edge (how long a connection may take to send its request or
//! sit idle, how many may be open) and which peers are trusted to say who the client is.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::{err, ConfigError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Addresses or CIDR ranges, separated by commas, of the proxies allowed to set the client's
    /// address (`X-Forwarded-For`, `Forwarded`) and scheme (`X-Forwarded-Proto`); from any other
    /// peer those headers are ignored. Empty = no proxy is trusted.
    pub trusted_proxies: String,
    /// The forwarding header those proxies write, and the only one read: `x-forwarded-for` (with
    /// `X-Forwarded-Proto`) or `forwarded` (RFC 7239).
    pub forwarded_header: String,
    /// Seconds a connection has to send a request's whole header.
    pub header_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    pub idle_timeout_secs: u64,
    /// Seconds a request has to send its whole body once the handler reads it.
    pub body_read_timeout_secs: u64,
    /// Open connections at most; one more is closed at once. `0` = a cap derived from the
    /// process's open-file limit (leaving room for stores, the directory and logs).
    pub max_connections: u64,
    /// Origins (`https://app.example.com`, comma-separated) of the pages that embed vestibule:
    /// they may call the APIs from the browser with its cookies (CORS), the sign-in pop-ups post
    /// their result to them, and a sign-in may end on a URL there.
    pub allowed_origins: String,
    /// PEM file of the certificate chain served over TLS (the leaf first); with
    /// `tls_key_file`. Empty = plain HTTP. Both are read again on SIGHUP and when they change.
    pub tls_cert_file: String,
    /// PEM file of the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key_file: String,
    /// A second address (`127.0.0.1:9090`) that serves `/metrics` and the health probes, plain
    /// HTTP; when set, `/metrics` is no longer served on `listen`. Empty = `/metrics` on `listen`.
    pub metrics_listen: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            trusted_proxies: String::new(),
            forwarded_header: "x-forwarded-for".into(),
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            body_read_timeout_secs: 30,
            max_connections: 0,
            allowed_origins: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            metrics_listen: String::new(),
        }
    }
}

impl ServerConfig {
    /// Whether the server speaks TLS itself.
    pub fn tls(&self) -> bool {
        !self.tls_cert_file.is_empty()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.trusted_proxy_nets()?;
        if !matches!(self.forwarded_header.as_str(), "x-forwarded-for" | "forwarded") {
            return err(format!(
                "server.forwarded_header: '{}' is not one of x-forwarded-for, forwarded",
                self.forwarded_header
            ));
        }
        if self.header_read_timeout_secs == 0
            || self.idle_timeout_secs == 0
            || self.body_read_timeout_secs == 0
        {
            return err(
                "server.header_read_timeout_secs, server.idle_timeout_secs and server.body_read_timeout_secs: must be at least 1",
            );
        }
        if self.tls_cert_file.is_empty() != self.tls_key_file.is_empty() {
            return err(
                "server.tls_cert_file and server.tls_key_file: set both (TLS) or neither (plain HTTP)",
            );
        }
        if !self.metrics_listen.is_empty() && self.metrics_listen.parse::<std::net::SocketAddr>().is_err() {
            return err(format!(
                "server.metrics_listen: '{}' is not an address and port such as 127.0.0.1:9090",
                self.metrics_listen
            ));
        }
        for origin in self.allowed_origins() {
            super::sso::check_url("server.allowed_origins", origin)?;
            let after_scheme = origin.split_once("://").map_or("", |(_, r)| r);
            if after_scheme.contains(['/', '@']) {
                return err(format!(
                    "server.allowed_origins: '{origin}' is not an origin (scheme, host and port; no path)"
                ));
            }
        }
        Ok(())
    }

    /// The entries of `allowed_origins`.
    pub fn allowed_origins(&self) -> impl Iterator<Item = &str> {
        self.allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
    }

    /// Whether `origin` (an `Origin` header's value) is one of `allowed_origins`.
    pub fn is_allowed_origin(&self, origin: &str) -> bool {
        self.allowed_origins().any(|o| o == origin)
    }

    /// `trusted_proxies` parsed: a bare address is a range of one.
    pub fn trusted_proxy_nets(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        ConfigError(format!(
                            "server.trusted_proxies: '{s}' is neither an address nor a CIDR range such as 10.0.0.0/8"
                        ))
                    })
            })
            .collect()
    }
}
