//! vestibule's SAML 2.0 service provider: one configured identity provider, a sign-in started
//! with an `AuthnRequest` (HTTP-Redirect binding) and ended by the response the provider posts to
//! an assertion consumer service (HTTP-POST binding). It is the core's `SsoProvider`: the core
//! keeps each browser's request id and RelayState, links the identity to a user, and refuses an
//! assertion seen before on any node.
//!
//! # Design notes
//! - **Crate.** The XML signature and every SAML check on the response come from `samael` with
//!   its `xmlsec` backend (libxmlsec1 over libxml2): the signature must verify against a
//!   certificate of the provider's metadata with an allowed algorithm (RSA-SHA256/384/512,
//!   ECDSA-SHA256/384), the document is reduced to what the signature covered before anything is
//!   read from it (so a second, a moved or a nested assertion is never the one used; duplicated
//!   IDs are refused), then the issuer, `Conditions` (`NotBefore`/`NotOnOrAfter` with a bounded
//!   skew, `Audience` = our entity id), the bearer `SubjectConfirmation` (`Recipient` = the ACS
//!   URL the response came to, `InResponseTo` = the request this browser's flow made) and, for a
//!   signed response, `Destination`; `EncryptedAssertion` is decrypted with the SP key. Nothing
//!   here parses or checks a signature.
//! - **Before samael** ([`prefilter`]): a response over 256 KiB, with a DOCTYPE, or with a
//!   transform a SAML signature never needs (XSLT, XPath) is refused unread — xmlsec would run
//!   those transforms before it knew the signature was good.
//! - **Here**: metadata without a signing certificate is refused at start (samael would accept
//!   unsigned responses); the algorithm allowlist is always set; request ids are 128 random
//!   bits; an unsolicited response is accepted only when `allow_idp_initiated` and it answers no
//!   request; the assertion's id and validity go to the core's replay cache; verification runs
//!   on the blocking pool, a few at a time.
//! - **Errors** reach the browser as "the response did not pass its checks" only; the reason is
//!   logged, and named in the audit event by a short code ([`reason_of`]).

#![forbid(unsafe_code)]

pub mod prefilter;

use std::sync::Arc;

use async_trait::async_trait;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{Duration, Utc};
use rand::RngCore;
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer};
use samael::metadata::{EntityDescriptor, IndexedEndpoint, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING};
use samael::schema::Assertion;
use samael::service_provider::{ServiceProvider, ServiceProviderBuilder};
use samael::traits::ToXml;
use serde::Deserialize;
use tokio::sync::Semaphore;

use vestibule_core::config::SamlProviderConfig;
use vestibule_core::sso::{SsoError, SsoIdentity, SsoProtocol, SsoProvider, SsoStart};

/// How far the provider's clock may be from ours.
const MAX_CLOCK_SKEW_SECS: i64 = 60;
/// How old a response may be when it arrives.
const MAX_ISSUE_DELAY_SECS: i64 = 180;
/// Verifications at once (each is a few milliseconds of CPU on the blocking pool).
const CONCURRENT_VERIFICATIONS: usize = 8;

/// A provider's settings that cannot be used: a one-line reason.
#[derive(Debug)]
pub struct SamlConfigError(pub String);

impl std::fmt::Display for SamlConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SamlConfigError {}

/// One configured SAML identity provider.
pub struct SamlProvider {
    settings: SamlProviderConfig,
    sp_entity_id: String,
    idp: EntityDescriptor,
    idp_entity_id: String,
    sso_url: String,
    sp_key: Option<openssl::pkey::PKey<openssl::pkey::Private>>,
    sp_cert: Option<CertificateDer>,
    verifying: Arc<Semaphore>,
}

