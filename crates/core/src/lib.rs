//! vestibule's core: the domain types and services that both API dialects share.
//!
//! Nothing here knows HTTP or SQL. The HTTP layer (`vestibule-server`) turns wire requests into calls
//! on [`Core`]; the storage layer (`vestibule-store`) implements the traits in [`store`].
#![forbid(unsafe_code)]

pub mod auth;
pub mod clock;
pub mod config;
pub mod core;
pub mod directory;
pub mod error;
pub mod ids;
pub mod password;
pub mod privilege;
pub mod secret;
pub mod session;
pub mod sessions;
pub mod store;

pub use crate::core::Core;
pub use error::{CoreError, Result};
