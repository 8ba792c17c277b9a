//! Trusted authentication: a shared secret key that lets a trusted back end obtain a token for any
//! user without that user's password (the dialects' trusted-authentication endpoints, and the
//! `secret_key` variant of bearer-token mints).
//!
//! The key is made here from the OS random source, shown once to the administrator and stored only
//! as its SHA-256 (it has full entropy, so a fast hash is enough); a presented key is compared in
//! constant time.
//!
//! Chained tokens (ThoughtSpot's v1 trusted tokens) follow a lifetime rule: a token stays valid
//! until another token is minted with the same key, then for a grace time more
//! ([`ChainedLifetime`], given by the dialect); the first token minted under a new key ends every
//! token of the older keys. Tokens are grants of kind [`GrantKind::Trusted`]; the rule is kept
//! with two settings in the metadata store, so every node sees it:
//! - `trusted_auth.key`: `<generation>:<hex sha-256 of the key>` while enabled;
//! - `trusted_auth.v1`: `<generation>:<hex hash of the newest token>:<floor ms>`; a token made before
//!   the floor is dead.
//!
//! Checking a presented key is on every v2 mint, so the key's state is cached in memory for
//! [`KEY_CACHE_TTL`] instead of being read from the store each time. Only a match is taken from
//! the cache: a miss, or "disabled", is decided on the stored key, so a new key works at once. A
//! change made through this node updates the cache at once; after a `rotate` or `disable` made
//! elsewhere (the `vestibule trusted-auth` CLI, another node), the retired key can still mint v2
//! tokens here for at most [`KEY_CACHE_TTL`]. Chained mints always read the stored key.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::now_ms;
use crate::core::Core;
use crate::directory::{User, UserSource};
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::secret::SecretHash;
use crate::session::{Grant, GrantKind, Scope};

const KEY_SETTING: &str = "trusted_auth.key";
/// The chain's state (the name is part of the stored data).
const CHAIN_SETTING: &str = "trusted_auth.v1";

/// Serializes chained mints on this node, so that each new token shortens exactly its predecessor.
/// (Across nodes a race can leave one superseded token alive until its maximum life.)
static MINT_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a node trusts its cached copy of the key's state.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// The key's state as last read, and when; held by [`Core`].
#[derive(Default)]
pub struct KeyCache(Mutex<Option<(Instant, Option<KeyState>)>>);

impl KeyCache {
    fn get(&self) -> Option<Option<KeyState>> {
        let cached = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .filter(|(at, _)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(_, k)| k)
    }

    fn set(&self, key: Option<KeyState>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), key));
    }
}

/// The stored state of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyState {
    generation: u64,
    hash: SecretHash,
}

impl KeyState {
    fn parse(s: &str) -> Option<KeyState> {
        let (g, h) = s.split_once(':')?;
        Some(KeyState {
            generation: g.parse().ok()?,
            hash: SecretHash::from_hex(h)?,
        })
    }

    fn render(&self) -> String {
        format!("{}:{}", self.generation, self.hash.to_hex())
    }
}

/// How long chained tokens live: at most `max` from their mint, and `grace` after the next token
/// under the same key is minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainedLifetime {
    pub grace: Duration,
    pub max: Duration,
}

/// The stored state of chained token minting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChainState {
    generation: u64,
    latest: Option<SecretHash>,
    floor_ms: i64,
}

impl ChainState {
    fn parse(s: &str) -> Option<ChainState> {
        let mut parts = s.split(':');
        let generation = parts.next()?.parse().ok()?;
        let latest = match parts.next()? {
            "" => None,
            h => Some(SecretHash::from_hex(h)?),
        };
        let floor_ms = parts.next()?.parse().ok()?;
        Some(ChainState {
            generation,
            latest,
            floor_ms,
        })
    }

    fn render(&self) -> String {
        format!(
            "{}:{}:{}",
            self.generation,
            self.latest.map(|h| h.to_hex()).unwrap_or_default(),
            self.floor_ms
        )
    }
}

/// Optional just-in-time provisioning that comes with a token request.
#[derive(Debug, Clone, Default)]
pub struct Provisioning {
    /// Create the user (without a password) when it does not exist.
    pub auto_create: bool,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// Groups to put the user in; missing ones are created.
    pub groups: Vec<String>,
}

/// What `vestibule trusted-auth` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChange {
    /// A new key, to be shown once.
    NewKey(String),
    Disabled,
}

/// A new secret key: a random UUID-shaped string (128 bits), like ThoughtSpot's keys.
fn new_key() -> String {
    Guid::random().to_uuid()
}

