//! Figure h): what single sign-on costs, in-process (no identity provider, no server): ID tokens
//! through the relying party's own checks (`vestibule_oidc::OidcProvider::verify_id_token`, the
//! checks a sign-in's code exchange ends in) against raw RS256 signature verifications with the
//! same library (RustCrypto's `rsa`, which `openidconnect` verifies with), and SAML responses
//! through the service provider (`vestibule_saml::SamlProvider`, samael on xmlsec). The keys are
//! made here; the tokens are signed here with `rsa`, the responses with samael's identity-provider
//! half, as an identity provider would sign them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use serde_json::json;
use sha2::Sha256;

use vestibule_core::config::{OidcProviderConfig, SamlProviderConfig};
use vestibule_core::sso::SsoProvider;
use vestibule_oidc::{Keys, OidcProvider};
use vestibule_saml::SamlProvider;

const ISSUER: &str = "https://idp.bench.invalid";
const CLIENT_ID: &str = "vestibule-bench";
const NONCE: &str = "bench-nonce-0123456789abcdef";
const KID: &str = "bench-key-1";
const SAML_IDP: &str = "https://idp.bench.invalid/saml";
const SAML_SP: &str = "https://sp.bench.invalid/MicroStrategyLibrary";
const SAML_ACS: &str = "https://sp.bench.invalid/MicroStrategyLibrary/saml/SSO";
const SAML_REQUEST: &str = "_0f1e2d3c4b5a69788796a5b4c3d2e1f0";

pub struct Sso {
    /// ID tokens verified per second on one thread, through the relying party.
    pub oidc: f64,
    /// Raw RS256 verifications per second on one thread.
    pub raw: f64,
    /// SAML responses verified per second, one at a time.
    pub saml: f64,
    /// The same with one verification in flight per core.
    pub saml_parallel: f64,
    pub cores: usize,
}

/// An RS256 ID token as a provider signs it, its JWKS, and what a raw verification needs.
struct Token {
    jwt: String,
    jwks: String,
    signing_input: String,
    signature: Signature,
    key: VerifyingKey<Sha256>,
}

fn token() -> anyhow::Result<Token> {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)?;
    let public = private.to_public_key();
    let jwks = json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
        "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be()),
    }]})
    .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    // A provider's usual ID token: the profile claims and groups in it, so no userinfo is asked.
    let claims = json!({
        "iss": ISSUER, "aud": CLIENT_ID, "sub": "248289761001", "exp": now + 3600, "iat": now,
        "nonce": NONCE, "preferred_username": "alice", "name": "Alice Bench",
        "email": "alice@bench.invalid", "email_verified": true, "groups": ["analysts", "bench"],
    });
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": KID});
    let signing_input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = SigningKey::<Sha256>::new(private).sign(signing_input.as_bytes());
    let jwt = format!("{signing_input}.{}", b64(signature.to_bytes()));
    Ok(Token {
        jwt,
        jwks,
        signing_input,
        signature,
        key: VerifyingKey::<Sha256>::new(public),
    })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How many times `f` succeeds in `secs` seconds on this thread; fails at its first failure.
fn count_for(secs: f64, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<(u64, f64)> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut n = 0u64;
    while Instant::now() < deadline {
        f()?;
        n += 1;
    }
    Ok((n, start.elapsed().as_secs_f64()))
}

/// ID-token verifications through the relying party and raw ones, alternating in `rounds`
/// rounds of `secs` each on this thread, so that other load on the machine weighs on both alike.
fn oidc(rounds: u32, secs: f64) -> anyhow::Result<(f64, f64)> {
    let t = token()?;
    let config = OidcProviderConfig {
        id: "bench".into(),
        issuer: ISSUER.into(),
        client_id: CLIENT_ID.into(),
        client_secret: "bench-client-secret".into(),
        groups_claim: "groups".into(),
        ..Default::default()
    };
    let provider = OidcProvider::new(&config, vestibule_oidc::http_client(Duration::from_secs(5))?)?;
    let keys = Keys::from_json(&t.jwks)?;
    let verify = || -> anyhow::Result<()> {
        let identity = provider.verify_id_token(&keys, &t.jwt, NONCE, "bench-access-token")?;
        anyhow::ensure!(
            identity.username == "alice",
            "the token named {}",
            identity.username
        );
        Ok(())
    };
    verify().context("the bench's ID token does not verify")?;
    let raw = || -> anyhow::Result<()> {
        t.key
            .verify(t.signing_input.as_bytes(), &t.signature)
            .map_err(|e| anyhow!("raw RS256 verification: {e}"))
    };
    let (mut ours, mut bare) = ((0u64, 0f64), (0u64, 0f64));
    for _ in 0..rounds {
        let (n, s) = count_for(secs, &verify)?;
        ours = (ours.0 + n, ours.1 + s);
        let (n, s) = count_for(secs, &raw)?;
        bare = (bare.0 + n, bare.1 + s);
    }
    Ok((ours.0 as f64 / ours.1, bare.0 as f64 / bare.1))
}

