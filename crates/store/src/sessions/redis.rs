//! The scale-out session store: sessions and grants in Redis, shared by every vestibule node.
//!
//! Each session is a hash `vst:s:{T}` (T = the token hash in hex) whose Redis expiry is the server
//! session timeout, and a marker key `vst:h:{T}` whose expiry is the HTTP session timeout: the two
//! timeouts of the design are two Redis expiries, and a session lives while both keys do. A touch
//! is one Lua script, so keep-alive is atomic across nodes; a logout deletes the keys, so every node
//! sees it at once. `vst:live` (a sorted set scored by expiry) counts live sessions and
//! `vst:u:{user}` lists a user's sessions. Grants are hashes `vst:g:{H}` expiring with the grant.
//! The braces are Redis Cluster hash tags: a session's keys always sit in one slot.
//!
//! Redis expires a session's keys by itself but cannot take its member out of `vst:u:{user}`, so
//! members of sessions that ended on their own are pruned twice over, both off the request path:
//! each insert samples a few members of the user's set and a background task drops those whose
//! `vst:s:{T}` is gone, and every sweep walks a slice of the `vst:u:*` sets with a SCAN cursor kept
//! across sweeps, so the sets of users who no longer log in empty out (and vanish) too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

use vestibule_core::credential::Admission;
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Expiry, Grant, Session};
use vestibule_core::store::{SessionStore, StoreResult};

use crate::codec;
use crate::redis_call::{self, run_within, Retry};

const LIVE: &str = "vst:live";

/// Members of a user's set sampled by each insert (k). With a dead share `d`, an insert removes
/// about `k·d` dead members and adds one member that will some day be dead, so the dead share
/// settles where `k·d = 1`: with k=3 at about a third of the set or less (sweeps take more).
const PRUNE_SAMPLE: usize = 3;
/// One sweep's slice of the keyspace: SCAN calls of `SCAN_COUNT` keys each (about 500 keys), so a
/// sweep costs the same however many users there are; the cursor carries on at the next sweep.
const SCAN_COUNT: usize = 100;
const SCANS_PER_SWEEP: usize = 5;
/// At most this many members of one set are checked per visit (all of them when the set is no
/// larger), so a set grown huge before pruning existed shrinks over several passes instead of
/// making one sweep outlast the store timeout.
const MEMBERS_PER_SET: usize = 1000;
/// Members checked per round trip in a sweep.
const CHECK_CHUNK: usize = 1000;

fn skey(t: &SecretHash) -> String {
    skey_hex(&t.to_hex())
}
fn skey_hex(hex: &str) -> String {
    format!("vst:s:{{{hex}}}")
}
fn hkey(t: &SecretHash) -> String {
    format!("vst:h:{{{}}}", t.to_hex())
}
fn ukey(u: Guid) -> String {
    format!("vst:u:{}", u.to_hex())
}
fn gkey(h: &SecretHash) -> String {
    format!("vst:g:{{{}}}", h.to_hex())
}

fn seen_key(h: &SecretHash) -> String {
    format!("vst:seen:{{{}}}", h.to_hex())
}

/// Touches a session atomically if its cookie is admitted. KEYS: session hash, http marker, live
/// set. ARGV: now (ms), token hex, "1" when a bound session is admitted without its cookie, then
/// the hex hashes of the cookies that admit it. Returns the session's fields; nil when it is gone
/// or expired (and then removes it) or not admitted (and then changes nothing).
const TOUCH: &str = r#"
local f = redis.call('HMGET', KEYS[1], 'kind', 'server', 'http', 'exp', 'cookie')
if not f[1] then
  redis.call('ZREM', KEYS[3], ARGV[2])
  return false
end
if f[5] and f[5] ~= '' and ARGV[3] ~= '1' then
  local admitted = false
  for i = 4, #ARGV do
    if ARGV[i] == f[5] then
      admitted = true
      break
    end
  end
  if not admitted then
    return false
  end
