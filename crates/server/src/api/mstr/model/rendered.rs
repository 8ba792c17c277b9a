//! The answers of committed attribute GETs, kept per project as the bytes sent, beside the core's
//! copy of the committed objects they were made from (`vestibule_core::model::committed`) and
//! under its generation: a body is taken only for the generation the request found current, so it
//! is never older than the model the request reads. What is kept is the rendering, not the
//! decision: every request still passes its own access check before a body is looked up.
//!
//! A body depends only on the object, the objects it names and the query (display options and
//! `fields`), so the key is the attribute and the raw query string. Bounded: past
//! [`MAX_BODIES`] a project's bodies start again empty, and a new generation drops the old ones.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::body::Bytes;

use vestibule_core::ids::Guid;

/// Bodies kept per project at most (distinct attributes × query strings).
const MAX_BODIES: usize = 4096;

/// At most this many projects keep bodies; past it all start again empty.
const MAX_PROJECTS: usize = 256;

struct Bodies {
    generation: i64,
    by_request: HashMap<(Guid, String), Bytes>,
}

#[derive(Default)]
pub struct RenderedBodies {
    projects: Mutex<HashMap<Guid, Bodies>>,
}

impl RenderedBodies {
    /// The body kept for attribute `id` of `project` at `generation`, asked for with `query`.
    pub fn get(&self, project: Guid, generation: i64, id: Guid, query: &str) -> Option<Bytes> {
        let projects = self.projects.lock().unwrap_or_else(PoisonError::into_inner);
        let bodies = projects.get(&project).filter(|b| b.generation == generation)?;
        bodies.by_request.get(&(id, query.to_owned())).cloned()
    }

    /// Keeps `body`, made from the committed objects of `generation`, unless a newer generation's
    /// bodies are kept already.
    pub fn keep(&self, project: Guid, generation: i64, id: Guid, query: &str, body: Bytes) {
        let mut projects = self.projects.lock().unwrap_or_else(PoisonError::into_inner);
        if projects.len() >= MAX_PROJECTS && !projects.contains_key(&project) {
            projects.clear();
        }
        let bodies = projects.entry(project).or_insert_with(|| Bodies {
            generation,
            by_request: HashMap::new(),
        });
        if bodies.generation > generation {
            return;
        }
        if bodies.generation < generation || bodies.by_request.len() >= MAX_BODIES {
            bodies.generation = generation;
            bodies.by_request.clear();
        }
        bodies.by_request.insert((id, query.to_owned()), body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Guid = Guid([1; 16]);
    const A: Guid = Guid([2; 16]);

    #[test]
    fn a_body_is_taken_only_for_its_generation_and_query() {
        let r = RenderedBodies::default();
        r.keep(P, 3, A, "showExpressionAs=tree", Bytes::from_static(b"{}"));
        assert!(r.get(P, 3, A, "showExpressionAs=tree").is_some());
        assert!(r.get(P, 4, A, "showExpressionAs=tree").is_none());
        assert!(r.get(P, 3, A, "").is_none());
        assert!(r.get(Guid([9; 16]), 3, A, "showExpressionAs=tree").is_none());
        // A newer generation drops the older bodies; an older one never replaces them.
        r.keep(P, 4, A, "", Bytes::from_static(b"[]"));
        assert!(r.get(P, 3, A, "showExpressionAs=tree").is_none());
        r.keep(P, 3, A, "x", Bytes::from_static(b"old"));
        assert!(r.get(P, 3, A, "x").is_none());
        assert_eq!(r.get(P, 4, A, "").as_deref(), Some(&b"[]"[..]));
    }
}