impl SamlProvider {
    /// Reads the provider's metadata (and the SP key and certificate when configured).
    /// `default_entity_id`: the SP entity id when the settings name none.
    pub fn new(settings: &SamlProviderConfig, default_entity_id: &str) -> Result<Self, SamlConfigError> {
        let at = |what: &str| format!("sso.saml[{}].{what}", settings.id);
        let bad = |what: &str, why: String| SamlConfigError(format!("{}: {why}", at(what)));
        let xml = std::fs::read_to_string(&settings.idp_metadata_file).map_err(|e| {
            bad(
                "idp_metadata_file",
                format!("'{}': {e}", settings.idp_metadata_file),
            )
        })?;
        prefilter::check(&xml).map_err(|e| bad("idp_metadata_file", format!("not usable metadata: {e}")))?;
        let idp: EntityDescriptor = xml
            .parse()
            .map_err(|e| bad("idp_metadata_file", format!("not SAML metadata: {e}")))?;
        let idp_entity_id = idp
            .entity_id
            .clone()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| bad("idp_metadata_file", "the metadata names no entityID".into()))?;
        let (sp_key, sp_cert) = if settings.sp_key_file.is_empty() {
            (None, None)
        } else {
            let key = std::fs::read(&settings.sp_key_file)
                .map_err(|e| bad("sp_key_file", format!("'{}': {e}", settings.sp_key_file)))?;
            let key = openssl::pkey::PKey::private_key_from_pem(&key)
                .map_err(|e| bad("sp_key_file", format!("not a PEM private key: {e}")))?;
            let cert = std::fs::read(&settings.sp_cert_file)
                .map_err(|e| bad("sp_cert_file", format!("'{}': {e}", settings.sp_cert_file)))?;
            let cert = openssl::x509::X509::from_pem(&cert)
                .and_then(|c| c.to_der())
                .map_err(|e| bad("sp_cert_file", format!("not a PEM certificate: {e}")))?;
            (Some(key), Some(CertificateDer::from(cert)))
        };
        let sp_entity_id = if settings.sp_entity_id.is_empty() {
            default_entity_id.to_string()
        } else {
            settings.sp_entity_id.clone()
        };
        let mut provider = SamlProvider {
            settings: settings.clone(),
            sp_entity_id,
            idp,
            idp_entity_id,
            sso_url: String::new(),
            sp_key,
            sp_cert,
            verifying: Arc::new(Semaphore::new(CONCURRENT_VERIFICATIONS)),
        };
        let sp = provider
            .sp("", false)
            .map_err(|e| bad("idp_metadata_file", e.to_string()))?;
        // Without a signing certificate samael would take unsigned responses.
        let certs = sp
            .idp_signing_certs()
            .map_err(|e| bad("idp_metadata_file", format!("its signing certificates: {e}")))?;
        if certs.is_none_or(|c| c.is_empty()) {
            return Err(bad(
                "idp_metadata_file",
                "the metadata has no signing certificate (KeyDescriptor use=\"signing\")".into(),
            ));
        }
        provider.sso_url = sp.sso_binding_location(HTTP_REDIRECT_BINDING).ok_or_else(|| {
            bad(
                "idp_metadata_file",
                "the metadata has no SingleSignOnService with the HTTP-Redirect binding".into(),
            )
        })?;
        Ok(provider)
    }

    /// The entity id assertions must name as their audience.
    pub fn sp_entity_id(&self) -> &str {
        &self.sp_entity_id
    }

    /// samael's service provider for responses posted to `acs_url`. Never a default one: that
    /// would have no certificates, and verify nothing.
    /// `unsolicited`: the response answers no request of ours (IdP-initiated sign-on, which
    /// only [`SsoProvider::takes_unsolicited`] lets through, and only when allowed).
    fn sp(&self, acs_url: &str, unsolicited: bool) -> Result<ServiceProvider, SsoError> {
        let mut b = ServiceProviderBuilder::default();
        b.entity_id(self.sp_entity_id.clone())
            .acs_url(acs_url.to_string())
            .idp_metadata(self.idp.clone())
            .allow_idp_initiated(unsolicited && self.settings.allow_idp_initiated)
            .allowed_signature_algorithms(vec![
                AllowedSignatureAlgorithm::RsaSha256,
                AllowedSignatureAlgorithm::RsaSha384,
                AllowedSignatureAlgorithm::RsaSha512,
                AllowedSignatureAlgorithm::EcdsaSha256,
                AllowedSignatureAlgorithm::EcdsaSha384,
            ])
            .max_issue_delay(Duration::seconds(MAX_ISSUE_DELAY_SECS))
            .max_clock_skew(Duration::seconds(MAX_CLOCK_SKEW_SECS));
        if let Some(k) = &self.sp_key {
            b.key(k.clone());
        }
        if let Some(c) = &self.sp_cert {
            b.certificate(c.clone());
        }
        b.build()
            .map_err(|e| SsoError::Unavailable(format!("the SAML service provider: {e}")))
    }

    /// Verifies a posted `SAMLResponse` (base64): the assertion it carries, or why not (logged;
    /// the browser is told only that it was refused).
    async fn verify(
        &self,
        acs_url: &str,
        response: &str,
        request_id: Option<&str>,
    ) -> Result<Assertion, SsoError> {
        let compact: String = response.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let refuse = |reason: &'static str, why: String| {
            tracing::warn!(provider = %self.settings.id, reason, detail = %why, "a SAML response was refused");
            SsoError::Refused { reason }
        };
        let bytes = STANDARD
            .decode(compact.as_bytes())
            .map_err(|_| refuse("saml_malformed", "not base64".into()))?;
        let xml = String::from_utf8(bytes).map_err(|_| refuse("saml_malformed", "not UTF-8".into()))?;
        prefilter::check(&xml)
            .map_err(|e| refuse("saml_refused_shape", format!("refused before verification: {e}")))?;
        let sp = self.sp(acs_url, request_id.is_none())?;
        let request_id = request_id.map(str::to_string);
        let _permit = self
            .verifying
            .acquire()
            .await
            .map_err(|_| SsoError::Unavailable("the verifier is shutting down".into()))?;
        let result = tokio::task::spawn_blocking(move || {
            let ids = request_id.as_ref().map(|id| [id.as_str()]);
            sp.parse_xml_response(&xml, ids.as_ref().map(|a| &a[..]))
                .map_err(|e| (reason_of(&e), e.to_string()))
        })
        .await
        .map_err(|_| SsoError::Unavailable("the verification did not finish".into()))?;
        result.map_err(|(reason, why)| refuse(reason, why))
    }

    fn attribute(&self, assertion: &Assertion, name: &str) -> Vec<String> {
        if name.is_empty() {
            return Vec::new();
        }
        assertion
            .attribute_statements
            .iter()
            .flatten()
            .flat_map(|s| s.attributes.iter())
            .filter(|a| a.name.as_deref() == Some(name) || a.friendly_name.as_deref() == Some(name))
            .flat_map(|a| a.values.iter().filter_map(|v| v.value.clone()))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn identity(&self, assertion: Assertion) -> Result<SsoIdentity, SsoError> {
        let name_id = assertion
            .subject
            .as_ref()
            .and_then(|s| s.name_id.as_ref())
            .map(|n| n.value.trim().to_string())
            .filter(|n| !n.is_empty())
            .ok_or(SsoError::Refused {
                reason: "saml_no_subject",
            })?;
        let first = |name: &str| self.attribute(&assertion, name).into_iter().next();
        let username = if self.settings.username_attribute == "NameID" {
            name_id.clone()
        } else {
            first(&self.settings.username_attribute).ok_or_else(|| {
                tracing::warn!(provider = %self.settings.id, attribute = %self.settings.username_attribute, "a SAML assertion lacks the username attribute");
                SsoError::Refused { reason: "saml_no_username" }
            })?
        };
        let until = assertion
            .conditions
            .as_ref()
            .and_then(|c| c.not_on_or_after)
            .unwrap_or_else(|| Utc::now() + Duration::seconds(MAX_ISSUE_DELAY_SECS))
            + Duration::seconds(MAX_CLOCK_SKEW_SECS);
        // The logout's hint: the NameID, cookie-safe (see `logout_url`).
        let hint = format!("n.{}", URL_SAFE_NO_PAD.encode(name_id.as_bytes()));
        Ok(SsoIdentity {
            provider: self.settings.id.clone(),
            subject: name_id,
            username,
            full_name: first(&self.settings.display_name_attribute),
            email: first(&self.settings.email_attribute),
            groups: self.attribute(&assertion, &self.settings.groups_attribute),
            id_token: hint,
            once: Some((assertion.id.clone(), until.timestamp_millis())),
        })
    }
}

