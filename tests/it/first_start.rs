//! First start of a cluster: nine `vestibule serve` nodes started at once on an empty PostgreSQL
//! database (sessions in Redis, as docs/scale-out.md deploys them) all come up, and the first-start
//! work (migrations, built-in groups, administrator, guest, default project) is done exactly once.
//! Runs when VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are set (always in CI).

use crate::common::pg::FreshDb;
use crate::common::{backend_url, client, json, mstr_login, TestServer, ADMIN_PASSWORD};

const NODES: usize = 9;

/// What a node prints when it, and no other, created the administrator.
const CREATED: &str = "first start: created user 'administrator'";

/// Starts `NODES` nodes together on a fresh database; every one must come up.
async fn start_cluster(test: &str, round: usize, extra: &[(&str, &str)]) -> (Vec<TestServer>, FreshDb) {
    let pg_url = backend_url("VESTIBULE_TEST_POSTGRES_URL", test);
    let redis_url = backend_url("VESTIBULE_TEST_REDIS_URL", test);
    let db = FreshDb::create(&pg_url).await;
    let mut env = vec![
        ("VESTIBULE_STORE_SESSIONS", redis_url.as_str()),
        ("VESTIBULE_STORE_METADATA", db.url.as_str()),
        ("VESTIBULE_STORE_TIMEOUT_SECS", "10"),
    ];
    env.extend_from_slice(extra);
    let mut nodes = Vec::new();
    let mut failures = Vec::new();
    for (i, started) in TestServer::start_together(NODES, &env).into_iter().enumerate() {
        match started {
            Ok(node) => nodes.push(node),
            Err(stderr) => failures.push(format!("node {i}:\n{stderr}")),
        }
    }
    assert!(
        failures.is_empty(),
        "round {round}: {} of {NODES} nodes did not start:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (nodes, db)
}

/// Lines of a CLI listing whose name column (after the id) is `name`.
fn named(listing: &str, name: &str) -> usize {
    listing
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once("  ").map(|(_, rest)| rest.trim_start()))
        .filter(|rest| rest == &name || rest.starts_with(&format!("{name} ")))
        .count()
}

fn cli_ok(node: &TestServer, args: &[&str]) -> String {
    let out = node.cli(args, "");
    assert!(
        out.status.success(),
        "vestibule {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The store holds each first-start object once, and every node answers and lets the
/// administrator in with `password`, seeing the one default project.
async fn assert_made_once(nodes: &[TestServer], password: &str, round: usize) {
    for (i, node) in nodes.iter().enumerate() {
        let status = client()
            .get(node.url("/api/status"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        assert_eq!(status, 200, "round {round}: node {i} /api/status");
    }
    let users = cli_ok(&nodes[0], &["user", "list"]);
    assert_eq!(
        named(&users, "administrator"),
        1,
        "round {round}: users:\n{users}"
    );
    assert_eq!(named(&users, "guest"), 1, "round {round}: users:\n{users}");
    assert_eq!(users.lines().count(), 2, "round {round}: users:\n{users}");
    let groups = cli_ok(&nodes[0], &["group", "list"]);
    for group in ["System Administrators", "Everyone"] {
        assert_eq!(named(&groups, group), 1, "round {round}: groups:\n{groups}");
    }
    let group_count = groups.lines().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(group_count, 2, "round {round}: groups:\n{groups}");
    let projects = cli_ok(&nodes[0], &["project", "list"]);
    assert_eq!(
        projects.lines().count(),
        1,
        "round {round}: projects:\n{projects}"
    );
    for node in nodes {
        let admin = mstr_login(node, "administrator", password).await;
        let (status, list) = json(
            admin
                .get(&node.url("/MicroStrategyLibrary/api/projects"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "round {round}: projects on {}", node.base);
        assert_eq!(list.as_array().map(Vec::len), Some(1), "round {round}: {list}");
    }
    let creators = nodes.iter().filter(|n| n.stderr().contains(CREATED)).count();
    assert_eq!(
        creators, 1,
        "round {round}: nodes that say they created the administrator"
    );
}

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
)]
async fn nine_nodes_started_at_once_make_one_administrator() {
    // Twice, each on a database of its own: a race lost once may be won the next time.
    for round in 0..2 {
        let (nodes, _db) = start_cluster(
            "first_start::nine_nodes_started_at_once_make_one_administrator",
            round,
            &[],
        )
        .await;
        assert_made_once(&nodes, ADMIN_PASSWORD, round).await;
    }
}

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
)]
async fn only_the_node_that_made_the_administrator_prints_its_password() {
    // No VESTIBULE_ADMIN_PASSWORD: the password is generated, and must be the one that works.
    let (nodes, _db) = start_cluster(
        "first_start::only_the_node_that_made_the_administrator_prints_its_password",
        0,
        &[("VESTIBULE_ADMIN_PASSWORD", "")],
    )
    .await;
    let printed: Vec<String> = nodes
        .iter()
        .flat_map(|n| {
            n.stderr()
                .lines()
                .filter_map(|l| l.split_once(&format!("{CREATED} with password: ")))
                .map(|(_, p)| p.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(printed.len(), 1, "generated passwords printed: {printed:?}");
    assert_made_once(&nodes, &printed[0], 0).await;
}
