//! The metadata search API: `POST /api/metadataSearches/results` (query parameters) and
//! `POST /api/v2/metadataSearches/results` (query parameters and a JSON body) store a search and
//! answer its id; `GET /api/metadataSearches/results?searchId=…` answers its results, a bare list
//! paged by `offset`/`limit` with the whole count in `X-MSTR-Total-Count`.
//!
//! A search id carries the search itself (its project, parameters and body, base64url), so any
//! node answers it and nothing is kept between the two requests; the search runs when its
//! results are read.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::clock::parse_rfc3339_ms;
use vestibule_core::ids::Guid;
use vestibule_core::model::search::{NamePattern, SearchQuery, UseFilter};
use vestibule_core::model::types::ObjectKind;
use vestibule_core::model::View;

use super::error::{MstrError, MstrErrorBody, MstrResult};
use super::extract::{Caller, ProjectId, RawBody};
use super::folders::{counted, page, required_project};
use super::model::wire;
use super::objects::{InfoWriter, ObjectInfoJson};
use super::params::Query;
use crate::state::AppState;

/// The largest search a search id carries (its query string and body).
const MAX_SEARCH: usize = 16 * 1024;

/// The body of a v2 search; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchBody {
    /// With `root`: also the folders inside it (default true).
    pub include_subfolders: Option<bool>,
    /// Part of the description, without regard to case.
    pub description_query: Option<String>,
    #[serde(default, deserialize_with = "wire::opt_guid")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Guid>,
    /// Names have one locale here: any locale finds them.
    pub locale_id: Option<String>,
    /// Folders whose objects are left out (with the folders inside them).
    #[serde(default)]
    pub excluded_folders: Vec<String>,
    /// `ID;type` of objects the results use.
    #[serde(default)]
    pub uses_object: Vec<String>,
    /// `ID;type` of objects the results are used by.
    #[serde(default)]
    pub used_by_object: Vec<String>,
    /// The name is the query exactly (without regard to case), whatever the pattern.
    #[serde(default)]
    pub match_exact_name: bool,
    /// The description is the query exactly.
    #[serde(default)]
    pub match_exact_description: bool,
}

/// A stored search.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchStored {
    /// Give it as `searchId` to read the results.
    pub id: String,
    /// How many objects the search finds now.
    pub total_items: usize,
}

/// What a search id carries.
#[derive(Debug, Serialize, Deserialize)]
struct Carried {
    #[serde(rename = "p")]
    project: String,
    #[serde(rename = "q")]
    query: String,
    #[serde(rename = "b")]
    body: String,
}

fn bad(message: impl Into<String>) -> MstrError {
    MstrError::invalid(message)
}

fn kinds(q: &Query) -> MstrResult<(Vec<ObjectKind>, bool)> {
    let mut kinds = Vec::new();
    let mut asked = false;
    for t in q.list("type") {
        asked = true;
        let n: i64 = t.parse().map_err(|_| {
            bad(format!(
                "The query parameter 'type' must be object type numbers, not '{t}'"
            ))
        })?;
        let kind = match n {
            8 | 2048 => Some(ObjectKind::Folder),
            12 | 3072 => Some(ObjectKind::Attribute),
            15 | 3840 => Some(ObjectKind::Table),
            53 | 13568 => Some(ObjectKind::PhysicalTable),
            _ => None,
        };
        kinds.extend(kind);
    }
    Ok((kinds, asked))
}

/// `ID;type` (or a bare id).
fn object_ref(s: &str, field: &str) -> MstrResult<Guid> {
    let id = s.split(';').next().unwrap_or_default().trim();
    id.parse()
        .map_err(|_| bad(format!("'{field}' must be 'objectId;type' values, not '{s}'")))
}

fn uses_filter(
    q: &Query,
    body: &[String],
    key: &str,
    recursive: &str,
    one_of: &str,
) -> MstrResult<Option<UseFilter>> {
    // Read (and checked) whether or not objects are given.
    let recursive = q.bool(recursive, false)?;
    let one_of = q.bool(one_of, false)?;
    let mut objects = Vec::new();
    for v in q.all(key).chain(body.iter().map(String::as_str)) {
        objects.push(object_ref(v, key)?);
    }
    if objects.is_empty() {
        return Ok(None);
    }
    objects.sort();
    objects.dedup();
    Ok(Some(UseFilter {
        objects,
        recursive,
        one_of,
    }))
}

