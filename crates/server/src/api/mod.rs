//! The API dialects. Each has its own error mapping, extractors and one module per resource, so an
//! endpoint's path tells where its handler lives.

pub mod body;
pub mod health;
pub mod mstr;
pub mod thoughtspot;
