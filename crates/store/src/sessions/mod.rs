//! The session stores, each an implementation of the core's `SessionStore`:
//!
//! - [`memory`]: the in-memory session map, sharded, with expiry as data (the other two build on
//!   it or stand beside it; alone it serves tests and the benchmark);
//! - [`embedded`]: sessions served from memory and kept durable in the SQLite file;
//! - [`redis`]: sessions in Redis (one, or a Redis Cluster), shared by many stateless nodes; its
//!   key layouts in `redis_keys`.

pub mod embedded;
pub mod memory;
pub mod redis;
mod redis_keys;
mod redis_near;