/// The audit log's name for what refused a response.
fn reason_of(e: &samael::service_provider::Error) -> &'static str {
    use samael::service_provider::Error as E;
    match e {
        E::FailedToValidateSignature | E::CryptoXmlError(_) | E::CryptoProviderError(_) => "saml_signature",
        E::AssertionConditionAudienceRestrictionFailed { .. } => "saml_audience",
        E::AssertionRecipientMismatch { .. } => "saml_recipient",
        E::DestinationValidationError { .. } => "saml_destination",
        E::AssertionInResponseToInvalid { .. } | E::ResponseInResponseToInvalid { .. } => {
            "saml_in_response_to"
        }
        E::AssertionIssuerMismatch { .. } | E::ResponseIssuerMismatch { .. } => "saml_issuer",
        E::AssertionExpired { .. }
        | E::AssertionConditionExpired { .. }
        | E::AssertionSubjectConfirmationExpired { .. }
        | E::ResponseExpired { .. } => "saml_expired",
        E::AssertionConditionExpiredBefore { .. } | E::AssertionSubjectConfirmationExpiredBefore { .. } => {
            "saml_not_yet_valid"
        }
        E::ResponseBadStatusCode { .. } => "saml_status",
        E::FailedToDecryptAssertion
        | E::MissingPrivateKeySP
        | E::MissingEncryptedKeyInfo
        | E::MissingEncryptedValueInfo
        | E::EncryptedAssertionKeyMethodUnsupported { .. }
        | E::EncryptedAssertionValueMethodUnsupported { .. }
        | E::EncryptedAssertionInvalid
        | E::EncryptedAssertionsNotYetSupported => "saml_decryption",
        E::AssertionBearerSubjectConfirmationMissing | E::AssertionSubjectConfirmationMissing => {
            "saml_subject_confirmation"
        }
        _ => "saml_invalid",
    }
}

