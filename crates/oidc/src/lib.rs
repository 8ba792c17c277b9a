//! vestibule's OpenID Connect relying party: the authorization-code flow with PKCE against one
//! provider, ending in a verified [`Identity`]. It is the core's `SsoProvider` (`sso.rs`): the
//! core keeps each browser's `state`/`nonce`/verifier and maps the identity to a user, the
//! server's sign-in routes drive it.
//!
//! A sign-in is [`OidcProvider::start`] (the URL to send the browser to, and three secrets the
//! caller keeps for that browser), then, on the callback, [`OidcProvider::parse_callback`] and
//! [`OidcProvider::finish`] (the code exchange and the ID-token checks).
//!
//! # Design notes
//! - **Crate.** The protocol, and every security-critical check, comes from `openidconnect`
//!   (ramosbugs, with `oauth2` under it): discovery with its issuer check, PKCE, the code
//!   exchange, JWS verification against the JWKS (RustCrypto's `rsa`, `p256`/`p384`,
//!   `ed25519-dalek`), `iss`, `aud`, `exp`, `nonce` (compared as digests), the userinfo subject
//!   check. It implements OpenID Connect Core §3.1.3.7 and is kept up; nothing here parses a JWT
//!   or a signature itself. Its HTTP client is reqwest 0.12, the workspace's. What the crate
//!   leaves to its user is done here, on its verified claims: `azp` (required and equal to the
//!   client id when there are several audiences, equal to it whenever present), a bound of 60 s
//!   on an `iat` in the future, and `at_hash` when present.
//! - **Algorithms.** The allowlist is ours, never the provider's advertised
//!   `id_token_signing_alg_values_supported` (which the crate would otherwise adopt): RS256,
//!   RS384, RS512, PS256, ES256, ES384, EdDSA. `none` is refused by the crate in any case. HMAC
//!   (`HS*`) is refused twice over: it is not allowed, and the verifier is built without the
//!   client secret, the only key the crate would use for it (it never takes a published key as
//!   an HMAC secret, so the "RSA public key as HS256 secret" confusion cannot work). A client
//!   secret sits in a configuration file; accepting HMAC tokens would let whoever reads it mint
//!   sign-ins.
//! - **HTTP.** [`http_client`]: redirects are not followed (a provider's redirect must not point
//!   the server elsewhere) and every request has a timeout. Client authentication at the token
//!   endpoint is `client_secret_basic`, or `client_secret_post` when discovery lists only that.
//! - **Caching.** [`OidcProvider::new`] touches no network. The discovery document and its JWKS
//!   are fetched at the first sign-in and kept; a failed fetch is an
//!   [`OidcError::Unavailable`] and is not kept, so the next sign-in tries again. A token naming
//!   a key the kept JWKS lacks makes one refetch of the JWKS (a rotation), at most once per 30 s
//!   whatever the tokens say, and the token is verified once more against the new keys.
//! - **Claims.** The username is the `username_claim` (`preferred_username`, `sub`, or `email`,
//!   which must not be marked unverified); groups are the `groups_claim`, a list of strings or
//!   absent. When the ID token lacks either (providers commonly keep profile claims to userinfo
//!   in the code flow), userinfo is asked with the access token, and its `sub` must be the ID
//!   token's.

#![forbid(unsafe_code)]

mod error;
mod provider;
mod sso;

pub use error::OidcError;
pub use provider::{http_client, Identity, Keys, OidcProvider, Start};
