//! The change journal API: `POST /api/changeJournal` makes a search of the journal and answers
//! its `searchId`, `GET /api/changeJournal/{searchId}` answers a page of its entries
//! (`changeJournalEntries`, newest first), `DELETE /api/changeJournal` purges entries. Also the
//! [`ChangeNote`] every model write of this dialect gives its journal entry.
//!
//! A search id carries the search itself (its filters and the newest transaction number when it
//! was made, base64url), so any node answers it, nothing is kept between the requests, and the
//! pages of one search see the journal as it was when the search was made (entries written
//! later are not in it; entries purged since are gone from it).
//!
//! Times are MicroStrategy's `MM/DD/YYYY hh:mm:ss AM|PM` (as mstrio-py writes them), read and
//! written in UTC; RFC 3339 is read too.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use vestibule_core::clock::{parse_rfc3339_ms, rfc3339_ms};
use vestibule_core::ids::Guid;
use vestibule_core::journal_store::JournalQuery;
use vestibule_core::model::journal::{
    ChangeKind, ChangeNote, ChangedObject, JournalEntry, JournalFilter, TransactionKind,
};

use super::error::{MstrError, MstrErrorBody, MstrResult};
use super::extract::{Caller, MstrPath, RawBody};
use super::model::wire;
use super::params::Query;
use crate::client_addr::ClientAddr;
use crate::state::AppState;

/// The kind of client this dialect's writes come from, as entries name it (`transaction.source`).
pub const SOURCE: &str = "rest_api";

/// The largest search body a search id carries.
const MAX_SEARCH: usize = 16 * 1024;

/// MicroStrategy's project object: type and subtype of the object a purge entry names.
const PROJECT_TYPE: i32 = 32;
const PROJECT_SUBTYPE: i32 = 8448;

/// The note of a model write from this dialect: the client's address, and its comment.
pub fn change_note(addr: ClientAddr, comment: Option<String>) -> ChangeNote {
    ChangeNote {
        machine: addr.0.map(|a| a.to_string()).unwrap_or_default(),
        source: SOURCE.to_owned(),
        comment: comment.filter(|c| !c.trim().is_empty()),
    }
}

// --- names on the wire ------------------------------------------------------------------------

/// mstrio-py's `TransactionType` values. vestibule writes six of them; a search for another
/// finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionTypeIn {
    Reserved,
    EnableChangeJournal,
    DisableChangeJournal,
    PurgeChangeJournal,
    SaveObject,
    SaveObjects,
    SaveLinkitems,
    DeleteObject,
    DeleteObjects,
    DeleteProject,
    CopyObject,
    MergeUser,
    CollectGarbage,
    WriteSystemProperty,
    WriteDatabasePassword,
}

impl TransactionTypeIn {
    fn kind(self) -> Option<TransactionKind> {
        Some(match self {
            TransactionTypeIn::SaveObject => TransactionKind::SaveObject,
            TransactionTypeIn::SaveObjects => TransactionKind::SaveObjects,
            TransactionTypeIn::DeleteObject => TransactionKind::DeleteObject,
            TransactionTypeIn::DeleteObjects => TransactionKind::DeleteObjects,
            TransactionTypeIn::CopyObject => TransactionKind::CopyObject,
            TransactionTypeIn::PurgeChangeJournal => TransactionKind::PurgeJournal,
            _ => return None,
        })
    }
}

/// The name of a kind vestibule writes, as mstrio-py's `TransactionType` has it.
fn transaction_name(t: TransactionKind) -> &'static str {
    match t {
        TransactionKind::SaveObject => "save_object",
        TransactionKind::SaveObjects => "save_objects",
        TransactionKind::DeleteObject => "delete_object",
        TransactionKind::DeleteObjects => "delete_objects",
        TransactionKind::CopyObject => "copy_object",
        TransactionKind::PurgeJournal => "purge_change_journal",
    }
}

/// mstrio-py's `ChangeType` values. vestibule writes four of them; a search for another finds
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeTypeIn {
    Reserved,
    CreateObject,
    ChangeObject,
    DeleteObject,
    TouchFolder,
    CreateLinkitem,
    ChangeLinkitem,
    DeleteLinkitem,
    ChangeJournalEnable,
    ChangeJournalDisable,
    ChangeJournalPurge,
}