/// A signed SAML response for the bench's service provider, base64 as a browser posts it. Made
/// fresh for each round: a response older than the provider's issue delay (180 s) is refused.
fn saml_response(
    idp: &samael::idp::IdentityProvider,
    cert: &samael::crypto::CertificateDer,
) -> anyhow::Result<String> {
    use samael::crypto::CryptoProvider;
    use samael::traits::ToXml;
    let mut response = samael::idp::response_builder::build_response_template(
        cert,
        "alice",
        SAML_SP,
        SAML_IDP,
        SAML_ACS,
        SAML_REQUEST,
        &[],
    );
    // The validity an identity provider gives: a few minutes, on the assertion's conditions and
    // on its bearer confirmation (which the service provider requires).
    let (now, until) = (
        chrono::Utc::now(),
        chrono::Utc::now() + chrono::TimeDelta::minutes(5),
    );
    if let Some(a) = response.assertion.as_mut() {
        if let Some(c) = a.conditions.as_mut() {
            c.not_before = Some(now);
            c.not_on_or_after = Some(until);
        }
        for data in a
            .subject
            .iter_mut()
            .flat_map(|s| s.subject_confirmations.iter_mut().flatten())
            .filter_map(|c| c.subject_confirmation_data.as_mut())
        {
            data.not_on_or_after = Some(until);
        }
    }
    // samael's template digests with SHA-1, which the service provider refuses (its allowlist
    // pairs RSA-SHA256 with SHA-256 digests, as current identity providers sign).
    for reference in response
        .signature
        .iter_mut()
        .flat_map(|s| s.signed_info.reference.iter_mut())
    {
        reference.digest_method.algorithm = samael::signature::DigestAlgorithm::Sha256;
    }
    let xml = response
        .to_string()
        .map_err(|e| anyhow!("writing the SAML response: {e}"))?;
    let key = idp
        .export_private_key_der()
        .map_err(|e| anyhow!("the IdP key: {e:?}"))?;
    let signed =
        samael::crypto::Crypto::sign_xml(xml, &key).map_err(|e| anyhow!("signing the SAML response: {e}"))?;
    Ok(STANDARD.encode(signed))
}

/// The identity provider's metadata, as a provider publishes it: its signing certificate and its
/// single sign-on URL.
fn saml_metadata(cert: &samael::crypto::CertificateDer) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{SAML_IDP}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.bench.invalid/saml/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#,
        STANDARD.encode(cert.der_data())
    )
}

/// Verifications of `response` per second for `secs`, with `parallel` in flight at once.
async fn saml_rate(
    provider: &Arc<SamlProvider>,
    response: &str,
    parallel: usize,
    secs: f64,
) -> anyhow::Result<(u64, f64)> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel {
        let (p, r) = (provider.clone(), response.to_string());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let identity = p
                    .finish(SAML_ACS, &r, SAML_REQUEST, "")
                    .await
                    .map_err(|e| anyhow!("the bench's SAML response was refused: {e}"))?;
                anyhow::ensure!(
                    identity.username == "alice",
                    "the response named {}",
                    identity.username
                );
                n += 1;
            }
            Ok(n)
        });
    }
    let mut n = 0;
    while let Some(r) = tasks.join_next().await {
        n += r??;
    }
    Ok((n, start.elapsed().as_secs_f64()))
}

async fn saml(rounds: u32, secs: f64, cores: usize) -> anyhow::Result<(f64, f64)> {
    use samael::idp::{CertificateParams, IdentityProvider, KeyType, Rsa};
    let idp = IdentityProvider::generate_new(KeyType::Rsa(Rsa::Rsa2048))
        .map_err(|e| anyhow!("an IdP key: {e:?}"))?;
    let cert = idp
        .create_certificate(&CertificateParams {
            common_name: "bench-idp",
            issuer_name: "bench-idp",
            days_until_expiration: 2,
        })
        .map_err(|e| anyhow!("the IdP certificate: {e:?}"))?;
    let dir = tempfile::tempdir()?;
    let metadata = dir.path().join("idp-metadata.xml");
    std::fs::write(&metadata, saml_metadata(&cert))?;
    let settings = SamlProviderConfig {
        id: "bench-saml".into(),
        display_name: "Bench SAML".into(),
        idp_metadata_file: metadata.to_string_lossy().into_owned(),
        sp_entity_id: SAML_SP.into(),
        ..Default::default()
    };
    let provider = Arc::new(SamlProvider::new(&settings, SAML_SP)?);
    let (mut one, mut many) = ((0u64, 0f64), (0u64, 0f64));
    for _ in 0..rounds {
        let response = saml_response(&idp, &cert)?;
        let (n, s) = saml_rate(&provider, &response, 1, secs).await?;
        one = (one.0 + n, one.1 + s);
        let (n, s) = saml_rate(&provider, &response, cores, secs).await?;
        many = (many.0 + n, many.1 + s);
    }
    Ok((one.0 as f64 / one.1, many.0 as f64 / many.1))
}

/// Figure h), in `rounds` rounds of `secs` seconds per side.
pub async fn measure(rounds: u32, secs: f64) -> anyhow::Result<Sso> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    // The token side is synchronous CPU work: off the async workers.
    let (oidc, raw) = tokio::task::spawn_blocking(move || oidc(rounds, secs)).await??;
    let (saml, saml_parallel) = saml(rounds, secs, cores).await?;
    Ok(Sso {
        oidc,
        raw,
        saml,
        saml_parallel,
        cores,
    })
}
