//! The modeling service of the MicroStrategy dialect: `/api/model/changesets`,
//! `/api/model/attributes`, `/api/model/tables` and the system hierarchy's relationships.
//!
//! [`context`] reads where a request works: a changeset (`X-MSTR-MS-Changeset`, or the
//! `X-MSTR-Changeset` mstrio-py sends on tables) wins over `X-MSTR-ProjectID`. [`Query`] reads
//! the query parameters, which repeat (`showExpressionAs`) and carry booleans in any case.

pub mod attributes;
pub mod changesets;
pub mod relationships;
pub mod tables;
pub mod wire;

use axum::http::{HeaderMap, StatusCode};

use vestibule_core::ids::Guid;

use super::error::{MstrError, MstrResult};

pub const PROJECT_HEADER: &str = "x-mstr-projectid";
pub const CHANGESET_HEADER: &str = "x-mstr-ms-changeset";
/// What mstrio-py sends instead of `X-MSTR-MS-Changeset` on `/api/model/tables*`.
pub const CHANGESET_HEADER_TABLES: &str = "x-mstr-changeset";

fn guid_header(headers: &HeaderMap, name: &str, label: &str) -> MstrResult<Option<Guid>> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    let s = v.to_str().map(str::trim).unwrap_or("");
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| {
        MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR006",
            format!("The {label} header '{s}' is not a valid id (32 hex characters)"),
        )
    })
}

/// The project header of a request.
pub fn project_header(headers: &HeaderMap) -> MstrResult<Option<Guid>> {
    guid_header(headers, PROJECT_HEADER, "X-MSTR-ProjectID")
}

/// The changeset header of a request (either spelling).
pub fn changeset_header(headers: &HeaderMap) -> MstrResult<Option<Guid>> {
    Ok(
        match guid_header(headers, CHANGESET_HEADER, "X-MSTR-MS-Changeset")? {
            Some(c) => Some(c),
            None => guid_header(headers, CHANGESET_HEADER_TABLES, "X-MSTR-Changeset")?,
        },
    )
}

/// `(project, changeset)` of a request.
pub fn context(headers: &HeaderMap) -> MstrResult<(Option<Guid>, Option<Guid>)> {
    Ok((project_header(headers)?, changeset_header(headers)?))
}

/// Parses a path id; an id that cannot be one is simply not found.
pub fn path_id(s: &str, kind: &str) -> MstrResult<Guid> {
    s.parse().map_err(|_| {
        MstrError::new(
            StatusCode::NOT_FOUND,
            "ERR004",
            format!("The {kind} with id '{s}' could not be found"),
        )
    })
}

/// The query parameters of a request, in order, repeats kept.
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> MstrResult<Query> {
        match raw {
            None => Ok(Query::default()),
            Some(q) => serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .map(Query)
                .map_err(|e| MstrError::invalid(format!("Malformed query string: {e}"))),
        }
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn get<'a>(&'a self, key: &'a str) -> Option<&'a str> {
        self.all(key).next()
    }

    /// A boolean in any case (`true`, `True`, `TRUE`); absent is `default`.
    pub fn bool(&self, key: &str, default: bool) -> MstrResult<bool> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(MstrError::invalid(format!(
                "The query parameter '{key}' must be true or false, not '{v}'"
            ))),
        }
    }

    /// A non-negative (or -1 for "all") integer.
    pub fn int(&self, key: &str, default: i64) -> MstrResult<i64> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= -1 => Ok(n),
                _ => Err(MstrError::invalid(format!(
                    "The query parameter '{key}' must be a whole number, not '{v}'"
                ))),
            },
        }
    }

    /// A comma-separated list, across repeats.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.all(key)
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

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

/// Keeps only the top-level `fields` of an object, when any are named.
pub fn only_fields(v: serde_json::Value, fields: &[String]) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) if !fields.is_empty() => serde_json::Value::Object(
            m.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f.eq_ignore_ascii_case(k)))
                .collect(),
        ),
        other => other,
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
        super::objects::get,
        super::objects::put,
        super::objects::delete,
    ),
    tags(
        (name = "Modeling", description = "MicroStrategy modeling service: changesets, attributes, tables, relationships"),
        (name = "Objects", description = "MicroStrategy object info: projects, folders, attributes, tables"),
    )
)]
pub struct ApiDoc;
