//! Secrets handed to clients (auth tokens, cookies, identity and trusted tokens) and their hashes.
//!
//! Every secret carries at least 128 bits from the OS random source. Only its SHA-256 is ever stored,
//! so a copy of a store does not let anyone in; a SHA-256 (not a slow hash) is enough because the
//! secret itself has full entropy.

use rand::RngCore;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of a secret: the key a secret is stored and looked up under.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let mut b = [0u8; 32];
        crate::hex_digits::decode(s.as_bytes(), &mut b).then_some(SecretHash(b))
    }

    /// Equality that takes the same time wherever the hashes differ.
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// What a session keeps of the cookie it is bound to: the first 16 bytes of the cookie's SHA-256.
///
/// A cookie carries 128 random bits, so finding another value whose hash begins with the same 128
/// bits is as hard as guessing the cookie itself; half the bytes of a full hash are kept in
/// memory for each of millions of sessions. Stores write it as 32 hex digits and read a full
/// 64-digit hash (what earlier versions wrote) as its first half.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CookieTag(pub [u8; 16]);

impl CookieTag {
    /// The tag of a cookie value.
    pub fn of(cookie: &str) -> Self {
        CookieTag::of_hash(&SecretHash::of(cookie))
    }

    /// The tag of a cookie whose SHA-256 is `hash` (a token standing for its own cookie).
    pub fn of_hash(hash: &SecretHash) -> Self {
        let mut t = [0; 16];
        t.copy_from_slice(&hash.0[..16]);
        CookieTag(t)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// 32 hex digits, or a full hash's 64 read as its first 32.
    pub fn from_hex(s: &str) -> Option<Self> {
        let (kept, rest) = match s.len() {
            32 => (s.as_bytes(), &[][..]),
            64 => s.as_bytes().split_at(32),
            _ => return None,
        };
        let mut t = [0u8; 16];
        // The half not kept must still be hex: a malformed value is refused, not truncated.
        let mut ignored = [0u8; 16];
        let rest_ok = rest.is_empty() || crate::hex_digits::decode(rest, &mut ignored);
        (crate::hex_digits::decode(kept, &mut t) && rest_ok).then_some(CookieTag(t))
    }

    /// Equality that takes the same time wherever the tags differ.
    pub fn ct_eq(&self, other: &CookieTag) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for CookieTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CookieTag({}…)", &self.to_hex()[..8])
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the whole hash: logs should not carry anything a store lookup could use.
        write!(f, "SecretHash({}…)", &self.to_hex()[..8])
    }
}

/// Random bytes from the thread's CSPRNG (ChaCha12, seeded and regularly reseeded from the
/// operating system): as unpredictable as asking the kernel, without a system call per token
/// (mints and logins make thousands per second).
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// A MicroStrategy-style auth token: 26 characters of `[0-9a-v]`, 130 bits of entropy.
pub fn new_auth_token() -> String {
    let bytes: [u8; 17] = random_bytes();
    let mut out = String::with_capacity(26);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 && out.len() < 26 {
            bits -= 5;
            out.push(BASE32HEX[((acc >> bits) & 31) as usize] as char);
        }
    }
    out
}

/// An HTTP session id for the `JSESSIONID` cookie: 32 upper-case hex characters, 128 bits.
pub fn new_session_cookie() -> String {
    hex::encode_upper(random_bytes::<16>())
}

/// A longer opaque token (43 characters, 258 bits, URL-safe) for bearer, identity, API and trusted tokens.
pub fn new_opaque_token() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    random_bytes::<43>()
        .iter()
        .map(|b| ALPHABET[(*b & 63) as usize] as char)
        .collect()
}

/// Constant-time comparison of two strings, for configured shared secrets.
pub fn ct_str_eq(a: &str, b: &str) -> bool {
    SecretHash::of(a).ct_eq(&SecretHash::of(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_tag_is_the_first_half_of_its_hash_and_reads_both_lengths() {
        let hash = SecretHash::of("cookie");
        let tag = CookieTag::of("cookie");
        assert_eq!(tag, CookieTag::of_hash(&hash));
        assert_eq!(tag.0, hash.0[..16]);
        assert_eq!(CookieTag::from_hex(&tag.to_hex()), Some(tag));
        assert_eq!(CookieTag::from_hex(&hash.to_hex()), Some(tag));
        assert_eq!(CookieTag::from_hex(&hash.to_hex().to_uppercase()), Some(tag));
        // A malformed second half, or any other length, is refused.
        let bad = format!("{}zz", &hash.to_hex()[..62]);
        assert_eq!(CookieTag::from_hex(&bad), None);
        assert_eq!(CookieTag::from_hex(&hash.to_hex()[..40]), None);
        assert_eq!(CookieTag::from_hex(""), None);
        assert_eq!(SecretHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(SecretHash::from_hex(&tag.to_hex()), None);
    }

    #[test]
    fn auth_tokens_have_the_documented_shape_and_differ() {
        let a = new_auth_token();
        let b = new_auth_token();
        assert_eq!(a.len(), 26);
        assert!(a.bytes().all(|c| BASE32HEX.contains(&c)));
        assert_ne!(a, b);
        assert_eq!(new_session_cookie().len(), 32);
        assert!(new_opaque_token().len() >= 43);
    }

    #[test]
    fn hash_round_trips_through_hex() {
        let h = SecretHash::of("abc");
        assert_eq!(SecretHash::from_hex(&h.to_hex()), Some(h));
        assert!(h.ct_eq(&SecretHash::of("abc")));
        assert!(!h.ct_eq(&SecretHash::of("abd")));
    }
}
