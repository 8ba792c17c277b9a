//! Model writes that race: a changeset commit against a direct rename, against a delete of the
//! table it uses, and against another commit of the same object. Across three nodes (one
//! PostgreSQL, one Redis, each node its own process), and on one embedded (SQLite) server with
//! three sessions. Every round ends as some serial order of the writes that succeeded would leave
//! it; never a lost update, never a dangling reference.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::common::pg::FreshDb;
use crate::common::{backend_url, json, mstr_login, MstrSession, TestServer, ADMIN_PASSWORD};

const ROUNDS: usize = 16;

/// Runs `a` and `b` at once, one of them started a little later (by round), so that rounds
/// cover both orders and the overlaps between.
async fn race<A: std::future::Future, B: std::future::Future>(
    round: usize,
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let lag = std::time::Duration::from_millis((round / 2 % 4) as u64 * 3);
    let (a_lag, b_lag) = if round.is_multiple_of(2) {
        (lag, Default::default())
    } else {
        (Default::default(), lag)
    };
    tokio::join!(
        async move {
            tokio::time::sleep(a_lag).await;
            a.await
        },
        async move {
            tokio::time::sleep(b_lag).await;
            b.await
        }
    )
}

struct Node {
    server: Arc<TestServer>,
    admin: MstrSession,
}

struct Cluster {
    nodes: Vec<Node>,
    project: String,
    attributes_folder: String,
    _db: Option<FreshDb>,
}