end
local now = tonumber(ARGV[1])
if f[1] == 'idle' then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[3], ARGV[2])
    return false
  end
  local server = tonumber(f[2]) * 1000
  local http = tonumber(f[3]) * 1000
  redis.call('PEXPIRE', KEYS[1], server)
  redis.call('PEXPIRE', KEYS[2], http)
  local exp = now + math.min(server, http)
  redis.call('HSET', KEYS[1], 'last', ARGV[1], 'exp', exp)
  redis.call('ZADD', KEYS[3], exp, ARGV[2])
elseif tonumber(f[4]) <= now then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
  return false
end
return redis.call('HGETALL', KEYS[1])
"#;

pub struct RedisSessions {
    conn: ConnectionManager,
    timeout: Duration,
    touch: Script,
    /// Where the next sweep resumes its SCAN over the `vst:u:*` sets (0: a new pass).
    user_sets_cursor: AtomicU64,
}

impl RedisSessions {
    /// Connects to `url`; every later operation gives up after `timeout` and reports the store as
    /// unavailable, and the connection is re-made by itself when Redis is back (see
    /// `redis_call`).
    pub async fn connect(url: &str, timeout: Duration) -> StoreResult<RedisSessions> {
        Ok(RedisSessions {
            conn: redis_call::connect(url, timeout).await?,
            timeout,
            touch: Script::new(TOUCH),
            user_sets_cursor: AtomicU64::new(0),
        })
    }

    /// Runs one Redis operation within the store timeout, once more on a new connection if the
    /// connection died and `retry` allows it.
    async fn run<T, F>(&self, retry: Retry, op: impl Fn(ConnectionManager) -> F) -> StoreResult<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        run_within(self.timeout, &self.conn, retry, op).await
    }

    /// The failed-login budgets on this store's connection, so every node shares them too.
    pub fn attempts(&self) -> crate::attempts::RedisAttempts {
        crate::attempts::RedisAttempts::new(self.conn.clone(), self.timeout)
    }

    /// Prunes dead members from a slice of the `vst:u:*` sets, resuming the SCAN where the last
    /// sweep stopped; returns how many members went. The cursor moves on only past sets that
    /// were fully handled, so a failed sweep is simply redone by the next one.
    async fn prune_user_sets(&self) -> StoreResult<usize> {
        let mut cursor = self.user_sets_cursor.load(Ordering::Relaxed);
        let mut pruned = 0;
        for _ in 0..SCANS_PER_SWEEP {
            // Reads, and the SREMs of members already dead: all safe to repeat.
            let (next, sets): (u64, Vec<String>) = self
                .run(Retry::Safe, |mut c| async move {
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg("vst:u:*")
                        .arg("COUNT")
                        .arg(SCAN_COUNT)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            if !sets.is_empty() {
                // SRANDMEMBER with a count no smaller than the set returns all of it.
                let members: Vec<Vec<String>> = self
                    .run(Retry::Safe, |mut c| {
                        let sets = &sets;
                        async move {
                            let mut p = redis::pipe();
                            for uk in sets {
                                p.srandmember_multiple(uk, MEMBERS_PER_SET);
                            }
                            p.query_async(&mut c).await
                        }
                    })
                    .await?;
                let pairs: Vec<(&str, String)> = sets
                    .iter()
                    .zip(members)
                    .flat_map(|(uk, ms)| ms.into_iter().map(move |m| (uk.as_str(), m)))
                    .collect();
                for chunk in pairs.chunks(CHECK_CHUNK) {
                    pruned += self
                        .run(
                            Retry::Safe,
                            |mut c| async move { remove_dead(&mut c, chunk).await },
                        )
                        .await?;
                }
            }
            cursor = next;
            self.user_sets_cursor.store(cursor, Ordering::Relaxed);
            if cursor == 0 {
                break;
            }
        }
        Ok(pruned)
    }
}

/// Removes from each user set those of the given members whose session key is gone, in two round
/// trips; returns how many went. Race-free: a member and its `vst:s:{T}` are written in one
/// MULTI, a live session's key only ever gets a later expiry, and a token is never reused, so a
/// member whose key is gone belongs to a session that is over for good and nothing can bring it
/// back between the EXISTS and the SREM. An idle session that outlived its HTTP timeout still has
/// its key until the server timeout: it is kept until then, which is merely late, never wrong.
async fn remove_dead(c: &mut ConnectionManager, members: &[(&str, String)]) -> redis::RedisResult<usize> {
    if members.is_empty() {
        return Ok(0);
    }
    let mut p = redis::pipe();
    for (_, m) in members {
        p.exists(skey_hex(m));
    }
    let exists: Vec<bool> = p.query_async(c).await?;
    let mut dead: HashMap<&str, Vec<&str>> = HashMap::new();
    for ((uk, m), live) in members.iter().zip(exists) {
        if !live {
            dead.entry(uk).or_default().push(m);
        }
    }
    if dead.is_empty() {
        return Ok(0);
    }
    // Redis deletes a set that this empties.
    let mut p = redis::pipe();
    for (uk, ms) in &dead {
        p.srem(*uk, ms);
    }
    let removed: Vec<usize> = p.query_async(c).await?;
    Ok(removed.into_iter().sum())
}

/// Best-effort pruning of `uk` after an insert, in its own task: a failure is logged and dropped,
/// so it never fails or slows the insert. Never retried: the sweep prunes what this leaves.
fn spawn_prune(conn: ConnectionManager, timeout: Duration, uk: String, sample: Vec<String>) {
    tokio::spawn(async move {
        let pairs: Vec<(&str, String)> = sample.into_iter().map(|m| (uk.as_str(), m)).collect();
        let pairs = &pairs;
        match run_within(timeout, &conn, Retry::Never, |mut c| async move {
            remove_dead(&mut c, pairs).await
        })
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "pruned ended sessions from a user's set"),
            Err(e) => tracing::debug!(error = %e, "pruning a user's session set failed"),
        }
    });
}