/// The `InResponseTo` of the assertion's bearer confirmation.
fn request_id_of(a: &Assertion) -> Option<&str> {
    a.subject
        .as_ref()?
        .subject_confirmations
        .as_ref()?
        .iter()
        .find_map(|c| c.subject_confirmation_data.as_ref()?.in_response_to.as_deref())
}

/// 128 random bits as hex, with the `_` an xs:ID must start with a letter or `_` for.
fn random_id() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("_{}", hex::encode(b))
}

#[derive(Deserialize)]
struct PostedResponse {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

#[async_trait]
impl SsoProvider for SamlProvider {
    fn id(&self) -> &str {
        &self.settings.id
    }

    fn protocol(&self) -> SsoProtocol {
        SsoProtocol::Saml
    }

    async fn start(&self, acs_url: &str) -> Result<SsoStart, SsoError> {
        let sp = self.sp(acs_url, false)?;
        let mut request = sp
            .make_authentication_request(&self.sso_url)
            .map_err(|e| SsoError::Unavailable(format!("making the AuthnRequest: {e}")))?;
        request.id = random_id();
        let relay_state = hex::encode({
            let mut b = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut b);
            b
        });
        let url = match (&self.sp_key, self.settings.sign_authn_requests) {
            (Some(key), true) => request.signed_redirect(&relay_state, key),
            _ => request.redirect(&relay_state),
        }
        .map_err(|e| SsoError::Unavailable(format!("encoding the AuthnRequest: {e}")))?
        .ok_or_else(|| SsoError::Unavailable("the AuthnRequest has no destination".into()))?;
        Ok(SsoStart {
            url: url.to_string(),
            state: relay_state,
            nonce: request.id,
            pkce_verifier: String::new(),
        })
    }

    /// `(SAMLResponse, RelayState)` of the posted form.
    fn parse_callback(&self, form: &str) -> Result<(String, String), SsoError> {
        let posted: PostedResponse = serde_urlencoded::from_str(form)
            .map_err(|_| SsoError::BadCallback("the posted form could not be read".into()))?;
        let response = posted
            .saml_response
            .filter(|r| !r.is_empty())
            .ok_or_else(|| SsoError::BadCallback("it has no SAMLResponse".into()))?;
        Ok((response, posted.relay_state.unwrap_or_default()))
    }

    async fn finish(
        &self,
        acs_url: &str,
        response: &str,
        request_id: &str,
        _pkce_verifier: &str,
    ) -> Result<SsoIdentity, SsoError> {
        let solicited = !request_id.is_empty();
        let (response, _) = if solicited {
            (response.to_string(), String::new())
        } else {
            // Unsolicited: `response` is the whole posted form (see `takes_unsolicited`).
            self.parse_callback(response)?
        };
        let assertion = self
            .verify(acs_url, &response, solicited.then_some(request_id))
            .await?;
        // An unsolicited response must answer no request: one that does was meant for a flow in
        // another browser (a login CSRF).
        if !solicited && request_id_of(&assertion).is_some() {
            tracing::warn!(provider = %self.settings.id, "an unsolicited SAML response answers a request");
            return Err(SsoError::Refused {
                reason: "saml_in_response_to",
            });
        }
        self.identity(assertion)
    }

