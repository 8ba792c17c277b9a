//! vestibule's core: the domain types and services that both API dialects share.
//!
//! Nothing here knows HTTP or SQL. The HTTP layer (`vestibule-server`) turns wire requests into calls
//! on [`Core`]; the storage layer (`vestibule-store`) implements the traits in [`store`].
#![forbid(unsafe_code)]

pub mod access;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod core;
pub mod credential;
pub mod directory;
pub mod error;
pub mod external;
pub mod guard;
pub mod health;
pub mod hex_digits;
pub mod ids;
pub mod journal_store;
pub mod login_name;
pub mod metrics;
pub mod model;
pub mod model_store;
pub mod password;
pub mod pkce;
pub mod privilege;
pub mod provider;
pub mod schema;
pub mod secret;
pub mod session;
pub mod sessions;
pub mod sso;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod trusted;

pub use crate::core::Core;
pub use error::{CoreError, Result};
