//! One `[[sso.saml]]` table: a SAML 2.0 identity provider vestibule is a service provider of.
//! [`SamlProviderConfig`] is also the settings type of the service provider (`vestibule-saml`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{err, ConfigError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SamlProviderConfig {
    /// Names the provider in paths, logs and the user's source: lower-case letters, digits, `-`.
    pub id: String,
    /// The text of the provider's button on the sign-in page.
    pub display_name: String,
    /// The identity provider's metadata (its entity id, single sign-on URL and binding, signing
    /// certificates): a file, read at start.
    pub idp_metadata_file: String,
    /// This service provider's entity id, the `Audience` its assertions must name; empty =
    /// `sso.public_url` + the context path.
    pub sp_entity_id: String,
    /// What names the vestibule user: `NameID`, or an attribute's name.
    pub username_attribute: String,
    pub display_name_attribute: String,
    pub email_attribute: String,
    /// The attribute listing the user's groups; empty = none.
    pub groups_attribute: String,
    /// Make a user at first sign-in; otherwise only existing users of this provider sign in.
    pub auto_create: bool,
    /// Sign the `AuthnRequest`s (needs `sp_key_file` and `sp_cert_file`).
    pub sign_authn_requests: bool,
    /// Accept responses this server did not ask for (IdP-initiated sign-on).
    pub allow_idp_initiated: bool,
    /// The service provider's private key (PEM): signs requests, decrypts `EncryptedAssertion`.
    pub sp_key_file: String,
    /// Its certificate (PEM), published in the SP metadata.
    pub sp_cert_file: String,
    /// Provider group → vestibule group, as for OpenID Connect.
    pub group_map: BTreeMap<String, String>,
}

impl Default for SamlProviderConfig {
    fn default() -> Self {
        SamlProviderConfig {
            id: String::new(),
            display_name: String::new(),
            idp_metadata_file: String::new(),
            sp_entity_id: String::new(),
            username_attribute: "NameID".into(),
            display_name_attribute: "displayName".into(),
            email_attribute: "email".into(),
            groups_attribute: String::new(),
            auto_create: false,
            sign_authn_requests: false,
            allow_idp_initiated: false,
            sp_key_file: String::new(),
            sp_cert_file: String::new(),
            group_map: BTreeMap::new(),
        }
    }
}

impl SamlProviderConfig {
    /// The checks that need no file: the files themselves are read at start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let at = |field: &str| format!("sso.saml[{}].{field}", self.id);
        if self.idp_metadata_file.is_empty() {
            return err(format!("{}: must be set", at("idp_metadata_file")));
        }
        if self.username_attribute.is_empty() {
            return err(format!(
                "{}: must be NameID or an attribute name",
                at("username_attribute")
            ));
        }
        if self.sp_key_file.is_empty() != self.sp_cert_file.is_empty() {
            return err(format!(
                "{}: give both sp_key_file and sp_cert_file, or neither",
                at("sp_key_file")
            ));
        }
        if self.sign_authn_requests && self.sp_key_file.is_empty() {
            return err(format!(
                "{}: needs sp_key_file and sp_cert_file",
                at("sign_authn_requests")
            ));
        }
        Ok(())
    }
}
