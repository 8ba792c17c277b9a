//! The `vestibule` command line: user and group administration against a running server's store,
//! configuration checks, refusals at `serve` start, and the generated first password.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::mstr::{assert_mstr_error, form_login, get_json, status_of, user_id, LIB};
use crate::common::{client, mstr_login, send, TestServer, ADMIN_PASSWORD};

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the binary with exactly `env` (plus PATH/HOME) and a deadline, for commands that must exit.
fn run(args: &[&str], env: &[(&str, &str)], data_dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vestibule"));
    cmd.env_clear();
    for key in ["PATH", "HOME", "TMPDIR"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd.envs(env.iter().copied())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run vestibule");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "vestibule {args:?} did not exit; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Asserts a failed command: non-zero exit and exactly one line on stderr containing `needle`.
fn one_line_failure(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got:\n{stderr}");
    assert!(lines[0].contains(needle), "'{needle}' not in: {}", lines[0]);
}

async fn login_status(server: &TestServer, user: &str, pass: &str) -> u16 {
    let url = server.url(&format!("{LIB}/auth/login"));
    form_login(&client(), &url, user, pass).await.status().as_u16()
}

/// Polls `f` until it returns true, for changes made by another process that the server sees
/// after its short directory cache.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..60 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test]
async fn cli_user_lifecycle_against_a_running_server() {
    let server = TestServer::start();
    let out = server.cli(
        &[
            "user",
            "add",
            "ivan",
            "--full-name",
            "Ivan Petrov",
            "--password-stdin",
        ],
        "ivan-pass\n",
    );
    ok(&out);
    // A duplicate and a bad name are refused with one line.
    one_line_failure(
        &server.cli(&["user", "add", "IVAN", "--password-stdin"], "x\n"),
        "already exists",
    );
    one_line_failure(
        &server.cli(&["user", "add", " padded ", "--password-stdin"], "x\n"),
        "spaces",
    );
    one_line_failure(
        &server.cli(&["user", "add", "nopass", "--password-stdin"], "\n"),
        "password",
    );

    let list = ok(&server.cli(&["user", "list"], ""));
    assert!(list.contains("ivan") && list.contains("administrator"), "{list}");
    assert!(list.contains("Ivan Petrov"), "{list}");

    let s = mstr_login(&server, "ivan", "ivan-pass").await;
    let (_, info) = get_json(&s, &server.url(&format!("{LIB}/sessions/userInfo"))).await;
    assert_eq!(info["fullName"], "Ivan Petrov");
    assert_eq!(info["initials"], "IP");

    // Disable: its live session stops working and it cannot log in.
    ok(&server.cli(&["user", "disable", "ivan"], ""));
    let list = ok(&server.cli(&["user", "list"], ""));
    assert!(
        list.lines().any(|l| l.contains("ivan") && l.contains("disabled")),
        "{list}"
    );
    eventually("the disabled user's session ending", || async {
        status_of(&s, &server.url(&format!("{LIB}/sessions"))).await == 401
    })
    .await;
    assert_mstr_error(
        send(s.get(&server.url(&format!("{LIB}/sessions")))).await,
        401,
        "ERR009",
    )
    .await;
    eventually("the disabled user's login failing", || async {
        login_status(&server, "ivan", "ivan-pass").await == 401
    })
    .await;

    // Enable, then change the password: the old one stops working.
    ok(&server.cli(&["user", "enable", "ivan"], ""));
    assert_eq!(login_status(&server, "ivan", "ivan-pass").await, 204);
    ok(&server.cli(&["user", "passwd", "ivan", "--password-stdin"], "new-ivan-pass\n"));
    assert_eq!(login_status(&server, "ivan", "ivan-pass").await, 401);
    assert_eq!(login_status(&server, "ivan", "new-ivan-pass").await, 204);

    // Grant and revoke: seen in the session's privileges.
    let s = mstr_login(&server, "ivan", "new-ivan-pass").await;
    let holds = |id: &'static str| {
        let s = &s;
        let server = &server;
        async move {
            let (_, p) = get_json(s, &server.url(&format!("{LIB}/sessions/privileges/{id}"))).await;
            p["isUserLevelAllowed"] == true
        }
    };
    assert!(!holds("7").await);
    ok(&server.cli(&["user", "grant", "ivan", "ADMINISTRATION", "schema_edit"], ""));
    eventually("the grant", || holds("7")).await;
    assert!(holds("4").await);
    ok(&server.cli(&["user", "revoke", "ivan", "ADMINISTRATION"], ""));
    eventually("the revoke", || async { !holds("7").await }).await;
    one_line_failure(
        &server.cli(&["user", "grant", "ivan", "NO_SUCH_PRIVILEGE"], ""),
        "unknown privilege",
    );
    one_line_failure(
        &server.cli(&["user", "grant", "nobody", "WEB_USER"], ""),
        "nobody",
    );
    one_line_failure(&server.cli(&["user", "disable", "nobody"], ""), "nobody");
}

#[tokio::test]
async fn cli_groups_grant_privileges_to_members() {
    let server = TestServer::start();
    server.add_user("judy", "judy-pass");
    ok(&server.cli(&["group", "add", "Admins2", "--description", "second admins"], ""));
    one_line_failure(&server.cli(&["group", "add", "admins2"], ""), "already exists");
    ok(&server.cli(&["group", "add-member", "Admins2", "judy"], ""));
    ok(&server.cli(&["group", "grant", "Admins2", "ADMINISTRATION"], ""));
    let groups = ok(&server.cli(&["group", "list"], ""));
    assert!(
        groups.contains("Admins2") && groups.contains("judy") && groups.contains("ADMINISTRATION"),
        "{groups}"
    );
    one_line_failure(
        &server.cli(&["group", "add-member", "NoGroup", "judy"], ""),
        "NoGroup",
    );

    // Through the group, judy may now make an API token for the administrator.
    let judy = mstr_login(&server, "judy", "judy-pass").await;
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let admin_id = user_id(&admin, &server).await;
    eventually("the group grant", || async {
        judy.post(&server.url(&format!("{LIB}/auth/apiTokens")))
            .json(&serde_json::json!({"userId": admin_id}))
            .send()
            .await
            .unwrap()
            .status()
            == 201
    })
    .await;
}

#[tokio::test]
async fn cli_privileges_lists_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["privileges"], &[("VESTIBULE_ADMIN_PASSWORD", "x")], dir.path());
    let text = ok(&out);
    for key in ["USE_REST_API", "SCHEMA_EDIT", "ADMINISTRATION"] {
        assert!(text.contains(key), "{text}");
    }
    let ids: Vec<u32> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(ids.len() >= 7, "{text}");
}

