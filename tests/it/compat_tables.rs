//! mstrio-py's table workflows (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_tables.py` makes a warehouse table and a free-form SQL table (its precision sent
//! as text), lists and reads physical tables, makes a logical table over an existing physical
//! table and aliases of it, lists a physical table's logical tables, refreshes structures, and
//! deletes; on SQLite and on PostgreSQL.

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::compat_mstr::run_mstrio_script;

async fn mstrio_tables(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    run_mstrio_script(&m, test, "mstr_tables.py", std::slice::from_ref(&m.project)).await;
}
both_backends!(compat_tables_mstrio_physical_tables_aliases_sql, mstrio_tables);
