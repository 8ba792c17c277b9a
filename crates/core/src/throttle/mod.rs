//! Throttling of failed logins, per account and per client address: growing delays, then a
//! temporary lock.
//!
//! An attempt takes its place in both budgets **before** its credential is judged
//! ([`Throttle::begin`]), atomically in the [`AttemptStore`] (memory on one node, Redis shared by
//! many), so concurrent guesses cannot all slip past a check made before any of them failed: at
//! most `limit` are ever judged within the window, and once a key is locked every attempt is
//! refused, the right password included. Judging settles the place ([`Attempt::succeeded`],
//! [`Attempt::failed`]); an attempt dropped unsettled (its client went away) gives its places
//! back uncounted.
//!
//! Accounts are keyed on the identity the name resolved to (see `guard.rs`), in
//! [`crate::login_name::account_key`] form; addresses on the IPv4 address or the IPv6 /64 (one
//! subscriber's usual allocation). A name that matches no user is counted and locked like any
//! other: the answers must not tell whether a user exists.

mod memory;

pub use memory::{lock_setting, MemoryAttempts, UNLOCKED_TTL_MS};

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::config::ThrottleConfig;
use crate::error::Result;
use crate::store::{AttemptStore, Budget, Reservation};

/// How long a place is held for an attempt whose node never settles it (it died while judging):
/// longer than any judgement takes (an LDAP login gives up well within a minute).
const HOLD_MS: i64 = 120_000;
/// How long an attempt waits for a place while attempts being judged fill its budget.
pub const WAIT_MS: i64 = 3_000;

/// What one more failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failure {
    /// How long to wait before answering.
    pub delay: Duration,
    /// The account reached its limit and is now locked.
    pub account_locked: bool,
    /// The address reached its limit and is now blocked.
    pub address_blocked: bool,
}

pub struct Throttle {
    config: ThrottleConfig,
    store: Arc<dyn AttemptStore>,
}

/// The store key of an account's budget.
pub fn account_store_key(account_key: &str) -> String {
    format!("account:{account_key}")
}

/// The store key of an address's budget: IPv4 as is, IPv6 by its /64.
pub fn address_store_key(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => format!("address:{a}"),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => format!("address:{v4}"),
            None => {
                let s = a.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl Throttle {
    /// A round trip to the store of the failed-login budgets (readiness).
    pub(crate) async fn ping(&self) -> crate::store::StoreResult<()> {
        self.store.ping().await
    }

    pub fn new(config: ThrottleConfig, store: Arc<dyn AttemptStore>) -> Self {
        Throttle { config, store }
    }

    fn budget(&self, limit: u64, durable: bool) -> Budget {
        Budget {
            limit,
            window_ms: secs_ms(self.config.window_secs),
            lockout_ms: secs_ms(self.config.lockout_secs),
            durable,
        }
    }

    /// Takes the attempt's place in the account's and the address's budgets; `None` when either
    /// is locked, and then the attempt must be refused without judging it. When attempts being
    /// judged hold the rest of a budget, this waits for one to settle (legitimate bursts — a
    /// back end minting many tokens for one user — wait their turn rather than fail), for at most
    /// [`WAIT_MS`]; then the attempt is refused too.
    pub async fn begin(&self, account: Option<&str>, address: Option<IpAddr>) -> Result<Option<Attempt>> {
        let ticket = rand::random::<u64>();
        let mut attempt = Attempt {
            store: self.store.clone(),
            config: self.config.clone(),
            ticket,
            account: account.map(|a| {
                (
                    account_store_key(a),
                    self.budget(self.config.account_lockout_failures, true),
                )
            }),
            address: address.map(|a| {
                (
                    address_store_key(a),
                    self.budget(self.config.address_lockout_failures, false),
                )
            }),
            done: false,
        };
        let waited_until = now_ms() + WAIT_MS;
        if let Some((key, budget)) = &attempt.account {
            let taken = take(self.store.as_ref(), key, ticket, budget, waited_until).await;
            if !matches!(taken, Ok(true)) {
                // Refused, or the store failed: there is no place to give back.
                attempt.done = true;
                return taken.map(|_| None);
            }
        }
        let address_ok = match &attempt.address {
            Some((key, budget)) => take(self.store.as_ref(), key, ticket, budget, waited_until).await,
            None => Ok(true),
        };
        match address_ok {
            Ok(true) => Ok(Some(attempt)),
            other => {
                // Give the account's place back: this attempt is not judged.
                attempt.done = true;
                if let Some((key, budget)) = &attempt.account {
                    self.store
                        .settle(key, ticket, false, false, budget, now_ms())
                        .await?;
                }
                other.map(|_| None)
            }
        }
    }

    /// The delay a refused attempt answers with: that of the failure that locks an account, so
    /// that it reads like one more wrong password.
    pub fn locked_delay(&self) -> Duration {
        delay(
            &self.config,
            self.config
                .account_lockout_failures
                .max(self.config.account_free_failures + 1),
            self.config.account_free_failures,
        )
    }

    /// Ends an account's lock (`account_key` in [`crate::login_name::account_key`] form); `true`
    /// if it was locked.
    pub async fn unlock(&self, account_key: &str) -> Result<bool> {
        Ok(self
            .store
            .unlock(&account_store_key(account_key), now_ms())
            .await?)
    }
}

/// Takes a place in one budget, waiting while attempts being judged fill it, until `until_ms`;
/// `false` when the key is locked or no place came free in time.
async fn take(
    store: &dyn AttemptStore,
    key: &str,
    ticket: u64,
    budget: &Budget,
    until_ms: i64,
) -> Result<bool> {
    let mut pause = Duration::from_millis(1);
    loop {
        let now = now_ms();
        match store.reserve(key, ticket, budget, now, now + HOLD_MS).await? {
            Reservation::Taken => return Ok(true),
            Reservation::Locked => return Ok(false),
            Reservation::Full if now >= until_ms => return Ok(false),
            Reservation::Full => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(16));
            }
        }
    }
}

