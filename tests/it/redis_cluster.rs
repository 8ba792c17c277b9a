//! Two `vestibule serve` nodes on one Redis Cluster of this test's own (three masters with one
//! replica each, on free loopback ports: `crates/store/tests/support/redis_cluster.rs`) and one
//! PostgreSQL database, with `store.sessions = "redis+cluster://…"` and
//! `store.redis_wait_replicas = 1`: sessions made on one node serve on the other, and a logout
//! on either is refused on the other at once, for sessions spread over every master's slots.
//! Then a master is killed (SIGKILL) and its replica promoted: the sessions made before, with
//! `WAIT 1`, still serve on both nodes.

#[path = "../../crates/store/tests/support/redis_cluster.rs"]
mod kit;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::common::mstr::{form_login, jsessionid, token_of};
use crate::common::pg::FreshDb;
use crate::common::{backend_url, client, send, TestServer, ADMIN_PASSWORD};
use kit::RedisCluster;

/// GET /api/sessions on a node with a session's token and cookie.
async fn check_on(node: &TestServer, token: &str, cookie: &str) -> u16 {
    send(
        client()
            .get(node.url("/api/sessions"))
            .header("X-MSTR-AuthToken", token)
            .header("Cookie", format!("JSESSIONID={cookie}")),
    )
    .await
    .status()
    .as_u16()
}

async fn logout_on(node: &TestServer, token: &str, cookie: &str) -> u16 {
    send(
        client()
            .post(node.url("/api/auth/logout"))
            .header("X-MSTR-AuthToken", token)
            .header("Cookie", format!("JSESSIONID={cookie}")),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
#[cfg_attr(
    not(all(test_postgres, test_redis_server)),
    ignore = "VESTIBULE_TEST_POSTGRES_URL is not set or redis-server is not installed"
)]
async fn sessions_on_a_redis_cluster_serve_every_node_and_logout_is_refused_on_the_other_at_once() {
    let test = "redis_cluster::sessions_on_a_redis_cluster_serve_every_node_and_logout_is_refused_on_the_other_at_once";
    let pg_url = backend_url("VESTIBULE_TEST_POSTGRES_URL", test);
    let mut cluster = RedisCluster::start();
    let db = FreshDb::create(&pg_url).await;
    let url = cluster.url();
    let env = [
        ("VESTIBULE_STORE_SESSIONS", url.as_str()),
        ("VESTIBULE_STORE_METADATA", db.url.as_str()),
        ("VESTIBULE_STORE_REDIS_WAIT_REPLICAS", "1"),
    ];
    let a = TestServer::start_with(&env);
    let b = TestServer::start_with(&env);

    // Logins on A until the sessions sit on all three masters (their tokens are random).
    let master_of = |token: &str| {
        // The hash tag of a session's keys on a cluster: the token hash's first three digits.
        let hex = vestibule_core::secret::SecretHash::of(token).to_hex();
        let key = format!("{{{}}}", &hex[..3]);
        let slot = cluster.cli(cluster.running()[0], &["CLUSTER", "KEYSLOT", &key]);
        let slot: u16 = slot.trim().parse().expect("a slot");
        cluster.master_of_slot(slot).expect("a master")
    };
    // (token, cookie) of logins on `server` until they sit on all three masters.
    let on_every_master = |server: &TestServer| {
        let url = server.url("/api/auth/login");
        let master_of = &master_of;
        async move {
            let mut made = Vec::new();
            let mut masters = HashSet::new();
            while masters.len() < 3 {
                assert!(made.len() < 60, "60 sessions on {masters:?} only");
                let resp = form_login(&client(), &url, "administrator", ADMIN_PASSWORD).await;
                assert_eq!(resp.status(), 204);
                let (token, cookie) = (token_of(&resp), jsessionid(&resp));
                masters.insert(master_of(&token));
                made.push((token, cookie));
            }
            made
        }
    };
    let sessions = on_every_master(&a).await;

    // Each is used on B; then, in turn, logged out on one node and refused on the other.
    for (token, cookie) in &sessions {
        assert_eq!(check_on(&b, token, cookie).await, 200);
    }
    for (i, (token, cookie)) in sessions.iter().enumerate() {
        let (here, there) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        assert_eq!(logout_on(here, token, cookie).await, 204);
        assert_eq!(check_on(there, token, cookie).await, 401);
        assert_eq!(check_on(here, token, cookie).await, 401);
    }

    // Sessions on every master again; the master of the first is killed.
    let kept = on_every_master(&b).await;
    let victim = master_of(&kept[0].0);
    cluster.kill9(victim);
    let killed = Instant::now();
    cluster
        .wait_ok(Duration::from_secs(30))
        .expect("the replica took over");
    // Each node's first request on the lost master's slots may still meet the old connection;
    // within the bound, every session made before the kill serves on both nodes.
    for (token, cookie) in &kept {
        for node in [&a, &b] {
            let mut status = check_on(node, token, cookie).await;
            while status == 503 && killed.elapsed() < Duration::from_secs(30) {
                status = check_on(node, token, cookie).await;
            }
            assert_eq!(status, 200, "a session made before the failover");
        }
    }
}
