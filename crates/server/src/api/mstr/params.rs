//! Request parameters of the MicroStrategy dialect outside headers and bodies: the query string
//! (parameters repeat, as `showExpressionAs` does, and booleans come in any case) and object ids
//! in paths.

use axum::http::StatusCode;

use vestibule_core::ids::Guid;

use super::error::{MstrError, MstrResult};

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

    /// A non-negative (or -1 for "all") integer; absent is `default`, an empty value is refused.
    pub fn int(&self, key: &str, default: i64) -> MstrResult<i64> {
        match self.get(key) {
            None => Ok(default),
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
