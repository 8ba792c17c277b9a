//! A node's own copy of the Redis sessions it has seen, and what keeps revocation immediate with
//! it: a session check that finds its session in the copy answers without Redis, and a logout
//! answered on any node is refused by every node from that moment on.
//!
//! - Every node listens on one pub/sub connection to the master that holds the node registry
//!   (`vst:nodes`; on a cluster the master of its slot): to the invalidations channel and to its
//!   own channel.
//! - Every [`HEARTBEAT`] a node runs a script on that master that records it in the registry until
//!   Redis's clock + [`LEASE`] and publishes a heartbeat on the node's own channel. One connection
//!   delivers messages in the order Redis published them, and the listener applies each before it
//!   reads the next, so when the heartbeat comes back every invalidation published before it has
//!   been applied: the node trusts its copy until the heartbeat's send time + [`LEASE`], and not
//!   otherwise.
//! - A logout or revocation deletes the session in Redis, then runs a script on that master that
//!   publishes the tokens and answers the nodes whose registry entry has not run out. Each node
//!   drops the tokens from its copy, then acknowledges on the publisher's channel. The logout is
//!   answered once every node named has acknowledged, or [`LEASE`] after the script answered: a
//!   node that did not acknowledge by then heard its last heartbeat before the invalidation, so
//!   its trust has run out. A node missing from the registry has no trust left to run out.
//! - A (re)subscription empties the copy (what was published while the node was not listening is
//!   lost), and a session read from Redis enters the copy only if no invalidation was applied
//!   since the read began (the `generation`, compared under the copy's shard lock).
//! - Keep-alive: an idle session's first check in each window of 1/64 of its timeout (at most a
//!   second) goes to Redis, so Redis's idle expiry is never more than a window behind the node's:
//!   a session kept alive only through copies may end up to a window early, never late, and a copy
//!   never serves a session that Redis has let expire.
//!
//! A process that keeps no copy (the command-line tool) still invalidates: it listens on its own
//! channel, from its first logout on, for the acknowledgements.

use std::collections::{HashMap, HashSet};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures::StreamExt;
use redis::{AsyncCommands, Script};
use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;

use vestibule_core::credential::Admission;
use vestibule_core::error::StoreError;
use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;
use vestibule_core::session::{Expiry, Session};
use vestibule_core::store::StoreResult;

use crate::redis_call::{self, run_within, unavailable, Conn, Retry};
use crate::sessions::memory::MemorySessions;
use crate::sessions::redis_keys::{node_channel, Keys, INVALIDATIONS};

/// How often a node renews its trust in its copy.
pub(crate) const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long a heartbeat that came back makes the copy trusted; also the longest a logout waits
/// for a node that does not acknowledge.
pub(crate) const LEASE: Duration = Duration::from_millis(500);
/// Added to a logout's wait for clocks that run at slightly different rates.
const MARGIN: Duration = Duration::from_millis(20);
/// The pause before listening again after the subscription failed or ended.
const RESUBSCRIBE: Duration = Duration::from_millis(100);
/// Tokens per invalidation message (a revocation of a user's many sessions sends several).
const TOKENS_PER_MESSAGE: usize = 1000;

/// Records the node in the registry until Redis's time + the lease and publishes its heartbeat.
/// KEYS: the registry. ARGV: node id, lease (ms), the node's channel, the heartbeat message.
const ANNOUNCE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 4 * lease)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"#;

/// Publishes an invalidation and answers the nodes that may still trust their copies.
/// KEYS: the registry. ARGV: the invalidations channel, the message.
const INVALIDATE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nodes = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
redis.call('PUBLISH', ARGV[1], ARGV[2])
return nodes
"#;

/// The window of an idle session's keep-alive in Redis (see the module).
fn window_ms(expiry: Expiry) -> i64 {
    match expiry {
        Expiry::Idle {
            server_secs,
            http_secs,
        } => (i64::from(server_secs.min(http_secs)) * 1000 / 64).clamp(1, 1000),
        Expiry::Absolute { .. } => i64::MAX,
    }
}

/// The acknowledgements of one invalidation this node published.
#[derive(Default)]
struct Pending {
    acked: Mutex<HashSet<String>>,
    notify: Notify,
}