impl ChangeTypeIn {
    fn kind(self) -> Option<ChangeKind> {
        Some(match self {
            ChangeTypeIn::CreateObject => ChangeKind::Create,
            ChangeTypeIn::ChangeObject => ChangeKind::Change,
            ChangeTypeIn::DeleteObject => ChangeKind::Delete,
            ChangeTypeIn::ChangeJournalPurge => ChangeKind::Purge,
            _ => return None,
        })
    }
}

/// The name of a change vestibule writes, as mstrio-py's `ChangeType` has it.
fn change_name(c: ChangeKind) -> &'static str {
    match c {
        ChangeKind::Create => "create_object",
        ChangeKind::Change => "change_object",
        ChangeKind::Delete => "delete_object",
        ChangeKind::Purge => "change_journal_purge",
    }
}

// --- times --------------------------------------------------------------------------------------

/// A time as MicroStrategy writes them, `MM/DD/YYYY hh:mm:ss AM|PM` (leading zeros optional,
/// `-` for `/` too, the period optional for a 24-hour time), in UTC; or RFC 3339.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(ms) = parse_rfc3339_ms(s) {
        return Some(ms);
    }
    let mut parts = s.split_whitespace();
    let (date, clock, period) = (parts.next()?, parts.next()?, parts.next());
    if parts.next().is_some() {
        return None;
    }
    let d: Vec<&str> = date.split(['/', '-']).collect();
    let t: Vec<&str> = clock.split(':').collect();
    let [month, day, year] = d.as_slice() else {
        return None;
    };
    let (hour, minute, second) = match t.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [h, m] => (*h, *m, "0"),
        _ => return None,
    };
    let num = |v: &str| -> Option<u32> {
        (!v.is_empty() && v.len() <= 4 && v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| v.parse().ok())
            .flatten()
    };
    let mut hour = num(hour)?;
    match period.map(str::to_ascii_uppercase).as_deref() {
        None => {}
        Some("AM") if hour <= 12 => hour %= 12,
        Some("PM") if hour <= 12 => hour = hour % 12 + 12,
        _ => return None,
    }
    let month = time::Month::try_from(u8::try_from(num(month)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(
        i32::try_from(num(year)?).ok()?,
        month,
        u8::try_from(num(day)?).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(num(minute)?).ok()?,
        u8::try_from(num(second)?).ok()?,
    )
    .ok()?;
    let at = time::PrimitiveDateTime::new(date, clock).assume_utc();
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

fn time_field(v: &Option<String>, field: &str) -> MstrResult<Option<i64>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => parse_time(t).map(Some).ok_or_else(|| {
            MstrError::invalid(format!(
                "'{field}' must be a time as MM/DD/YYYY hh:mm:ss AM|PM (UTC), not '{t}'"
            ))
        }),
    }
}

/// `MM/DD/YYYY hh:mm:ss AM|PM` in UTC.
fn mstr_time(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let format =
        time::macros::format_description!("[month]/[day]/[year] [hour repr:12]:[minute]:[second] [period]");
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

// --- the search ---------------------------------------------------------------------------------

/// An object id as the schema states it (`Guid`'s parser: 32 hex digits, dashes anywhere).
const HEX_ID: &str = "^-*([0-9A-Fa-f]-*){32}$";

/// A time bound: `MM/DD/YYYY hh:mm:ss AM|PM` (as mstrio sends it) or RFC 3339, in UTC; empty or
/// null is no bound. Described rather than given as a pattern: the server reads more spellings than one
/// pattern says (leading zeros and seconds optional, `-` for `/`), and refuses what is no instant.
fn mstr_time_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .description(Some(
            "MM/DD/YYYY hh:mm:ss AM|PM or RFC 3339, UTC; empty or null: no bound; anything else 400 ERR006",
        ))
        .build()
}

fn hex_id_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(HEX_ID))
        .build()
}