    /// A `LogoutRequest` for the signed-in NameID (the hint [`SamlProvider::identity`] made) to
    /// the provider's SingleLogoutService, by the HTTP-Redirect binding; `None` when the metadata
    /// lists no such service or the hint is not ours. The provider answers at `back`'s
    /// SingleLogout URL, published in the SP metadata.
    async fn logout_url(&self, hint: Option<&str>, _back: &str) -> Result<Option<String>, SsoError> {
        use std::io::Write;
        let Some(name_id) = hint
            .and_then(|h| h.strip_prefix("n."))
            .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
            .and_then(|b| String::from_utf8(b).ok())
        else {
            return Ok(None);
        };
        let slo = self
            .idp
            .idp_sso_descriptors
            .iter()
            .flatten()
            .flat_map(|d| d.single_logout_services.iter())
            .find(|e| e.binding == HTTP_REDIRECT_BINDING)
            .map(|e| e.location.clone());
        let Some(slo) = slo else {
            return Ok(None);
        };
        let request = samael::schema::LogoutRequest {
            id: Some(random_id()),
            version: Some("2.0".into()),
            issue_instant: Some(Utc::now()),
            destination: Some(slo.clone()),
            issuer: Some(samael::schema::Issuer {
                value: Some(self.sp_entity_id.clone()),
                ..Default::default()
            }),
            signature: None,
            session_index: None,
            name_id: Some(samael::schema::NameID {
                format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified".into()),
                value: name_id,
            }),
        };
        let xml = request
            .to_string()
            .map_err(|e| SsoError::Unavailable(format!("making the LogoutRequest: {e}")))?;
        let mut deflated = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflated
            .write_all(xml.as_bytes())
            .and_then(|_| deflated.finish())
            .map(|bytes| {
                let q = serde_urlencoded::to_string([("SAMLRequest", STANDARD.encode(bytes))])
                    .unwrap_or_default();
                let sep = if slo.contains('?') { '&' } else { '?' };
                Some(format!("{slo}{sep}{q}"))
            })
            .map_err(|e| SsoError::Unavailable(format!("encoding the LogoutRequest: {e}")))
    }

    fn takes_unsolicited(&self, form: &str) -> bool {
        self.settings.allow_idp_initiated
            && self
                .parse_callback(form)
                .ok()
                .and_then(|(r, _)| issuer_of(&r))
                .is_some_and(|issuer| issuer == self.idp_entity_id)
    }

    fn metadata(&self, acs: &[String], slo: &str) -> Option<String> {
        let sp = self
            .sp(acs.first().map(String::as_str).unwrap_or(""), false)
            .ok()?;
        let mut ed = sp.metadata().ok()?;
        if let Some(d) = ed.sp_sso_descriptors.as_mut().and_then(|d| d.first_mut()) {
            d.assertion_consumer_services = acs
                .iter()
                .enumerate()
                .map(|(i, url)| IndexedEndpoint {
                    binding: HTTP_POST_BINDING.to_string(),
                    location: url.clone(),
                    response_location: None,
                    index: i,
                    is_default: Some(i == 0),
                })
                .collect();
            d.authn_requests_signed = Some(self.settings.sign_authn_requests && self.sp_key.is_some());
            d.want_assertions_signed = Some(true);
            // samael marks both key descriptors "signing"; the one with encryption methods is
            // the encryption key.
            if let Some(keys) = d.key_descriptors.as_mut() {
                for k in keys.iter_mut().filter(|k| k.encryption_methods.is_some()) {
                    k.key_use = Some("encryption".to_string());
                }
            }
            d.single_logout_services = Some(vec![samael::metadata::Endpoint {
                binding: HTTP_REDIRECT_BINDING.to_string(),
                location: slo.to_string(),
                response_location: None,
            }]);
        }
        ed.to_string().ok()
    }
}

/// The `Issuer` a posted response names, read without trusting it: only to choose which
/// provider verifies an unsolicited response.
fn issuer_of(response: &str) -> Option<String> {
    use quick_xml::events::Event;
    let compact: String = response.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let xml = String::from_utf8(STANDARD.decode(compact.as_bytes()).ok()?).ok()?;
    prefilter::check(&xml).ok()?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut in_issuer = false;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == b"Issuer" => in_issuer = true,
            Event::Text(t) if in_issuer => return t.decode().ok().map(|s| s.trim().to_string()),
            Event::Eof => return None,
            _ => {}
        }
    }
}
