//! The modeling service of the MicroStrategy dialect: `/api/model/changesets`,
//! `/api/model/attributes`, `/api/model/tables`, the system hierarchy's relationships, and the
//! schema's lock, reloads and their tasks (`/api/model/schema/*`, `/api/model/tasks/{id}`).
//!
//! Each resource has its handlers (`attributes.rs`) beside its wire types (`attribute_wire.rs`);
//! `wire.rs` holds what they share. Where a request works (a changeset, which wins, or a
//! project) comes from the [`ModelPlace`] extractor.
//!
//! [`ModelPlace`]: super::extract::ModelPlace

pub mod attribute_wire;
pub mod attributes;
pub mod changeset_wire;
pub mod changesets;
pub mod relationship_wire;
pub mod relationships;
pub mod rendered;
pub mod schema;
pub mod schema_wire;
pub mod table_wire;
pub mod tables;
pub mod tasks;
pub mod wire;

use super::error::{MstrError, MstrResult};
use super::params::Query;

/// Which expression forms to show (`showExpressionAs`, repeatable; text is always shown).
#[derive(Debug, Clone, Copy, Default)]
pub struct Show {
    pub tree: bool,
    pub tokens: bool,
    pub potential_tables: bool,
    pub acl: bool,
}

impl Show {
    pub fn from_query(q: &Query) -> MstrResult<Show> {
        let mut show = Show::default();
        for v in q.all("showExpressionAs").flat_map(|v| v.split(',')) {
            match v.trim().to_ascii_lowercase().as_str() {
                "tree" => show.tree = true,
                "tokens" => show.tokens = true,
                "text" | "" => {}
                other => {
                    return Err(MstrError::invalid(format!(
                        "showExpressionAs must be tree or tokens, not '{other}'"
                    )))
                }
            }
        }
        show.potential_tables = q.bool("showPotentialTables", false)?;
        show.acl = q.list("showFields").iter().any(|f| f.eq_ignore_ascii_case("acl"));
        Ok(show)
    }
}

/// The OpenAPI paths of the modeling service and of `/api/objects`, merged by
/// `openapi::document()`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        changesets::create,
        changesets::get,
        changesets::commit,
        changesets::delete,
        attributes::create,
        attributes::get,
        attributes::patch,
        attributes::list,
        relationships::get,
        relationships::put,
        tables::list,
        tables::get,
        tables::create,
        schema::get_lock,
        schema::lock,
        schema::unlock,
        schema::reload,
        schema::last_reload,
        tasks::get,
        tables::refresh,
        super::objects::get,
        super::objects::put,
        super::objects::delete,
        super::objects::copy,
        super::folders::list,
        super::folders::create,
        super::folders::get,
        super::folders::delete,
        super::folders::predefined_contents,
        super::folders::predefined_id,
        super::search::store_v1,
        super::search::store_v2,
        super::search::results,
        super::journal::create,
        super::journal::results,
        super::journal::purge,
    ),
    tags(
        (name = "Modeling", description = "MicroStrategy modeling service: changesets, attributes, tables, relationships"),
        (name = "Schema", description = "MicroStrategy schema management: the schema lock, reloads and their tasks"),
        (name = "Objects", description = "MicroStrategy object info: projects, folders, attributes, logical and physical tables"),
        (name = "Folders", description = "MicroStrategy folders: the system folders' well-known ids, contents, making and deleting"),
        (name = "Search", description = "MicroStrategy metadata search: by name, type, folder, and by use (dependents, dependencies)"),
        (name = "Change Journal", description = "MicroStrategy change journal: who changed which model object, when, from where and why; searches and purges"),
    )
)]
pub struct ApiDoc;