impl Core {
    /// The key's state as stored now (and cached for the checks that may use a cached copy).
    async fn key_state(&self) -> Result<Option<KeyState>> {
        let raw = self.directory.store().setting(KEY_SETTING).await?;
        let key = raw.as_deref().and_then(KeyState::parse);
        self.trusted_key.set(key);
        Ok(key)
    }

    /// The key's state for a chained token check: an "enabled" at most [`KEY_CACHE_TTL`] old is
    /// trusted (disabling also raises the chain's floor, which ends the tokens at once); "disabled" is
    /// always re-read, so enabling works at once.
    async fn cached_key_state(&self) -> Result<Option<KeyState>> {
        match self.trusted_key.get() {
            Some(Some(key)) => Ok(Some(key)),
            _ => self.key_state().await,
        }
    }

    async fn chain_state(&self) -> Result<Option<ChainState>> {
        let raw = self.directory.store().setting(CHAIN_SETTING).await?;
        Ok(raw.as_deref().and_then(ChainState::parse))
    }

    /// Whether trusted authentication is enabled.
    pub async fn trusted_auth_enabled(&self) -> Result<bool> {
        Ok(self.key_state().await?.is_some())
    }

    /// Turns trusted authentication on with a new key. Refused when it is already on (use
    /// [`Core::rotate_trusted_key`]), so that running `enable` twice does not silently break the
    /// back end that holds the current key.
    pub async fn enable_trusted_auth(&self) -> Result<KeyChange> {
        if self.key_state().await?.is_some() {
            return Err(CoreError::Conflict(
                "trusted authentication is already enabled; use 'vestibule trusted-auth rotate' for a new key".into(),
            ));
        }
        self.install_key().await
    }

    /// Replaces the key. The old key stops working at once; tokens minted with it live on until
    /// the first token is minted with the new key.
    pub async fn rotate_trusted_key(&self) -> Result<KeyChange> {
        if self.key_state().await?.is_none() {
            return Err(CoreError::Conflict(
                "trusted authentication is not enabled; use 'vestibule trusted-auth enable'".into(),
            ));
        }
        self.install_key().await
    }

    async fn install_key(&self) -> Result<KeyChange> {
        let previous = self
            .key_state()
            .await?
            .map(|k| k.generation)
            .max(self.chain_state().await?.map(|v| v.generation))
            .unwrap_or(0);
        let key = new_key();
        let state = KeyState {
            generation: previous + 1,
            hash: SecretHash::of(&key),
        };
        self.directory
            .store()
            .set_setting(KEY_SETTING, Some(&state.render()))
            .await?;
        self.trusted_key.set(Some(state));
        Ok(KeyChange::NewKey(key))
    }

    /// Turns trusted authentication off: the key stops working and every chained token ends at once.
    /// (v2 bearer tokens are sessions of their user and live on until they expire or are revoked.)
    pub async fn disable_trusted_auth(&self) -> Result<KeyChange> {
        let Some(key) = self.key_state().await? else {
            return Err(CoreError::Conflict(
                "trusted authentication is not enabled".into(),
            ));
        };
        let _guard = MINT_LOCK.lock().await;
        let chain = ChainState {
            generation: key.generation,
            latest: None,
            floor_ms: now_ms() + 1,
        };
        let store = self.directory.store();
        store.set_setting(CHAIN_SETTING, Some(&chain.render())).await?;
        store.set_setting(KEY_SETTING, None).await?;
        self.trusted_key.set(None);
        Ok(KeyChange::Disabled)
    }

    /// Checks a presented secret key in constant time; returns the key's generation. With
    /// `cached`, a match against the cached key is enough (v2 mints: a key rotated or disabled on
    /// another node or by the CLI keeps working here for at most [`KEY_CACHE_TTL`]); anything
    /// else is decided on the stored key, so a new key works at once everywhere.
    async fn check_secret_key(&self, presented: &str, cached: bool) -> Result<u64> {
        let presented = SecretHash::of(presented.trim());
        if cached {
            if let Some(Some(key)) = self.trusted_key.get() {
                if key.hash.ct_eq(&presented) {
                    return Ok(key.generation);
                }
            }
        }
        let Some(key) = self.key_state().await? else {
            return Err(CoreError::LoginModeDisabled(
                "Trusted authentication is not enabled on this server.".into(),
            ));
        };
        // Hashed first, so the comparison takes the same time whatever the presented length.
        if key.hash.ct_eq(&presented) {
            Ok(key.generation)
        } else {
            Err(CoreError::BadCredentials)
        }
    }

