//! A whole mstrio-py modeling script (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_modeling_script.py` locks the schema, makes tables (warehouse, alias, SQL),
//! attributes, an ordinary and a joint-child relationship, reloads and follows the task, unlocks,
//! has a second session blocked by the lock and let through after it, and reads the change
//! journal; on SQLite and on PostgreSQL.

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::compat_mstr::run_mstrio_script;

async fn modeling_script(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let args = [m.project.clone(), m.attributes_folder.clone()];
    run_mstrio_script(&m, test, "mstr_modeling_script.py", &args).await;
}
both_backends!(
    compat_modeling_script_lock_tables_attributes_reload_journal,
    modeling_script
);
