//! vestibule's storage backends. Each module implements only the core's traits:
//!
//! - [`memory`]: the in-memory session map, sharded, with expiry as data;
//! - [`sqlite`]: the embedded default, one SQLite file holding the directory, the model and the
//!   durable copies of sessions;
//! - [`embedded`]: sessions served from memory and kept durable in the SQLite file;
//! - [`redis`]: sessions in Redis, shared by many stateless nodes.
#![forbid(unsafe_code)]

pub mod codec;
pub mod embedded;
pub mod memory;
pub mod metadata_sql;
pub mod model_sql;
pub mod open;
pub mod postgres;
pub mod redis;
pub mod sqlite;
pub mod sqlite_model;

pub use open::{open, Opener, Stores};
