//! The modeling service: projects' schema folders, logical tables, attributes and the changesets
//! every change goes through. No HTTP and no SQL: storage is a [`ModelStore`].
//!
//! [`ModelStore`]: crate::model_store::ModelStore

pub mod attributes;
pub mod service;
pub mod spec;
pub mod types;

pub use service::{ModelService, View};