#[tokio::test]
async fn cli_check_config_reports_one_line_for_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:9999\"\n[session]\nserver_timeout_secs = 60\nhttp_timeout_secs = 120\n",
    )
    .unwrap();
    let out = run(&["check-config", good.to_str().unwrap()], &[], dir.path());
    assert!(ok(&out).contains("valid"));

    for (name, text, needle) in [
        ("unknown.toml", "[session]\nbogus = 1\n", "session.bogus"),
        ("type.toml", "listen = 5\n", "listen"),
        ("syntax.toml", "listen = \n", "syntax.toml"),
        (
            "timeouts.toml",
            "[session]\nserver_timeout_secs = 60\nhttp_timeout_secs = 60\n",
            "http_timeout_secs",
        ),
        ("listen.toml", "listen = \"not-an-address\"\n", "listen"),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        one_line_failure(
            &run(&["check-config", f.to_str().unwrap()], &[], dir.path()),
            needle,
        );
        // `serve --config` refuses it the same way, before listening.
        one_line_failure(
            &run(
                &[
                    "serve",
                    "--config",
                    f.to_str().unwrap(),
                    "--listen",
                    "127.0.0.1:0",
                ],
                &[],
                dir.path(),
            ),
            needle,
        );
    }
    one_line_failure(
        &run(
            &["check-config", dir.path().join("missing.toml").to_str().unwrap()],
            &[],
            dir.path(),
        ),
        "missing.toml",
    );
    // Wrong arguments are one line too.
    one_line_failure(
        &run(&["serve", "--no-such-flag"], &[], dir.path()),
        "no-such-flag",
    );
    one_line_failure(&run(&["user", "passwd", "x"], &[], dir.path()), "password-stdin");
}