/// A list of object ids, or null (read as no filter, as for the other lists).
fn hex_id_list() -> utoipa::openapi::Array {
    utoipa::openapi::ArrayBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Array,
            utoipa::openapi::schema::Type::Null,
        ]))
        .items(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .pattern(Some(HEX_ID)),
        )
        .build()
}

/// An object a search names: `{id}`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ObjectIdIn {
    #[schema(schema_with = hex_id_schema)]
    pub id: String,
}

fn guid(s: &str, field: &str) -> MstrResult<Guid> {
    s.trim().parse().map_err(|_| {
        MstrError::invalid(format!(
            "'{field}' must be object ids (32 hex characters), not '{s}'"
        ))
    })
}

/// The filters of a search, as mstrio-py's `list_change_journal_entries` sends them; every one is
/// optional (no body is no filter), and a list matches an entry with any of its values.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JournalSearchBody {
    /// `transaction.source` values (`rest_api` for every write through this API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_sources: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_types: Option<Vec<TransactionTypeIn>>,
    /// Entries that made one of these changes to an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_types: Option<Vec<ChangeTypeIn>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machines: Option<Vec<String>>,
    /// User ids (or names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Project ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = hex_id_list)]
    pub affected_projects: Option<Vec<String>>,
    /// Entries that touched one of these objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_objects: Option<Vec<ObjectIdIn>>,
    /// The first transaction number (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub begin_transaction_id: Option<i64>,
    /// The last transaction number (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_transaction_id: Option<i64>,
    /// `MM/DD/YYYY hh:mm:ss AM|PM`, UTC (inclusive; RFC 3339 is read too).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = mstr_time_schema)]
    pub begin_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = mstr_time_schema)]
    pub end_time: Option<String>,
}

impl JournalSearchBody {
    /// The core's filter of this body, seeing entries up to transaction `mark`.
    fn filter(&self, mark: i64) -> MstrResult<JournalFilter> {
        let list = |l: &Option<Vec<String>>| l.clone().unwrap_or_default();
        let last_id = Some(self.end_transaction_id.map_or(mark, |e| e.min(mark)));
        Ok(JournalFilter {
            query: JournalQuery {
                projects: self
                    .affected_projects
                    .iter()
                    .flatten()
                    .map(|p| guid(p, "affectedProjects"))
                    .collect::<MstrResult<_>>()?,
                objects: self
                    .affected_objects
                    .iter()
                    .flatten()
                    .map(|o| guid(&o.id, "affectedObjects"))
                    .collect::<MstrResult<_>>()?,
                first_id: self.begin_transaction_id,
                last_id,
                from_ms: time_field(&self.begin_time, "beginTime")?,
                to_ms: time_field(&self.end_time, "endTime")?,
            },
            sources: list(&self.transaction_sources),
            transactions: self
                .transaction_types
                .as_ref()
                .map(|t| t.iter().filter_map(|t| t.kind()).collect()),
            changes: self
                .change_types
                .as_ref()
                .map(|c| c.iter().filter_map(|c| c.kind()).collect()),
            sessions: list(&self.session_ids),
            machines: list(&self.machines),
            users: list(&self.users),
        })
    }
}

/// What a search id carries.
#[derive(Debug, Serialize, Deserialize)]
struct Carried {
    /// The newest transaction number when the search was made.
    #[serde(rename = "m")]
    mark: i64,
    #[serde(rename = "b")]
    body: JournalSearchBody,
}

