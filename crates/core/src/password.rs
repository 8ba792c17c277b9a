//! Password hashing with argon2id, on dedicated hashing threads with reusable block memory.
//!
//! Hashing is deliberately slow and memory-hungry, so it never runs on the async workers. A fixed
//! set of OS threads (one per core by default) takes hashing jobs from one queue; each thread
//! owns its argon2 block buffer (19 MiB with the OWASP parameters), made on its first job and kept.
//! A storm of logins therefore queues here instead of starving session checks or exhausting memory.
//!
//! Why threads of our own rather than a semaphore in front of tokio's blocking pool: a thread that
//! finishes a hash takes the next queued job at once. With the semaphore, the next hash started
//! only after a chain of wake-ups (blocking thread, then the waiting task on an async worker, then
//! `spawn_blocking` onto a blocking thread), which left cores idle between hashes under load.
//! A job whose caller has gone away (the client disconnected) is skipped, not hashed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, Decimal, Output, ParamsString, PasswordHash, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq as _;
use tokio::sync::oneshot;

use crate::config::PasswordConfig;
use crate::error::{CoreError, Result};

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    pool: Arc<HashPool>,
    /// A hash of a random password, verified when the user is unknown so that an unknown user takes
    /// as long to refuse as a wrong password.
    dummy: Arc<String>,
}

impl PasswordHasher {
    pub fn new(config: &PasswordConfig) -> Result<Self> {
        let params = params_of(config)?;
        let threads = match config.max_concurrent {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        let dummy = hash_with(
            &mut BlockMemory::with_blocks(params.block_count()),
            &params,
            &crate::secret::new_opaque_token(),
        )?;
        Ok(PasswordHasher {
            pool: Arc::new(HashPool::start(threads, params.block_count())?),
            params,
            dummy: Arc::new(dummy),
        })
    }

    /// Hashes a password (PHC string form, argon2id with this hasher's parameters).
    pub async fn hash(&self, password: &str) -> Result<String> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.pool.run(move |m| hash_with(m, &params, &password)).await?
    }

    /// Verifies a password against a stored PHC hash; `None` stands for an unknown user and is
    /// checked against a dummy hash so that the answer takes the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool> {
        let known = stored.is_some();
        let stored = stored
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy.as_str().to_owned());
        let password = password.to_owned();
        let ok = self.pool.run(move |m| verify_with(m, &password, &stored)).await?;
        Ok(ok && known)
    }
}

/// argon2 block memory that is reused from one hash to the next.
pub struct BlockMemory {
    blocks: Vec<Block>,
}

impl BlockMemory {
    /// Memory for hashes with the given configuration's parameters.
    pub fn for_config(config: &PasswordConfig) -> Result<Self> {
        Ok(Self::with_blocks(params_of(config)?.block_count()))
    }

    fn with_blocks(count: usize) -> Self {
        BlockMemory {
            blocks: vec![Block::default(); count],
        }
    }
}

type Job = Box<dyn FnOnce(&mut BlockMemory) + Send>;

/// How much nicer the hashing threads are than the rest of the server. Hashing is throughput work that a login storm can
/// queue without limit; session checks are latency work. Under contention the scheduler then gives
/// the async workers about three times the hashing threads' share, so a storm cannot crowd out
/// session checks (figure c of the benchmark), while logins alone still use every idle core.
const HASHING_NICE: i32 = 5;

/// Lowers the calling (hashing) thread's priority by [`HASHING_NICE`] below the server's own; on
/// Linux the nice value is per thread.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let tid = Some(rustix::thread::gettid());
        let lowered =
            getpriority_process(tid).and_then(|nice| setpriority_process(tid, (nice + HASHING_NICE).min(19)));
        if let Err(e) = lowered {
            tracing::debug!(error = %e, "could not lower the hashing thread's priority");
        }
    }
}

/// The hashing threads and their queue. The threads end when the last [`PasswordHasher`] clone
/// is dropped (the queue's sender goes with it).
struct HashPool {
    jobs: flume::Sender<Job>,
    /// How many block buffers were ever made (for tests: at most one per thread).
    #[cfg_attr(not(test), allow(dead_code))]
    made: Arc<AtomicUsize>,
}

