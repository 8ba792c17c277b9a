//! The scale-out session store: sessions and grants in Redis (one, or a Redis Cluster), shared by
//! every vestibule node.
//!
//! Each session is a hash (`vst:s:{T}` on one Redis, T = the token hash in hex) whose Redis expiry
//! is the server session timeout, and a marker key (`vst:h:{T}`) whose expiry is the HTTP session
//! timeout: the two timeouts of the design are two Redis expiries, and a session lives while both
//! keys do. A touch is one Lua script, so keep-alive is atomic across nodes; a logout deletes the
//! keys and is answered once every node has dropped its copy of the session (`redis_near.rs`), so
//! every node refuses it from then on. A live index (a sorted set scored by expiry: `vst:live`)
//! counts live sessions and a user's set (`vst:u:<user>`) lists a user's sessions. Grants are
//! hashes `vst:g:{H}` expiring with the grant. On a cluster the names differ so that each script
//! and each MULTI keeps to one slot (`redis_keys.rs`); the logic is the same.
//!
//! With `store.redis_wait_replicas` set, every write that must survive a failover (a login, a
//! logout, a grant made or used up, a replay record) is followed by `WAIT` on the master that took
//! it, and fails (503) unless that many replicas acknowledged it.
//!
//! Redis expires a session's keys by itself but cannot take its member out of `vst:u:{user}`, so
//! members of sessions that ended on their own are pruned twice over, both off the request path:
//! each insert samples a few members of the user's set and a background task drops those whose
//! `vst:s:{T}` is gone, and every sweep walks a slice of the `vst:u:*` sets with a SCAN cursor kept
//! across sweeps, so the sets of users who no longer log in empty out (and vanish) too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::{AsyncCommands, Cmd, Script};

use vestibule_core::credential::Admission;
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Expiry, Grant, Session};
use vestibule_core::store::{SessionStore, StoreResult};

use crate::codec;
use crate::redis_call::{self, run_within, Conn, Retry};
use crate::sessions::redis_keys::Keys;
use crate::sessions::redis_near::Near;

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

/// Touches a session atomically if its cookie is admitted. KEYS: session hash, http marker, live
/// index (one slot in both layouts). ARGV: now (ms), token hex, "1" when a bound session is admitted without its cookie, then
/// the hex tags of the cookies that admit it (a stored full hash, from before tags, is compared by
/// its first 32 digits, its tag). Returns the session's fields; nil when it is gone
/// or expired (and then removes it) or not admitted (and then changes nothing).
const TOUCH: &str = r#"
local f = redis.call('HMGET', KEYS[1], 'kind', 'server', 'http', 'exp', 'cookie')
if not f[1] then
  redis.call('ZREM', KEYS[3], ARGV[2])
  return false
end
if f[5] and f[5] ~= '' and ARGV[3] ~= '1' then
  local bound = string.sub(f[5], 1, 32)
  local admitted = false
  for i = 4, #ARGV do
    if ARGV[i] == bound then
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
    conn: Conn,
    keys: Keys,
    timeout: Duration,
    touch: Script,
    /// Replicas that must acknowledge a durable write (`WAIT`); 0: none waited for.
    wait_replicas: u32,
    /// Where the next sweep resumes its SCAN over the `vst:u:*` sets (0: a new pass).
    user_sets_cursor: AtomicU64,
    /// On a cluster, which master (by rank in the sorted list of masters) that SCAN walks.
    user_sets_node: AtomicUsize,
    url: String,
    /// This node's copy of sessions, and the invalidations that keep every node's copy true.
    near: Arc<Near>,
}

impl RedisSessions {
    /// Connects to `url`; every later operation gives up after `timeout` and reports the store as
    /// unavailable, and the connection is re-made by itself when Redis is back (see
    /// `redis_call`).
    /// A `redis+cluster://` (or `rediss+cluster://`) URL names a cluster by some of its nodes.
    pub async fn connect(url: &str, timeout: Duration) -> StoreResult<RedisSessions> {
        let conn = redis_call::connect(url, timeout).await?;
        let keys = if conn.is_cluster() {
            Keys::Cluster
        } else {
            Keys::Single
        };
        Ok(RedisSessions {
            near: Near::new(conn.clone(), keys, url, timeout, None),
            url: url.to_string(),
            conn,
            keys,
            timeout,
            touch: Script::new(TOUCH),
            wait_replicas: 0,
            user_sets_cursor: AtomicU64::new(0),
            user_sets_node: AtomicUsize::new(0),
        })
    }