fn secs_ms(secs: u64) -> i64 {
    (secs.min(u32::MAX as u64) * 1000) as i64
}

/// The delay after `failures` in a row when the first `free` cost nothing: base, 2×base, …
fn delay(c: &ThrottleConfig, failures: u64, free: u64) -> Duration {
    if failures <= free || c.base_delay_ms == 0 {
        return Duration::ZERO;
    }
    let doublings = (failures - free - 1).min(20) as u32;
    let ms = c
        .base_delay_ms
        .saturating_mul(1u64 << doublings)
        .min(c.max_delay_ms);
    Duration::from_millis(ms)
}

/// One admitted attempt, holding its places until it is settled.
pub struct Attempt {
    store: Arc<dyn AttemptStore>,
    config: ThrottleConfig,
    ticket: u64,
    account: Option<(String, Budget)>,
    address: Option<(String, Budget)>,
    done: bool,
}

impl Attempt {
    /// The credential was right: the places go back and the account's failures are forgotten
    /// (not the address's: one valid account must not reset a client's budget for guessing
    /// others).
    pub async fn succeeded(mut self) -> Result<()> {
        self.done = true;
        let now = now_ms();
        if let Some((key, budget)) = &self.account {
            self.store
                .settle(key, self.ticket, false, true, budget, now)
                .await?;
        }
        if let Some((key, budget)) = &self.address {
            self.store
                .settle(key, self.ticket, false, false, budget, now)
                .await?;
        }
        Ok(())
    }

    /// The credential was wrong: counted against both budgets; the caller waits the delay.
    pub async fn failed(mut self) -> Result<Failure> {
        self.done = true;
        settle_failure(
            self.store.as_ref(),
            &self.config,
            self.ticket,
            &self.account,
            &self.address,
        )
        .await
    }

    /// The attempt was not a guess (the directory was down, the request was invalid): the places
    /// go back uncounted.
    pub async fn withdrawn(mut self) -> Result<()> {
        self.done = true;
        let now = now_ms();
        for (key, budget) in self.account.iter().chain(self.address.iter()) {
            self.store
                .settle(key, self.ticket, false, false, budget, now)
                .await?;
        }
        Ok(())
    }
}

async fn settle_failure(
    store: &dyn AttemptStore,
    config: &ThrottleConfig,
    ticket: u64,
    account: &Option<(String, Budget)>,
    address: &Option<(String, Budget)>,
) -> Result<Failure> {
    let now = now_ms();
    let mut out = Failure::default();
    if let Some((key, budget)) = account {
        let s = store.settle(key, ticket, true, false, budget, now).await?;
        out.delay = out
            .delay
            .max(delay(config, s.failures, config.account_free_failures));
        out.account_locked = s.locked;
    }
    if let Some((key, budget)) = address {
        let s = store.settle(key, ticket, true, false, budget, now).await?;
        out.delay = out
            .delay
            .max(delay(config, s.failures, config.address_free_failures));
        out.address_blocked = s.locked;
    }
    if out.account_locked || out.address_blocked {
        crate::metrics::record_lockout();
    }
    Ok(out)
}

