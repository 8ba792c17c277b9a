//! The committed model of each project as this node last read it, kept for reads (attribute
//! GETs render every object of the project for names, tables and relationships), and never
//! served stale: the store keeps a generation number per project that every write of committed
//! objects bumps inside its own transaction, on whichever node (or command line) made it. A read
//! takes the cached objects only while their generation is the one the store holds at a moment
//! after the read began, so a commit answered anywhere is seen by every read that starts after
//! it. What is cached is data: access is still judged per caller (`acl.rs`).
//!
//! Reads of the generation are shared: a read waiting for the generation joins a store read that
//! began after it arrived (that read sees every commit answered before it), so under load one
//! query answers a whole batch of requests; a read never takes a value read before it arrived.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use crate::error::Result;
use crate::ids::Guid;
use crate::model::types::ModelObject;

/// The committed objects of one project by id, as of one generation.
#[derive(Debug)]
pub struct Snapshot {
    pub generation: i64,
    pub objects: Arc<HashMap<Guid, ModelObject>>,
}

impl Snapshot {
    pub fn new(generation: i64, objects: Vec<ModelObject>) -> Snapshot {
        Snapshot {
            generation,
            objects: Arc::new(objects.into_iter().map(|o| (o.info.id, o)).collect()),
        }
    }
}

/// At most this many projects are kept; past it the cache starts again empty (each project is
/// read again on its next use). A bound, not a policy: deployments have a handful of projects.
const MAX_PROJECTS: usize = 256;

/// One project's shared generation reads.
#[derive(Default)]
struct Reads {
    state: Mutex<ReadState>,
    done: Notify,
}

#[derive(Default)]
struct ReadState {
    /// Reads begun so far; each has the number it was begun as.
    begun: u64,
    /// The read under way, if any (only one at a time).
    running: Option<u64>,
    /// The newest read that finished, with the generation it found.
    finished: Option<(u64, i64)>,
}

/// Gives the running read back when its future ends or is dropped (a client that goes away
/// mid-read must not leave the others waiting for it).
struct Running<'a> {
    reads: &'a Reads,
    number: u64,
    found: Option<i64>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut s = self.reads.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.running == Some(self.number) {
            s.running = None;
        }
        if let Some(generation) = self.found {
            if s.finished.is_none_or(|(n, _)| n < self.number) {
                s.finished = Some((self.number, generation));
            }
        }
        drop(s);
        self.reads.done.notify_waiters();
    }
}

impl Reads {
    /// The generation as read by a store read (`read`) that began after this call did: the
    /// first one that finishes among those, joined or begun here.
    async fn fresh<F, Fut>(&self, read: F) -> Result<i64>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<i64>>,
    {
        let wanted = {
            let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            s.begun + 1
        };
        loop {
            let notified = self.done.notified();
            let number = {
                let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((n, generation)) = s.finished {
                    if n >= wanted {
                        return Ok(generation);
                    }
                }
                if s.running.is_some() {
                    None
                } else {
                    s.begun += 1;
                    s.running = Some(s.begun);
                    Some(s.begun)
                }
            };
            match number {
                // Another request's read is under way: wait for it to end, then look again
                // (it answers this one if it began after this one arrived).
                None => notified.await,
                Some(number) => {
                    let mut running = Running {
                        reads: self,
                        number,
                        found: None,
                    };
                    let generation = read().await?;
                    running.found = Some(generation);
                    return Ok(generation);
                }
            }
        }
    }
}

/// The per-node cache of committed objects, by project.
#[derive(Default)]
pub struct Committed {
    snapshots: Mutex<HashMap<Guid, Arc<Snapshot>>>,
    reads: Mutex<HashMap<Guid, Arc<Reads>>>,
}

impl Committed {
    /// The store's generation of `project` now (read through `read`, shared with concurrent
    /// requests as the module doc says).
    pub async fn generation<F, Fut>(&self, project: Guid, read: F) -> Result<i64>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<i64>>,
    {
        let reads = {
            let mut all = self.reads.lock().unwrap_or_else(PoisonError::into_inner);
            if all.len() >= MAX_PROJECTS && !all.contains_key(&project) {
                all.clear();
            }
            all.entry(project).or_default().clone()
        };
        reads.fresh(read).await
    }

