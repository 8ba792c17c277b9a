//! The connection to Redis that the session store and the failed-login budgets share, and how one
//! operation runs on it: within the store timeout, and sent once more on a new connection when
//! the old one turns out to have died (Redis restarted, a proxy dropped it) and the operation is
//! safe to repeat.
//!
//! The connection is to one Redis (`redis://`, `rediss://`) or to a Redis Cluster
//! (`redis+cluster://host:port,host:port`, `rediss+cluster://…`): [`Conn`] is either, and every
//! command goes through it the same way. On a cluster redis-rs routes each command, pipeline and
//! script by the slot of its keys (so every one must keep to one slot: see the key layouts in
//! `sessions/redis_keys.rs`), follows `MOVED` and `ASK`, and re-reads the slot map after a
//! failover by itself; commands without a key (`WAIT`, `SCAN`) are routed here explicitly.
//!
//! redis-rs's `ConnectionManager` notices a dead connection only when a command fails on it: it
//! returns that command's error and starts a new connection in the background, which the next
//! command waits for. Without a retry, the first request on every node after a Redis restart
//! would answer 503 although Redis is back; with one, it waits for the new connection instead.
//! Both tries share one deadline, so a Redis that is really down still answers 503 within
//! `store.timeout_secs`.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{get_slot, Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisFuture, Value};

use vestibule_core::error::StoreError;
use vestibule_core::store::StoreResult;

/// Whether an operation is sent once more after its connection died under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Running it twice leaves Redis as running it once does (reads, writes of the same data,
    /// scripts that recognise their own repeat), so a first try that may or may not have reached
    /// Redis can be repeated.
    Safe,
    /// Sent at most once; a lost connection is the caller's answer.
    Never,
}

/// The URL schemes of a Redis Cluster: a comma-separated list of some of its nodes follows.
const CLUSTER_SCHEMES: [(&str, &str); 2] = [
    ("redis+cluster://", "redis://"),
    ("rediss+cluster://", "rediss://"),
];