    /// Makes every durable write wait until `replicas` replicas of its master acknowledged it
    /// (`WAIT`, for at most half the store timeout), failing as unavailable when fewer did.
    pub fn wait_for_replicas(mut self, replicas: u32) -> RedisSessions {
        self.wait_replicas = replicas;
        self.near.set_wait_replicas(replicas);
        self
    }

    /// Keeps a copy of up to `sessions` sessions on this node, so that their checks answer
    /// without Redis (see `redis_near`); 0 keeps none. Logouts wait for every node's copy either
    /// way.
    pub fn with_local_copy(mut self, sessions: usize) -> RedisSessions {
        self.near = Near::new(
            self.conn.clone(),
            self.keys,
            &self.url,
            self.timeout,
            Some(sessions),
        );
        self.near.set_wait_replicas(self.wait_replicas);
        self
    }

    /// Whether this node keeps a copy of sessions and trusts it now (for tests).
    pub fn local_copy_trusted(&self) -> bool {
        self.near.keeps_copy() && self.near.trusted()
    }

    /// Whether this store is on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.keys == Keys::Cluster
    }

    /// Waits, as configured, until the writes just made to `keys` reached the replicas.
    async fn durable(&self, keys: &[&str]) -> StoreResult<()> {
        redis_call::durable(&self.conn, self.timeout, self.wait_replicas, keys).await
    }

    /// Runs one Redis operation within the store timeout, once more on a new connection if the
    /// connection died and `retry` allows it.
    async fn run<T, F>(&self, retry: Retry, op: impl Fn(Conn) -> F) -> StoreResult<T>
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
    /// were fully handled, so a failed sweep is simply redone by the next one. On a cluster the
    /// SCAN walks one master's keys at a time, the masters in turn.
    async fn prune_user_sets(&self) -> StoreResult<usize> {
        let masters = self
            .run(Retry::Safe, |mut c| async move { c.masters().await })
            .await?;
        if self.is_cluster() && masters.is_empty() {
            return Ok(0);
        }
        let mut cursor = self.user_sets_cursor.load(Ordering::Relaxed);
        let mut rank = self.user_sets_node.load(Ordering::Relaxed);
        let pattern = self.keys.users_pattern();
        let mut pruned = 0;
        for _ in 0..SCANS_PER_SWEEP {
            let node = (!masters.is_empty()).then(|| &masters[rank % masters.len()]);
            // Reads, and the SREMs of members already dead: all safe to repeat.
            let (next, sets): (u64, Vec<String>) = self
                .run(Retry::Safe, |mut c| async move {
                    let mut scan = redis::cmd("SCAN");
                    scan.arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT);
                    c.on_node(node, &scan).await
                })
                .await?;
            if !sets.is_empty() {
                // SRANDMEMBER with a count no smaller than the set returns all of it.
                let members: Vec<Vec<String>> = self
                    .run(Retry::Safe, |mut c| {
                        let cmds: Vec<Cmd> = sets
                            .iter()
                            .map(|uk| {
                                let mut cmd = redis::cmd("SRANDMEMBER");
                                cmd.arg(uk).arg(MEMBERS_PER_SET);
                                cmd
                            })
                            .collect();
                        async move { c.each(cmds).await }
                    })
                    .await?;
                let pairs: Vec<(&str, String)> = sets
                    .iter()
                    .zip(members)
                    .flat_map(|(uk, ms)| ms.into_iter().map(move |m| (uk.as_str(), m)))
                    .collect();
                let keys = self.keys;
                for chunk in pairs.chunks(CHECK_CHUNK) {
                    pruned += self
                        .run(Retry::Safe, |mut c| async move {
                            remove_dead(&mut c, keys, chunk).await
                        })
                        .await?;
                }
            }
            cursor = next;
            if cursor == 0 {
                rank = rank.wrapping_add(1);
            }
            self.user_sets_cursor.store(cursor, Ordering::Relaxed);
            self.user_sets_node.store(rank, Ordering::Relaxed);
            if cursor == 0 && (masters.is_empty() || rank.is_multiple_of(masters.len())) {
                break;
            }
        }
        Ok(pruned)
    }

    /// Deletes a session's keys and index entries; whether it was there.
    async fn delete(&self, token: &SecretHash) -> StoreResult<bool> {
        let member = &token.to_hex();
        let k = self.keys;
        let (sk, hk, lk) = (&k.session(member), &k.http(member), &k.live(member));
        let user: Option<String> = self
            .run(Retry::Safe, |mut c| async move { c.hget(sk, "user").await })
            .await?;
        let uk = user
            .as_deref()
            .and_then(|u| u.parse::<Guid>().ok())
            .map(|u| k.user(u));
        let uk = &uk;
        // On one Redis the user's set is in the MULTI; on a cluster it is another slot.
        let srem_in_multi = k == Keys::Single;
        // Safe to repeat: the keys end up deleted either way. A repeat whose first try did reach
        // Redis (only its answer was lost) finds them gone and reports `false`.
        let removed: i64 = self
            .run(Retry::Safe, |mut c| async move {
                let mut p = redis::pipe();
                p.atomic().del(sk).del(hk).ignore().zrem(lk, member).ignore();
                if let (Some(uk), true) = (uk, srem_in_multi) {
                    p.srem(uk, member).ignore();
                }
                let (n,): (i64,) = p.query_async(&mut c).await?;
                Ok(n)
            })
            .await?;
        if let (Some(uk), false) = (uk, srem_in_multi) {
            // The session is gone already; a member left behind is pruned like any dead one.
            let unindexed = self
                .run(Retry::Safe, |mut c| async move {
                    c.srem::<_, _, ()>(uk, member).await
                })
                .await;
            if let Err(e) = unindexed {
                tracing::debug!(error = %e, "removing an ended session from its user's set failed");
            }
        }
        self.durable(&[sk]).await?;
        Ok(removed > 0)
    }

    /// Trims the indexes of sessions Redis expired by itself.
    async fn sweep_indexes(&self, now_ms: i64) -> StoreResult<usize> {
        // Redis drops expired keys by itself; only the indexes need trimming: the live index
        // here, the user sets a slice at a time.
        let n = self
            .over_lives(|k| {
                let mut cmd = redis::cmd("ZREMRANGEBYSCORE");
                cmd.arg(k).arg("-inf").arg(now_ms);
                cmd
            })
            .await?;
        // The user sets are housekeeping: a failure there is reported but does not fail the sweep.
        match self.prune_user_sets().await {
            Ok(0) => {}
            Ok(p) => tracing::debug!(pruned = p, "pruned ended sessions from user sets"),
            Err(e) => tracing::warn!(error = %e, "pruning user session sets failed"),
        }
        Ok(n)
    }

    /// Sums one command's integer answers over every live index (one on one Redis, the 4096
    /// buckets of a cluster, all at once).
    async fn over_lives(&self, cmd: impl Fn(&str) -> Cmd) -> StoreResult<usize> {
        let cmds: Vec<Cmd> = self.keys.lives().iter().map(|k| cmd(k)).collect();
        let cmds = &cmds;
        let ns: Vec<i64> = self
            .run(Retry::Safe, |mut c| async move { c.each(cmds.clone()).await })
            .await?;
        Ok(ns.into_iter().map(|n| n.max(0) as usize).sum())
    }
}