    /// The user a trusted back end asks a token for, created or updated first when asked. An
    /// unknown user without `auto_create`, or a disabled one, is [`CoreError::BadCredentials`].
    async fn trusted_user(&self, username: &str, jit: &Provisioning) -> Result<User> {
        // Looked up, and made, in its normal form, as logins look names up.
        let username = crate::login_name::normalize(username);
        let username = username.as_ref();
        if username.is_empty() {
            return Err(CoreError::MissingField("The field 'username' is required".into()));
        }
        let user = match self.directory.user_by_name_cached(username).await? {
            Some(u) => u,
            None if jit.auto_create => {
                let display = jit.display_name.as_deref().unwrap_or("");
                self.directory
                    .add_user(username, display, None, UserSource::Local)
                    .await?
            }
            None => return Err(CoreError::BadCredentials),
        };
        if !user.enabled {
            return Err(CoreError::BadCredentials);
        }
        let mut changed = user.clone();
        if jit.auto_create {
            if let Some(d) = jit.display_name.as_deref().filter(|d| !d.trim().is_empty()) {
                changed.full_name = d.to_owned();
            }
            if let Some(e) = jit.email.as_deref() {
                changed.email = e.to_owned();
            }
        }
        if changed != user {
            self.directory.update_user(&changed).await?;
        }
        for group in &jit.groups {
            let g = match self.directory.store().group_by_name(group).await? {
                Some(g) => g,
                None => {
                    self.directory
                        .add_group(group, "Created by trusted authentication.")
                        .await?
                }
            };
            self.directory
                .set_membership(&g.name, &changed.username, true)
                .await?;
        }
        Ok(changed)
    }

    /// The user a secret key vouches for: checks the key (cheaply: no password hashing), then
    /// finds or provisions the user.
    pub async fn user_by_secret_key(
        &self,
        secret_key: &str,
        username: &str,
        jit: &Provisioning,
    ) -> Result<User> {
        self.check_secret_key(secret_key, true).await?;
        self.trusted_user(username, jit).await
    }

    /// Mints a chained trusted-authentication token for `username` with `scope`, and shortens the
    /// life of the token minted before it with the same key to `lifetime.grace` from now.
    pub async fn mint_chained_token(
        &self,
        secret_key: &str,
        username: &str,
        scope: Scope,
        jit: &Provisioning,
        lifetime: ChainedLifetime,
    ) -> Result<(String, User)> {
        // Chained mints read the key afresh: the lifetime rule hangs on its generation.
        let generation = self.check_secret_key(secret_key, false).await?;
        let user = self.trusted_user(username, jit).await?;
        let _guard = MINT_LOCK.lock().await;
        let now = now_ms();
        let mut state = self.chain_state().await?.unwrap_or(ChainState {
            generation,
            latest: None,
            floor_ms: 0,
        });
        if state.generation != generation {
            // The first token under a new key ends every token of the older keys.
            state = ChainState {
                generation,
                latest: None,
                floor_ms: now,
            };
        } else if let Some(prev) = state.latest {
            let sessions = self.sessions.store();
            if let Some(mut g) = sessions.grant(&prev, now).await? {
                let grace_end = now.saturating_add(lifetime.grace.as_millis().min(i64::MAX as u128) as i64);
                if g.expires_ms > grace_end {
                    g.expires_ms = grace_end;
                    sessions.insert_grant(g).await?;
                }
            }
        }
        let (secret, grant) = self
            .sessions
            .mint_grant(GrantKind::Trusted, user.id, scope, lifetime.max, None)
            .await?;
        state.latest = Some(grant.hash);
        self.directory
            .store()
            .set_setting(CHAIN_SETTING, Some(&state.render()))
            .await?;
        Ok((secret, user))
    }

    /// The live chained token for `secret`, if it is one: minted while trusted authentication is on,
    /// not superseded for longer than the grace time, and not older than the current key's first
    /// token.
    pub async fn chained_token(&self, secret: &str) -> Result<Option<Grant>> {
        let Some(grant) = self.sessions.grant(GrantKind::Trusted, secret).await? else {
            return Ok(None);
        };
        if self.cached_key_state().await?.is_none() {
            return Ok(None);
        }
        let floor = self.chain_state().await?.map(|s| s.floor_ms).unwrap_or(0);
        Ok((grant.created_ms >= floor).then_some(grant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        let k = KeyState {
            generation: 3,
            hash: SecretHash::of("k"),
        };
        assert_eq!(KeyState::parse(&k.render()), Some(k));
        let v = ChainState {
            generation: 2,
            latest: Some(SecretHash::of("t")),
            floor_ms: 17,
        };
        assert_eq!(ChainState::parse(&v.render()), Some(v));
        let empty = ChainState {
            generation: 1,
            latest: None,
            floor_ms: 0,
        };
        assert_eq!(ChainState::parse(&empty.render()), Some(empty));
        assert_eq!(KeyState::parse("garbage"), None);
        assert!(new_key().parse::<Guid>().is_ok());
    }
}
