//! mstrio-py's `SchemaManagement` (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_schema.py` reads the lock status, locks, creates an attribute as the holder,
//! has a second connection (another user's session) refused at its commit and at its unlock,
//! reloads asynchronously (following the task with `get_task`) and synchronously, unlocks, and
//! then the second connection's attribute goes through; on SQLite and on PostgreSQL.

use std::process::Command;

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::common::{repo_root, ADMIN_PASSWORD};
use crate::compat_mstr::compat_python;

const MODELER_PASSWORD: &str = "modeler-pass-1";

async fn mstrio_schema(backend: Backend, test: &str) {
    let python = compat_python(test);
    let m = start(backend, test).await;
    let out = m.server.cli(
        &[
            "table",
            "add",
            &m.project,
            "LU_SUBCATEG",
            "--column",
            "SUBCAT_ID:integer",
            "--column",
            "SUBCAT_DESC:n_var_char",
            "--column",
            "CATEGORY_ID:integer",
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let table = stdout
        .split(['(', ')'])
        .nth(1)
        .expect("the table id in the CLI's output")
        .to_string();
    m.server.add_user("modeler", MODELER_PASSWORD);
    let out = m.server.cli(&["user", "grant", "modeler", "SCHEMA_EDIT"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let args = [
        repo_root().join("compat/mstr_schema.py").display().to_string(),
        m.server.url("/MicroStrategyLibrary"),
        "administrator".into(),
        ADMIN_PASSWORD.into(),
        m.project.clone(),
        table,
        m.attributes_folder.clone(),
        "modeler".into(),
        MODELER_PASSWORD.into(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(&args).output())
        .await
        .unwrap()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "mstr_schema.py failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        out.status,
        m.server.stderr()
    );
    println!("{stdout}");
}
both_backends!(compat_schema_mstrio_lock_reload_tasks_unlock, mstrio_schema);
