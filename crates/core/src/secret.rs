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
        hex::decode_to_slice(s, &mut b).ok()?;
        Some(SecretHash(b))
    }

    /// Equality that takes the same time wherever the hashes differ.
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
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
