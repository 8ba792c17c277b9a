//! mstrio-py's relationship workflows (pinned in compat/requirements.txt) against the real
//! binary: `compat/mstr_relationships.py` adds and removes parents and children from either
//! attribute and checks both attributes' definitions and the system hierarchy after each, makes
//! a relationship inside a changeset, then adds and removes a joint child; on SQLite and on
//! PostgreSQL.

use std::process::Command;

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::common::{repo_root, ADMIN_PASSWORD};
use crate::compat_mstr::compat_python;

async fn mstrio_relationships(backend: Backend, test: &str) {
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
            "--column",
            "ITEM_ID:integer",
            "--column",
            "PROMO_ID:integer",
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
        repo_root()
            .join("compat/mstr_relationships.py")
            .display()
            .to_string(),
        m.server.url("/MicroStrategyLibrary"),
        "administrator".into(),
        ADMIN_PASSWORD.into(),
        m.project.clone(),
        table,
        m.attributes_folder.clone(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(&args).output())
        .await
        .unwrap()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "mstr_relationships.py failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        out.status,
        m.server.stderr()
    );
    println!("{stdout}");
}
both_backends!(compat_relationships_mstrio_both_ways, mstrio_relationships);
