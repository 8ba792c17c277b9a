//! Figure j), the Redis side: the memory a session takes in Redis. Sessions of the shape figure
//! d) uses are written through the server's own Redis session store (`vestibule_store::redis`)
//! into a scratch database that must be empty (by default database 15 of
//! `VESTIBULE_BENCH_REDIS_URL`), then `MEMORY USAGE` of every key in it (all of them the store's:
//! the sessions, their HTTP markers, the live index, the users' sets) is summed and divided by
//! the sessions; `used_memory` before and after is reported beside it. The keys are deleted
//! after, whatever happened; nothing else is touched.

use std::time::Duration;

use anyhow::{bail, ensure, Context};
use redis::aio::MultiplexedConnection;

use vestibule_core::ids::Guid;
use vestibule_core::store::SessionStore;
use vestibule_store::redis::RedisSessions;

/// The database the bench writes to when the URL names none.
const SCRATCH_DB: u32 = 15;
/// Keys per pipelined MEMORY USAGE or UNLINK.
const CHUNK: usize = 500;

pub struct RedisCapacity {
    pub url: String,
    pub sessions: usize,
    pub keys: usize,
    /// The sum of `MEMORY USAGE` over every key the store wrote.
    pub bytes: u64,
    /// `used_memory` after the writes less before (the allocator's view, overheads included).
    pub used_memory_delta: i64,
}

impl RedisCapacity {
    pub fn per_session(&self) -> f64 {
        self.bytes as f64 / self.sessions.max(1) as f64
    }
}

/// `url` with the scratch database when it names none (`redis://host:port` → `…/15`).
fn scratch_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.split_once('/') {
        Some((_, db)) if !db.is_empty() => url.to_string(),
        _ => format!("{}/{SCRATCH_DB}", url.trim_end_matches('/')),
    }
}

async fn used_memory(c: &mut MultiplexedConnection) -> anyhow::Result<i64> {
    let info: String = redis::cmd("INFO").arg("memory").query_async(c).await?;
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("INFO memory has no used_memory")
}

/// Every key of the scratch database (it was empty: all of them are the store's).
async fn store_keys(c: &mut MultiplexedConnection) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("vst:*")
            .arg("COUNT")
            .arg(1000)
            .query_async(c)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

async fn write_and_weigh(
    url: &str,
    c: &mut MultiplexedConnection,
    n: usize,
) -> anyhow::Result<(usize, u64, i64)> {
    let before = used_memory(c).await?;
    let store = RedisSessions::connect(url, Duration::from_secs(10)).await?;
    let users: Vec<Guid> = (0..1000).map(|_| Guid::random()).collect();
    let now = vestibule_core::clock::now_ms();
    for i in 0..n {
        store
            .insert(crate::memory::login_shaped("bench-capacity", i, &users, now))
            .await?;
    }
    let after = used_memory(c).await?;
    let keys = store_keys(c).await?;
    let mut bytes = 0u64;
    for chunk in keys.chunks(CHUNK) {
        let mut p = redis::pipe();
        for k in chunk {
            p.cmd("MEMORY").arg("USAGE").arg(k).arg("SAMPLES").arg(0);
        }
        let sizes: Vec<Option<u64>> = p.query_async(c).await?;
        bytes += sizes.into_iter().flatten().sum::<u64>();
    }
    Ok((keys.len(), bytes, after - before))
}

/// `n` sessions written through the Redis store at `url` (its scratch database), weighed, and
/// deleted.
pub async fn measure(url: &str, n: usize) -> anyhow::Result<RedisCapacity> {
    if url.contains("+cluster") {
        bail!("measured on one Redis, not on a cluster ({url})");
    }
    let url = scratch_url(url);
    let client = redis::Client::open(url.as_str())?;
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let size: u64 = redis::cmd("DBSIZE").query_async(&mut c).await?;
    ensure!(
        size == 0,
        "{url} holds {size} keys: the bench writes only to an empty database (name another in VESTIBULE_BENCH_REDIS_URL)"
    );
    let weighed = write_and_weigh(&url, &mut c, n).await;
    // Whatever happened, the database is left as it was found: empty.
    let keys = store_keys(&mut c).await?;
    for chunk in keys.chunks(CHUNK) {
        let _: () = redis::cmd("UNLINK").arg(chunk).query_async(&mut c).await?;
    }
    let (keys, bytes, used_memory_delta) = weighed?;
    Ok(RedisCapacity {
        url,
        sessions: n,
        keys,
        bytes,
        used_memory_delta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_to_the_scratch_database_unless_one_is_named() {
        assert_eq!(scratch_url("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379/15");
        assert_eq!(
            scratch_url("redis://127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/15"
        );
        assert_eq!(
            scratch_url("redis://127.0.0.1:6379/3"),
            "redis://127.0.0.1:6379/3"
        );
        assert_eq!(scratch_url("redis://:pw@host:1/2"), "redis://:pw@host:1/2");
    }
}
