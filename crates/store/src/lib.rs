//! vestibule's storage backends. Each implements only the core's traits; the folders say what
//! they hold:
//!
//! - [`sqlite`]: the embedded default, one SQLite file holding the directory, the model and the
//!   durable copies of sessions;
//! - [`postgres`]: the directory and the model in PostgreSQL, for scale-out;
//! - [`sql`]: the SQL those two share (the directory, the model), written once;
//! - [`sessions`]: the session stores (in memory, embedded in the SQLite file, in Redis);
//! - [`attempts`]: the failed-login budgets in Redis, shared by every node;
//! - `redis_call`: the Redis connection those two share, and each operation's deadline and
//!   retry on a new connection;
//! - [`codec`]: core types as the column and field values every backend stores;
//! - [`backup`]: a consistent copy of the embedded store while a server runs;
//! - [`open`]: opens the stores a configuration names;
//! - [`start`]: the lock that makes processes starting together take turns at the migrations and
//!   the first start.
//!
//! The session stores are also reachable at the crate root ([`memory`], [`embedded`], [`redis`]),
//! the paths the benchmark and the tests name them by.
#![forbid(unsafe_code)]

pub mod attempts;
pub mod backup;
pub mod codec;
pub mod open;
pub mod postgres;
mod redis_call;
pub mod sessions;
pub mod sql;
pub mod sqlite;
pub mod start;

pub use open::{open, Opener, Stores};
pub use sessions::{embedded, memory, redis};
pub use start::StartLock;
