//! Where the Redis session store keeps what: the key names of one Redis and those of a Redis
//! Cluster, chosen so that every script and every MULTI touches one hash slot.
//!
//! One Redis keeps the layout it always had: `vst:s:{T}` (the session), `vst:h:{T}` (its HTTP
//! marker), one `vst:live` sorted set for every session, `vst:u:<user>` (the user's sessions).
//! A touch updates the session and `vst:live` in one script, a login writes all four in one
//! MULTI: fine on one Redis, but four slots on a cluster.
//!
//! On a cluster the session's keys and its entry in the live index share a slot: the token's
//! bucket `b` (the first three hex digits of its hash, 4096 buckets) is the hash tag, so
//! `vst:{b}:s:T`, `vst:{b}:h:T` and `vst:{b}:live` lie in one slot and the touch script stays one
//! atomic step. 4096 tags spread over the 16384 slots evenly enough (about ±10 % per master at 50
//! masters); counting and trimming the live index visit the 4096 buckets, all at once. The
//! user's index `vst:u:{U}` is one key in a slot of its own and is written in a step of its own,
//! after the session's keys (see `RedisSessions::insert` for why that order keeps revocation
//! whole). Grants `vst:g:{H}` and replay records `vst:seen:{H}` are single keys in both layouts.

use vestibule_core::ids::Guid;
use vestibule_core::secret::SecretHash;

/// Hex digits of the token hash that name its bucket on a cluster.
const BUCKET_DIGITS: usize = 3;
/// How many buckets there are (16^BUCKET_DIGITS).
const BUCKETS: usize = 1 << (4 * BUCKET_DIGITS);

/// The key layout: one Redis, or a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    Single,
    Cluster,
}

impl Keys {
    /// The session hash of the token whose hash is `hex`.
    pub(crate) fn session(self, hex: &str) -> String {
        match self {
            Keys::Single => format!("vst:s:{{{hex}}}"),
            Keys::Cluster => format!("vst:{{{}}}:s:{hex}", bucket(hex)),
        }
    }

    /// The HTTP-session marker of the token whose hash is `hex`.
    pub(crate) fn http(self, hex: &str) -> String {
        match self {
            Keys::Single => format!("vst:h:{{{hex}}}"),
            Keys::Cluster => format!("vst:{{{}}}:h:{hex}", bucket(hex)),
        }
    }

    /// The live index that holds the token whose hash is `hex` (scored by expiry).
    pub(crate) fn live(self, hex: &str) -> String {
        match self {
            Keys::Single => "vst:live".to_string(),
            Keys::Cluster => live_bucket(bucket(hex)),
        }
    }

    /// Every live index: the one set, or the 4096 buckets' sets.
    pub(crate) fn lives(self) -> Vec<String> {
        match self {
            Keys::Single => vec!["vst:live".to_string()],
            Keys::Cluster => (0..BUCKETS)
                .map(|b| live_bucket(&format!("{b:0width$x}", width = BUCKET_DIGITS)))
                .collect(),
        }
    }

    /// The set of a user's sessions (token hashes in hex).
    pub(crate) fn user(self, u: Guid) -> String {
        match self {
            Keys::Single => format!("vst:u:{}", u.to_hex()),
            Keys::Cluster => format!("vst:u:{{{}}}", u.to_hex()),
        }
    }

    /// The SCAN pattern of the users' sets (the same in both layouts).
    pub(crate) fn users_pattern(self) -> &'static str {
        "vst:u:*"
    }

    pub(crate) fn grant(self, h: &SecretHash) -> String {
        format!("vst:g:{{{}}}", h.to_hex())
    }

    pub(crate) fn seen(self, h: &SecretHash) -> String {
        format!("vst:seen:{{{}}}", h.to_hex())
    }

    /// The registry of nodes that cache sessions (a sorted set: node id scored by the Redis time
    /// its lease runs out), through whose master every invalidation is published.
    pub(crate) fn nodes(self) -> &'static str {
        match self {
            Keys::Single => "vst:nodes",
            Keys::Cluster => "vst:{near}:nodes",
        }
    }
}

/// The channel of session invalidations that every caching node listens to.
pub(crate) const INVALIDATIONS: &str = "vst:inv";

/// The channel of one node: its heartbeats come back on it, and the acknowledgements of the
/// invalidations it published.
pub(crate) fn node_channel(node: &str) -> String {
    format!("vst:n:{node}")
}

/// A token's bucket: the first hex digits of its hash (a hash is 64 of them; anything shorter,
/// which no token has, is its own bucket).
fn bucket(hex: &str) -> &str {
    hex.get(..BUCKET_DIGITS).unwrap_or(hex)
}

fn live_bucket(b: &str) -> String {
    format!("vst:{{{b}}}:live")
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::cluster_routing::get_slot;

    #[test]
    fn a_session_and_its_live_index_share_a_slot_on_a_cluster() {
        let hex = "3a7f00c1".repeat(8);
        let k = Keys::Cluster;
        let slot = get_slot(k.session(&hex).as_bytes());
        assert_eq!(get_slot(k.http(&hex).as_bytes()), slot);
        assert_eq!(get_slot(k.live(&hex).as_bytes()), slot);
        assert!(k.lives().contains(&k.live(&hex)));
        assert_eq!(k.lives().len(), 4096);
    }

    #[test]
    fn one_redis_keeps_its_layout() {
        let hex = "ab".repeat(32);
        let k = Keys::Single;
        assert_eq!(k.session(&hex), format!("vst:s:{{{hex}}}"));
        assert_eq!(k.http(&hex), format!("vst:h:{{{hex}}}"));
        assert_eq!(k.live(&hex), "vst:live");
        assert_eq!(k.lives(), vec!["vst:live".to_string()]);
    }

    #[test]
    fn buckets_spread_over_the_slots() {
        // Three masters with a third of the slots each: every one serves about a third of the
        // buckets.
        let mut per_master = [0usize; 3];
        for key in Keys::Cluster.lives() {
            per_master[usize::from(get_slot(key.as_bytes())) * 3 / 16384] += 1;
        }
        for n in per_master {
            assert!((1200..=1530).contains(&n), "{per_master:?}");
        }
    }
}