fn time_param(q: &Query, key: &str) -> MstrResult<Option<i64>> {
    match q.get(key) {
        None | Some("") => Ok(None),
        Some(v) => parse_rfc3339_ms(v).map(Some).ok_or_else(|| {
            bad(format!(
                "The query parameter '{key}' must be a time like 2021-04-04T06:33:32Z, not '{v}'"
            ))
        }),
    }
}

/// The search a request asks for (`None`: it asks for object types vestibule does not hold, so
/// it finds nothing).
fn query_of(q: &Query, body: &SearchBody) -> MstrResult<Option<SearchQuery>> {
    for unsupported in ["uses", "notUses", "usedBy", "notUsedBy"] {
        if q.get(unsupported).is_some() {
            return Err(bad(format!(
                "The query parameter '{unsupported}' (by object type) is not supported; search with usesObject or usedByObject"
            )));
        }
    }
    let pattern = match q.get("pattern") {
        None | Some("") => NamePattern::Contains,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .and_then(NamePattern::from_number)
            .ok_or_else(|| bad(format!("The query parameter 'pattern' must be 0 to 5, not '{p}'")))?,
    };
    match q.get("domain") {
        None | Some("") | Some("1") | Some("2") | Some("3") => {}
        Some(d) => {
            return Err(bad(format!(
                "The query parameter 'domain' {d} is not searched here (1 local, 2 project, 3 repository)"
            )))
        }
    }
    let managed_only = match q.get("scope").map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("standalone") | Some("all") | Some("rooted") | Some("not_managed_only") => {
            false
        }
        Some("managed") | Some("managed_only") => true,
        Some(s) => {
            return Err(bad(format!(
                "The query parameter 'scope' must be standalone, managed, rooted or all, not '{s}'"
            )))
        }
    };
    let include_hidden = match q.get("visibility").map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("all") => true,
        Some("visible") => false,
        Some(v) => {
            return Err(bad(format!(
                "The query parameter 'visibility' must be visible or all, not '{v}'"
            )))
        }
    };
    let root = match q.get("root") {
        None | Some("") => None,
        Some(r) => Some(r.parse::<Guid>().map_err(|_| {
            bad(format!(
                "The query parameter 'root' must be a folder id, not '{r}'"
            ))
        })?),
    };
    let mut excluded = Vec::new();
    for f in &body.excluded_folders {
        excluded.push(
            f.parse::<Guid>()
                .map_err(|_| bad(format!("'excludedFolders' must be folder ids, not '{f}'")))?,
        );
    }
    let (kinds, asked) = kinds(q)?;
    let uses = uses_filter(q, &body.uses_object, "usesObject", "usesRecursive", "usesOneOf")?;
    let used_by = uses_filter(
        q,
        &body.used_by_object,
        "usedByObject",
        "usedByRecursive",
        "usedByOneOf",
    )?;
    if uses.is_some() && used_by.is_some() {
        return Err(bad("usesObject and usedByObject cannot be given in one search"));
    }
    let modified_from_ms = time_param(q, "beginModificationTime")?;
    let modified_to_ms = time_param(q, "endModificationTime")?;
    // Every parameter is checked before one that finds nothing answers.
    if asked && kinds.is_empty() {
        return Ok(None);
    }
    Ok(Some(SearchQuery {
        name: q.get("name").map(str::to_owned),
        pattern: if body.match_exact_name {
            NamePattern::Exactly
        } else {
            pattern
        },
        kinds,
        root,
        include_subfolders: body.include_subfolders.unwrap_or(true),
        excluded_folders: excluded,
        uses,
        used_by,
        include_hidden,
        modified_from_ms,
        modified_to_ms,
        description: body.description_query.clone(),
        exact_description: body.match_exact_description,
        owner: body.owner_id,
        managed_only,
    }))
}