fn search_id(c: &Carried) -> MstrResult<String> {
    let json = serde_json::to_vec(c).map_err(|e| vestibule_core::CoreError::Internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn carried(id: &str) -> MstrResult<Carried> {
    let unknown = || {
        MstrError::new(
            StatusCode::NOT_FOUND,
            "ERR004",
            format!("The change journal search '{id}' could not be found"),
        )
    };
    if id.len() > MAX_SEARCH * 2 {
        return Err(unknown());
    }
    let bytes = URL_SAFE_NO_PAD.decode(id.trim()).map_err(|_| unknown())?;
    serde_json::from_slice(&bytes).map_err(|_| unknown())
}

/// A made search (`fields` may leave its field out).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JournalSearchStored {
    /// Give it in `GET /api/changeJournal/{searchId}`.
    #[schema(required = false)]
    pub search_id: String,
}

// --- entries ------------------------------------------------------------------------------------

/// The transaction of an entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionJson {
    /// The transaction number: it grows with every entry.
    pub id: i64,
    /// mstrio-py's `TransactionType` value.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The kind of client (`rest_api`).
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JournalUserJson {
    pub id: String,
    pub name: String,
}

/// One object an entry changed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangedObjectJson {
    pub id: String,
    pub name: String,
    /// MicroStrategy's object type (8 folder, 12 attribute, 15 table, 32 project).
    #[serde(rename = "type")]
    pub kind: i32,
    pub subtype: i32,
    /// mstrio-py's `ChangeType` value.
    pub change_type: &'static str,
    pub project_id: String,
    /// The comment the request gave (`changeJournal.userComments`, `userComments`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_comments: Option<String>,
    /// What the server says about the change.
    pub system_comments: String,
}

/// One entry, with the fields mstrio-py's `ChangeJournalEntry` reads (and no others: it takes
/// every field as a constructor argument).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntryJson {
    pub project_id: String,
    /// The client's address as the server saw it.
    pub machine: String,
    /// `MM/DD/YYYY hh:mm:ss AM|PM`, UTC.
    pub timestamp: String,
    pub timestamp_iso: String,
    pub session_id: String,
    pub transaction: TransactionJson,
    pub user: JournalUserJson,
    /// Always empty: vestibule keeps no link items.
    #[schema(value_type = Vec<Object>)]
    pub changed_links: Vec<Value>,
    pub changed_objects: Vec<ChangedObjectJson>,
}

fn changed_object_json(e: &JournalEntry, o: &ChangedObject) -> ChangedObjectJson {
    let (kind, subtype) = match o.kind {
        Some(k) => (k.type_number(), k.subtype_number()),
        None => (PROJECT_TYPE, PROJECT_SUBTYPE),
    };
    ChangedObjectJson {
        id: o.id.to_hex(),
        name: o.name.clone(),
        kind,
        subtype,
        change_type: change_name(o.change),
        project_id: e.project.to_hex(),
        user_comments: e.comment.clone(),
        system_comments: o.system_comment.clone(),
    }
}

impl JournalEntryJson {
    pub fn of(e: &JournalEntry) -> JournalEntryJson {
        JournalEntryJson {
            project_id: e.project.to_hex(),
            machine: e.machine.clone(),
            timestamp: mstr_time(e.at_ms),
            timestamp_iso: rfc3339_ms(e.at_ms),
            session_id: e.session.clone(),
            transaction: TransactionJson {
                id: e.id,
                kind: transaction_name(e.transaction),
                source: e.source.clone(),
            },
            user: JournalUserJson {
                id: e.user.to_hex(),
                name: e.user_name.clone(),
            },
            changed_links: Vec::new(),
            changed_objects: e.objects.iter().map(|o| changed_object_json(e, o)).collect(),
        }
    }
}

/// A page of a search's entries (`fields` may leave its field out).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntries {
    #[schema(required = false)]
    pub change_journal_entries: Vec<JournalEntryJson>,
}

// --- handlers -----------------------------------------------------------------------------------