#[tokio::test]
async fn cli_serve_refuses_bad_environment_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let base = [("VESTIBULE_ADMIN_PASSWORD", "x")];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("VESTIBULE_SESION_SERVER_TIMEOUT_SECS", "5")],
            "VESTIBULE_SESION_SERVER_TIMEOUT_SECS",
        ),
        (
            vec![
                ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "60"),
                ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "30"),
            ],
            "must be greater than",
        ),
        (
            vec![
                ("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "60"),
                ("VESTIBULE_SESSION_HTTP_TIMEOUT_SECS", "60"),
            ],
            "must be greater than",
        ),
        (
            vec![("VESTIBULE_SESSION_SERVER_TIMEOUT_SECS", "soon")],
            "not a whole number",
        ),
        (vec![("VESTIBULE_AUTH_GUEST_ENABLED", "maybe")], "true or false"),
        (vec![("VESTIBULE_LISTEN", "nowhere")], "listen"),
        // It becomes a route prefix and a cookie Path: no way to smuggle attributes in.
        (
            vec![("VESTIBULE_CONTEXT_PATH", "/Lib;Domain=evil")],
            "context_path",
        ),
        (vec![("VESTIBULE_CONTEXT_PATH", "/Lib/{id}")], "context_path"),
    ];
    for (env, needle) in cases {
        let mut all = base.to_vec();
        all.extend(env);
        let out = run(&["serve", "--listen", "127.0.0.1:0"], &all, dir.path());
        one_line_failure(&out, needle);
        assert!(
            String::from_utf8_lossy(&out.stdout).is_empty()
                || !String::from_utf8_lossy(&out.stdout).contains("listening")
        );
    }
    // check-config sees the environment too.
    one_line_failure(
        &run(&["check-config"], &[("VESTIBULE_NOPE", "1")], dir.path()),
        "VESTIBULE_NOPE",
    );
}

#[tokio::test]
async fn cli_first_start_prints_a_generated_password_once() {
    // An empty VESTIBULE_ADMIN_PASSWORD is "not set".
    let mut server = TestServer::start_with(&[("VESTIBULE_ADMIN_PASSWORD", "")]);
    let find = |server: &TestServer| -> Vec<String> {
        server
            .stderr()
            .lines()
            .filter_map(|l| l.split_once("with password: ").map(|(_, p)| p.trim().to_string()))
            .collect()
    };
    let mut passwords = find(&server);
    for _ in 0..50 {
        if !passwords.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        passwords = find(&server);
    }
    assert_eq!(passwords.len(), 1, "stderr:\n{}", server.stderr());
    let password = passwords[0].clone();
    assert!(password.len() >= 16, "{password}");
    assert_eq!(login_status(&server, "administrator", &password).await, 204);
    assert_eq!(login_status(&server, "administrator", ADMIN_PASSWORD).await, 401);
    // Still valid after a restart, and not printed again: counted once the second process has
    // exited and all it wrote is read.
    server.kill9_and_restart();
    assert_eq!(login_status(&server, "administrator", &password).await, 204);
    server.stop();
    assert_eq!(find(&server).len(), 1, "stderr:\n{}", server.stderr());
}

#[tokio::test]
async fn cli_serve_reports_an_unusable_address_or_data_dir_in_one_line() {
    let server = TestServer::start();
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["serve", "--listen", &format!("127.0.0.1:{port}")],
        &[("VESTIBULE_ADMIN_PASSWORD", "x")],
        dir.path(),
    );
    one_line_failure(&out, &format!("127.0.0.1:{port}"));
    // A data directory that cannot be made.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let out = run(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("VESTIBULE_ADMIN_PASSWORD", "x")],
        &file.join("sub"),
    );
    one_line_failure(&out, "a-file");
}

/// A list command's `--json` output, parsed.
fn json_list(server: &TestServer, args: &[&str]) -> Vec<serde_json::Value> {
    let out = ok(&server.cli(args, ""));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not a JSON array ({e}): {out}"))
}

fn named<'a>(list: &'a [serde_json::Value], name: &str) -> Option<&'a serde_json::Value> {
    list.iter().find(|v| v["name"] == name)
}

