//! Scale-out: three stateless `vestibule serve` nodes sharing Redis (sessions) and PostgreSQL
//! (directory and model). Runs when VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are
//! set (always in CI). Outages are made with a cuttable TCP proxy in front of each service, so the
//! machine's shared Redis and PostgreSQL stay up for the other tests.

use std::time::{Duration, Instant};

use crate::common::mstr::{form_login, jsessionid, token_of};
use crate::common::pg::FreshDb;
use crate::common::proxy::{host_port, via_proxy, Proxy};
use crate::common::{backend_url, client, json, mstr_login, send, TestServer, ADMIN_PASSWORD};

struct Cluster {
    nodes: Vec<TestServer>,
    redis: Proxy,
    pg: Proxy,
    _db: FreshDb,
}

async fn cluster(test: &str) -> Cluster {
    let pg_url = backend_url("VESTIBULE_TEST_POSTGRES_URL", test);
    let redis_url = backend_url("VESTIBULE_TEST_REDIS_URL", test);
    let db = FreshDb::create(&pg_url).await;
    let redis = Proxy::start(&host_port(&redis_url)).await;
    let pg = Proxy::start(&host_port(&db.url)).await;
    let env = [
        ("VESTIBULE_STORE_SESSIONS", via_proxy(&redis_url, &redis)),
        ("VESTIBULE_STORE_METADATA", via_proxy(&db.url, &pg)),
        ("VESTIBULE_STORE_TIMEOUT_SECS", "4".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The first node makes the schema and the first users; the others find them there.
    let nodes = (0..3).map(|_| TestServer::start_with(&env)).collect();
    Cluster {
        nodes,
        redis,
        pg,
        _db: db,
    }
}

/// GET /api/sessions on a node with a session's token and cookie.
async fn check_on(node: &TestServer, token: &str, cookie: &str) -> u16 {
    client()
        .get(node.url("/api/sessions"))
        .header("X-MSTR-AuthToken", token)
        .header("Cookie", format!("JSESSIONID={cookie}"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn login_on(node: &TestServer) -> (String, String) {
    let resp = form_login(
        &client(),
        &node.url("/api/auth/login"),
        "administrator",
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(resp.status(), 204);
    (token_of(&resp), jsessionid(&resp))
}

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
)]
async fn sessions_are_shared_by_every_node() {
    let mut c = cluster("scale_out::sessions_are_shared_by_every_node").await;
    let (token, cookie) = login_on(&c.nodes[0]).await;
    // Used on B, kept alive on C.
    assert_eq!(check_on(&c.nodes[1], &token, &cookie).await, 200);
    let put = send(
        client()
            .put(c.nodes[2].url("/api/sessions"))
            .header("X-MSTR-AuthToken", &token)
            .header("Cookie", format!("JSESSIONID={cookie}")),
    )
    .await;
    assert_eq!(put.status(), 204);

    // kill -9 a node: no session is lost, on it or elsewhere.
    c.nodes[1].kill9_and_restart();
    assert_eq!(check_on(&c.nodes[1], &token, &cookie).await, 200);

    // Logout on B, and A refuses the session at once.
    let out = send(
        client()
            .post(c.nodes[1].url("/api/auth/logout"))
            .header("X-MSTR-AuthToken", &token)
            .header("Cookie", format!("JSESSIONID={cookie}")),
    )
    .await;
    assert_eq!(out.status(), 204);
    assert_eq!(check_on(&c.nodes[0], &token, &cookie).await, 401);
    assert_eq!(check_on(&c.nodes[2], &token, &cookie).await, 401);
}

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
)]
async fn a_changeset_made_on_one_node_commits_on_another() {
    let c = cluster("scale_out::a_changeset_made_on_one_node_commits_on_another").await;
    let a = mstr_login(&c.nodes[0], "administrator", ADMIN_PASSWORD).await;
    let (_, projects) = json(
        a.get(&c.nodes[0].url("/MicroStrategyLibrary/api/projects"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let project = projects[0]["id"].as_str().expect("a project").to_string();
    let (status, cs) = json(
        a.post(&c.nodes[0].url("/MicroStrategyLibrary/api/model/changesets?schemaEdit=true"))
            .header("X-MSTR-ProjectID", &project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{cs}");
    let id = cs["id"].as_str().expect("changeset id").to_string();
    // A real change, staged on A: a logical table.
    let (status, table) = json(
        a.post(&c.nodes[0].url("/MicroStrategyLibrary/api/model/tables"))
            .header("X-MSTR-MS-Changeset", &id)
            .json(&serde_json::json!({"information": {"name": "LU_NODE"},
                "physicalTable": {"columns": [{"columnName": "NODE_ID", "dataType": {"type": "integer"}}]}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{table}");
    let table_id = table["information"]["objectId"]
        .as_str()
        .expect("table id")
        .to_string();
    // The same session (token and cookie) on node B.
    let resp = send(
        a.post(&format!(
            "{}?changesetId={id}",
            c.nodes[1].url(&format!("/MicroStrategyLibrary/api/model/changesets/{id}/commit"))
        ))
        .json(&serde_json::json!({"changeJournal": {"userComments": "committed on B"}})),
    )
    .await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let del =
        send(a.delete(&c.nodes[2].url(&format!("/MicroStrategyLibrary/api/model/changesets/{id}")))).await;
    assert_eq!(del.status(), 204);
    // Committed through B, read through C.
    let resp = send(
        a.get(&c.nodes[2].url(&format!("/MicroStrategyLibrary/api/model/tables/{table_id}")))
            .header("X-MSTR-ProjectID", &project),
    )
    .await;
    let (status, got) = json(resp).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["information"]["name"], "LU_NODE");
    // One change journal: its entry, written by B's commit, found by a search made on A and read
    // on C.
    let (status, made) = json(
        a.post(&c.nodes[0].url("/MicroStrategyLibrary/api/changeJournal"))
            .json(&serde_json::json!({"affectedObjects": [{"id": table_id}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let search = made["searchId"].as_str().expect("a searchId").to_string();
    let (status, found) = json(
        a.get(&c.nodes[2].url(&format!("/MicroStrategyLibrary/api/changeJournal/{search}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let entries = found["changeJournalEntries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{found}");
    // The commit made the logical table and its physical table: the logical one is looked at.
    let changed = entries[0]["changedObjects"].as_array().expect("changed objects");
    let o = changed
        .iter()
        .find(|o| o["id"].as_str() == Some(table_id.as_str()))
        .unwrap_or_else(|| panic!("the table among the changed objects: {found}"));
    assert_eq!(
        (
            o["id"].as_str(),
            o["changeType"].as_str(),
            o["userComments"].as_str()
        ),
        (
            Some(table_id.as_str()),
            Some("create_object"),
            Some("committed on B")
        )
    );
}

/// Waits until `probe` gives `want`, for at most `limit`.
async fn until<F, Fut>(limit: Duration, want: u16, mut probe: F) -> (u16, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let start = Instant::now();
    loop {
        let got = probe().await;
        if got == want || start.elapsed() > limit {
            return (got, start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL and VESTIBULE_TEST_REDIS_URL are not both set"
)]
async fn a_lost_redis_or_postgres_answers_503_and_service_comes_back() {
    let c = cluster("scale_out::a_lost_redis_or_postgres_answers_503_and_service_comes_back").await;
    let node = &c.nodes[0];
    let (token, cookie) = login_on(node).await;

    for (name, proxy) in [("redis", &c.redis), ("postgres", &c.pg)] {
        proxy.cut();
        if name == "redis" {
            // The node's copy of the sessions may answer a check for the half second its last
            // heartbeat through Redis is trusted (docs/scale-out.md); after that, Redis is asked.
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        // MicroStrategy dialect: a session check (Redis) or a login (PostgreSQL).
        let started = Instant::now();
        let resp = if name == "redis" {
            client()
                .get(node.url("/api/sessions"))
                .header("X-MSTR-AuthToken", &token)
                .header("Cookie", format!("JSESSIONID={cookie}"))
                .send()
                .await
                .unwrap()
        } else {
            form_login(
                &client(),
                &node.url("/api/auth/login"),
                "administrator",
                ADMIN_PASSWORD,
            )
            .await
        };
        let took = started.elapsed();
        let (status, body) = json(resp).await;
        assert_eq!(status, 503, "{name} down: {body}");
        assert_eq!(body["code"], "ERR016", "{body}");
        assert!(
            took < Duration::from_secs(15),
            "{name} down: answered after {took:?}"
        );
        // The ThoughtSpot dialects answer in their own formats: a v1 login needs both services
        // (the user, then the new session), and v2 reads the bearer session (Redis) or checks a
        // password (PostgreSQL).
        let v1 = send(
            client()
                .post(node.url("/callosum/v1/tspublic/v1/session/login"))
                .header("X-Requested-By", "ThoughtSpot")
                .form(&[("username", "administrator"), ("password", ADMIN_PASSWORD)]),
        )
        .await;
        let (s1, b1) = json(v1).await;
        assert_eq!(s1, 503, "{name} down, v1: {b1}");
        assert!(b1.get("incident_id_guid").is_some(), "v1 error body: {b1}");
        let v2 = if name == "redis" {
            send(
                client()
                    .get(node.url("/api/rest/2.0/auth/session/user"))
                    .header("Authorization", format!("Bearer {token}"))
                    .header("Cookie", format!("JSESSIONID={cookie}")),
            )
            .await
        } else {
            send(
                client()
                    .post(node.url("/api/rest/2.0/auth/token/full"))
                    .json(&serde_json::json!({"username": "administrator", "password": ADMIN_PASSWORD})),
            )
            .await
        };
        let (s2, b2) = json(v2).await;
        assert_eq!(s2, 503, "{name} down, v2: {b2}");
        assert!(b2["error"]["message"].is_object(), "v2 error body: {b2}");
        proxy.restore();
        let (status, waited) = until(Duration::from_secs(20), 200, || check_on(node, &token, &cookie)).await;
        assert_eq!(
            status, 200,
            "{name} back: service did not return after {waited:?}"
        );
    }
}
