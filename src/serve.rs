//! `vestibule serve`: opens the stores, makes the first users on an empty store, and serves until
//! SIGTERM or Ctrl-C.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use vestibule_core::config::Config;
use vestibule_core::directory::{Bootstrap, ADMIN_USER};
use vestibule_core::Core;
use vestibule_server::telemetry::{self, LogFormat, START_TARGET};
use vestibule_server::ServeOptions;

/// Where start-up messages go: plain lines (the listening line on stdout, where scripts read it,
/// the rest on stderr), or in JSON mode log lines of target `vestibule::start` like every other
/// line on stderr, so each stream holds one schema (stdout is the audit log's by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Announce {
    Text,
    Json,
}

impl Announce {
    fn of(config: &Config) -> Self {
        if config.log.format == "json" {
            Announce::Json
        } else {
            Announce::Text
        }
    }

    fn listening(self, url: &str) {
        match self {
            Announce::Text => println!("vestibule listening on {url}"),
            Announce::Json => tracing::info!(target: START_TARGET, url, "listening"),
        }
    }

    fn metrics(self, url: &str) {
        match self {
            Announce::Text => println!("vestibule metrics on {url}"),
            Announce::Json => tracing::info!(target: START_TARGET, url, "metrics"),
        }
    }

    fn note(self, message: &str) {
        match self {
            Announce::Text => eprintln!("vestibule: {message}"),
            Announce::Json => tracing::warn!(target: START_TARGET, "{message}"),
        }
    }
}

/// `serve` failed and said so in a JSON log line: `main` writes nothing more.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reported in the log")
    }
}

impl std::error::Error for Reported {}

/// The process's logging, as `log.level` and `log.format` say.
pub fn init_logging(config: &Config) {
    let format = if config.log.format == "json" {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    telemetry::install_logging(&config.log.level, format);
}

/// Opens the stores and the core, making the first users on an empty store. Processes opening
/// the same store at once take turns from the migrations to the end of the first start (the
/// store's start lock), so the first finds the store empty and the others find its work done.
pub async fn open_core(config: Config, opener: vestibule_store::Opener) -> anyhow::Result<Arc<Core>> {
    let stores = vestibule_store::open(&config, opener)
        .await
        .context("opening the store")?;
    let start = stores.start;
    let ldap = config.ldap.clone();
    let sso = config.sso.clone();
    let metadata = stores.metadata;
    let mut core = Core::new(config, metadata.clone(), stores.sessions)?
        .with_model(vestibule_core::model::ModelService::new(stores.model, metadata));
    if let Some(attempts) = stores.attempts {
        core = core.with_attempt_store(attempts);
    }
    if ldap.enabled() {
        let provider = vestibule_ldap::LdapAuthenticator::new(&ldap)?;
        core = core.with_external_auth(Arc::new(provider));
    }
    // One relying party per provider; making one touches no network, so a provider that is
    // down does not stop the start (its sign-ins answer 503 until it is back).
    if !sso.oidc.is_empty() {
        let http = vestibule_oidc::http_client(std::time::Duration::from_secs(10))?;
        for p in &sso.oidc {
            let provider = vestibule_oidc::OidcProvider::new(p, http.clone())
                .with_context(|| format!("single sign-on provider '{}'", p.id))?;
            core = core.with_sso_provider(Arc::new(provider));
        }
    }
    // SAML providers read their metadata (and the SP key) now: bad files stop the start with
    // one line naming the setting.
    for p in &sso.saml {
        let default_entity_id = format!("{}{}", sso.public_url, core.config().context_path);
        let provider = vestibule_saml::SamlProvider::new(p, &default_entity_id)?;
        core = core.with_sso_provider(Arc::new(provider));
    }
    first_start(&core, Announce::of(core.config())).await?;
    start.release().await;
    Ok(Arc::new(core))
}

/// On an empty store, the built-in groups, the administrator, the guest and the default project;
/// then every project's folder tree. Only the process that created the administrator says so.
async fn first_start(core: &Core, announce: Announce) -> anyhow::Result<()> {
    let admin_password = std::env::var("VESTIBULE_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let default_project = &core.config().default_project;
    match core
        .directory()
        .bootstrap(admin_password.as_deref(), default_project)
        .await?
    {
        Bootstrap::Created {
            generated_password: Some(p),
        } => {
            announce.note(&format!(
                "first start: created user '{ADMIN_USER}' with password: {p}"
            ));
            announce.note(&format!("this password is shown only once; change it with 'vestibule user passwd {ADMIN_USER} --password-stdin'"));
        }
        Bootstrap::Created {
            generated_password: None,
        } => {
            announce.note(&format!(
                "first start: created user '{ADMIN_USER}' with the password from VESTIBULE_ADMIN_PASSWORD"
            ));
        }
        Bootstrap::AlreadyDone => {}
    }
    // Every project has its schema folder tree (made here for projects that predate it).
    let model = core.model()?;
    for project in core.directory().projects().await? {
        model.ensure_project(&project).await?;
    }
    Ok(())
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    let announce = Announce::of(&config);
    match serve(config, announce).await {
        Err(e) if announce == Announce::Json => {
            tracing::error!(target: START_TARGET, error = %format!("{e:#}"), "serving failed");
            Err(Reported.into())
        }
        other => other,
    }
}

async fn serve(config: Config, announce: Announce) -> anyhow::Result<()> {
    let listen = config.listen.clone();
    // A cap the open-file limit cannot hold fails the start before anything is opened.
    let max_connections = vestibule_server::edge::connection_cap_for(&config.server)?;
    // Bind first: an address in use fails before the store is touched (or made, on a first start).
    let listener = TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let metrics_listen = config.server.metrics_listen.clone();
    let metrics_listener = if metrics_listen.is_empty() {
        None
    } else {
        Some(
            TcpListener::bind(&metrics_listen)
                .await
                .with_context(|| format!("server.metrics_listen: cannot listen on {metrics_listen}"))?,
        )
    };
    // A certificate that cannot be read fails the start, naming the setting and the file.
    let tls = vestibule_server::edge::Tls::from_config(&config.server)?;
    let core = open_core(config, vestibule_store::Opener::Server).await?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // SIGHUP reloads from here on (before anyone is told the server listens).
    let reload = vestibule_server::edge::tls::Reload::new(tls);
    // Tests and scripts read this line to find the port.
    announce.listening(&format!("{scheme}://{addr}"));
    if let Some(m) = &metrics_listener {
        announce.metrics(&format!("http://{}", m.local_addr()?));
    }
    tracing::info!(%addr, data_dir = %core.config().data_dir.display(), max_connections, "serving");
    let options = ServeOptions {
        listener,
        max_connections,
        reload,
        metrics_listener,
    };
    vestibule_server::serve(core, options, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
