//! The modeling service: projects' schema folders, logical and physical tables, attributes and the
//! changesets every change goes through; the schema lock and reloads. No HTTP and no SQL: storage is
//! a [`ModelStore`].
//!
//! [`ModelStore`]: crate::model_store::ModelStore

pub mod acl;
pub mod attributes;
pub mod committed;
pub mod copy;
pub mod folders;
pub mod form_types;
pub mod journal;
pub mod legacy;
pub mod relationships;
pub mod reload;
pub mod schema_lock;
pub mod search;
pub mod service;
pub mod spec;
pub mod tables;
pub mod types;

pub use service::{ModelService, View};

/// Where a model operation must work and was not told ([`CoreError::Unplaced`]): each dialect
/// words it for its own way of naming projects and changesets.
///
/// [`CoreError::Unplaced`]: crate::CoreError::Unplaced
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A change, which only a changeset takes.
    Changeset,
    /// A read, which needs a project (its committed model) or a changeset.
    ProjectOrChangeset,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Place::Changeset => "A changeset is required for this change",
            Place::ProjectOrChangeset => "A project or a changeset is required",
        })
    }
}
