//! mstrio-py's `SchemaManagement` (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_schema.py` reads the lock status, locks, creates an attribute as the holder,
//! has a second connection (another user's session) refused at its commit and at its unlock,
//! reloads asynchronously (following the task with `get_task`) and synchronously, unlocks, and
//! then the second connection's attribute goes through; on SQLite and on PostgreSQL.

use crate::both_backends;
use crate::common::model::{add_table, start, Backend};
use crate::compat_mstr::run_mstrio_script;

const MODELER_PASSWORD: &str = "modeler-pass-1";

async fn mstrio_schema(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let table = add_table(
        &m,
        "LU_SUBCATEG",
        &[
            "SUBCAT_ID:integer",
            "SUBCAT_DESC:n_var_char",
            "CATEGORY_ID:integer",
        ],
    );
    m.server.add_user("modeler", MODELER_PASSWORD);
    let out = m.server.cli(&["user", "grant", "modeler", "SCHEMA_EDIT"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let args = [
        m.project.clone(),
        table,
        m.attributes_folder.clone(),
        "modeler".into(),
        MODELER_PASSWORD.into(),
    ];
    run_mstrio_script(&m, test, "mstr_schema.py", &args).await;
}
both_backends!(compat_schema_mstrio_lock_reload_tasks_unlock, mstrio_schema);
