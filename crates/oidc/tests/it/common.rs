//! What the tests share: a provider's settings, the repository root.

use std::path::PathBuf;
use std::time::Duration;

use vestibule_core::config::OidcProviderConfig;
use vestibule_oidc::{http_client, OidcProvider};

pub const CLIENT_ID: &str = "vestibule";
pub const CLIENT_SECRET: &str = "test-secret";
/// Where the provider sends the browser back; nothing listens there, the tests read the
/// redirect's `Location` instead.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/sso/oidc/test/callback";

pub fn settings(issuer: &str) -> OidcProviderConfig {
    OidcProviderConfig {
        id: "test".into(),
        display_name: "Test provider".into(),
        issuer: issuer.into(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        scopes: vec!["openid".into(), "profile".into(), "email".into(), "groups".into()],
        groups_claim: "groups".into(),
        ..Default::default()
    }
}

pub fn provider(config: &OidcProviderConfig) -> OidcProvider {
    let http = http_client(Duration::from_secs(10)).expect("HTTP client");
    OidcProvider::new(config, http).expect("provider from valid settings")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