fn session_fields(s: &Session) -> Vec<(&'static str, String)> {
    let (kind, server, http) = codec::expiry_to(s.expiry);
    vec![
        ("cookie", s.cookie.map(|c| c.to_hex()).unwrap_or_default()),
        ("user", s.user_id.to_hex()),
        ("mode", s.login_mode.to_string()),
        ("scope", codec::scope_to(s.scope).unwrap_or_default()),
        ("created", s.created_ms.to_string()),
        ("last", s.last_active_ms.to_string()),
        ("kind", kind.to_string()),
        ("server", server.unwrap_or(0).to_string()),
        ("http", http.unwrap_or(0).to_string()),
        ("exp", s.expires_ms().to_string()),
    ]
}

fn session_from(token: SecretHash, f: &HashMap<String, String>) -> StoreResult<Session> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let int = |k: &str| -> StoreResult<i64> {
        get(k)
            .parse()
            .map_err(|_| StoreError::Other(format!("redis: bad session field {k}")))
    };
    let cookie = match get("cookie") {
        "" => None,
        c => Some(codec::hash(c)?),
    };
    let scope = match get("scope") {
        "" => None,
        s => Some(s.to_string()),
    };
    Ok(Session {
        token,
        cookie,
        user_id: codec::guid(get("user"))?,
        login_mode: int("mode")? as i32,
        scope: codec::scope_from(scope)?,
        created_ms: int("created")?,
        last_active_ms: int("last")?,
        expiry: codec::expiry_from(get("kind"), Some(int("server")?), Some(int("http")?), int("exp")?)?,
    })
}

fn grant_from(hash: SecretHash, f: &HashMap<String, String>) -> StoreResult<Grant> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let int = |k: &str| -> StoreResult<i64> {
        get(k)
            .parse()
            .map_err(|_| StoreError::Other(format!("redis: bad grant field {k}")))
    };
    Ok(Grant {
        hash,
        kind: codec::grant_kind(get("kind"))?,
        user_id: codec::guid(get("user"))?,
        scope: codec::scope_from(Some(get("scope").to_string()).filter(|s| !s.is_empty()))?,
        created_ms: int("created")?,
        expires_ms: int("exp")?,
        origin: Some(get("origin"))
            .filter(|o| !o.is_empty())
            .map(codec::hash)
            .transpose()?,
    })
}

