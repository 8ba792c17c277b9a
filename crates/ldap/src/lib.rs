//! vestibule's LDAP authentication provider: it implements the core's
//! [`ExternalAuthenticator`](vestibule_core::provider::ExternalAuthenticator) against an LDAP
//! directory (OpenLDAP, Active Directory, …) with the `ldap3` crate.
//!
//! `pool.rs` keeps a few connections bound as the search account, with connect and operation
//! timeouts; `directory.rs` is the login flow: search the user, bind as the user, read groups.
#![forbid(unsafe_code)]

mod directory;
mod pool;

pub use directory::LdapAuthenticator;
