//! `vestibule healthcheck`: asks a running server's `/health/ready` and turns the answer into an
//! exit code, for container health checks (Docker's `HEALTHCHECK`, a systemd watchdog script).

use std::time::Duration;

use anyhow::{bail, Context};

/// The probe's URL when none is given: `server.metrics_listen` when set (plain HTTP), else the
/// `listen` address (`https` when the server has TLS of its own), with an unspecified host
/// (`0.0.0.0`, `[::]`) asked on loopback.
pub fn default_url_of(config: &vestibule_core::config::Config) -> anyhow::Result<String> {
    let server = &config.server;
    if !server.metrics_listen.is_empty() {
        return default_url(&server.metrics_listen, false);
    }
    default_url(&config.listen, server.tls())
}

fn default_url(listen: &str, tls: bool) -> anyhow::Result<String> {
    let addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("listen '{listen}' is not an address and port"))?;
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    Ok(format!(
        "{scheme}://{}/health/ready",
        std::net::SocketAddr::new(ip, addr.port())
    ))
}

/// `Ok` when the server answered 200; else the status and the checks it named, or why it could
/// not be asked.
pub async fn run(url: &str, timeout: Duration) -> anyhow::Result<()> {
    // The probe asks its own server on loopback, whose certificate names the public host: it
    // checks that the server answers, not who it is.
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .danger_accept_invalid_certs(true)
        .build()
        .context("making the HTTP client")?;
    let resp = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("{url}: no answer"))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if status.is_success() {
        println!("ready ({url})");
        return Ok(());
    }
    bail!("{url}: {status}: {}", body.trim())
}

#[cfg(test)]
mod tests {
    use super::default_url;

    #[test]
    fn the_default_url_asks_loopback_for_an_unspecified_host() {
        assert_eq!(
            default_url("0.0.0.0:8080", false).unwrap(),
            "http://127.0.0.1:8080/health/ready"
        );
        assert_eq!(
            default_url("[::]:9", false).unwrap(),
            "http://[::1]:9/health/ready"
        );
        assert_eq!(
            default_url("10.1.2.3:80", true).unwrap(),
            "https://10.1.2.3:80/health/ready"
        );
        assert!(default_url("nowhere", false).is_err());
    }
}
