//! The one error type of the relying party: each variant says whose fault it is (the provider
//! said no, its token is bad, it cannot be reached, the code exchange failed, our settings).

/// Why a sign-in with an OpenID Connect provider did not give an [`Identity`](crate::Identity).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider sent the browser back with `error=` (the user declined, the client is not
    /// allowed, …): its own code and description.
    #[error("the identity provider refused the sign-in: {error}{}", describe(description))]
    ProviderError {
        error: String,
        description: Option<String>,
    },
    /// The callback is not one a provider sends (no code, no state, a parameter twice, another
    /// issuer).
    #[error("the sign-in callback is not valid: {0}")]
    BadCallback(String),
    /// The ID token (or the userinfo answer) failed a check; the sign-in must not go on.
    #[error("the identity provider's ID token is not acceptable: {0}")]
    BadToken(String),
    /// The provider could not be reached or answered something unusable (discovery, keys,
    /// userinfo). Trying again later may work.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the authorization code (used before, expired, wrong PKCE
    /// verifier or redirect URI) or answered something that is not a token response.
    #[error("the authorization code could not be exchanged: {0}")]
    Exchange(String),
    /// The provider's settings cannot be used (an unreadable secret file, an invalid URL).
    #[error("the identity provider's settings are not usable: {0}")]
    Config(String),
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

/// An error and its sources on one line, `outer: inner: innermost`, for the reason strings.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