/// Runs the search of `raw` (query string) and `body` in `project`.
async fn run(
    state: &AppState,
    caller: &vestibule_core::core::Principal,
    project: Guid,
    raw: &str,
    body: &[u8],
) -> MstrResult<Vec<vestibule_core::model::types::ModelObject>> {
    let q = Query::parse(Some(raw))?;
    let body: SearchBody = wire::read(body)?;
    let Some(query) = query_of(&q, &body)? else {
        return Ok(Vec::new());
    };
    let view = View::Committed(project);
    Ok(state.core.model()?.search(caller, &view, &query).await?)
}

fn project_of(project: Option<Guid>) -> MstrResult<Guid> {
    required_project(project, "a search looks in one project")
}

async fn store(
    state: &AppState,
    caller: &vestibule_core::core::Principal,
    project: Option<Guid>,
    raw: Option<String>,
    body: &[u8],
) -> MstrResult<Json<SearchStored>> {
    let project = project_of(project)?;
    let raw = raw.unwrap_or_default();
    if raw.len() + body.len() > MAX_SEARCH {
        return Err(bad(format!(
            "A search may be at most {MAX_SEARCH} bytes of parameters and body"
        )));
    }
    let found = run(state, caller, project, &raw, body).await?;
    let carried = Carried {
        project: project.to_hex(),
        query: raw,
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let json = serde_json::to_vec(&carried)
        .map_err(|e| MstrError::invalid(format!("The search could not be stored: {e}")))?;
    Ok(Json(SearchStored {
        id: URL_SAFE_NO_PAD.encode(json),
        total_items: found.len(),
    }))
}

/// Store a search (query parameters).
#[utoipa::path(post, path = "/api/metadataSearches/results", tag = "Search",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("name" = Option<String>, Query, description = "The name to match"),
           ("pattern" = Option<i64>, Query, minimum = 0, maximum = 5, description = "0 any word, 1 begins with, 2 exactly, 3 begins with phrase, 4 contains (default), 5 ends with"),
           ("domain" = Option<i64>, Query, minimum = 1, maximum = 3, description = "1 local, 2 project, 3 repository: the project"),
           ("root" = Option<String>, Query, description = "Only inside this folder"),
           ("type" = Option<Vec<i64>>, Query, description = "Object types or subtypes: 8 folder, 12 attribute, 15 table, 53 physical table"),
           ("usesObject" = Option<Vec<String>>, Query, description = "`ID;type`: objects that use it (dependents)"),
           ("usesRecursive" = Option<bool>, Query, description = "Also through other objects"),
           ("usesOneOf" = Option<bool>, Query, description = "Use one of the objects, not all"),
           ("usedByObject" = Option<Vec<String>>, Query, description = "`ID;type`: objects it uses (dependencies)"),
           ("usedByRecursive" = Option<bool>, Query, description = "Also through other objects"),
           ("usedByOneOf" = Option<bool>, Query, description = "Used by one of the objects, not all"),
           ("beginModificationTime" = Option<String>, Query, description = "Modified at or after (RFC 3339)"),
           ("endModificationTime" = Option<String>, Query, description = "Modified at or before (RFC 3339)")),
    responses(
        (status = 200, description = "The search's id", body = SearchStored),
        (status = 400, description = "A bad parameter (ERR006), no project header (ERR007)", body = MstrErrorBody),
    ))]
pub async fn store_v1(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    RawQuery(raw): RawQuery,
) -> MstrResult<Json<SearchStored>> {
    store(&state, &caller, project, raw, b"").await
}

