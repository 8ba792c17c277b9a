//! SAML set-up shared by the SAML tests: a real SAML 2.0 identity provider (samlify,
//! compat/saml_idp.mjs) with keys made here by openssl, its metadata in a file, and a
//! `vestibule` configured with an `[[sso.saml]]` provider `corp-saml` ("Corporate SAML").

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::announcer::Announcer;
use crate::common::oidc::free_port;
use crate::common::{repo_root, TestServer};

pub use crate::common::oidc::CONTEXT;
pub const PROVIDER_ID: &str = "corp-saml";
pub const PROVIDER_NAME: &str = "Corporate SAML";
/// The assertion consumer services of the two dialects.
pub const MSTR_ACS: &str = "/MicroStrategyLibrary/saml/SSO";
pub const TS_ACS: &str = "/callosum/v1/saml/SSO";

/// A key and its self-signed certificate (PEM files), made by openssl.
pub struct KeyPair {
    pub key: PathBuf,
    pub cert: PathBuf,
}

pub fn key_pair(dir: &Path, name: &str) -> KeyPair {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        ])
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    KeyPair { key, cert }
}

/// How the provider signs (`assertion`, `response`, `both`) and whether it encrypts.
pub struct IdpOptions<'a> {
    pub sign: &'a str,
    pub encrypt_to: Option<&'a Path>,
}

impl Default for IdpOptions<'_> {
    fn default() -> Self {
        IdpOptions {
            sign: "assertion",
            encrypt_to: None,
        }
    }
}

/// The provider's process, killed when dropped.
pub struct SamlIdp {
    process: Announcer,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub keys: KeyPair,
}

impl SamlIdp {
    /// Starts compat/saml_idp.mjs for the service provider `sp_entity_id` with these ACS URLs.
    pub fn start(dir: &Path, sp_entity_id: &str, acs: &[String], slo: &str, options: &IdpOptions) -> SamlIdp {
        let compat = repo_root().join("compat");
        assert!(
            compat.join("node_modules/samlify").exists(),
            "compat/node_modules/samlify is missing (made by bash scripts/compat-setup.sh)"
        );
        let keys = key_pair(dir, "idp");
        let mut cmd = Command::new("node");
        cmd.arg(compat.join("saml_idp.mjs"))
            .arg("0")
            .current_dir(&compat)
            .env("SAML_IDP_KEY", &keys.key)
            .env("SAML_IDP_CERT", &keys.cert)
            .env("SAML_SP_ENTITY_ID", sp_entity_id)
            .env("SAML_SP_ACS_URLS", acs.join(" "))
            .env("SAML_SIGN", options.sign)
            .env("SAML_SP_SLO_URL", slo);
        if let Some(cert) = options.encrypt_to {
            cmd.env("SAML_ENCRYPT_CERT", cert);
        }
        let process = Announcer::start(cmd, "saml_idp.mjs");
        let base = process.url.clone();
        SamlIdp { process, base, keys }
    }

    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// Its metadata, fetched with a plain HTTP/1.0 GET (no chunked answer; the tests' clients are
    /// async).
    pub fn metadata(&self) -> String {
        use std::io::Write;
        let addr = self.base.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("connect to the IdP");
        write!(s, "GET /metadata HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("write");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(
            head.starts_with("HTTP/1.") && head.lines().next().is_some_and(|l| l.contains(" 200")),
            "metadata: {head}"
        );
        body.to_string()
    }
}

/// A provider and a vestibule configured for it, with an audit file.
pub struct SamlSetup {
    pub idp: SamlIdp,
    pub server: TestServer,
    pub audit: PathBuf,
    pub public: String,
    pub dir: tempfile::TempDir,
}

/// The settings of a set-up, beyond the defaults.
#[derive(Default)]
pub struct SamlOptions<'a> {
    pub idp: IdpOptions<'a>,
    pub allow_idp_initiated: bool,
    /// TOML lines added to the `[[sso.saml]]` table.
    pub provider_extra: &'a str,
    /// TOML appended to the file (other sections).
    pub extra: &'a str,
    /// The environment of the server, besides its configuration file.
    pub env: Vec<(&'a str, String)>,
}

pub fn saml_setup(options: SamlOptions) -> SamlSetup {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    saml_setup_on(port, &public, options)
}

pub fn saml_setup_on(port: u16, public: &str, options: SamlOptions) -> SamlSetup {
    let dir = tempfile::tempdir().expect("temp dir");
    let sp_entity_id = format!("{public}{CONTEXT}");
    let acs = [format!("{public}{MSTR_ACS}"), format!("{public}{TS_ACS}")];
    let slo = format!("{public}{CONTEXT}/saml/SingleLogout");
    let idp = SamlIdp::start(dir.path(), &sp_entity_id, &acs, &slo, &options.idp);
    let metadata = dir.path().join("idp-metadata.xml");
    std::fs::write(&metadata, idp.metadata()).expect("write the metadata");
    let file = dir.path().join("vestibule.toml");
    let audit = dir.path().join("audit.log");
    std::fs::write(
        &file,
        format!(
            r#"[sso]
public_url = "{public}"

[[sso.saml]]
id = "{PROVIDER_ID}"
display_name = "{PROVIDER_NAME}"
idp_metadata_file = "{meta}"
groups_attribute = "groups"
auto_create = true
allow_idp_initiated = {unsolicited}
group_map = {{ "analysts" = "Analysts" }}
{provider_extra}

{extra}
"#,
            meta = metadata.display(),
            unsolicited = options.allow_idp_initiated,
            provider_extra = options.provider_extra,
            extra = options.extra,
        ),
    )
    .expect("write the configuration");
    let mut env: Vec<(&str, String)> = vec![
        ("VESTIBULE_CONFIG", file.display().to_string()),
        ("VESTIBULE_AUDIT_TARGET", format!("file:{}", audit.display())),
    ];
    env.extend(options.env);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = TestServer::start_on(&format!("127.0.0.1:{port}"), &env);
    SamlSetup {
        idp,
        server,
        audit,
        public: public.to_string(),
        dir,
    }
}

impl SamlSetup {
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
