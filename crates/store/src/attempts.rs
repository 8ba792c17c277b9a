//! The failed-login budgets in Redis, shared by every node: three nodes grant together the
//! budget one grants.
//!
//! A budget is two keys with one hash tag (one Redis Cluster slot): `vst:t:{K}`, a hash of the
//! failures in the window (`f`) and the lock's end (`l`), expiring a window after the latest
//! failure or with the lock, whichever is later; and `vst:tp:{K}`, a sorted set of the places
//! held by attempts being judged, scored by when the place is given back if its node never
//! settles it. Reserving and settling are each one Lua script, so the check and the take are
//! atomic across nodes.
//!
//! Every operation here may be sent twice when the connection dies under the first try (see
//! `redis_call`), so each recognises its own repeat: a reserve whose ticket already holds a place
//! answers that it is taken, and a settle leaves a short-lived receipt, `vst:tr:{K}:ticket`,
//! whose answer a repeat returns instead of counting the failure again.

use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use vestibule_core::store::{AttemptStore, Budget, Reservation, Settled, StoreResult};

use crate::redis_call::{run_within, Conn, Retry};

/// KEYS: the budget's hash, its set of places, the ticket's settle receipt. ARGV: now, limit
/// (0 = none), ticket, hold until. Returns 1 when the place is taken (or was, by this ticket),
/// 0 when the key is locked, 2 when places held fill the budget.
const RESERVE: &str = r#"
local now = tonumber(ARGV[1])
local held = redis.call('ZSCORE', KEYS[2], ARGV[3])
if held and tonumber(held) > now then
  return 1
end
local locked = tonumber(redis.call('HGET', KEYS[1], 'l') or '0')
if locked > now then
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local limit = tonumber(ARGV[2])
if limit > 0 then
  local failures = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
  if failures + redis.call('ZCARD', KEYS[2]) >= limit then
    return 2
  end
end
local hold = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], hold, ARGV[3])
redis.call('DEL', KEYS[3])
if redis.call('PTTL', KEYS[2]) < hold - now then
  redis.call('PEXPIREAT', KEYS[2], hold)
end
return 1
"#;

/// KEYS: as RESERVE. ARGV: now, limit, ticket, failed (0/1), forget (0/1), window ms, lockout ms,
/// receipt ms. Returns {failures, locked (0/1)}; a repeat (the ticket's receipt is there: its
/// reserve deletes it) changes nothing and returns what the first settle did.
const SETTLE: &str = r#"
local done = redis.call('HMGET', KEYS[3], 'f', 'l')
if done[1] then
  return {tonumber(done[1]), tonumber(done[2])}
end
redis.call('ZREM', KEYS[2], ARGV[3])
local now = tonumber(ARGV[1])
local failures = 0
local locked = 0
if ARGV[4] == '1' then
  failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
  local limit = tonumber(ARGV[2])
  if limit > 0 and failures >= limit then
    redis.call('HSET', KEYS[1], 'f', 0, 'l', now + tonumber(ARGV[7]))
    locked = 1
  end
  local lock = tonumber(redis.call('HGET', KEYS[1], 'l') or '0')
  redis.call('PEXPIREAT', KEYS[1], math.max(now + tonumber(ARGV[6]), lock))
elseif ARGV[5] == '1' then
  redis.call('HDEL', KEYS[1], 'f')
end
redis.call('HSET', KEYS[3], 'f', failures, 'l', locked)
redis.call('PEXPIRE', KEYS[3], ARGV[8])
return {failures, locked}
"#;

/// KEYS: the budget's hash, its set of places. ARGV: now. Returns 1 when it was locked.
const UNLOCK: &str = r#"
local locked = tonumber(redis.call('HGET', KEYS[1], 'l') or '0')
redis.call('DEL', KEYS[1])
if locked > tonumber(ARGV[1]) then
  return 1
end
return 0
"#;

pub struct RedisAttempts {
    conn: Conn,
    timeout: Duration,
    reserve: Script,
    settle: Script,
    unlock: Script,
}

/// A budget's hash and its set of places.
fn keys(key: &str) -> (String, String) {
    (format!("vst:t:{{{key}}}"), format!("vst:tp:{{{key}}}"))
}

/// The receipt of `ticket`'s settle in `key`'s budget.
fn receipt(key: &str, ticket: u64) -> String {
    format!("vst:tr:{{{key}}}:{ticket}")
}

impl RedisAttempts {
    /// Uses an open connection (the session store's), giving up on any operation after `timeout`.
    pub(crate) fn new(conn: Conn, timeout: Duration) -> Self {
        RedisAttempts {
            conn,
            timeout,
            reserve: Script::new(RESERVE),
            settle: Script::new(SETTLE),
            unlock: Script::new(UNLOCK),
        }
    }
}

#[async_trait]
impl AttemptStore for RedisAttempts {
    async fn ping(&self) -> StoreResult<()> {
        run_within(self.timeout, &self.conn, Retry::Safe, |mut c| async move {
            redis::cmd("PING").query_async::<String>(&mut c).await
        })
        .await
        .map(|_| ())
    }

    async fn reserve(
        &self,
        key: &str,
        ticket: u64,
        budget: &Budget,
        now_ms: i64,
        hold_until_ms: i64,
    ) -> StoreResult<Reservation> {
        let ((h, p), r) = (&keys(key), &receipt(key, ticket));
        // Safe to repeat: the script knows a place its ticket already holds.
        let taken: i64 = run_within(self.timeout, &self.conn, Retry::Safe, |mut c| async move {
            self.reserve
                .key(h)
                .key(p)
                .key(r)
                .arg(now_ms)
                .arg(budget.limit)
                .arg(ticket)
                .arg(hold_until_ms)
                .invoke_async(&mut c)
                .await
        })
        .await?;
        Ok(match taken {
            1 => Reservation::Taken,
            2 => Reservation::Full,
            _ => Reservation::Locked,
        })
    }

    async fn settle(
        &self,
        key: &str,
        ticket: u64,
        failed: bool,
        forget: bool,
        budget: &Budget,
        now_ms: i64,
    ) -> StoreResult<Settled> {
        let ((h, p), r) = (&keys(key), &receipt(key, ticket));
        // Safe to repeat thanks to the receipt, which only has to outlive a repeat: one comes
        // before the first try's deadline, a store timeout after it was sent.
        let receipt_ms = (2 * self.timeout).max(Duration::from_secs(1)).as_millis() as u64;
        let (failures, locked): (u64, i64) =
            run_within(self.timeout, &self.conn, Retry::Safe, |mut c| async move {
                self.settle
                    .key(h)
                    .key(p)
                    .key(r)
                    .arg(now_ms)
                    .arg(budget.limit)
                    .arg(ticket)
                    .arg(u8::from(failed))
                    .arg(u8::from(forget))
                    .arg(budget.window_ms)
                    .arg(budget.lockout_ms)
                    .arg(receipt_ms)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(Settled {
            failures,
            locked: locked == 1,
        })
    }

    async fn unlock(&self, key: &str, now_ms: i64) -> StoreResult<bool> {
        let (h, p) = &keys(key);
        // Safe to repeat: the budget ends up deleted either way. A repeat whose first try did
        // reach Redis (only its answer was lost) reports that the key was not locked.
        let was: i64 = run_within(self.timeout, &self.conn, Retry::Safe, |mut c| async move {
            self.unlock.key(h).key(p).arg(now_ms).invoke_async(&mut c).await
        })
        .await?;
        Ok(was == 1)
    }
}
