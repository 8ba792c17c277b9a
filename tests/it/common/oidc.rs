//! Single sign-on set-up shared by the SSO tests (`sso`, `sso_browser`): a real OpenID Connect
//! provider (panva's oidc-provider, compat/oidc_idp.mjs, with its development login and consent
//! pages) and a `vestibule` configured for it through a TOML file with an `[[sso.oidc]]`
//! provider `corp` ("Corporate sign-in"), with an audit file.

use std::process::Command;

use crate::common::announcer::Announcer;
use crate::common::{repo_root, TestServer};

/// The MicroStrategy context path of the test servers.
pub const CONTEXT: &str = "/MicroStrategyLibrary";
/// The single sign-on callback, for both dialects: the redirect URI registered at the provider.
pub const CALLBACK: &str = "/MicroStrategyLibrary/auth/oidc/login";
/// The provider's id and button text in the configuration `setup` writes.
pub const PROVIDER_ID: &str = "corp";
pub const PROVIDER_NAME: &str = "Corporate sign-in";

/// The provider's process, killed when dropped.
pub struct Idp {
    /// `None` once stopped, or for a provider that is down.
    process: Option<Announcer>,
    /// `http://127.0.0.1:PORT`
    pub issuer: String,
}

impl Idp {
    /// Starts compat/oidc_idp.mjs with one client, `vestibule`/`test-secret`, allowed to
    /// redirect to `redirect_uri`.
    pub fn start(redirect_uri: &str) -> Idp {
        let compat = repo_root().join("compat");
        assert!(
            compat.join("node_modules/oidc-provider").exists(),
            "compat/node_modules/oidc-provider is missing (made by bash scripts/compat-setup.sh)"
        );
        let mut cmd = Command::new("node");
        cmd.arg(compat.join("oidc_idp.mjs"))
            .arg("0")
            .current_dir(&compat)
            .env("OIDC_CLIENT_ID", "vestibule")
            .env("OIDC_CLIENT_SECRET", "test-secret")
            .env("OIDC_REDIRECT_URIS", redirect_uri)
            // Where vestibule's logout comes back to, beside its callback.
            .env(
                "OIDC_POST_LOGOUT_REDIRECT_URIS",
                redirect_uri.replace("/auth/oidc/login", "/auth/signed-out"),
            );
        let process = Announcer::start(cmd, "oidc_idp.mjs");
        let issuer = process.url.clone();
        Idp {
            process: Some(process),
            issuer,
        }
    }

    /// A provider at `issuer` that is down (nothing listens there).
    pub fn down(issuer: String) -> Idp {
        Idp {
            process: None,
            issuer,
        }
    }

    /// Stops the provider (it is down from now on).
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// What the provider wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.process.as_ref().map(Announcer::stderr).unwrap_or_default()
    }
}

/// A provider and a vestibule configured for it (through a TOML file), with an audit file.
pub struct Setup {
    pub idp: Idp,
    pub server: TestServer,
    pub audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A fresh provider and a server on a port chosen first (its public URL is in the
/// configuration, and the provider must know the callback).
pub fn setup(auto_create: bool) -> Setup {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let idp = Idp::start(&format!("{public}{CALLBACK}"));
    setup_with(idp, &public, port, auto_create)
}

/// A server listening on `port` (public URL `public`) configured for `idp`.
pub fn setup_with(idp: Idp, public: &str, port: u16, auto_create: bool) -> Setup {
    setup_embedded(idp, public, port, auto_create, "https://app.example.com", "")
}

/// As [`setup_with`], for pages embedding it on `origins` (`server.allowed_origins`), with
/// `extra` appended to the configuration file.
pub fn setup_embedded(
    idp: Idp,
    public: &str,
    port: u16,
    auto_create: bool,
    origins: &str,
    extra: &str,
) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vestibule.toml");
    let audit = dir.path().join("audit.log");
    std::fs::write(
        &file,
        format!(
            r#"[sso]
public_url = "{public}"
[server]
allowed_origins = "{origins}"

[[sso.oidc]]
id = "{PROVIDER_ID}"
display_name = "{PROVIDER_NAME}"
issuer = "{issuer}"
client_id = "vestibule"
client_secret = "test-secret"
scopes = ["openid", "profile", "email", "groups"]
groups_claim = "groups"
auto_create = {auto_create}
group_map = {{ "analysts" = "Analysts" }}

{extra}
"#,
            issuer = idp.issuer
        ),
    )
    .expect("write the configuration");
    let server = TestServer::start_on(
        &format!("127.0.0.1:{port}"),
        &[
            ("VESTIBULE_CONFIG", file.to_str().expect("path")),
            ("VESTIBULE_AUDIT_TARGET", &format!("file:{}", audit.display())),
        ],
    );
    Setup {
        idp,
        server,
        audit,
        _dir: dir,
    }
}

impl Setup {
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn audited(&self, pred: impl Fn(&serde_json::Value) -> bool) -> bool {
        self.audit_events().iter().any(pred)
    }
}
