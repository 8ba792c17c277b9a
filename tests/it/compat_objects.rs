//! mstrio-py's object workflows (pinned in compat/requirements.txt) against the real binary:
//! `compat/mstr_objects.py` resolves folder paths from the system folders' well-known ids,
//! makes attributes in folders given by path, searches them (`list_attributes`,
//! `Attribute(name=…)`), sets comments, makes a folder and moves an attribute into it by path,
//! copies it, lists dependents and dependencies, and deletes the folder; on SQLite and on
//! PostgreSQL.

use std::process::Command;

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::common::{json, repo_root, ADMIN_PASSWORD};
use crate::compat_mstr::compat_python;

async fn mstrio_objects(backend: Backend, test: &str) {
    let python = compat_python(test);
    let m = start(backend, test).await;
    let (status, projects) = json(
        m.admin
            .get(&m.server.url("/MicroStrategyLibrary/api/projects"))
            .send()
            .await
            .expect("projects"),
    )
    .await;
    assert_eq!(status, 200, "{projects}");
    let project_name = projects[0]["name"].as_str().expect("a project name").to_string();
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
        repo_root().join("compat/mstr_objects.py").display().to_string(),
        m.server.url("/MicroStrategyLibrary"),
        "administrator".into(),
        ADMIN_PASSWORD.into(),
        m.project.clone(),
        project_name,
        table,
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(python).args(&args).output())
        .await
        .expect("join")
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "mstr_objects.py failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server\n{}",
        out.status,
        m.server.stderr()
    );
    println!("{stdout}");
}
both_backends!(compat_objects_mstrio_folders_search_copy, mstrio_objects);