/// Make a search of the change journal.
#[utoipa::path(post, path = "/api/changeJournal", tag = "Change Journal",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    request_body(content = Option<JournalSearchBody>, description = "The filters (all optional)", content_type = "application/json"),
    responses(
        (status = 201, description = "The search's id", body = JournalSearchStored),
        (status = 400, description = "A filter of the wrong type or value (ERR006)", body = MstrErrorBody),
        (status = 403, description = "Neither the audit change journal nor the administration privilege (ERR014)", body = MstrErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    RawQuery(raw): RawQuery,
    RawBody(body): RawBody,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let mark = state.core.model()?.journal_mark(&caller).await?;
    if body.len() > MAX_SEARCH {
        return Err(MstrError::invalid(format!(
            "The search is larger than {MAX_SEARCH} bytes; narrow it"
        )));
    }
    let search = wire::read::<JournalSearchBody>(&body)?;
    search.filter(mark)?;
    let stored = JournalSearchStored {
        search_id: search_id(&Carried { mark, body: search })?,
    };
    let json = wire::only_fields(&stored, &q.list("fields"))?;
    Ok((StatusCode::CREATED, Json(json)).into_response())
}

/// A page of a search's entries, newest first.
#[utoipa::path(get, path = "/api/changeJournal/{searchId}", tag = "Change Journal",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("searchId" = String, Path, description = "The search's id"),
           ("offset" = Option<i64>, Query, minimum = -1, description = "First entry (-1: the first)"),
           ("limit" = Option<i64>, Query, minimum = -1, description = "Entries (-1: all)"),
           ("fields" = Option<String>, Query, description = "Top-level fields to return")),
    responses(
        (status = 200, description = "The entries; X-MSTR-Total-Count has how many the search finds", body = JournalEntries),
        (status = 400, description = "A malformed parameter (ERR006)", body = MstrErrorBody),
        (status = 403, description = "Neither the audit change journal nor the administration privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown search (ERR004)", body = MstrErrorBody),
    ))]
pub async fn results(
    State(state): State<AppState>,
    Caller(caller): Caller,
    MstrPath(id): MstrPath<String>,
    RawQuery(raw): RawQuery,
) -> MstrResult<Response> {
    let q = Query::parse(raw.as_deref())?;
    let offset = q.int("offset", 0)?.max(0);
    let limit = q.int("limit", -1)?;
    let search = carried(&id)?;
    let filter = search.body.filter(search.mark)?;
    let found = state.core.model()?.journal(&caller, &filter).await?;
    let entries = JournalEntries {
        change_journal_entries: wire::page(&found, offset, limit)
            .map(JournalEntryJson::of)
            .collect(),
    };
    let mut headers = HeaderMap::new();
    headers.insert("x-mstr-total-count", HeaderValue::from(found.len()));
    let json = wire::only_fields(&entries, &q.list("fields"))?;
    Ok((headers, Json(json)).into_response())
}

/// Purge change journal entries: of the projects in `projects.id`, or of every project with
/// `purgeAllProjects=true`, written before `timestamp` (or all). Each purged project keeps one
/// entry that records the purge.
#[utoipa::path(delete, path = "/api/changeJournal", tag = "Change Journal",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("purgeAllProjects" = Option<bool>, Query, description = "Every project (projects.id is then ignored)"),
           ("projects.id" = Option<String>, Query, pattern = "^(\\s*(-*([0-9A-Fa-f]-*){32})?\\s*)(,\\s*(-*([0-9A-Fa-f]-*){32})?\\s*)*$",
            description = "Project ids, comma-separated; none (and purgeAllProjects false): the configuration's entries, of which vestibule keeps none"),
           ("timestamp" = Option<String>, Query, pattern = "^((0?[1-9]|1[0-2])[/-](0?[1-9]|[12][0-9]|3[01])[/-][0-9]{4} (0?[0-9]|1[0-2]):[0-5][0-9](:[0-5][0-9])? ([AaPp][Mm]))?$",
            description = "Entries written before this time, MM/DD/YYYY hh:mm:ss AM|PM (UTC); none or blank: all"),
           ("comment" = Option<String>, Query, description = "The comment of the entry that records the purge"),
           ("fields" = Option<String>, Query, description = "Accepted; the answer has no body")),
    responses(
        (status = 202, description = "Purged"),
        (status = 400, description = "A malformed parameter (ERR006)", body = MstrErrorBody),
        (status = 403, description = "No administration privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown project (ERR004)", body = MstrErrorBody),
    ))]