impl Pending {
    fn ack(&self, node: &str) {
        self.acked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node.to_string());
        self.notify.notify_waiters();
    }

    /// Waits until every one of `nodes` acknowledged, or `deadline`; whether they all did.
    async fn wait_for(&self, nodes: &[String], deadline: tokio::time::Instant) -> bool {
        loop {
            let mut notified = pin!(self.notify.notified());
            notified.as_mut().enable();
            let all = {
                let acked = self.acked.lock().unwrap_or_else(|e| e.into_inner());
                nodes.iter().all(|n| acked.contains(n))
            };
            if all {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }
}

/// The sessions a node keeps, and how many at most.
struct LocalCopy {
    sessions: MemorySessions,
    capacity: usize,
}

pub(crate) struct Near {
    node: String,
    /// The store's URL: the listener connects to it, or to one of the cluster's masters.
    url: String,
    conn: Conn,
    keys: Keys,
    timeout: Duration,
    wait_replicas: AtomicU32,
    /// `None`: this process keeps no copy and only invalidates.
    copy: Option<LocalCopy>,
    epoch: Instant,
    /// Milliseconds since `epoch` until which the copy is trusted.
    trusted_until: AtomicI64,
    /// Raised before every change that may make a session read from Redis stale.
    generation: AtomicU64,
    next_invalidation: AtomicU64,
    pending: Mutex<HashMap<u64, Arc<Pending>>>,
    /// Whether the listener's subscription is up.
    listening: watch::Sender<bool>,
    /// The last of this node's heartbeats that came back.
    heard: watch::Sender<u64>,
    started: AtomicBool,
    tasks: Mutex<Vec<AbortHandle>>,
    announce: Script,
    invalidate: Script,
}

impl Drop for Near {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().unwrap_or_else(|e| e.into_inner()).drain(..) {
            t.abort();
        }
    }
}

/// Takes an invalidation's entry out of `pending` however its wait ends.
struct Unpend<'a>(&'a Near, u64);

impl Drop for Unpend<'_> {
    fn drop(&mut self) {
        self.0
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.1);
    }
}

impl Near {
    /// A node's coordination on `conn`; with `capacity` it keeps a copy of that many sessions
    /// at most (and starts listening and beating at once), without it it only invalidates.
    pub(crate) fn new(
        conn: Conn,
        keys: Keys,
        url: &str,
        timeout: Duration,
        capacity: Option<usize>,
    ) -> Arc<Near> {
        let near = Arc::new(Near {
            node: Guid::random().to_hex(),
            url: url.to_string(),
            conn,
            keys,
            timeout,
            wait_replicas: AtomicU32::new(0),
            copy: capacity.filter(|c| *c > 0).map(|capacity| LocalCopy {
                sessions: MemorySessions::default(),
                capacity,
            }),
            epoch: Instant::now(),
            trusted_until: AtomicI64::new(0),
            generation: AtomicU64::new(0),
            next_invalidation: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            listening: watch::Sender::new(false),
            heard: watch::Sender::new(0),
            started: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
            announce: Script::new(ANNOUNCE),
            invalidate: Script::new(INVALIDATE),
        });
        if near.copy.is_some() {
            near.start_listening();
            let beat = tokio::spawn(beat(Arc::downgrade(&near))).abort_handle();
            near.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(beat);
        }
        near
    }

    pub(crate) fn set_wait_replicas(&self, replicas: u32) {
        self.wait_replicas.store(replicas, Ordering::Relaxed);
    }

    pub(crate) fn keeps_copy(&self) -> bool {
        self.copy.is_some()
    }

    fn clock_ms(&self) -> i64 {
        self.epoch.elapsed().as_millis() as i64
    }

    /// Whether the copy may answer now.
    pub(crate) fn trusted(&self) -> bool {
        self.clock_ms() < self.trusted_until.load(Ordering::Acquire)
    }

    /// The session `token` opens, from the copy: only while the copy is trusted, the session is
    /// in it, admitted and live, and this check is not the first of a new keep-alive window
    /// (that one goes to Redis). The copy's last-active time moves on either way.
    pub(crate) fn cached(
        &self,
        token: &SecretHash,
        now_ms: i64,
        admission: &Admission<'_>,
    ) -> Option<Session> {
        let copy = self.copy.as_ref()?;
        if !self.trusted() {
            return None;
        }
        let touched = copy
            .sessions
            .touch_windowed(token, now_ms, admission, window_ms)?;
        (!touched.persist).then_some(touched.session)
    }

    /// Read before a session is read from Redis, for [`admit`](Self::admit).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Puts a session read from Redis (when `generation` was read) into the copy, unless an
    /// invalidation was applied since.
    pub(crate) fn admit(&self, session: Session, generation: u64) {
        if let Some(copy) = &self.copy {
            copy.sessions.insert_while(session, copy.capacity, || {
                self.generation.load(Ordering::SeqCst) == generation
            });
        }
    }