#[async_trait]
impl SessionStore for RedisSessions {
    async fn insert(&self, s: Session) -> StoreResult<()> {
        let (sk, hk, uk) = (skey(&s.token), hkey(&s.token), ukey(s.user_id));
        let fields = session_fields(&s);
        let member = s.token.to_hex();
        let exp = s.expires_ms();
        let (server_ms, http_ms) = match s.expiry {
            Expiry::Idle {
                server_secs,
                http_secs,
            } => (i64::from(server_secs) * 1000, i64::from(http_secs) * 1000),
            Expiry::Absolute { expires_ms } => {
                let left = (expires_ms - s.last_active_ms).max(1);
                (left, left)
            }
        };
        // Safe to repeat: the same fields, expiries and members again.
        let (sk, hk, fields) = (&sk, &hk, &fields);
        let (sample,): (Vec<String>,) = self
            .run(Retry::Safe, |mut c| {
                let (uk, member) = (&uk, &member);
                async move {
                    redis::pipe()
                        .atomic()
                        .hset_multiple(sk, fields)
                        .ignore()
                        .pexpire(sk, server_ms)
                        .ignore()
                        .set(hk, 1)
                        .ignore()
                        .pexpire(hk, http_ms)
                        .ignore()
                        .zadd(LIVE, member, exp)
                        .ignore()
                        .sadd(uk, member)
                        .ignore()
                        // A few other sessions of the user, checked below (see PRUNE_SAMPLE).
                        .srandmember_multiple(uk, PRUNE_SAMPLE)
                        .query_async(&mut c)
                        .await
                }
            })
            .await?;
        let sample: Vec<String> = sample.into_iter().filter(|m| *m != member).collect();
        if !sample.is_empty() {
            spawn_prune(self.conn.clone(), self.timeout, uk, sample);
        }
        Ok(())
    }