#[tokio::test]
async fn cli_user_delete_ends_its_sessions_and_its_memberships() {
    let server = TestServer::start();
    server.add_user("ivy", "ivy-pass-1");
    ok(&server.cli(&["group", "add", "Readers"], ""));
    ok(&server.cli(&["group", "add-member", "Readers", "ivy"], ""));
    let s = mstr_login(&server, "ivy", "ivy-pass-1").await;
    assert_eq!(status_of(&s, &server.url(&format!("{LIB}/sessions"))).await, 200);

    let said = ok(&server.cli(&["user", "delete", "IVY"], ""));
    assert!(
        said.contains("deleted user 'ivy'") && said.contains("ended 1 session"),
        "{said}"
    );
    eventually("the deleted user's session ending", || async {
        status_of(&s, &server.url(&format!("{LIB}/sessions"))).await == 401
    })
    .await;
    assert_eq!(login_status(&server, "ivy", "ivy-pass-1").await, 401);
    let users = json_list(&server, &["user", "list", "--json"]);
    assert!(named(&users, "ivy").is_none(), "{users:?}");
    let groups = json_list(&server, &["group", "list", "--json"]);
    assert_eq!(
        named(&groups, "Readers").expect("Readers")["members"],
        serde_json::json!([])
    );
    one_line_failure(&server.cli(&["user", "delete", "ivy"], ""), "no user named 'ivy'");
    // The built-in users stay.
    for builtin in ["administrator", "guest"] {
        one_line_failure(&server.cli(&["user", "delete", builtin], ""), "built-in user");
    }
    assert_eq!(json_list(&server, &["user", "list", "--json"]).len(), 2);

    // The name is free again; the new user is another one, and the old session stays ended.
    server.add_user("ivy", "ivy-pass-2");
    assert_eq!(login_status(&server, "ivy", "ivy-pass-2").await, 204);
    assert_eq!(status_of(&s, &server.url(&format!("{LIB}/sessions"))).await, 401);
}