impl HashPool {
    fn start(threads: usize, blocks: usize) -> Result<Self> {
        let (jobs, queue) = flume::unbounded::<Job>();
        let made = Arc::new(AtomicUsize::new(0));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let made = Arc::clone(&made);
            std::thread::Builder::new()
                .name(format!("vestibule-argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    // Made on the first job, so an idle server holds no hashing memory.
                    let mut memory: Option<BlockMemory> = None;
                    while let Ok(job) = queue.recv() {
                        let m = memory.get_or_insert_with(|| {
                            made.fetch_add(1, Ordering::Relaxed);
                            BlockMemory::with_blocks(blocks)
                        });
                        // A panicking hash must not take the thread (and its share of the pool)
                        // with it; its caller sees the dropped answer as an internal error.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(m)));
                    }
                })
                .map_err(|e| CoreError::Internal(format!("starting a hashing thread failed: {e}")))?;
        }
        Ok(HashPool { jobs, made })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut BlockMemory) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |m| {
            if !tx.is_closed() {
                let _ = tx.send(f(m));
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| CoreError::Internal("password pool closed".into()))?;
        rx.await
            .map_err(|_| CoreError::Internal("password hashing failed".into()))
    }
}

fn params_of(config: &PasswordConfig) -> Result<Params> {
    Params::new(config.memory_kib, config.iterations, config.parallelism, None)
        .map_err(|e| CoreError::Invalid(format!("password: bad argon2 parameters: {e}")))
}

/// Runs argon2 in `memory` when it is large enough (a prefix is used if it is larger); a hash made
/// with a bigger memory cost than the pool's gets a one-off buffer of its own.
fn compute(
    argon2: &Argon2<'_>,
    memory: &mut BlockMemory,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let need = argon2.params().block_count();
    match memory.blocks.get_mut(..need) {
        Some(blocks) => argon2.hash_password_into_with_memory(password, salt, out, blocks),
        None => {
            let mut one_off = vec![Block::default(); need];
            argon2.hash_password_into_with_memory(password, salt, out, &mut one_off)
        }
    }
}