    async fn touch_if(
        &self,
        token: &SecretHash,
        now_ms: i64,
        admission: &Admission<'_>,
    ) -> StoreResult<Option<Session>> {
        let (sk, hk, member) = (skey(token), hkey(token), token.to_hex());
        let without_cookie = if admission.without_cookie { "1" } else { "0" };
        let cookies: Vec<String> = admission.cookie_hashes().map(|h| h.to_hex()).collect();
        // Safe to repeat: run again with the same `now`, the script writes the same expiries and
        // answers the same (a session it removed as expired is then simply gone).
        let (sk, hk, member, cookies) = (&sk, &hk, &member, &cookies);
        let fields: Option<HashMap<String, String>> = self
            .run(Retry::Safe, |mut c| async move {
                self.touch
                    .key(sk)
                    .key(hk)
                    .key(LIVE)
                    .arg(now_ms)
                    .arg(member)
                    .arg(without_cookie)
                    .arg(cookies)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        fields
            .filter(|f| !f.is_empty())
            .map(|f| session_from(*token, &f))
            .transpose()
    }

    async fn remove(&self, token: &SecretHash) -> StoreResult<bool> {
        let (sk, hk, member) = (&skey(token), &hkey(token), &token.to_hex());
        let user: Option<String> = self
            .run(Retry::Safe, |mut c| async move { c.hget(sk, "user").await })
            .await?;
        let uk = user.as_deref().and_then(|u| u.parse::<Guid>().ok()).map(ukey);
        let uk = &uk;
        // Safe to repeat: the keys end up deleted either way. A repeat whose first try did reach
        // Redis (only its answer was lost) finds them gone and reports `false`.
        let removed: i64 = self
            .run(Retry::Safe, |mut c| async move {
                let mut p = redis::pipe();
                p.atomic().del(sk).del(hk).ignore().zrem(LIVE, member).ignore();
                if let Some(uk) = uk {
                    p.srem(uk, member).ignore();
                }
                let (n,): (i64,) = p.query_async(&mut c).await?;
                Ok(n)
            })
            .await?;
        Ok(removed > 0)
    }

    async fn remove_user(&self, user: Guid) -> StoreResult<usize> {
        let uk = &ukey(user);
        let members: Vec<String> = self
            .run(Retry::Safe, |mut c| async move { c.smembers(uk).await })
            .await?;
        let mut removed = 0;
        for m in members {
            if let Some(h) = SecretHash::from_hex(&m) {
                if self.remove(&h).await? {
                    removed += 1;
                }
            }
        }
        self.run(Retry::Safe, |mut c| async move { c.del::<_, ()>(uk).await })
            .await?;
        Ok(removed)
    }

    async fn sweep(&self, now_ms: i64) -> StoreResult<usize> {
        // Redis drops expired keys by itself; only the indexes need trimming: the live set here,
        // the user sets a slice at a time.
        let n: i64 = self
            .run(Retry::Safe, |mut c| async move {
                c.zrembyscore(LIVE, "-inf", now_ms).await
            })
            .await?;
        // The user sets are housekeeping: a failure there is reported but does not fail the sweep.
        match self.prune_user_sets().await {
            Ok(0) => {}
            Ok(p) => tracing::debug!(pruned = p, "pruned ended sessions from user sets"),
            Err(e) => tracing::warn!(error = %e, "pruning user session sets failed"),
        }
        Ok(n.max(0) as usize)
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run(Retry::Safe, |mut c| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await
        .map(|_| ())
    }

    async fn count(&self) -> StoreResult<usize> {
        let now = vestibule_core::clock::now_ms();
        let n: i64 = self
            .run(Retry::Safe, |mut c| async move {
                c.zcount(LIVE, now + 1, "+inf").await
            })
            .await?;
        Ok(n.max(0) as usize)
    }

    async fn insert_grant(&self, g: Grant) -> StoreResult<()> {
        let k = gkey(&g.hash);
        let fields = vec![
            ("kind", g.kind.as_str().to_string()),
            ("user", g.user_id.to_hex()),
            ("scope", codec::scope_to(g.scope).unwrap_or_default()),
            ("created", g.created_ms.to_string()),
            ("exp", g.expires_ms.to_string()),
            ("origin", g.origin.map(|o| o.to_hex()).unwrap_or_default()),
        ];
        let at = g.expires_ms;
        let (k, fields) = (&k, &fields);
        self.run(Retry::Safe, |mut c| async move {
            redis::pipe()
                .atomic()
                .hset_multiple(k, fields)
                .ignore()
                .pexpire_at(k, at)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn grant(&self, hash: &SecretHash, now_ms: i64) -> StoreResult<Option<Grant>> {
        let k = &gkey(hash);
        let f: HashMap<String, String> = self
            .run(Retry::Safe, |mut c| async move { c.hgetall(k).await })
            .await?;
        if f.is_empty() {
            return Ok(None);
        }
        let g = grant_from(*hash, &f)?;
        Ok((g.expires_ms > now_ms).then_some(g))
    }

    async fn remove_grant(&self, hash: &SecretHash) -> StoreResult<bool> {
        let k = &gkey(hash);
        // Safe to repeat, as in `remove`: a repeat after a lost answer reports `false`.
        let n: i64 = self
            .run(Retry::Safe, |mut c| async move { c.del(k).await })
            .await?;
        Ok(n > 0)
    }

    async fn first_sight(&self, hash: &SecretHash, expires_ms: i64, now_ms: i64) -> StoreResult<bool> {
        let k = &seen_key(hash);
        let at = expires_ms.max(now_ms + 1);
        // Not repeated: after a lost answer a repeat would find its own record and say "seen",
        // refusing the first use; the caller gets the error instead.
        let set: Option<String> = self
            .run(Retry::Never, |mut c| async move {
                redis::cmd("SET")
                    .arg(k)
                    .arg(1)
                    .arg("NX")
                    .arg("PXAT")
                    .arg(at)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }

    async fn is_live(&self, token: &SecretHash, now_ms: i64) -> StoreResult<bool> {
        let (sk, hk) = (&skey(token), &hkey(token));
        let (both, kind, exp): (i64, Option<String>, Option<i64>) = self
            .run(Retry::Safe, |mut c| async move {
                redis::pipe()
                    .exists(&[sk, hk])
                    .hget(sk, "kind")
                    .hget(sk, "exp")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        // Idle sessions live while both expiring keys do; absolute ones also until their time.
        Ok(both == 2 && (kind.as_deref() == Some("idle") || exp.is_some_and(|e| e > now_ms)))
    }

    async fn flush(&self) -> StoreResult<()> {
        // Every write already went to Redis.
        Ok(())
    }
}