/// Removes from each user set those of the given members whose session key is gone, in two round
/// trips; returns how many went. Race-free: a member is added to its user's set only once its
/// session key exists (in the same MULTI on one Redis, in the step after it on a cluster), a live
/// session's key only ever gets a later expiry, and a token is never reused, so a member whose
/// key is gone belongs to a session that is over for good and nothing can bring it back between
/// the EXISTS and the SREM. An idle session that outlived its HTTP timeout still has its key
/// until the server timeout: it is kept until then, which is merely late, never wrong.
async fn remove_dead(c: &mut Conn, keys: Keys, members: &[(&str, String)]) -> redis::RedisResult<usize> {
    if members.is_empty() {
        return Ok(0);
    }
    let checks: Vec<Cmd> = members
        .iter()
        .map(|(_, m)| {
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg(keys.session(m));
            cmd
        })
        .collect();
    let exists: Vec<bool> = c.each(checks).await?;
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
    let srems: Vec<Cmd> = dead
        .iter()
        .map(|(uk, ms)| {
            let mut cmd = redis::cmd("SREM");
            cmd.arg(*uk).arg(ms);
            cmd
        })
        .collect();
    let removed: Vec<usize> = c.each(srems).await?;
    Ok(removed.into_iter().sum())
}

/// Best-effort pruning of `uk` after an insert, in its own task: a failure is logged and dropped,
/// so it never fails or slows the insert. Never retried: the sweep prunes what this leaves.
fn spawn_prune(conn: Conn, keys: Keys, timeout: Duration, uk: String, sample: Vec<String>) {
    tokio::spawn(async move {
        let pairs: Vec<(&str, String)> = sample.into_iter().map(|m| (uk.as_str(), m)).collect();
        let pairs = &pairs;
        match run_within(timeout, &conn, Retry::Never, |mut c| async move {
            remove_dead(&mut c, keys, pairs).await
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
        c => Some(codec::cookie(c)?),
    };
    let scope = Some(get("scope")).filter(|s| !s.is_empty());
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
        scope: codec::scope_from(Some(get("scope")).filter(|s| !s.is_empty()))?,
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
        let generation = self.near.generation();
        let member = s.token.to_hex();
        let k = self.keys;
        let (sk, hk, lk, uk) = (
            k.session(&member),
            k.http(&member),
            k.live(&member),
            k.user(s.user_id),
        );
        let fields = session_fields(&s);
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
        let (sk, hk, lk, uk, member, fields) = (&sk, &hk, &lk, &uk, &member, &fields);
        let session = |p: &mut redis::Pipeline| {
            p.hset_multiple(sk, fields)
                .ignore()
                .pexpire(sk, server_ms)
                .ignore()
                .set(hk, 1)
                .ignore()
                .pexpire(hk, http_ms)
                .ignore()
                .zadd(lk, member, exp)
                .ignore();
        };
        // The user's set gets the member, and a few other sessions of the user come back to be
        // checked below (see PRUNE_SAMPLE).
        let index = |p: &mut redis::Pipeline| {
            p.sadd(uk, member).ignore().srandmember_multiple(uk, PRUNE_SAMPLE);
        };
        let sample: Vec<String> = match self.keys {
            // One MULTI, as always.
            Keys::Single => {
                let (sample,): (Vec<String>,) = self
                    .run(Retry::Safe, |mut c| async move {
                        let mut p = redis::pipe();
                        p.atomic();
                        session(&mut p);
                        index(&mut p);
                        p.query_async(&mut c).await
                    })
                    .await?;
                sample
            }
            // Two slots, two steps: the session's keys (one MULTI in the token's slot), then the
            // user's set. In that order a member never names a session that is not yet written,
            // so pruning (which drops members whose session is gone) cannot drop it; and the
            // login answers only after both, so a session whose index entry failed is one whose
            // token nobody received. It is deleted at once all the same.
            Keys::Cluster => {
                self.run(Retry::Safe, |mut c| async move {
                    let mut p = redis::pipe();
                    p.atomic();
                    session(&mut p);
                    p.query_async::<()>(&mut c).await
                })
                .await?;
                let indexed = self
                    .run(Retry::Safe, |mut c| async move {
                        let mut p = redis::pipe();
                        index(&mut p);
                        let (sample,): (Vec<String>,) = p.query_async(&mut c).await?;
                        Ok(sample)
                    })
                    .await;
                match indexed {
                    Ok(sample) => sample,
                    Err(e) => {
                        let undone = self
                            .run(Retry::Safe, |mut c| async move {
                                redis::pipe()
                                    .atomic()
                                    .del(&[sk, hk])
                                    .ignore()
                                    .zrem(lk, member)
                                    .ignore()
                                    .query_async::<()>(&mut c)
                                    .await
                            })
                            .await;
                        if let Err(u) = undone {
                            tracing::warn!(error = %u, "a session whose index entry failed could not be deleted; nobody has its token");
                        }
                        return Err(e);
                    }
                }
            }
        };
        self.durable(&[sk, uk]).await?;
        let sample: Vec<String> = sample.into_iter().filter(|m| m != member).collect();
        if !sample.is_empty() {
            spawn_prune(self.conn.clone(), self.keys, self.timeout, uk.clone(), sample);
        }
        self.near.admit(s, generation);
        Ok(())
    }

    async fn touch_if(
        &self,
        token: &SecretHash,
        now_ms: i64,
        admission: &Admission<'_>,
    ) -> StoreResult<Option<Session>> {
        if let Some(s) = self.near.cached(token, now_ms, admission) {
            return Ok(Some(s));
        }
        let generation = self.near.generation();
        let member = token.to_hex();
        let (sk, hk, lk) = (
            self.keys.session(&member),
            self.keys.http(&member),
            self.keys.live(&member),
        );
        let without_cookie = if admission.without_cookie { "1" } else { "0" };
        let cookies: Vec<String> = admission.cookie_tags().map(|t| t.to_hex()).collect();
        // Safe to repeat: run again with the same `now`, the script writes the same expiries and
        // answers the same (a session it removed as expired is then simply gone).
        let (sk, hk, lk, member, cookies) = (&sk, &hk, &lk, &member, &cookies);
        let fields: StoreResult<Option<HashMap<String, String>>> = self
            .run(Retry::Safe, |mut c| async move {
                self.touch
                    .key(sk)
                    .key(hk)
                    .key(lk)
                    .arg(now_ms)
                    .arg(member)
                    .arg(without_cookie)
                    .arg(cookies)
                    .invoke_async(&mut c)
                    .await
            })
            .await;
        let session = fields.and_then(|fields| {
            fields
                .filter(|f| !f.is_empty())
                .map(|f| session_from(*token, &f))
                .transpose()
        });
        match &session {
            Ok(Some(s)) => self.near.admit(s.clone(), generation),
            // Gone, refused, or Redis did not take this window's keep-alive: the copy must not
            // answer for it until Redis has.
            _ => self.near.drop_local(token),
        }
        session
    }

    async fn remove(&self, token: &SecretHash) -> StoreResult<bool> {
        let removed = self.delete(token).await?;
        // Even when Redis had no such session: a repeated logout whose first try failed after
        // the delete still reaches every copy.
        self.near.invalidate(std::slice::from_ref(token)).await?;
        Ok(removed)
    }

    /// Every session of the user is in its set: a member is added before the login answers and
    /// taken out only once its session is gone (see `insert` and `remove_dead`). Only the
    /// members read are taken out at the end, so a login that races the revocation keeps its
    /// entry (its session was made after the revocation began).
    async fn remove_user(&self, user: Guid) -> StoreResult<usize> {
        let uk = &self.keys.user(user);
        let members: Vec<String> = self
            .run(Retry::Safe, |mut c| async move { c.smembers(uk).await })
            .await?;
        let tokens: Vec<SecretHash> = members.iter().filter_map(|m| SecretHash::from_hex(m)).collect();
        let mut removed = 0;
        let mut deleted = Ok(());
        for h in &tokens {
            match self.delete(h).await {
                Ok(true) => removed += 1,
                Ok(false) => {}
                Err(e) => {
                    deleted = Err(e);
                    break;
                }
            }
        }
        // What was deleted leaves every copy, even when a later delete failed.
        self.near.invalidate(&tokens).await?;
        deleted?;
        if !members.is_empty() {
            let members = &members;
            self.run(Retry::Safe, |mut c| async move {
                c.srem::<_, _, ()>(uk, members).await
            })
            .await?;
        }
        Ok(removed)
    }

    async fn sweep(&self, now_ms: i64) -> StoreResult<usize> {
        self.near.sweep(now_ms);
        self.sweep_indexes(now_ms).await
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
        self.over_lives(|k| {
            let mut cmd = redis::cmd("ZCOUNT");
            cmd.arg(k).arg(now + 1).arg("+inf");
            cmd
        })
        .await
    }

    async fn insert_grant(&self, g: Grant) -> StoreResult<()> {
        let k = self.keys.grant(&g.hash);
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
        .await?;
        self.durable(&[k]).await
    }

    async fn grant(&self, hash: &SecretHash, now_ms: i64) -> StoreResult<Option<Grant>> {
        let k = &self.keys.grant(hash);
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
        let k = &self.keys.grant(hash);
        // Safe to repeat, as in `remove`: a repeat after a lost answer reports `false`.
        let n: i64 = self
            .run(Retry::Safe, |mut c| async move { c.del(k).await })
            .await?;
        self.durable(&[k]).await?;
        Ok(n > 0)
    }

    async fn first_sight(&self, hash: &SecretHash, expires_ms: i64, now_ms: i64) -> StoreResult<bool> {
        let k = &self.keys.seen(hash);
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
        if set.is_some() {
            self.durable(&[k]).await?;
        }
        Ok(set.is_some())
    }

    async fn is_live(&self, token: &SecretHash, now_ms: i64) -> StoreResult<bool> {
        let member = token.to_hex();
        let (sk, hk) = (&self.keys.session(&member), &self.keys.http(&member));
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