impl Drop for Attempt {
    /// An attempt dropped unsettled — its request was cancelled while it was judged, its client
    /// gone — gives its places back uncounted: nobody learns its outcome, so it is no guess, and a
    /// legitimate client that times out during a login storm must not lock its own account.
    /// Without a runtime its places are given back at the hold time.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.store.clone();
        let ticket = self.ticket;
        let places: Vec<(String, Budget)> = self
            .account
            .take()
            .into_iter()
            .chain(self.address.take())
            .collect();
        runtime.spawn(async move {
            let now = now_ms();
            for (key, budget) in &places {
                if let Err(e) = store.settle(key, ticket, false, false, budget, now).await {
                    tracing::warn!(error = %e, "giving back a cancelled login attempt's place failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ThrottleConfig {
        ThrottleConfig {
            account_free_failures: 2,
            account_lockout_failures: 5,
            address_free_failures: 3,
            address_lockout_failures: 7,
            lockout_secs: 60,
            window_secs: 60,
            base_delay_ms: 100,
            max_delay_ms: 250,
        }
    }

    fn throttle() -> Throttle {
        Throttle::new(config(), Arc::new(MemoryAttempts::new(None)))
    }

    #[tokio::test]
    async fn delays_grow_then_the_account_locks() {
        let t = throttle();
        let mut delays = Vec::new();
        for _ in 0..5 {
            let a = t.begin(Some("bob"), None).await.unwrap().unwrap();
            delays.push(a.failed().await.unwrap().delay.as_millis() as u64);
        }
        assert_eq!(delays, vec![0, 0, 100, 200, 250]);
        assert!(t.begin(Some("bob"), None).await.unwrap().is_none());
        assert!(t.unlock("bob").await.unwrap());
        let a = t.begin(Some("bob"), None).await.unwrap().unwrap();
        assert_eq!(a.failed().await.unwrap(), Failure::default());
    }

    #[tokio::test]
    async fn attempts_beyond_the_budget_wait_for_a_place_and_a_lock_refuses_them() {
        let t = Arc::new(throttle());
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(t.begin(Some("carol"), None).await.unwrap().unwrap());
        }
        let wait = || {
            let t = t.clone();
            tokio::spawn(async move { t.begin(Some("carol"), None).await.unwrap() })
        };
        // A sixth waits; a success frees a place for it.
        let sixth = wait();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!sixth.is_finished());
        held.pop().unwrap().succeeded().await.unwrap();
        held.push(sixth.await.unwrap().expect("a place came free"));
        // A seventh waits; the five judged all fail, the fifth failure locks, and it is refused.
        let seventh = wait();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut locks = 0;
        for a in held {
            locks += a.failed().await.unwrap().account_locked as usize;
        }
        assert_eq!(locks, 1);
        assert!(seventh.await.unwrap().is_none());
    }

    #[tokio::test]
    async fn addresses_are_blocked_across_accounts_and_give_back_the_account_place() {
        let t = throttle();
        let addr: IpAddr = "10.0.0.1".parse().unwrap();
        let mut blocked = 0;
        for i in 0..7 {
            let a = t
                .begin(Some(&format!("user{i}")), Some(addr))
                .await
                .unwrap()
                .unwrap();
            blocked += a.failed().await.unwrap().address_blocked as usize;
        }
        assert_eq!(blocked, 1);
        assert!(t.begin(Some("dave"), Some(addr)).await.unwrap().is_none());
        // dave's place was given back: from elsewhere he has his whole budget.
        for _ in 0..5 {
            assert!(t.begin(Some("dave"), None).await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn a_dropped_attempt_gives_its_places_back_uncounted() {
        let t = throttle();
        for _ in 0..20 {
            drop(t.begin(Some("erin"), None).await.unwrap());
            // The places are given back by a spawned task: let it run.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(
            !t.unlock("erin").await.unwrap(),
            "twenty cancelled attempts locked nothing"
        );
        let a = t.begin(Some("erin"), None).await.unwrap().unwrap();
        assert_eq!(
            a.failed().await.unwrap().delay,
            Duration::ZERO,
            "and counted nothing"
        );
    }

    #[test]
    fn ipv6_clients_are_kept_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_store_key(a), address_store_key(b));
        assert_ne!(address_store_key(a), address_store_key(c));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(address_store_key(mapped), "address:10.1.2.3");
    }
}