/// Hashes a new password into a standard PHC string (argon2id, version 0x13).
pub fn hash_with(memory: &mut BlockMemory, params: &Params, password: &str) -> Result<String> {
    let failed = |e: &dyn std::fmt::Display| CoreError::Internal(format!("password hashing failed: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| failed(&e))?;
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = out.get_mut(..len).ok_or_else(|| failed(&"output too long"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    compute(&argon2, memory, password.as_bytes(), salt_bytes, out).map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Decimal::from(Version::V0x13)),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Verifies a password against a stored PHC hash. Algorithm, version and parameters come from the
/// stored hash, so hashes made under older settings still verify; anything unparsable is `false`.
pub fn verify_with(memory: &mut BlockMemory, password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    if compute(&argon2, memory, password.as_bytes(), salt, out).is_err() {
        return false;
    }
    out.ct_eq(expected.as_bytes()).into()
}

/// Hashes with the given parameters on the calling thread, in memory of its own.
pub fn hash_now(config: &PasswordConfig, password: &str) -> Result<String> {
    let mut memory = BlockMemory::for_config(config)?;
    hash_with(&mut memory, &params_of(config)?, password)
}

/// Verifies on the calling thread, in memory of its own (allocated for this one call).
pub fn verify_now(password: &str, stored: &str) -> bool {
    verify_with(&mut BlockMemory::with_blocks(0), password, stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    fn cheap() -> PasswordConfig {
        PasswordConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        }
    }

    /// A PHC string made by the argon2 crate's own hasher.
    fn reference_hash(password: &str, argon2: &Argon2<'_>) -> String {
        let salt = SaltString::generate(&mut OsRng);
        argon2
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn hash_verifies_and_wrong_password_fails() {
        let h = PasswordHasher::new(&cheap()).unwrap();
        let stored = h.hash("s3cret").await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(h.verify("s3cret", Some(&stored)).await.unwrap());
        assert!(!h.verify("s3creT", Some(&stored)).await.unwrap());
        assert!(!h.verify("s3cret", None).await.unwrap());
        assert!(!h.verify("x", Some("not a hash")).await.unwrap());
    }

    #[tokio::test]
    async fn our_hashes_verify_with_the_argon2_crate() {
        let h = PasswordHasher::new(&cheap()).unwrap();
        let stored = h.hash("s3cret").await.unwrap();
        let parsed = PasswordHash::new(&stored).unwrap();
        assert!(Argon2::default().verify_password(b"s3cret", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"other", &parsed).is_err());
    }

    #[test]
    fn hashes_of_the_argon2_crate_verify_with_default_params() {
        // The crate's defaults are the OWASP parameters, i.e. the pooled buffer size.
        let stored = reference_hash("hunter2", &Argon2::default());
        let mut memory = BlockMemory::for_config(&PasswordConfig::default()).unwrap();
        assert!(verify_with(&mut memory, "hunter2", &stored));
        assert!(!verify_with(&mut memory, "hunter3", &stored));
        assert!(verify_now("hunter2", &stored));
        assert!(!verify_now("", &stored));
    }

    #[test]
    fn hashes_with_other_params_verify_in_smaller_and_larger_memory() {
        let cases = [
            // Smaller than the buffer, several lanes, a longer output, argon2i and argon2d.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(256, 3, 2, Some(48)).unwrap(),
            ),
            (
                Algorithm::Argon2i,
                Version::V0x13,
                Params::new(128, 2, 1, None).unwrap(),
            ),
            (
                Algorithm::Argon2d,
                Version::V0x10,
                Params::new(64, 1, 1, Some(16)).unwrap(),
            ),
            // Larger than the buffer: needs a one-off buffer.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(2048, 1, 4, None).unwrap(),
            ),
        ];
        for (algorithm, version, params) in cases {
            let stored = reference_hash("pw", &Argon2::new(algorithm, version, params));
            let mut memory = BlockMemory::for_config(&cheap()).unwrap();
            assert!(verify_with(&mut memory, "pw", &stored), "{stored}");
            assert!(!verify_with(&mut memory, "pW", &stored), "{stored}");
        }
    }

    #[test]
    fn malformed_hashes_fail_without_panicking() {
        let good = reference_hash(
            "pw",
            &Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(64, 1, 1, None).unwrap(),
            ),
        );
        let (head, tail) = good.rsplit_once('$').unwrap();
        let bad = [
            String::new(),
            "$".into(),
            "not a hash".into(),
            "$argon2id$v=19$m=64,t=1,p=1$".into(),
            head.to_string(),
            format!("{head}$"),
            format!("{head}$!!!!"),
            format!("{head}${}", &tail[..tail.len() - 2]),
            good.replace("$argon2id$", "$scrypt$"),
            good.replace("$argon2id$", "$pbkdf2-sha256$"),
            good.replace("v=19", "v=18"),
            good.replace("m=64", "m=1"),
            good.replace("m=64", "m=x"),
            good.replace("t=1", "t=0"),
            good.replace("p=1", "p=0"),
            good.replace("p=1", "p=1,q=2"),
            format!("$argon2id$v=19$m=64,t=1,p=1$c2FsdA${tail}"),
            format!("{head}${tail}{}", "A".repeat(100)),
        ];
        let mut memory = BlockMemory::for_config(&cheap()).unwrap();
        for stored in &bad {
            assert!(!verify_with(&mut memory, "pw", stored), "{stored:?}");
        }
        assert!(verify_with(&mut memory, "pw", &good));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_pool_holds_at_most_one_buffer_per_thread() {
        let h = PasswordHasher::new(&cheap()).unwrap();
        let stored = h.hash("pw").await.unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let h = h.clone();
                let stored = stored.clone();
                tokio::spawn(async move {
                    let password = if i % 2 == 0 { "pw" } else { "nope" };
                    h.verify(password, Some(&stored)).await.unwrap() == (i % 2 == 0)
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        let made = h.pool.made.load(Ordering::Relaxed);
        assert!((1..=2).contains(&made), "made {made} buffers for 2 threads");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_caller_does_not_stall_the_queue() {
        let h = PasswordHasher::new(&PasswordConfig {
            max_concurrent: 1,
            ..cheap()
        })
        .unwrap();
        let stored = h.hash("pw").await.unwrap();
        // The only hashing thread is held by a job that waits for `release`, so the verifies
        // below stay in the queue while their callers give up.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (running, started) = std::sync::mpsc::channel::<()>();
        let pool = Arc::clone(&h.pool);
        let gate = tokio::spawn(async move {
            pool.run(move |_| {
                let _ = running.send(());
                held.recv().is_ok()
            })
            .await
        });
        // The gate holds the thread before any verify is queued (else the thread could take the
        // verifies first and the queue would never fill).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while started.try_recv().is_err() {
            assert!(std::time::Instant::now() < deadline, "the gate never ran");
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let callers: Vec<_> = (0..16)
            .map(|_| {
                let h = h.clone();
                let stored = stored.clone();
                tokio::spawn(async move { h.verify("pw", Some(&stored)).await })
            })
            .collect();
        // Every caller is inside `verify`: its job is in the queue.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while h.pool.jobs.len() < 16 {
            assert!(
                std::time::Instant::now() < deadline,
                "queued {}",
                h.pool.jobs.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        for c in callers {
            c.abort();
            assert!(c.await.unwrap_err().is_cancelled());
        }
        release.send(()).unwrap();
        assert!(gate.await.unwrap().unwrap());
        // The abandoned jobs are behind; the callers after them still get answers.
        let answers = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            (
                h.verify("pw", Some(&stored)).await.unwrap(),
                h.verify("px", Some(&stored)).await.unwrap(),
            )
        })
        .await
        .expect("the queue stalled behind the abandoned jobs");
        assert_eq!(answers, (true, false));
        assert_eq!(h.pool.jobs.len(), 0);
    }

    #[test]
    fn owasp_parameters_are_the_default() {
        let c = PasswordConfig::default();
        assert_eq!((c.memory_kib, c.iterations, c.parallelism), (19456, 2, 1));
    }
}
