//! `vestibule backup --to FILE`: a consistent copy of the embedded store, taken while the server
//! runs (the store's own [`vestibule_store::backup`]). A PostgreSQL deployment is backed up with
//! PostgreSQL's tools instead; docs/operations.md says how to restore either.

use std::path::Path;
use std::time::Duration;

use anyhow::bail;

use vestibule_core::config::Config;

pub async fn run(config: &Config, to: &Path) -> anyhow::Result<()> {
    let metadata = &config.store.metadata;
    if metadata.starts_with("postgres://") || metadata.starts_with("postgresql://") {
        bail!(
            "store.metadata is a PostgreSQL database: back it up with pg_dump (see docs/operations.md, \
             \"Backup and restore\"); vestibule backup copies only the embedded store"
        );
    }
    if metadata != "embedded" {
        bail!("store.metadata '{metadata}': neither 'embedded' nor a postgres:// URL");
    }
    if to.exists() {
        bail!(
            "{} exists: a backup never replaces a file, name a new one",
            to.display()
        );
    }
    let timeout = Duration::from_secs(config.store.timeout_secs);
    let s = vestibule_store::backup::backup_embedded(&config.data_dir, to, timeout).await?;
    println!(
        "backed up {} to {} ({} bytes: {} users, {} groups, {} projects, {} model objects, {} sessions)",
        config.data_dir.display(),
        to.display(),
        s.bytes,
        s.users,
        s.groups,
        s.projects,
        s.model_objects,
        s.sessions
    );
    if config.store.sessions != "embedded" {
        println!("sessions are in Redis (store.sessions), not in this copy");
    }
    Ok(())
}