    /// The cached objects of `project` if they are those of `generation`.
    pub fn current(&self, project: Guid, generation: i64) -> Option<Arc<Snapshot>> {
        let all = self.snapshots.lock().unwrap_or_else(PoisonError::into_inner);
        all.get(&project).filter(|s| s.generation == generation).cloned()
    }

    /// Keeps `snapshot` for its project unless a newer generation is kept already.
    pub fn keep(&self, project: Guid, snapshot: Arc<Snapshot>) {
        let mut all = self.snapshots.lock().unwrap_or_else(PoisonError::into_inner);
        if all.len() >= MAX_PROJECTS && !all.contains_key(&project) {
            all.clear();
        }
        match all.get(&project) {
            Some(kept) if kept.generation > snapshot.generation => {}
            _ => {
                all.insert(project, snapshot);
            }
        }
    }

    /// The committed objects of `project` as the store holds them now: the cached ones while
    /// their generation is current, else `load`ed (after the generation was read, so what is
    /// loaded is at least as new as the generation it is kept under).
    pub async fn objects<G, GFut, L, LFut>(
        &self,
        project: Guid,
        generation: G,
        load: L,
    ) -> Result<Arc<Snapshot>>
    where
        G: Fn() -> GFut,
        GFut: Future<Output = Result<i64>>,
        L: FnOnce() -> LFut,
        LFut: Future<Output = Result<Vec<ModelObject>>>,
    {
        let now = self.generation(project, generation).await?;
        if let Some(s) = self.current(project, now) {
            return Ok(s);
        }
        let snapshot = Arc::new(Snapshot::new(now, load().await?));
        self.keep(project, snapshot.clone());
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::SeqCst};

    use tokio::sync::Semaphore;

    use super::*;
    use crate::error::CoreError;
    use crate::model::types::{Body, ObjectInfo, ObjectKind};

    const PROJECT: Guid = Guid([7; 16]);

    fn folder(name: &str) -> ModelObject {
        ModelObject {
            info: ObjectInfo {
                id: Guid::random(),
                project: PROJECT,
                kind: ObjectKind::Folder,
                name: name.into(),
                description: String::new(),
                folder: None,
                hidden: false,
                comments: Vec::new(),
                owner: None,
                created_ms: 0,
                modified_ms: 0,
                version: Guid::random(),
                acl: None,
            },
            body: Body::Folder,
        }
    }

    fn names(s: &Snapshot) -> Vec<String> {
        let mut n: Vec<String> = s.objects.values().map(|o| o.info.name.clone()).collect();
        n.sort();
        n
    }

    #[test]
    fn a_copy_serves_only_the_generation_it_was_read_at() {
        let cache = Committed::default();
        cache.keep(PROJECT, Arc::new(Snapshot::new(3, vec![folder("a")])));
        assert!(cache.current(PROJECT, 3).is_some());
        assert!(
            cache.current(PROJECT, 4).is_none(),
            "a newer generation is a miss"
        );
        assert!(cache.current(PROJECT, 2).is_none());
        assert!(
            cache.current(Guid([8; 16]), 3).is_none(),
            "copies are per project"
        );
    }

    #[test]
    fn an_older_copy_never_replaces_a_newer_one() {
        let cache = Committed::default();
        cache.keep(PROJECT, Arc::new(Snapshot::new(5, vec![folder("new")])));
        // A slower reader that loaded at generation 4 finishes last.
        cache.keep(PROJECT, Arc::new(Snapshot::new(4, vec![folder("old")])));
        let kept = cache.current(PROJECT, 5).expect("the newer copy stays");
        assert_eq!(names(&kept), ["new"]);
        cache.keep(PROJECT, Arc::new(Snapshot::new(6, vec![folder("newest")])));
        assert!(cache.current(PROJECT, 5).is_none());
        assert!(cache.current(PROJECT, 6).is_some());
    }

