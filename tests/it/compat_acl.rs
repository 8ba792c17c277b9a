//! mstrio-py's ACL workflow (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_acl.py` reads `attr.acl` and `list_acl()`, changes the ACL with `acl_add`,
//! `acl_remove` and `acl_alter`, and checks what two non-admin users of one group can and cannot
//! do with the attribute then; on SQLite and on PostgreSQL.

use std::process::Command;

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::common::{repo_root, ADMIN_PASSWORD};
use crate::compat_mstr::compat_python;

const USER_PASSWORD: &str = "compat-acl-password";

/// The id in a CLI line "added … 'name' (ID)".
fn added_id(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .split(['(', ')'])
        .nth(1)
        .expect("an id in the CLI's output")
        .to_string()
}

async fn mstrio_acl(backend: Backend, test: &str) {
    let python = compat_python(test);
    let m = start(backend, test).await;
    let table = added_id(m.server.cli(
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
    ));
    let password = format!("{USER_PASSWORD}\n");
    let alice = added_id(
        m.server
            .cli(&["user", "add", "alice", "--password-stdin"], &password),
    );
    let bob = added_id(
        m.server
            .cli(&["user", "add", "bob", "--password-stdin"], &password),
    );
    let group = added_id(m.server.cli(&["group", "add", "Modelers"], ""));
    for args in [
        &["group", "add-member", "Modelers", "alice", "bob"][..],
        &["group", "grant", "Modelers", "SCHEMA_EDIT"][..],
    ] {
        let out = m.server.cli(args, "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let args = [
        repo_root().join("compat/mstr_acl.py").display().to_string(),
        m.server.url("/MicroStrategyLibrary"),
        ADMIN_PASSWORD.into(),
        m.project.clone(),
        table,
        m.attributes_folder.clone(),
        USER_PASSWORD.into(),
        alice,
        bob,
        group,
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(&args).output())
        .await
        .unwrap()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "mstr_acl.py failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        out.status,
        m.server.stderr()
    );
    println!("{stdout}");
}
both_backends!(compat_acl_mstrio_object_acl, mstrio_acl);