/// One Redis or a Redis Cluster: a handle that is cheap to clone and shared by every request.
// Cloned for each operation, as the `ConnectionManager` alone always was: boxing the larger
// variant would add an allocation to every clone.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl Conn {
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }

    /// Runs commands that may each touch another slot: one pipeline on one Redis, all at once
    /// (each to its own slot's master) on a cluster, where a pipeline must keep to one slot.
    pub(crate) async fn each<T: FromRedisValue>(&mut self, cmds: Vec<Cmd>) -> redis::RedisResult<Vec<T>> {
        match self {
            Conn::Single(c) => {
                if cmds.is_empty() {
                    return Ok(Vec::new());
                }
                let mut p = redis::pipe();
                for cmd in cmds {
                    p.add_command(cmd);
                }
                p.query_async(c).await
            }
            Conn::Cluster(c) => {
                futures::future::try_join_all(cmds.into_iter().map(|cmd| {
                    let mut c = c.clone();
                    async move { cmd.query_async::<T>(&mut c).await }
                }))
                .await
            }
        }
    }

    /// `WAIT replicas timeout_ms` on the connection that wrote `key`: on a cluster, the master of
    /// its slot (the one connection redis-rs keeps to that node, so WAIT covers the write just
    /// made on it). Returns how many replicas acknowledged every write sent so far.
    pub(crate) async fn wait(
        &mut self,
        key: &str,
        replicas: u32,
        timeout_ms: u64,
    ) -> redis::RedisResult<u32> {
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(replicas).arg(timeout_ms);
        match self {
            Conn::Single(c) => cmd.query_async(c).await,
            Conn::Cluster(c) => {
                let route = Route::new(get_slot(key.as_bytes()), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                let v = c.route_command(&cmd, routing).await?;
                u32::from_redis_value(&v)
            }
        }
    }

    /// The masters that serve slots now (`host`, `port`), sorted; one Redis is its own master.
    pub(crate) async fn masters(&mut self) -> redis::RedisResult<Vec<(String, u16)>> {
        let Conn::Cluster(c) = self else {
            return Ok(Vec::new());
        };
        let slots = c
            .route_command(
                redis::cmd("CLUSTER").arg("SLOTS"),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await?;
        Ok(masters_of(&slots))
    }

    /// The master that serves `key`'s slot now (`host`, `port`); `None` on one Redis.
    pub(crate) async fn master_of(&mut self, key: &str) -> redis::RedisResult<Option<(String, u16)>> {
        let Conn::Cluster(c) = self else {
            return Ok(None);
        };
        let slots = c
            .route_command(
                redis::cmd("CLUSTER").arg("SLOTS"),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await?;
        Ok(master_of_slot(&slots, get_slot(key.as_bytes())))
    }

    /// Sends `cmd` to one node of a cluster (`SCAN` walks one node's keys); on one Redis, to it.
    pub(crate) async fn on_node<T: FromRedisValue>(
        &mut self,
        node: Option<&(String, u16)>,
        cmd: &Cmd,
    ) -> redis::RedisResult<T> {
        match (self, node) {
            (Conn::Cluster(c), Some((host, port))) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                let v = c.route_command(cmd, routing).await?;
                T::from_redis_value(&v)
            }
            (c, _) => cmd.query_async(c).await,
        }
    }
}

/// The masters in a `CLUSTER SLOTS` answer: each slot range is `[start, end, [host, port, id,
/// …], replicas…]`.
fn masters_of(slots: &Value) -> Vec<(String, u16)> {
    let Value::Array(ranges) = slots else {
        return Vec::new();
    };
    let mut masters: Vec<(String, u16)> = ranges
        .iter()
        .filter_map(|range| match range {
            Value::Array(items) => match items.get(2) {
                Some(Value::Array(node)) => {
                    let host = node.first().and_then(|h| String::from_redis_value(h).ok())?;
                    let port = node.get(1).and_then(|p| u16::from_redis_value(p).ok())?;
                    Some((host, port))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    masters.sort();
    masters.dedup();
    masters
}

/// The master of `slot` in a `CLUSTER SLOTS` answer.
fn master_of_slot(slots: &Value, slot: u16) -> Option<(String, u16)> {
    let Value::Array(ranges) = slots else {
        return None;
    };
    ranges.iter().find_map(|range| {
        let Value::Array(items) = range else {
            return None;
        };
        let bound = |i: usize| items.get(i).and_then(|v| u16::from_redis_value(v).ok());
        let (start, end) = (bound(0)?, bound(1)?);
        if !(start..=end).contains(&slot) {
            return None;
        }
        let Some(Value::Array(node)) = items.get(2) else {
            return None;
        };
        let host = node.first().and_then(|h| String::from_redis_value(h).ok())?;
        let port = node.get(1).and_then(|p| u16::from_redis_value(p).ok())?;
        Some((host, port))
    })
}

/// The URL of one node of the cluster that `url` names (its scheme and credentials, the node's
/// address); `url` itself when it names one Redis.
pub(crate) fn node_url(url: &str, node: Option<&(String, u16)>) -> String {
    let (Some((host, port)), Some((scheme, rest))) = (
        node,
        CLUSTER_SCHEMES
            .iter()
            .find_map(|(cluster, single)| url.strip_prefix(cluster).map(|rest| (*single, rest))),
    ) else {
        return url.to_string();
    };
    let auth = rest
        .rsplit_once('@')
        .map(|(a, _)| format!("{a}@"))
        .unwrap_or_default();
    format!("{scheme}{auth}{host}:{port}")
}

/// The node URLs of a cluster URL (`redis+cluster://[user:pass@]h1:p1,h2:p2`: the credentials of
/// the first apply to all), or `None` when `url` names one Redis.
pub(crate) fn cluster_nodes(url: &str) -> Option<Vec<String>> {
    let (scheme, rest) = CLUSTER_SCHEMES
        .iter()
        .find_map(|(cluster, single)| url.strip_prefix(cluster).map(|rest| (*single, rest)))?;
    let (auth, hosts) = match rest.rsplit_once('@') {
        Some((auth, hosts)) => (format!("{auth}@"), hosts),
        None => (String::new(), rest),
    };
    Some(
        hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| format!("{scheme}{auth}{h}"))
            .collect(),
    )
}

/// Opens the connection to one Redis or to a cluster, as `url` says: each attempt to connect and
/// each answer gives up after `timeout`.
pub(crate) async fn connect(url: &str, timeout: Duration) -> StoreResult<Conn> {
    match cluster_nodes(url) {
        Some(nodes) => connect_cluster(url, nodes, timeout).await.map(Conn::Cluster),
        None => connect_single(url, timeout).await.map(Conn::Single),
    }
}

/// Opens a cluster connection from some of its nodes (redis-rs learns the rest from them).
/// Within the store timeout redis-rs retries a command whose node is gone (a failover in
/// progress) after re-reading the slot map, waiting at most half a second between tries, so
/// requests resume soon after a replica is promoted.
async fn connect_cluster(url: &str, nodes: Vec<String>, timeout: Duration) -> StoreResult<ClusterConnection> {
    if nodes.is_empty() {
        return Err(StoreError::Other(format!(
            "redis cluster URL '{url}' names no node"
        )));
    }
    let client = ClusterClientBuilder::new(nodes)
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .min_retry_wait(50)
        .max_retry_wait(500)
        .build()
        .map_err(|e| StoreError::Other(format!("redis cluster URL: {e}")))?;
    tokio::time::timeout(timeout, client.get_async_connection())
        .await
        .map_err(|_| unavailable(format!("no answer from the cluster {url} within {timeout:?}")))?
        .map_err(unavailable)
}

async fn connect_single(url: &str, timeout: Duration) -> StoreResult<ConnectionManager> {
    let client = redis::Client::open(url).map_err(|e| StoreError::Other(format!("redis URL: {e}")))?;
    // No retries inside a reconnection: redis-rs would wait a second or more before its next
    // try, and requests would wait with it past their deadline once Redis is back. A failed
    // reconnection is retried by the next command instead, at once.
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout)
        .set_number_of_retries(0);
    tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
        .await
        .map_err(|_| unavailable(format!("no answer from {url} within {timeout:?}")))?
        .map_err(unavailable)
}

/// Waits until the writes just made to `keys` reached `replicas` replicas (none when 0): one
/// WAIT on one Redis (the connection is shared), one per key on a cluster (each key's master).
/// Fewer acknowledgements within half the store timeout are the store unavailable.
pub(crate) async fn durable(conn: &Conn, timeout: Duration, replicas: u32, keys: &[&str]) -> StoreResult<()> {
    if replicas == 0 {
        return Ok(());
    }
    let wait_ms = (timeout.as_millis() as u64 / 2).max(1);
    let keys = if conn.is_cluster() {
        keys
    } else {
        &keys[..keys.len().min(1)]
    };
    for key in keys {
        // Safe to repeat: WAIT writes nothing.
        let acked: u32 = run_within(timeout, conn, Retry::Safe, |mut c| async move {
            c.wait(key, replicas, wait_ms).await
        })
        .await?;
        if acked < replicas {
            return Err(unavailable(format!(
                "{acked} of the {replicas} replicas asked for (store.redis_wait_replicas) acknowledged the write within {wait_ms} ms"
            )));
        }
    }
    Ok(())
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

/// The connection broke (reset, closed, refused; a reply that cannot be read; AUTH refused on
/// connecting): exactly the errors on which `ConnectionManager` replaces its connection, so a
/// second try waits for the new one. A timeout is not among them: the connection may be sound,
/// and the deadline is spent anyway.
fn connection_lost(e: &RedisError) -> bool {
    e.is_unrecoverable_error()
}

/// Runs one Redis operation on `conn` within `timeout`, trying it a second time (as `retry`
/// allows) when the connection was lost, before the same deadline. A connection problem or no
/// answer is the store being unavailable, anything else an error of the store.
pub(crate) async fn run_within<T, F>(
    timeout: Duration,
    conn: &Conn,
    retry: Retry,
    op: impl Fn(Conn) -> F,
) -> StoreResult<T>
where
    F: std::future::Future<Output = redis::RedisResult<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut answer = tokio::time::timeout_at(deadline, op(conn.clone())).await;
    if let Ok(Err(e)) = &answer {
        if retry == Retry::Safe && connection_lost(e) {
            let lost = e.to_string();
            answer = tokio::time::timeout_at(deadline, op(conn.clone())).await;
            // Worth a line when it saved the request (once per node after a restart); a request
            // that fails anyway is logged as failed by the server.
            if matches!(answer, Ok(Ok(_))) {
                tracing::info!(error = %lost, "the Redis connection had died; served on a new one");
            } else {
                tracing::debug!(error = %lost, "the Redis connection had died; the new one failed too");
            }
        }
    }
    match answer {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.is_io_error() || not_serving(&e) => Err(unavailable(e)),
        Ok(Err(e)) => Err(StoreError::Other(format!("redis: {e}"))),
        Err(_) => Err(unavailable(format!("no answer within {timeout:?}"))),
    }
}

/// Redis answered but does not serve for now: it is loading its data after a restart, it is a
/// replica (a failover demoted it), its master lacks the replicas `min-replicas-to-write` asks
/// for, or a script holds it. Like Redis down, that is the store unavailable (503), not a fault.
fn not_serving(e: &RedisError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::BusyLoadingError
            | ErrorKind::ReadOnly
            | ErrorKind::MasterDown
            | ErrorKind::TryAgain
            | ErrorKind::ClusterDown
            | ErrorKind::ClusterConnectionNotFound
            | ErrorKind::Moved
            | ErrorKind::Ask
    ) || matches!(e.code(), Some("NOREPLICAS" | "BUSY"))
}

#[cfg(test)]
mod tests {
    use super::cluster_nodes;

    #[test]
    fn a_cluster_url_names_its_nodes_with_the_first_credentials_for_all() {
        assert_eq!(cluster_nodes("redis://127.0.0.1:6379"), None);
        assert_eq!(
            cluster_nodes("redis+cluster://10.0.0.1:7000, 10.0.0.2:7001,"),
            Some(vec![
                "redis://10.0.0.1:7000".to_string(),
                "redis://10.0.0.2:7001".to_string()
            ])
        );
        assert_eq!(
            cluster_nodes("rediss+cluster://u:p@a:1,b:2"),
            Some(vec![
                "rediss://u:p@a:1".to_string(),
                "rediss://u:p@b:2".to_string()
            ])
        );
        assert_eq!(cluster_nodes("redis+cluster://"), Some(vec![]));
    }

    #[test]
    fn a_node_of_a_cluster_is_reached_with_the_cluster_credentials() {
        let node = ("10.0.0.3".to_string(), 7002);
        assert_eq!(
            super::node_url("rediss+cluster://u:p@a:1,b:2", Some(&node)),
            "rediss://u:p@10.0.0.3:7002"
        );
        assert_eq!(
            super::node_url("redis+cluster://a:1", Some(&node)),
            "redis://10.0.0.3:7002"
        );
        assert_eq!(super::node_url("redis://h:6379/2", None), "redis://h:6379/2");
    }

    #[test]
    fn the_master_of_a_slot_is_read_from_cluster_slots() {
        use redis::Value;
        let node =
            |h: &str, p: i64| Value::Array(vec![Value::BulkString(h.as_bytes().to_vec()), Value::Int(p)]);
        let slots = Value::Array(vec![
            Value::Array(vec![Value::Int(0), Value::Int(5460), node("a", 1), node("r", 9)]),
            Value::Array(vec![Value::Int(5461), Value::Int(16383), node("b", 2)]),
        ]);
        assert_eq!(super::master_of_slot(&slots, 0), Some(("a".into(), 1)));
        assert_eq!(super::master_of_slot(&slots, 5461), Some(("b".into(), 2)));
        assert_eq!(super::master_of_slot(&Value::Nil, 3), None);
    }
}