    #[tokio::test]
    async fn objects_are_read_again_exactly_when_the_generation_moves() {
        let cache = Committed::default();
        let generation = AtomicI64::new(0);
        let loads = AtomicUsize::new(0);
        let name = std::sync::Mutex::new("first".to_string());
        let get = || async {
            let gen = || async { Ok(generation.load(SeqCst)) };
            let load = || async {
                loads.fetch_add(1, SeqCst);
                Ok(vec![folder(&name.lock().unwrap().clone())])
            };
            cache.objects(PROJECT, gen, load).await.unwrap()
        };
        assert_eq!(names(get().await.as_ref()), ["first"]);
        assert_eq!(names(get().await.as_ref()), ["first"]);
        assert_eq!(loads.load(SeqCst), 1, "the second read is served from the copy");

        // A write (here or on another node) changes the object and raises the generation in
        // the same transaction: the very next read sees it.
        *name.lock().unwrap() = "second".into();
        generation.store(1, SeqCst);
        assert_eq!(names(get().await.as_ref()), ["second"]);
        assert_eq!(loads.load(SeqCst), 2);
        assert_eq!(names(get().await.as_ref()), ["second"]);
        assert_eq!(loads.load(SeqCst), 2);
    }

    /// A generation read whose answer the test releases: `begun` counts the reads begun, and
    /// each answers the number it was begun as.
    struct GatedReads {
        begun: AtomicI64,
        gate: Semaphore,
    }

    impl GatedReads {
        async fn read(&self) -> Result<i64> {
            let n = self.begun.fetch_add(1, SeqCst) + 1;
            self.gate
                .acquire()
                .await
                .map_err(|e| CoreError::Internal(e.to_string()))?
                .forget();
            Ok(n)
        }
    }

    async fn settle() {
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_read_begun_before_a_request_arrived_never_answers_it() {
        let reads = Arc::new(Reads::default());
        let store = Arc::new(GatedReads {
            begun: AtomicI64::new(0),
            gate: Semaphore::new(0),
        });
        let ask = || {
            let (reads, store) = (reads.clone(), store.clone());
            tokio::spawn(async move { reads.fresh(|| store.read()).await.unwrap() })
        };
        let first = ask();
        settle().await;
        assert_eq!(store.begun.load(SeqCst), 1);
        // These arrive while the first read is under way (a commit may have been answered just
        // before they came): that read must not answer them.
        let second = ask();
        let third = ask();
        settle().await;
        assert_eq!(store.begun.load(SeqCst), 1, "they wait for the running read");
        store.gate.add_permits(1);
        assert_eq!(first.await.unwrap(), 1);
        settle().await;
        assert_eq!(store.begun.load(SeqCst), 2, "one new read for both");
        store.gate.add_permits(1);
        assert_eq!(second.await.unwrap(), 2);
        assert_eq!(third.await.unwrap(), 2);
        assert_eq!(store.begun.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn a_read_abandoned_or_failed_does_not_stall_the_others() {
        let reads = Arc::new(Reads::default());
        let store = Arc::new(GatedReads {
            begun: AtomicI64::new(0),
            gate: Semaphore::new(0),
        });
        let (r, s) = (reads.clone(), store.clone());
        let gone = tokio::spawn(async move { r.fresh(|| s.read()).await });
        settle().await;
        let (r, s) = (reads.clone(), store.clone());
        let waiting = tokio::spawn(async move { r.fresh(|| s.read()).await.unwrap() });
        settle().await;
        // The client of the running read goes away mid-read.
        gone.abort();
        settle().await;
        store.gate.add_permits(1);
        assert_eq!(waiting.await.unwrap(), 2, "the waiting request read for itself");

        // A failed read answers its own request with the error; the next request reads again.
        let failing = reads.fresh(|| async { Err(CoreError::Unavailable("down".into())) });
        assert!(failing.await.is_err());
        store.gate.add_permits(1);
        assert_eq!(reads.fresh(|| store.read()).await.unwrap(), 3);
    }
}