/// Three nodes on PostgreSQL and Redis, or (`embedded`) one server with three sessions.
async fn cluster(test: &str, embedded: bool) -> Cluster {
    let mut servers = Vec::new();
    let mut db = None;
    if embedded {
        let one = Arc::new(TestServer::start());
        servers.extend([one.clone(), one.clone(), one]);
    } else {
        let pg_url = backend_url("VESTIBULE_TEST_POSTGRES_URL", test);
        let redis_url = backend_url("VESTIBULE_TEST_REDIS_URL", test);
        let fresh = FreshDb::create(&pg_url).await;
        let env = [
            ("VESTIBULE_STORE_SESSIONS", redis_url.as_str()),
            ("VESTIBULE_STORE_METADATA", fresh.url.as_str()),
        ];
        for _ in 0..3 {
            servers.push(Arc::new(TestServer::start_with(&env)));
        }
        db = Some(fresh);
    }
    let mut nodes = Vec::new();
    for server in servers {
        let admin = mstr_login(&server, "administrator", ADMIN_PASSWORD).await;
        nodes.push(Node { server, admin });
    }
    let n = &nodes[0];
    let (status, projects) = json(n.admin.get(&url(n, "/api/projects")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{projects}");
    let project = projects[0]["id"].as_str().unwrap().to_string();
    let out = n.server.cli(&["project", "folders", &project], "");
    let attributes_folder = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.ends_with("/Schema Objects/Attributes"))
        .and_then(|l| l.split_whitespace().next())
        .expect("an Attributes folder")
        .to_string();
    Cluster {
        nodes,
        project,
        attributes_folder,
        _db: db,
    }
}

fn url(node: &Node, path: &str) -> String {
    node.server.url(&format!("/MicroStrategyLibrary{path}"))
}

impl Cluster {
    async fn changeset(&self, n: usize) -> String {
        let node = &self.nodes[n];
        let (status, body) = json(
            node.admin
                .post(&url(node, "/api/model/changesets?schemaEdit=true"))
                .header("X-MSTR-ProjectID", &self.project)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    async fn commit(&self, n: usize, cs: &str) -> (u16, Value) {
        let node = &self.nodes[n];
        json(
            node.admin
                .post(&url(
                    node,
                    &format!("/api/model/changesets/{cs}/commit?changesetId={cs}"),
                ))
                .json(&json!({}))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn table(&self, n: usize, name: &str) -> String {
        let node = &self.nodes[n];
        let cs = self.changeset(n).await;
        let cols = json!([{"columnName": "ID", "dataType": {"type": "integer"}},
                          {"columnName": "DESC", "dataType": {"type": "n_var_char"}}]);
        let (status, body) = json(
            node.admin
                .post(&url(node, "/api/model/tables"))
                .header("X-MSTR-MS-Changeset", &cs)
                .json(&json!({"information": {"name": name}, "physicalTable": {"tableName": name, "columns": cols}}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(self.commit(n, &cs).await.0, 201);
        body["information"]["objectId"].as_str().unwrap().to_string()
    }

    fn attribute_body(&self, name: &str, table: &str, table_name: &str) -> Value {
        let t = json!({"name": table_name, "subType": "logical_table", "objectId": table});
        json!({
            "information": {"name": name, "subType": "attribute", "destinationFolderId": self.attributes_folder},
            "forms": [
                {"name": "ID", "category": "ID", "displayFormat": "number",
                 "expressions": [{"expression": {"tree": {"columnName": "ID", "type": "column_reference"}}, "tables": [t]}],
                 "lookupTable": t},
                {"name": "DESC", "category": "DESC", "displayFormat": "text",
                 "expressions": [{"expression": {"tokens": [{"value": "DESC"}]}, "tables": [t]}],
                 "lookupTable": t}
            ],
            "attributeLookupTable": t,
            "keyForm": {"name": "ID"},
            "displays": {"reportDisplays": [{"name": "DESC"}], "browseDisplays": [{"name": "DESC"}]}
        })
    }

    /// Stages a new attribute on `table` in `cs` on node `n`; its id.
    async fn stage_attribute(&self, n: usize, cs: &str, name: &str, table: &str, table_name: &str) -> String {
        let node = &self.nodes[n];
        let (status, body) = json(
            node.admin
                .post(&url(node, "/api/model/attributes"))
                .header("X-MSTR-ProjectID", &self.project)
                .header("X-MSTR-MS-Changeset", cs)
                .json(&self.attribute_body(name, table, table_name))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["information"]["objectId"].as_str().unwrap().to_string()
    }

    /// A committed attribute on a table of its own; (table, attribute).
    async fn attribute(&self, round: usize) -> (String, String) {
        let table_name = format!("LU_R{round}");
        let table = self.table(0, &table_name).await;
        let cs = self.changeset(0).await;
        let id = self
            .stage_attribute(0, &cs, &format!("Attr {round}"), &table, &table_name)
            .await;
        assert_eq!(self.commit(0, &cs).await.0, 201);
        (table, id)
    }

    async fn patch_in(&self, n: usize, cs: &str, id: &str, information: Value) {
        let node = &self.nodes[n];
        let (status, body) = json(
            node.admin
                .patch(&url(node, &format!("/api/model/attributes/{id}")))
                .header("X-MSTR-MS-Changeset", cs)
                .json(&json!({"information": information}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn rename(&self, n: usize, id: &str, name: &str) -> u16 {
        let node = &self.nodes[n];
        node.admin
            .put(&url(node, &format!("/api/objects/{id}?type=12")))
            .header("X-MSTR-ProjectID", &self.project)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn delete(&self, n: usize, id: &str, kind: u32) -> u16 {
        let node = &self.nodes[n];
        node.admin
            .delete(&url(node, &format!("/api/objects/{id}?type={kind}")))
            .header("X-MSTR-ProjectID", &self.project)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The committed object, read on node `n`: (status, information).
    async fn information(&self, n: usize, id: &str, kind: u32) -> (u16, Value) {
        let node = &self.nodes[n];
        json(
            node.admin
                .get(&url(node, &format!("/api/objects/{id}?type={kind}")))
                .header("X-MSTR-ProjectID", &self.project)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

async fn a_commit_and_a_direct_rename_on_other_nodes_never_lose_an_update(embedded: bool) {
    let c = cluster("model_races_rename", embedded).await;
    let mut outcomes = Vec::new();
    for round in 0..ROUNDS {
        let (_, id) = c.attribute(round).await;
        let cs = c.changeset(0).await;
        let committed_name = format!("Committed {round}");
        let renamed = format!("Renamed {round}");
        c.patch_in(
            0,
            &cs,
            &id,
            json!({"name": committed_name, "description": format!("desc {round}")}),
        )
        .await;
        let ((commit, body), put) = race(round, c.commit(0, &cs), c.rename(1, &id, &renamed)).await;
        assert_eq!(put, 200, "a rename without a version applies to what is there");
        let (status, info) = c.information(2, &id, 12).await;
        assert_eq!(status, 200, "{info}");
        // The rename is never lost: either it came last, or the commit came after it and was
        // refused because the object changed after the changeset read it.
        assert_eq!(info["name"], renamed.as_str(), "round {round}: {info}");
        match commit {
            201 => assert_eq!(
                info["description"],
                format!("desc {round}"),
                "the commit's other change"
            ),
            409 => {
                assert_eq!(body["code"], "ERR001", "{body}");
                assert_ne!(
                    info["description"],
                    format!("desc {round}"),
                    "a refused commit changes nothing"
                );
            }
            other => panic!("round {round}: commit answered {other}: {body}"),
        }
        outcomes.push(commit);
    }
    eprintln!("commit outcomes against a rename: {outcomes:?}");
}

async fn a_commit_using_a_table_and_a_delete_of_it_on_another_node_never_both_win(embedded: bool) {
    let c = cluster("model_races_delete", embedded).await;
    let mut outcomes = Vec::new();
    for round in 0..ROUNDS {
        let table_name = format!("LU_D{round}");
        let table = c.table(0, &table_name).await;
        let cs = c.changeset(0).await;
        let attr = c
            .stage_attribute(0, &cs, &format!("Uses {round}"), &table, &table_name)
            .await;
        let ((commit, body), delete) = race(round, c.commit(0, &cs), c.delete(1, &table, 15)).await;
        let table_there = c.information(2, &table, 15).await.0 == 200;
        let attr_there = c.information(2, &attr, 12).await.0 == 200;
        match (commit, delete) {
            // The commit first: the table is in use and stays.
            (201, 400) => assert!(table_there && attr_there, "round {round}"),
            // The delete first: the commit would leave a dangling reference and is refused.
            (409, 204) => {
                assert_eq!(body["code"], "ERR001", "{body}");
                assert!(!table_there && !attr_there, "round {round}");
            }
            other => panic!("round {round}: commit and delete answered {other:?}: {body}"),
        }
        outcomes.push((commit, delete));
    }
    eprintln!("commit and delete outcomes: {outcomes:?}");
}

async fn two_commits_of_one_object_on_two_nodes_one_wins(embedded: bool) {
    let c = cluster("model_races_commits", embedded).await;
    let mut outcomes = Vec::new();
    for round in 0..ROUNDS {
        let (_, id) = c.attribute(round).await;
        let a = c.changeset(0).await;
        let b = c.changeset(1).await;
        c.patch_in(0, &a, &id, json!({"description": format!("from A {round}")}))
            .await;
        c.patch_in(1, &b, &id, json!({"description": format!("from B {round}")}))
            .await;
        let ((sa, _), (sb, _)) = race(round, c.commit(0, &a), c.commit(1, &b)).await;
        let (_, info) = c.information(2, &id, 12).await;
        match (sa, sb) {
            (201, 409) => assert_eq!(info["description"], format!("from A {round}")),
            (409, 201) => assert_eq!(info["description"], format!("from B {round}")),
            other => panic!("round {round}: the commits answered {other:?}"),
        }
        outcomes.push((sa, sb));
    }
    eprintln!("two commits' outcomes: {outcomes:?}");
}

/// Runs a race body as `$name::three_nodes` (PostgreSQL and Redis) and `$name::embedded`.
macro_rules! races {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            #[cfg_attr(
                not(all(test_postgres, test_redis)),
                ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
            )]
            async fn three_nodes() {
                super::$body(false).await
            }

            #[tokio::test]
            async fn embedded() {
                super::$body(true).await
            }
        }
    };
}

races!(
    commit_vs_rename,
    a_commit_and_a_direct_rename_on_other_nodes_never_lose_an_update
);
races!(
    commit_vs_delete,
    a_commit_using_a_table_and_a_delete_of_it_on_another_node_never_both_win
);
races!(commit_vs_commit, two_commits_of_one_object_on_two_nodes_one_wins);
