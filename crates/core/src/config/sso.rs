//! The `sso` section: single sign-on. `public_url` is the base URL browsers see (redirect URIs
//! are built from it); each `[[sso.oidc]]` table is one OpenID Connect provider.
//!
//! Providers are an array of tables, so they are set in the TOML file only (no `VESTIBULE_*`
//! name per provider field); a secret can be kept out of the file with `client_secret_file`.
//!
//! [`OidcProviderConfig`] is also the settings type of the relying party (`vestibule-oidc`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::saml::SamlProviderConfig;
use super::{err, ConfigError};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SsoConfig {
    /// The base URL browsers reach vestibule at (`https://bi.example.com`, no trailing `/`);
    /// needed when a provider is configured.
    pub public_url: String,
    pub oidc: Vec<OidcProviderConfig>,
    pub saml: Vec<SamlProviderConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OidcProviderConfig {
    /// Names the provider in paths and logs: lower-case letters, digits and `-`.
    pub id: String,
    /// The text of the provider's button on the sign-in page.
    pub display_name: String,
    /// The issuer URL; its `/.well-known/openid-configuration` is read when first needed.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// A file holding the client secret (its surrounding white space is ignored), instead of
    /// `client_secret`.
    pub client_secret_file: String,
    pub scopes: Vec<String>,
    /// The ID-token claim that names the user: `preferred_username`, `sub` or `email`.
    pub username_claim: String,
    /// The claim listing the user's groups at the provider; empty = none.
    pub groups_claim: String,
    /// Make a user at first sign-in; otherwise only existing users of this provider sign in.
    pub auto_create: bool,
    /// Provider group → vestibule group: membership of the mapped groups follows the provider's
    /// at every sign-in.
    pub group_map: BTreeMap<String, String>,
}

impl Default for OidcProviderConfig {
    fn default() -> Self {
        OidcProviderConfig {
            id: String::new(),
            display_name: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            client_secret_file: String::new(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            username_claim: "preferred_username".into(),
            groups_claim: String::new(),
            auto_create: false,
            group_map: BTreeMap::new(),
        }
    }
}

/// A provider id: 1 to 64 lower-case letters, digits or `-`, not one `seen` already.
fn check_id<'a>(seen: &mut Vec<&'a str>, kind: &str, id: &'a str) -> Result<(), ConfigError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return err(format!(
            "sso.{kind}.id: '{id}' must be 1 to 64 lower-case letters, digits or '-'"
        ));
    }
    if seen.contains(&id) {
        return err(format!("sso.{kind}.id: '{id}' is given twice"));
    }
    seen.push(id);
    Ok(())
}

/// Whether `url` is `http(s)://host[:port][/path]` without a trailing `/`, query or fragment;
/// plain `http` only to a loopback host (a test provider), never across a network.
pub(super) fn check_url(setting: &str, url: &str) -> Result<(), ConfigError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://").filter(|r| is_loopback(r)));
    let ok = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or("");
        !host.is_empty() && !r.ends_with('/') && !r.contains(['?', '#', ' '])
    });
    if ok {
        Ok(())
    } else {
        err(format!(
            "{setting}: '{url}' is not an https:// URL without a trailing '/' (http:// only to 127.0.0.1, [::1] or localhost)"
        ))
    }
}

fn is_loopback(rest: &str) -> bool {
    let host = rest.split('/').next().unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
}

impl SsoConfig {
    /// The origin (scheme, host and port) of `public_url`, empty when that is unset.
    pub fn public_origin(&self) -> &str {
        let url = &self.public_url;
        let Some((_, rest)) = url.split_once("://") else {
            return "";
        };
        match rest.find('/') {
            Some(i) => &url[..url.len() - rest.len() + i],
            None => url,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.public_url.is_empty() {
            check_url("sso.public_url", &self.public_url)?;
        }
        if !self.oidc.is_empty() && self.public_url.is_empty() {
            return err("sso.public_url: must be set when an [[sso.oidc]] provider is configured (redirect URIs are built from it)");
        }
        if !self.saml.is_empty() && self.public_url.is_empty() {
            return err("sso.public_url: must be set when an [[sso.saml]] provider is configured (the assertion consumer URLs are built from it)");
        }
        // One namespace for the ids of both kinds: they name the user's source and the button.
        let mut seen: Vec<&str> = Vec::new();
        for p in &self.saml {
            check_id(&mut seen, "saml", &p.id)?;
            p.validate()?;
        }
        for p in &self.oidc {
            check_id(&mut seen, "oidc", &p.id)?;
            let at = |field: &str| format!("sso.oidc[{}].{field}", p.id);
            check_url(&at("issuer"), &p.issuer)?;
            if p.client_id.is_empty() {
                return err(format!("{}: must not be empty", at("client_id")));
            }
            if p.client_secret.is_empty() == p.client_secret_file.is_empty() {
                return err(format!(
                    "{}: give exactly one of client_secret and client_secret_file",
                    at("client_secret")
                ));
            }
            if !p.scopes.iter().any(|s| s == "openid") {
                return err(format!("{}: must include \"openid\"", at("scopes")));
            }
            if !matches!(p.username_claim.as_str(), "preferred_username" | "sub" | "email") {
                return err(format!(
                    "{}: '{}' is not one of preferred_username, sub, email",
                    at("username_claim"),
                    p.username_claim
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> OidcProviderConfig {
        OidcProviderConfig {
            id: "corp".into(),
            display_name: "Corporate sign-in".into(),
            issuer: "https://idp.example.com/realms/x".into(),
            client_id: "vestibule".into(),
            client_secret: "s".into(),
            ..Default::default()
        }
    }

    fn with(p: OidcProviderConfig) -> SsoConfig {
        SsoConfig {
            public_url: "https://bi.example.com".into(),
            oidc: vec![p],
            saml: Vec::new(),
        }
    }

    #[test]
    fn a_provider_is_checked() {
        assert_eq!(with(provider()).validate(), Ok(()));
        let bad = |p: OidcProviderConfig| with(p).validate().unwrap_err().0;
        assert!(bad(OidcProviderConfig {
            id: "Corp".into(),
            ..provider()
        })
        .contains("sso.oidc.id"));
        assert!(bad(OidcProviderConfig {
            issuer: "http://idp.example.com".into(),
            ..provider()
        })
        .contains("issuer"));
        assert!(bad(OidcProviderConfig {
            client_secret_file: "/f".into(),
            ..provider()
        })
        .contains("exactly one"));
        assert!(bad(OidcProviderConfig {
            scopes: vec!["profile".into()],
            ..provider()
        })
        .contains("openid"));
        assert!(bad(OidcProviderConfig {
            username_claim: "name".into(),
            ..provider()
        })
        .contains("username_claim"));
        let loopback = OidcProviderConfig {
            issuer: "http://127.0.0.1:4000".into(),
            ..provider()
        };
        assert_eq!(with(loopback).validate(), Ok(()));
        let twice = SsoConfig {
            oidc: vec![provider(), provider()],
            ..with(provider())
        };
        assert!(twice.validate().unwrap_err().0.contains("twice"));
        let at = |u: &str| SsoConfig {
            public_url: u.into(),
            ..with(provider())
        };
        assert_eq!(
            at("https://bi.example.com").public_origin(),
            "https://bi.example.com"
        );
        assert_eq!(
            at("https://bi.example.com:8443/x/y").public_origin(),
            "https://bi.example.com:8443"
        );
        assert_eq!(at("").public_origin(), "");
        let no_url = SsoConfig {
            public_url: String::new(),
            ..with(provider())
        };
        assert!(no_url.validate().unwrap_err().0.contains("public_url"));
    }
}