pub async fn purge(
    State(state): State<AppState>,
    Caller(caller): Caller,
    addr: ClientAddr,
    RawQuery(raw): RawQuery,
) -> MstrResult<StatusCode> {
    let q = Query::parse(raw.as_deref())?;
    let all = q.bool("purgeAllProjects", false)?;
    let mut projects = Vec::new();
    for p in q.list("projects.id") {
        projects.push(p.parse::<Guid>().map_err(|_| {
            MstrError::invalid(format!(
                "The query parameter 'projects.id' must be project ids, not '{p}'"
            ))
        })?);
    }
    let before = time_field(&q.get("timestamp").map(str::to_owned), "timestamp")?;
    let note = change_note(addr, q.get("comment").map(str::to_owned));
    let chosen = match (all, projects.is_empty()) {
        (true, _) => None,
        (false, false) => Some(projects),
        // The configuration's entries: vestibule journals no configuration objects. The caller is
        // still held to the privilege a purge needs.
        (false, true) => Some(Vec::new()),
    };
    state
        .core
        .model()?
        .purge_journal(&caller, chosen, before, &note)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_mstrio_writes_them_in_utc() {
        let at = |s| parse_time(s).map(rfc3339_ms);
        assert_eq!(
            at("10/27/2025 04:37:20 PM").as_deref(),
            Some("2025-10-27T16:37:20.000Z")
        );
        assert_eq!(
            at("10/27/2025 4:37:20 PM").as_deref(),
            Some("2025-10-27T16:37:20.000Z")
        );
        assert_eq!(
            at("1/5/2023 12:05:07 AM").as_deref(),
            Some("2023-01-05T00:05:07.000Z")
        );
        assert_eq!(
            at("03/01/2023 00:00:00 AM").as_deref(),
            Some("2023-03-01T00:00:00.000Z")
        );
        assert_eq!(
            at("03-01-2023 12:00:00 PM").as_deref(),
            Some("2023-03-01T12:00:00.000Z")
        );
        assert_eq!(
            at("03/01/2023 18:30:00").as_deref(),
            Some("2023-03-01T18:30:00.000Z")
        );
        assert_eq!(
            at("2023-03-01T18:30:00Z").as_deref(),
            Some("2023-03-01T18:30:00.000Z")
        );
        for bad in [
            "",
            "yesterday",
            "13/01/2023 1:00:00 PM",
            "02/30/2023 1:00:00 PM",
            "01/01/2023 13:00:00 PM",
            "1/1/2023 1:00:00 XM",
            "1/1/2023 1:00:00 PM x",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        let ms = parse_time("10/27/2025 4:37:20 PM").unwrap();
        assert_eq!(mstr_time(ms), "10/27/2025 04:37:20 PM");
        assert_eq!(parse_time(&mstr_time(ms)), Some(ms));
    }

    #[test]
    fn a_search_id_carries_the_search() {
        let body: JournalSearchBody = serde_json::from_value(serde_json::json!({
            "affectedObjects": [{"id": "8D679D4211D3E4981000E787EC6DE8A4"}],
            "transactionTypes": ["save_objects", "merge_user"],
            "changeTypes": ["touch_folder"],
            "endTransactionId": 90
        }))
        .unwrap();
        let id = search_id(&Carried { mark: 40, body }).unwrap();
        let back = carried(&id).unwrap();
        let f = back.body.filter(back.mark).unwrap();
        assert_eq!(
            f.query.last_id,
            Some(40),
            "the search sees no entry after its mark"
        );
        assert_eq!(f.query.objects.len(), 1);
        assert_eq!(f.transactions, Some(vec![TransactionKind::SaveObjects]));
        assert_eq!(
            f.changes,
            Some(Vec::new()),
            "a kind vestibule never writes finds nothing"
        );
        assert_eq!(carried("not-a-search").unwrap_err().code, "ERR004");
        let e = wire::read::<JournalSearchBody>(br#"{"changeTypes": ["nope"]}"#).unwrap_err();
        assert!(
            e.message.starts_with("'changeTypes[0]': unknown variant `nope`"),
            "{}",
            e.message
        );
        let bad: JournalSearchBody =
            serde_json::from_value(serde_json::json!({"beginTime": "soon"})).unwrap();
        assert!(bad
            .filter(1)
            .unwrap_err()
            .message
            .starts_with("'beginTime' must be a time"));
        let bad: JournalSearchBody =
            serde_json::from_value(serde_json::json!({"affectedProjects": ["x"]})).unwrap();
        assert!(bad
            .filter(1)
            .unwrap_err()
            .message
            .starts_with("'affectedProjects' must be object ids"));
    }
}
