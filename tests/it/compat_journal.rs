//! mstrio-py's change journal (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_journal.py` gives comments through mstrio's `journal_comment` arguments (create,
//! alter through the modeling API and through `/api/objects`, delete, a folder's delete), reads
//! them back with `list_change_journal_entries` and its filters, `Entity.change_journal`,
//! `fetch_all_change_journal_entries` and `list_properties()`, and purges with
//! `purge_change_journal_entries` and `Project.purge_change_journals`; on SQLite and on
//! PostgreSQL.

use std::process::Command;

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::common::{repo_root, ADMIN_PASSWORD};
use crate::compat_mstr::compat_python;

async fn mstrio_journal(backend: Backend, test: &str) {
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
    let args = [
        repo_root().join("compat/mstr_journal.py").display().to_string(),
        m.server.url("/MicroStrategyLibrary"),
        "administrator".into(),
        ADMIN_PASSWORD.into(),
        m.project.clone(),
        table,
        m.attributes_folder.clone(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(&args).output())
        .await
        .expect("join")
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "mstr_journal.py failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        out.status,
        m.server.stderr()
    );
    println!("{stdout}");
}
both_backends!(compat_journal_mstrio_entries_comments_purge, mstrio_journal);
