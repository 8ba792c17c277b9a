//! A fresh PostgreSQL database per test, dropped when the guard goes. Statements run through psql,
//! which is on every machine that has the server, so the tests link no driver of their own.

use std::sync::atomic::{AtomicU32, Ordering};

pub struct FreshDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

async fn psql(url: &str, sql: &str) {
    let out = tokio::process::Command::new("psql")
        .arg(url)
        .arg("-qc")
        .arg(sql)
        .output()
        .await
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl FreshDb {
    /// Creates `vst_<unique>` on the server of `admin_url` (e.g. postgres://postgres@127.0.0.1/test).
    pub async fn create(admin_url: &str) -> FreshDb {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "vst_{}_{}_{}",
            std::process::id(),
            nanos,
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        psql(admin_url, &format!("CREATE DATABASE {name}")).await;
        let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin_url);
        FreshDb {
            admin_url: admin_url.to_string(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::process::Command::new("psql")
            .arg(&self.admin_url)
            .arg("-qc")
            .arg(&sql)
            .output();
    }
}
