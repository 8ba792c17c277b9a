//! The server's own TLS (`server.tls_cert_file`, `server.tls_key_file`): rustls, with the
//! certificate and key read from PEM files at start and read again on SIGHUP or when either file
//! changes (checked every [`WATCH_EVERY`]). The new certificate is swapped in for the handshakes
//! that follow; open connections keep theirs and are not dropped. A reload that fails (a half-
//! written file, a key that does not match) is logged and the old certificate kept.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use tokio_rustls::rustls::crypto::ring as provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::ServerConfig as RustlsConfig;
use tokio_rustls::TlsAcceptor;

use vestibule_core::config::ServerConfig;

/// How often the files' modification times are looked at.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Why the certificate could not be used: one line naming the setting and the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(pub String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// The server's TLS: the acceptor of its connections and the certificate they are given.
pub struct Tls {
    acceptor: TlsAcceptor,
    certificate: Arc<Current>,
    cert_file: PathBuf,
    key_file: PathBuf,
    /// The files' (modified, length) when last read, to see that they changed.
    stamp: Mutex<Option<Stamp>>,
}

type Stamp = [(Option<SystemTime>, u64); 2];

/// The certificate handed to each new handshake.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|c| Arc::clone(&c))
    }
}

impl Tls {
    /// Reads the configured files; `None` when TLS is not configured.
    pub fn from_config(config: &ServerConfig) -> Result<Option<Arc<Tls>>, TlsError> {
        if !config.tls() {
            return Ok(None);
        }
        let (cert_file, key_file) = (
            PathBuf::from(&config.tls_cert_file),
            PathBuf::from(&config.tls_key_file),
        );
        let stamp = stamp_of(&cert_file, &key_file);
        let key = load(&cert_file, &key_file)?;
        let certificate = Arc::new(Current(RwLock::new(Arc::new(key))));
        let mut rustls = RustlsConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(format!("server.tls_cert_file: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&certificate) as Arc<dyn ResolvesServerCert>);
        rustls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Arc::new(Tls {
            acceptor: TlsAcceptor::from(Arc::new(rustls)),
            certificate,
            cert_file,
            key_file,
            stamp: Mutex::new(Some(stamp)),
        })))
    }

    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads the files again and serves the new certificate to the handshakes that follow.
    pub fn reload(&self) -> Result<(), TlsError> {
        let stamp = stamp_of(&self.cert_file, &self.key_file);
        let key = load(&self.cert_file, &self.key_file)?;
        if let Ok(mut current) = self.certificate.0.write() {
            *current = Arc::new(key);
        }
        if let Ok(mut s) = self.stamp.lock() {
            *s = Some(stamp);
        }
        Ok(())
    }

    /// Whether either file changed since it was last read.
    fn changed(&self) -> bool {
        let now = stamp_of(&self.cert_file, &self.key_file);
        self.stamp.lock().map(|s| *s != Some(now)).unwrap_or(false)
    }

    /// Reloads, saying in the log what came of it.
    fn reload_logged(&self, why: &'static str) {
        match self.reload() {
            Ok(()) => tracing::info!(why, cert_file = %self.cert_file.display(), "TLS certificate reloaded"),
            Err(e) => {
                // Not tried again until the files change again (or the next SIGHUP).
                if let Ok(mut s) = self.stamp.lock() {
                    *s = Some(stamp_of(&self.cert_file, &self.key_file));
                }
                tracing::error!(why, error = %e, "TLS certificate not reloaded; the previous one stays in use")
            }
        }
    }
}

/// The reloads: on SIGHUP the certificate is read again (or the log says there is nothing to
/// reload), and every [`WATCH_EVERY`] it is read again if its files changed.
pub struct Reload {
    tls: Option<Arc<Tls>>,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Reload {
    /// Takes SIGHUP over now (inside the runtime), so that from here on it reloads and never stops
    /// the process, even before [`Reload::run`] is first polled: make this before the server says
    /// it is listening.
    pub fn new(tls: Option<Arc<Tls>>) -> Self {
        Reload {
            tls,
            #[cfg(unix)]
            hangup: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
        }
    }

    pub fn tls(&self) -> Option<Arc<Tls>> {
        self.tls.clone()
    }

    /// Reloads as asked until the process ends.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let signal = async {
                match self.hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let signal = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = signal => match &self.tls {
                    Some(tls) => tls.reload_logged("SIGHUP"),
                    None => tracing::info!("SIGHUP: no TLS certificate to reload"),
                },
                _ = tick.tick() => {
                    if let Some(tls) = self.tls.as_ref().filter(|t| t.changed()) {
                        tls.reload_logged("file changed");
                    }
                }
            }
        }
    }
}

fn stamp_of(cert: &Path, key: &Path) -> Stamp {
    let one = |p: &Path| match std::fs::metadata(p) {
        Ok(m) => (m.modified().ok(), m.len()),
        Err(_) => (None, 0),
    };
    [one(cert), one(key)]
}

/// The certificate chain and key of the two PEM files, checked to belong together.
fn load(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_err =
        |e: &dyn fmt::Display| TlsError(format!("server.tls_cert_file: {}: {e}", cert_file.display()));
    let key_err =
        |e: &dyn fmt::Display| TlsError(format!("server.tls_key_file: {}: {e}", key_file.display()));
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| cert_err(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(&e))?;
    if chain.is_empty() {
        return Err(cert_err(&"no CERTIFICATE in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| key_err(&e))?;
    let signer = provider::sign::any_supported_type(&key).map_err(|e| key_err(&e))?;
    let certified = CertifiedKey::new(chain, signer);
    certified
        .keys_match()
        .map_err(|e| key_err(&format!("does not match the certificate ({e})")))?;
    Ok(certified)
}
