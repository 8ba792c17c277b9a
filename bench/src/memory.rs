//! Memory per live session: the in-memory session map the server uses, filled with a million
//! sessions of the shape a MicroStrategy login makes, measured as the growth of this process's RSS.
//! (Filling the server itself over HTTP would take a million logins; the map is the same code.)

use vestibule_core::ids::Guid;
use vestibule_core::secret::{CookieTag, SecretHash};
use vestibule_core::session::{Expiry, Scope, Session};
use vestibule_store::memory::MemorySessions;

pub struct Memory {
    pub added: u64,
    pub per_session: f64,
}

/// The `i`-th session of the shape a MicroStrategy password login makes (a bound cookie, idle
/// expiry), for one of `users`, named with `label`; both the memory and the Redis figures use it.
pub fn login_shaped(label: &str, i: usize, users: &[Guid], now: i64) -> Session {
    Session {
        token: SecretHash::of(&format!("{label}-{i}-t")),
        cookie: Some(CookieTag::of(&format!("{label}-{i}-c"))),
        user_id: users[i % users.len()],
        login_mode: 1,
        scope: Scope::Full,
        created_ms: now,
        last_active_ms: now,
        expiry: Expiry::Idle {
            server_secs: 1800,
            http_secs: 2400,
        },
    }
}

pub fn measure(n: usize) -> anyhow::Result<Memory> {
    let pid = std::process::id();
    let users: Vec<Guid> = (0..1000).map(|_| Guid::random()).collect();
    let before = crate::procs::rss_of(pid)?;
    let map = MemorySessions::default();
    let now = vestibule_core::clock::now_ms();
    for i in 0..n {
        map.insert(login_shaped("bench-memory", i, &users, now));
    }
    let after = crate::procs::rss_of(pid)?;
    anyhow::ensure!(map.len() == n, "the map holds {} sessions, not {n}", map.len());
    let added = after.saturating_sub(before);
    Ok(Memory {
        added,
        per_session: added as f64 / n as f64,
    })
}