/// Store a search (query parameters and a body).
#[utoipa::path(post, path = "/api/v2/metadataSearches/results", tag = "Search",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("name" = Option<String>, Query, description = "The name to match"),
           ("pattern" = Option<i64>, Query, minimum = 0, maximum = 5, description = "0 any word, 1 begins with, 2 exactly, 3 begins with phrase, 4 contains (default), 5 ends with"),
           ("domain" = Option<i64>, Query, minimum = 1, maximum = 3, description = "1 local, 2 project, 3 repository: the project"),
           ("scope" = Option<String>, Query, description = "standalone, managed, rooted or all"),
           ("root" = Option<String>, Query, description = "Only inside this folder"),
           ("type" = Option<Vec<i64>>, Query, description = "Object types or subtypes: 8 folder, 12 attribute, 15 table, 53 physical table"),
           ("usesObject" = Option<String>, Query, description = "`ID;type`: objects that use it (dependents)"),
           ("usesRecursive" = Option<bool>, Query, description = "Also through other objects"),
           ("usesOneOf" = Option<bool>, Query, description = "Use one of the objects, not all"),
           ("usedByObject" = Option<String>, Query, description = "`ID;type`: objects it uses (dependencies)"),
           ("usedByRecursive" = Option<bool>, Query, description = "Also through other objects"),
           ("usedByOneOf" = Option<bool>, Query, description = "Used by one of the objects, not all"),
           ("beginModificationTime" = Option<String>, Query, description = "Modified at or after (RFC 3339)"),
           ("endModificationTime" = Option<String>, Query, description = "Modified at or before (RFC 3339)"),
           ("visibility" = Option<String>, Query, description = "visible (no hidden objects) or all")),
    request_body(content = SearchBody, description = "More of the search", content_type = "application/json"),
    responses(
        (status = 200, description = "The search's id", body = SearchStored),
        (status = 400, description = "A bad parameter or body field (ERR006), no project header or body (ERR007)", body = MstrErrorBody),
    ))]
pub async fn store_v2(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    RawQuery(raw): RawQuery,
    RawBody(body): RawBody,
) -> MstrResult<Json<SearchStored>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR007",
            "The request body is required (send {} for a search by its parameters alone)",
        ));
    }
    store(&state, &caller, project, raw, &body).await
}

/// The results of a stored search: a bare list, the whole count in `X-MSTR-Total-Count`.
#[utoipa::path(get, path = "/api/metadataSearches/results", tag = "Search",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = Option<String>, Header, nullable = false, pattern = "^(-*([0-9A-Fa-f]-*){32})?$", description = "Project id (the search's own when blank)"),
           ("searchId" = String, Query, pattern = "^[A-Za-z0-9_-]+$", description = "The id the search was stored under"),
           ("offset" = Option<i64>, Query, minimum = 0, description = "First item"),
           ("limit" = Option<i64>, Query, minimum = -1, description = "How many (-1: all)"),
           ("getAncestors" = Option<bool>, Query, description = "With each object's folders")),
    responses(
        (status = 200, description = "The objects found, by name", body = Vec<ObjectInfoJson>),
        (status = 400, description = "No searchId (ERR007), bad paging (ERR006)", body = MstrErrorBody),
        (status = 404, description = "Not a search this server stored (ERR004)", body = MstrErrorBody),
    ))]
pub async fn results(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    RawQuery(raw): RawQuery,
) -> MstrResult<(HeaderMap, Json<Vec<ObjectInfoJson>>)> {
    let q = Query::parse(raw.as_deref())?;
    let id = q.get("searchId").filter(|s| !s.is_empty()).ok_or_else(|| {
        MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR007",
            "The query parameter 'searchId' is required",
        )
    })?;
    let unknown = || {
        MstrError::new(
            StatusCode::NOT_FOUND,
            "ERR004",
            format!("The search '{id}' could not be found (it is not a search this server stored)"),
        )
    };
    let carried: Carried = URL_SAFE_NO_PAD
        .decode(id)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(unknown)?;
    let searched: Guid = carried.project.parse().map_err(|_| unknown())?;
    if project.is_some_and(|p| p != searched) {
        return Err(bad(format!("The search '{id}' was stored in another project")));
    }
    let found = run(&state, &caller, searched, &carried.query, carried.body.as_bytes()).await?;
    let (total, shown) = page(&q, found)?;
    let ancestors = q.bool("getAncestors", true)?;
    let view = View::Committed(searched);
    let mut writer = InfoWriter::new(&state, &view).await?;
    let mut items = Vec::with_capacity(shown.len());
    for o in &shown {
        let mut info = writer.info(o, false).await?;
        if !ancestors {
            info.ancestors.clear();
        }
        items.push(info);
    }
    Ok(counted(total, items))
}
