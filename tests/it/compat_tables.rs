//! mstrio-py's table workflows (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_tables.py` makes a warehouse table and a free-form SQL table (its precision sent
//! as text), lists and reads physical tables, makes a logical table over an existing physical
//! table and aliases of it, lists a physical table's logical tables, refreshes structures, and
//! deletes; on SQLite and on PostgreSQL.

use std::process::Command;

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::common::{repo_root, ADMIN_PASSWORD};
use crate::compat_mstr::compat_python;

async fn mstrio_tables(backend: Backend, test: &str) {
    let python = compat_python(test);
    let m = start(backend, test).await;
    let args = [
        repo_root().join("compat/mstr_tables.py").display().to_string(),
        m.server.url("/MicroStrategyLibrary"),
        "administrator".into(),
        ADMIN_PASSWORD.into(),
        m.project.clone(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(&args).output())
        .await
        .unwrap()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "mstr_tables.py failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        out.status,
        m.server.stderr()
    );
    println!("{stdout}");
}
both_backends!(compat_tables_mstrio_physical_tables_aliases_sql, mstrio_tables);
