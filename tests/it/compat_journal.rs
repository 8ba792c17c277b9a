//! mstrio-py's change journal (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_journal.py` gives comments through mstrio's `journal_comment` arguments (create,
//! alter through the modeling API and through `/api/objects`, delete, a folder's delete), reads
//! them back with `list_change_journal_entries` and its filters, `Entity.change_journal`,
//! `fetch_all_change_journal_entries` and `list_properties()`, and purges with
//! `purge_change_journal_entries` and `Project.purge_change_journals`; on SQLite and on
//! PostgreSQL.

use crate::both_backends;
use crate::common::model::{add_table, start, Backend};
use crate::compat_mstr::run_mstrio_script;

async fn mstrio_journal(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let table = add_table(
        &m,
        "LU_SUBCATEG",
        &["SUBCAT_ID:integer", "SUBCAT_DESC:n_var_char"],
    );
    let args = [m.project.clone(), table, m.attributes_folder.clone()];
    run_mstrio_script(&m, test, "mstr_journal.py", &args).await;
}
both_backends!(compat_journal_mstrio_entries_comments_purge, mstrio_journal);
