//! The core's [`SsoProvider`] over an [`OidcProvider`]: the server reaches the relying party
//! through the core, which keeps each sign-in's secrets and links the identity to a user.

use async_trait::async_trait;
use vestibule_core::sso::{SsoError, SsoIdentity, SsoProvider, SsoStart};

use crate::{OidcError, OidcProvider};

fn sso_error(e: OidcError) -> SsoError {
    match e {
        OidcError::ProviderError { error, description } => SsoError::ProviderRefused { error, description },
        OidcError::BadCallback(m) => SsoError::BadCallback(m),
        OidcError::BadToken(m) => SsoError::BadToken(m),
        OidcError::Exchange(m) => SsoError::Exchange(m),
        OidcError::Unavailable(m) => SsoError::Unavailable(m),
        // Settings that fail only in use (an invalid redirect URI): nothing the user can fix.
        OidcError::Config(m) => SsoError::Unavailable(m),
    }
}

#[async_trait]
impl SsoProvider for OidcProvider {
    fn id(&self) -> &str {
        OidcProvider::id(self)
    }

    async fn start(&self, redirect_uri: &str) -> Result<SsoStart, SsoError> {
        let s = OidcProvider::start(self, redirect_uri).await.map_err(sso_error)?;
        Ok(SsoStart {
            url: s.url,
            state: s.state,
            nonce: s.nonce,
            pkce_verifier: s.pkce_verifier,
        })
    }

    fn parse_callback(&self, query: &str) -> Result<(String, String), SsoError> {
        OidcProvider::parse_callback(self, query).map_err(sso_error)
    }

    async fn finish(
        &self,
        redirect_uri: &str,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
    ) -> Result<SsoIdentity, SsoError> {
        let i = OidcProvider::finish(self, redirect_uri, code, nonce, pkce_verifier)
            .await
            .map_err(sso_error)?;
        Ok(SsoIdentity {
            provider: i.provider,
            subject: i.subject,
            username: i.username,
            full_name: i.full_name,
            email: i.email,
            groups: i.groups,
            id_token: i.id_token,
            once: None,
        })
    }

    async fn logout_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: &str,
    ) -> Result<Option<String>, SsoError> {
        OidcProvider::logout_url(self, id_token_hint, post_logout_redirect_uri)
            .await
            .map_err(sso_error)
    }
}