    /// Drops sessions from this node's copy.
    pub(crate) fn forget(&self, tokens: &[SecretHash]) {
        if let Some(copy) = &self.copy {
            self.generation.fetch_add(1, Ordering::SeqCst);
            for t in tokens {
                copy.sessions.remove(t);
            }
        }
    }

    /// Drops a session from this node's copy only (Redis refused it, or did not answer): a
    /// removal can make nothing stale, so reads under way may still enter theirs.
    pub(crate) fn drop_local(&self, token: &SecretHash) {
        if let Some(copy) = &self.copy {
            copy.sessions.remove(token);
        }
    }

    /// Drops the copy's expired sessions.
    pub(crate) fn sweep(&self, now_ms: i64) {
        if let Some(copy) = &self.copy {
            copy.sessions.sweep(now_ms);
        }
    }

    /// Empties the copy and stops trusting it until the next heartbeat comes back.
    fn start_afresh(&self) {
        if let Some(copy) = &self.copy {
            self.generation.fetch_add(1, Ordering::SeqCst);
            copy.sessions.clear_sessions();
        }
    }

    fn start_listening(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let listen = tokio::spawn(listen(Arc::downgrade(self))).abort_handle();
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(listen);
    }

    /// Makes every node drop `tokens` (already deleted in Redis) from its copy, and returns once
    /// every node has, or has stopped trusting its copy (see the module).
    pub(crate) async fn invalidate(self: &Arc<Self>, tokens: &[SecretHash]) -> StoreResult<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        self.forget(tokens);
        self.start_listening();
        // Acknowledgements are heard only once the listener is up; without it every wait below
        // runs to its deadline, which is still correct.
        let mut up = self.listening.subscribe();
        let _ = tokio::time::timeout(self.timeout, up.wait_for(|up| *up)).await;
        for chunk in tokens.chunks(TOKENS_PER_MESSAGE) {
            self.invalidate_chunk(chunk).await?;
        }
        Ok(())
    }

    async fn invalidate_chunk(&self, tokens: &[SecretHash]) -> StoreResult<()> {
        let seq = self.next_invalidation.fetch_add(1, Ordering::Relaxed);
        let pending = Arc::new(Pending::default());
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(seq, pending.clone());
        let _unpend = Unpend(self, seq);
        let mut message = format!("{} {seq}", self.node);
        for t in tokens {
            message.push(' ');
            message.push_str(&t.to_hex());
        }
        let (registry, message) = (self.keys.nodes(), &message);
        // Safe to repeat: a second publication is dropped by copies that have dropped the tokens.
        let nodes: Vec<String> = run_within(self.timeout, &self.conn, Retry::Safe, |mut c| async move {
            self.invalidate
                .key(registry)
                .arg(INVALIDATIONS)
                .arg(message)
                .invoke_async(&mut c)
                .await
        })
        .await?;
        let deadline = tokio::time::Instant::now() + LEASE + MARGIN;
        if !pending.wait_for(&nodes, deadline).await {
            tracing::debug!(
                nodes = nodes.len(),
                "not every node acknowledged an invalidation; waited until their trust ran out"
            );
        }
        Ok(())
    }

    /// Records this node in the registry and publishes heartbeat `seq`; durable as configured.
    async fn announce(&self, seq: u64) -> StoreResult<()> {
        let registry = self.keys.nodes();
        let (node, channel, message) = (&self.node, &node_channel(&self.node), &format!("h {seq}"));
        let lease_ms = LEASE.as_millis() as u64;
        run_within(self.timeout, &self.conn, Retry::Safe, |mut c| async move {
            self.announce
                .key(registry)
                .arg(node)
                .arg(lease_ms)
                .arg(channel)
                .arg(message)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await?;
        redis_call::durable(
            &self.conn,
            self.timeout,
            self.wait_replicas.load(Ordering::Relaxed),
            &[registry],
        )
        .await
    }

    /// Subscribes on the registry's master; the copy starts afresh once the subscription is up.
    async fn subscribe(&self) -> StoreResult<redis::aio::PubSubStream> {
        let registry = self.keys.nodes();
        let master = run_within(self.timeout, &self.conn, Retry::Safe, |mut c| async move {
            c.master_of(registry).await
        })
        .await?;
        if self.conn.is_cluster() && master.is_none() {
            return Err(unavailable("no master serves the slot of the node registry"));
        }
        let url = redis_call::node_url(&self.url, master.as_ref());
        let client = redis::Client::open(url).map_err(|e| StoreError::Other(format!("redis URL: {e}")))?;
        let mut channels = vec![node_channel(&self.node)];
        if self.copy.is_some() {
            channels.push(INVALIDATIONS.to_string());
        }
        let pubsub = tokio::time::timeout(self.timeout, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channels).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await
        .map_err(|_| unavailable(format!("no subscription within {:?}", self.timeout)))?
        .map_err(unavailable)?;
        self.start_afresh();
        self.listening.send_replace(true);
        Ok(pubsub.into_on_message())
    }

    /// The subscription ended: nothing is heard until the next one, so nothing is trusted.
    fn lost(&self) {
        self.listening.send_replace(false);
        self.trusted_until.store(0, Ordering::Release);
        self.start_afresh();
    }

    fn on_message(&self, msg: &redis::Msg) {
        let Ok(text) = msg.get_payload::<String>() else {
            return;
        };
        if msg.get_channel_name() == INVALIDATIONS {
            let mut words = text.split(' ');
            let (Some(origin), Some(seq)) = (words.next(), words.next()) else {
                return;
            };
            let tokens: Vec<SecretHash> = words.filter_map(SecretHash::from_hex).collect();
            self.forget(&tokens);
            if origin == self.node {
                self.acked(seq, origin);
            } else {
                self.acknowledge(origin, seq);
            }
            return;
        }
        match text.split_once(' ') {
            Some(("h", seq)) => {
                if let Ok(seq) = seq.parse::<u64>() {
                    self.heard.send_if_modified(|heard| {
                        let newer = seq > *heard;
                        *heard = (*heard).max(seq);
                        newer
                    });
                }
            }
            Some(("a", rest)) => {
                if let Some((seq, node)) = rest.split_once(' ') {
                    self.acked(seq, node);
                }
            }
            _ => {}
        }
    }

    fn acked(&self, seq: &str, node: &str) {
        let Ok(seq) = seq.parse::<u64>() else {
            return;
        };
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&seq)
            .cloned();
        if let Some(p) = pending {
            p.ack(node);
        }
    }

    /// Tells `origin` that its invalidation `seq` was applied here, off the listener.
    fn acknowledge(&self, origin: &str, seq: &str) {
        let (conn, timeout) = (self.conn.clone(), self.timeout);
        let (channel, message) = (node_channel(origin), format!("a {seq} {}", self.node));
        tokio::spawn(async move {
            let (channel, message) = (&channel, &message);
            let sent = run_within(timeout, &conn, Retry::Never, |mut c| async move {
                c.publish::<_, _, i64>(channel, message).await
            })
            .await;
            if let Err(e) = sent {
                // The publisher then waits until this node's trust has run out.
                tracing::debug!(error = %e, "acknowledging an invalidation failed");
            }
        });
    }
}

