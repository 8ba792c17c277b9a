//! Password hashing with argon2id, on a bounded blocking pool.
//!
//! Hashing is deliberately slow and memory-hungry, so it never runs on the async workers: each hash
//! takes a permit from a semaphore (one per core by default) and then runs on tokio's blocking pool.
//! A storm of logins therefore queues here instead of starving session checks or exhausting memory.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordConfig;
use crate::error::{CoreError, Result};

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified when the user is unknown so that an unknown user takes
    /// as long to refuse as a wrong password.
    dummy: Arc<String>,
}

impl PasswordHasher {
    pub fn new(config: &PasswordConfig) -> Result<Self> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| CoreError::Invalid(format!("password: bad argon2 parameters: {e}")))?;
        let permits = match config.max_concurrent {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        let dummy = hash_blocking(&params, &crate::secret::new_opaque_token())?;
        Ok(PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(permits)),
            dummy: Arc::new(dummy),
        })
    }

    /// Hashes a password (PHC string form, argon2id with this hasher's parameters).
    pub async fn hash(&self, password: &str) -> Result<String> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run(move || hash_blocking(&params, &password)).await?
    }

    /// Verifies a password against a stored PHC hash; `None` stands for an unknown user and is
    /// checked against a dummy hash so that the answer takes the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool> {
        let known = stored.is_some();
        let stored = stored
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy.as_str().to_owned());
        let password = password.to_owned();
        let ok = self.run(move || verify_blocking(&password, &stored)).await?;
        Ok(ok && known)
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CoreError::Internal("password pool closed".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| CoreError::Internal(format!("password task failed: {e}")))
    }
}

fn hash_blocking(params: &Params, password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
}

/// The parameters come from the stored hash, so hashes made under older settings still verify.
fn verify_blocking(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hashes with the given parameters on the calling thread; for benchmarks that compare a login with
/// the raw cost of one hash.
pub fn hash_now(config: &PasswordConfig, password: &str) -> Result<String> {
    let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
        .map_err(|e| CoreError::Invalid(format!("bad argon2 parameters: {e}")))?;
    hash_blocking(&params, password)
}

/// Verifies on the calling thread; the benchmark counterpart of [`PasswordHasher::verify`].
pub fn verify_now(password: &str, stored: &str) -> bool {
    verify_blocking(password, stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordConfig {
        PasswordConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        }
    }

    #[tokio::test]
    async fn hash_verifies_and_wrong_password_fails() {
        let h = PasswordHasher::new(&cheap()).unwrap();
        let stored = h.hash("s3cret").await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify("s3cret", Some(&stored)).await.unwrap());
        assert!(!h.verify("s3creT", Some(&stored)).await.unwrap());
        assert!(!h.verify("s3cret", None).await.unwrap());
        assert!(!h.verify("x", Some("not a hash")).await.unwrap());
    }

    #[test]
    fn owasp_parameters_are_the_default() {
        let c = PasswordConfig::default();
        assert_eq!((c.memory_kib, c.iterations, c.parallelism), (19456, 2, 1));
    }
}
