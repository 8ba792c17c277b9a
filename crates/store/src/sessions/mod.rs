//! The session stores, each an implementation of the core's `SessionStore`:
//!
//! - [`memory`]: the in-memory session map, sharded, with expiry as data (the other two build on
//!   it or stand beside it; alone it serves tests and the benchmark);
//! - [`embedded`]: sessions served from memory and kept durable in the SQLite file;
//! - [`redis`]: sessions in Redis, shared by many stateless nodes.

pub mod embedded;
pub mod memory;
pub mod redis;