/// The listener: subscribes, applies what it hears in order, and subscribes again when the
/// subscription ends, for as long as the store exists.
async fn listen(near: Weak<Near>) {
    loop {
        let Some(n) = near.upgrade() else { return };
        let subscribed = n.subscribe().await;
        drop(n);
        match subscribed {
            Ok(stream) => {
                let mut stream = pin!(stream);
                while let Some(msg) = stream.next().await {
                    let Some(n) = near.upgrade() else { return };
                    n.on_message(&msg);
                }
                let Some(n) = near.upgrade() else { return };
                n.lost();
                tracing::info!("the Redis subscription of the session copy ended; listening again");
            }
            Err(e) => tracing::debug!(error = %e, "subscribing for session invalidations failed"),
        }
        tokio::time::sleep(RESUBSCRIBE).await;
    }
}

/// The heartbeat: renews the copy's trust each time a heartbeat comes back in time.
async fn beat(near: Weak<Near>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = 0u64;
    loop {
        tick.tick().await;
        let Some(n) = near.upgrade() else { return };
        seq += 1;
        let sent = n.clock_ms();
        if let Err(e) = n.announce(seq).await {
            tracing::debug!(error = %e, "a heartbeat of the session copy failed");
            continue;
        }
        let mut heard = n.heard.subscribe();
        let back = tokio::time::timeout(LEASE, heard.wait_for(|h| *h >= seq)).await;
        if matches!(back, Ok(Ok(_))) {
            n.trusted_until
                .fetch_max(sent + LEASE.as_millis() as i64, Ordering::AcqRel);
        }
    }
}