#[tokio::test]
async fn cli_group_delete_takes_its_privileges_from_its_members() {
    let server = TestServer::start();
    server.add_user("judy", "judy-pass");
    ok(&server.cli(&["group", "add", "Admins3"], ""));
    ok(&server.cli(&["group", "add-member", "Admins3", "judy"], ""));
    ok(&server.cli(&["group", "grant", "Admins3", "ADMINISTRATION"], ""));
    let judy = mstr_login(&server, "judy", "judy-pass").await;
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let admin_id = user_id(&admin, &server).await;
    let mint = || async {
        judy.post(&server.url(&format!("{LIB}/auth/apiTokens")))
            .json(&serde_json::json!({"userId": admin_id}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    eventually("the group grant", || async { mint().await == 201 }).await;

    let said = ok(&server.cli(&["group", "delete", "admins3"], ""));
    assert!(said.contains("deleted group 'Admins3'"), "{said}");
    eventually("the group's privilege going", || async { mint().await == 403 }).await;
    let groups = json_list(&server, &["group", "list", "--json"]);
    assert!(named(&groups, "Admins3").is_none(), "{groups:?}");
    // judy herself stays, and a new group of the same name starts without members.
    let users = json_list(&server, &["user", "list", "--json"]);
    assert!(named(&users, "judy").is_some(), "{users:?}");
    ok(&server.cli(&["group", "add", "Admins3"], ""));
    let groups = json_list(&server, &["group", "list", "--json"]);
    let again = named(&groups, "Admins3").expect("Admins3");
    assert_eq!(again["members"], serde_json::json!([]));
    assert_eq!(again["privileges"], serde_json::json!([]));
    one_line_failure(
        &server.cli(&["group", "delete", "NoGroup"], ""),
        "no group named 'NoGroup'",
    );
    // The built-in groups stay.
    for builtin in ["Everyone", "System Administrators"] {
        one_line_failure(&server.cli(&["group", "delete", builtin], ""), "built-in group");
        assert!(named(&json_list(&server, &["group", "list", "--json"]), builtin).is_some());
    }
}

#[tokio::test]
async fn cli_project_delete_refuses_while_it_holds_objects_unless_forced() {
    let server = TestServer::start();
    let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
    let project_names = || async {
        let (status, body) = get_json(&admin, &server.url(&format!("{LIB}/projects"))).await;
        assert_eq!(status, 200, "{body}");
        body.as_array()
            .expect("an array of projects")
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect::<Vec<String>>()
    };

    // An empty project (its system folders only) goes at once.
    ok(&server.cli(&["project", "add", "Scratch"], ""));
    let said = ok(&server.cli(&["project", "delete", "scratch"], ""));
    assert!(
        said.contains("deleted project 'Scratch' and its 0 model object"),
        "{said}"
    );

    ok(&server.cli(&["project", "add", "Sales"], ""));
    ok(&server.cli(
        &[
            "table",
            "add",
            "Sales",
            "LU_REGION",
            "--column",
            "REGION_ID:integer",
        ],
        "",
    ));
    // A logical table and its physical table.
    one_line_failure(
        &server.cli(&["project", "delete", "Sales"], ""),
        "project 'Sales' holds 2 model object(s)",
    );
    one_line_failure(&server.cli(&["project", "delete", "Sales"], ""), "--force");
    let projects = json_list(&server, &["project", "list", "--json"]);
    let sales = named(&projects, "Sales").expect("Sales is still there").clone();
    assert!(project_names().await.contains(&"Sales".to_string()));

    // --force, by id: the project and its objects go together.
    let id = sales["id"].as_str().expect("an id");
    let said = ok(&server.cli(&["project", "delete", id, "--force"], ""));
    assert!(
        said.contains("deleted project 'Sales' and its 2 model object(s)"),
        "{said}"
    );
    let projects = json_list(&server, &["project", "list", "--json"]);
    assert!(named(&projects, "Sales").is_none(), "{projects:?}");
    assert!(named(&projects, "Scratch").is_none(), "{projects:?}");
    eventually("the server no longer listing Sales", || async {
        !project_names().await.contains(&"Sales".to_string())
    })
    .await;
    one_line_failure(
        &server.cli(&["project", "delete", "Sales"], ""),
        "no project named 'Sales'",
    );
    // Its name is free, and the new project holds none of the old objects.
    ok(&server.cli(&["project", "add", "Sales"], ""));
    let said = ok(&server.cli(&["project", "delete", "Sales"], ""));
    assert!(said.contains("its 0 model object"), "{said}");
}

#[tokio::test]
async fn cli_list_commands_print_json_arrays_with_stable_fields() {
    let server = TestServer::start();
    server.add_user("kim", "kim-pass-1");
    ok(&server.cli(&["user", "disable", "kim"], ""));
    ok(&server.cli(&["group", "add", "Ops", "--description", "operators"], ""));
    ok(&server.cli(&["group", "add-member", "Ops", "kim"], ""));
    ok(&server.cli(&["group", "grant", "Ops", "SCHEMA_EDIT"], ""));
    ok(&server.cli(
        &["project", "add", "Sales", "--description", "the sales model"],
        "",
    ));

    let users = json_list(&server, &["user", "list", "--json"]);
    let kim = named(&users, "kim").expect("kim");
    assert_eq!(kim["enabled"], false);
    assert_eq!(kim["source"], "local");
    assert_eq!(kim["full_name"], "kim");
    assert_eq!(kim["id"].as_str().map(str::len), Some(32), "{kim}");
    assert_eq!(
        named(&users, "administrator").expect("administrator")["enabled"],
        true
    );
    assert_eq!(named(&users, "guest").expect("guest")["source"], "builtin");

    let groups = json_list(&server, &["group", "list", "--json"]);
    let ops = named(&groups, "Ops").expect("Ops");
    assert_eq!(ops["description"], "operators");
    assert_eq!(ops["members"], serde_json::json!(["kim"]));
    assert_eq!(ops["privileges"], serde_json::json!(["SCHEMA_EDIT"]));

    let projects = json_list(&server, &["project", "list", "--json"]);
    let sales = named(&projects, "Sales").expect("Sales");
    assert_eq!(sales["description"], "the sales model");
    let id = sales["id"].as_str().expect("an id").to_owned();
    // The text listing names the same ids.
    assert!(ok(&server.cli(&["project", "list"], "")).contains(&id));

    let folders = json_list(&server, &["project", "folders", &id, "--json"]);
    let paths: Vec<&str> = folders.iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/Schema Objects/Attributes")),
        "{paths:?}"
    );
    assert!(
        folders.iter().all(|f| f["id"].as_str().map(str::len) == Some(32)),
        "{folders:?}"
    );

    let privileges = json_list(&server, &["privileges", "--json"]);
    let schema_edit = privileges
        .iter()
        .find(|p| p["key"] == "SCHEMA_EDIT")
        .expect("SCHEMA_EDIT");
    assert!(
        schema_edit["id"].is_u64() && schema_edit["name"].is_string(),
        "{schema_edit}"
    );
    assert_eq!(
        privileges.len(),
        ok(&server.cli(&["privileges"], "")).lines().count()
    );
}

/// The deletes' SQL on each backend: a project with a committed table (and its journal entries)
/// and an open changeset with a staged table goes with --force, leaving no row of it behind; a
/// user and a group leave no membership or privilege row.
async fn deletes_leave_no_rows(backend: crate::common::model::Backend, test: &str) {
    let m = crate::common::model::start(backend, test).await;
    let cli = |args: &[&str]| ok(&m.server.cli(args, ""));
    cli(&["project", "add", "Doomed"]);
    let projects = json_list(&m.server, &["project", "list", "--json"]);
    let id = named(&projects, "Doomed").expect("Doomed")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    cli(&["table", "add", "Doomed", "LU_A", "--column", "A_ID:integer"]);
    let (status, cs) = crate::common::json(
        m.admin
            .post(&m.url("/api/model/changesets?schemaEdit=true"))
            .header("X-MSTR-ProjectID", &id)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{cs}");
    let cs = cs["id"].as_str().expect("a changeset id").to_owned();
    m.table_in(&m.admin, &cs, "LU_B", &[("B_ID", "integer")]).await;
    let rows =
        |table: &str, column: &str| m.sql(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = '{id}'"));
    assert_ne!(rows("model_objects", "project_id"), "0");
    assert_eq!(rows("changesets", "project_id"), "1");
    one_line_failure(&m.server.cli(&["project", "delete", "Doomed"], ""), "--force");
    assert_eq!(rows("projects", "id"), "1", "a refusal deletes nothing");
    cli(&["project", "delete", "Doomed", "--force"]);
    for (table, column) in [
        ("projects", "id"),
        ("model_objects", "project_id"),
        ("changesets", "project_id"),
        ("change_journal", "project_id"),
        ("schema_locks", "project_id"),
    ] {
        assert_eq!(
            rows(table, column),
            "0",
            "{table} keeps rows of the deleted project"
        );
    }
    assert_eq!(
        m.sql(&format!(
            "SELECT COUNT(*) FROM changeset_changes WHERE changeset_id = '{cs}'"
        )),
        "0"
    );

    m.server.add_user("zed", "zed-pass-1");
    cli(&["user", "grant", "zed", "SCHEMA_EDIT"]);
    cli(&["group", "add", "Zeds"]);
    cli(&["group", "grant", "Zeds", "ADMINISTRATION"]);
    cli(&["group", "add-member", "Zeds", "zed"]);
    let users = json_list(&m.server, &["user", "list", "--json"]);
    let zed = named(&users, "zed").expect("zed")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let groups = json_list(&m.server, &["group", "list", "--json"]);
    let zeds = named(&groups, "Zeds").expect("Zeds")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    cli(&["group", "delete", "Zeds"]);
    assert_eq!(
        m.sql(&format!(
            "SELECT COUNT(*) FROM privileges WHERE holder_id = '{zeds}'"
        )),
        "0"
    );
    assert_eq!(
        m.sql(&format!(
            "SELECT COUNT(*) FROM group_members WHERE group_id = '{zeds}'"
        )),
        "0"
    );
    cli(&["user", "delete", "zed"]);
    for statement in [
        format!("SELECT COUNT(*) FROM users WHERE id = '{zed}'"),
        format!("SELECT COUNT(*) FROM privileges WHERE holder_id = '{zed}'"),
        format!("SELECT COUNT(*) FROM group_members WHERE user_id = '{zed}'"),
    ] {
        assert_eq!(m.sql(&statement), "0", "{statement}");
    }
}

crate::both_backends!(cli_deletes_leave_no_rows, deletes_leave_no_rows);
