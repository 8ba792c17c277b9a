//! The change journal: one entry per committed write of the model (a changeset's commit, a
//! direct change, a delete, a new folder, a copy, a purge of the journal itself), naming every
//! object the write created, changed or deleted, who made it from where, and the comment the
//! request gave. The store writes an entry inside the transaction of its write
//! ([`ModelStore`]), so a committed change is never without its entry and a refused one has
//! none; every node reads the one journal the store keeps ([`JournalStore`]).
//!
//! Who may read it: the holders of the audit privilege, and of each entry only the objects they
//! may read now (an object deleted since: as its ACL was when it was deleted, which its delete's
//! entry keeps); administrators everything. Purging needs the administration privilege.
//!
//! [`ModelStore`]: crate::model_store::ModelStore
//! [`JournalStore`]: crate::journal_store::JournalStore

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::core::Principal;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::journal_store::JournalQuery;
use crate::model::acl::{default_entries, rights_of, Access, AccessEntry};
use crate::model::service::{ModelService, View};
use crate::model::types::{ModelObject, ObjectKind};
use crate::privilege::Privilege;
use crate::secret::SecretHash;

/// What kind of write an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    /// One object made or changed at once (a property change, a new folder).
    SaveObject,
    /// A changeset's commit that makes or changes objects (and may delete some).
    SaveObjects,
    DeleteObject,
    /// A changeset's commit that only deletes.
    DeleteObjects,
    CopyObject,
    /// Entries of a project removed from the journal.
    PurgeJournal,
}

impl TransactionKind {
    pub const ALL: [TransactionKind; 6] = [
        TransactionKind::SaveObject,
        TransactionKind::SaveObjects,
        TransactionKind::DeleteObject,
        TransactionKind::DeleteObjects,
        TransactionKind::CopyObject,
        TransactionKind::PurgeJournal,
    ];
}

/// What a write did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Create,
    Change,
    Delete,
    /// The project whose entries a purge removed.
    Purge,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 4] = [
        ChangeKind::Create,
        ChangeKind::Change,
        ChangeKind::Delete,
        ChangeKind::Purge,
    ];
}

/// What the request that makes a change says about it, from the dialect: the client's machine
/// (its address), the kind of client, and the comment the request gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeNote {
    pub machine: String,
    pub source: String,
    pub comment: Option<String>,
}

impl ChangeNote {
    /// The note with `comment` when this one gives none.
    pub fn or_comment(&self, comment: Option<&str>) -> ChangeNote {
        ChangeNote {
            comment: self.comment.clone().or_else(|| comment.map(str::to_owned)),
            ..self.clone()
        }
    }
}

/// Who makes a write, from where, when and why: everything of an entry but what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub user: Guid,
    pub user_name: String,
    pub session: String,
    pub machine: String,
    pub source: String,
    pub comment: Option<String>,
    pub at_ms: i64,
}

impl Author {
    pub fn of(caller: &Principal, note: &ChangeNote) -> Author {
        Author {
            user: caller.user.user.id,
            user_name: caller.user.user.username.clone(),
            session: session_id(&caller.session.token),
            machine: note.machine.clone(),
            source: note.source.clone(),
            comment: note.comment.clone().filter(|c| !c.is_empty()),
            at_ms: now_ms(),
        }
    }
}

/// The id an entry shows for a session: derived from the hash of its token (never the token,
/// nor the hash the store looks sessions up by), the same for every write of the session.
pub fn session_id(token: &SecretHash) -> String {
    let d = Sha256::digest(format!("vestibule-journal-session:{}", token.to_hex()).as_bytes());
    hex::encode_upper(&d[..16])
}

/// One object a write touched, with the owner and ACL it had (after a change, before a delete)
/// so that who may read its entries can be told after it is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedObject {
    pub id: Guid,
    /// `None`: the project itself (a purge).
    pub kind: Option<ObjectKind>,
    pub name: String,
    pub change: ChangeKind,
    /// What the server says about the change ("Changed name, folder").
    pub system_comment: String,
    pub owner: Option<Guid>,
    pub acl: Option<Vec<AccessEntry>>,
}

impl ChangedObject {
    fn of(o: &ModelObject, change: ChangeKind, system_comment: String) -> ChangedObject {
        ChangedObject {
            id: o.info.id,
            kind: Some(o.info.kind),
            name: o.info.name.clone(),
            change,
            system_comment,
            owner: o.info.owner,
            acl: o.info.acl.clone(),
        }
    }
}

/// One entry of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The transaction number the store gives it, increasing with every entry (0 until stored).
    #[serde(skip)]
    pub id: i64,
    pub project: Guid,
    pub at_ms: i64,
    pub transaction: TransactionKind,
    pub user: Guid,
    pub user_name: String,
    pub session: String,
    pub machine: String,
    pub source: String,
    /// The comment the request (or the changeset's requests) gave.
    pub comment: Option<String>,
    pub objects: Vec<ChangedObject>,
}

/// The parts of an object that differ between two of its versions, as a system comment says them.
fn changed_parts(before: &ModelObject, after: &ModelObject) -> Vec<&'static str> {
    let (b, a) = (&before.info, &after.info);
    let mut parts = Vec::new();
    if b.name != a.name {
        parts.push("name");
    }
    if b.description != a.description {
        parts.push("description");
    }
    if b.comments != a.comments {
        parts.push("comments");
    }
    if b.hidden != a.hidden {
        parts.push("hidden");
    }
    if b.folder != a.folder {
        parts.push("folder");
    }
    if b.owner != a.owner {
        parts.push("owner");
    }
    if b.acl != a.acl {
        parts.push("ACL");
    }
    if before.body != after.body {
        parts.push("definition");
    }
    parts
}

fn changed_comment(before: &ModelObject, after: &ModelObject) -> String {
    match changed_parts(before, after) {
        p if p.is_empty() => "Saved unchanged".to_owned(),
        p => format!("Changed {}", p.join(", ")),
    }
}

impl JournalEntry {
    fn new(
        author: &Author,
        project: Guid,
        transaction: TransactionKind,
        objects: Vec<ChangedObject>,
    ) -> JournalEntry {
        JournalEntry {
            id: 0,
            project,
            at_ms: author.at_ms,
            transaction,
            user: author.user,
            user_name: author.user_name.clone(),
            session: author.session.clone(),
            machine: author.machine.clone(),
            source: author.source.clone(),
            comment: author.comment.clone(),
            objects,
        }
    }

    /// The entry of a changeset's commit, from each change as (committed before, after): `None`
    /// when the commit changed nothing.
    pub fn of_commit(
        author: &Author,
        project: Guid,
        changeset: Guid,
        changes: &[(Option<ModelObject>, Option<ModelObject>)],
    ) -> Option<JournalEntry> {
        let mut objects = Vec::new();
        for (before, after) in changes {
            let o = match (before, after) {
                (None, Some(new)) => ChangedObject::of(
                    new,
                    ChangeKind::Create,
                    format!("Created in changeset {changeset}"),
                ),
                (Some(old), Some(new)) => ChangedObject::of(
                    new,
                    ChangeKind::Change,
                    format!("{} in changeset {changeset}", changed_comment(old, new)),
                ),
                (Some(old), None) => ChangedObject::of(
                    old,
                    ChangeKind::Delete,
                    format!("Deleted in changeset {changeset}"),
                ),
                (None, None) => continue,
            };
            objects.push(o);
        }
        if objects.is_empty() {
            return None;
        }
        let kind = if objects.iter().all(|o| o.change == ChangeKind::Delete) {
            TransactionKind::DeleteObjects
        } else {
            TransactionKind::SaveObjects
        };
        Some(JournalEntry::new(author, project, kind, objects))
    }

    /// The entry of a direct change of `before` into `after`.
    pub fn of_change(author: &Author, before: &ModelObject, after: &ModelObject) -> JournalEntry {
        let o = ChangedObject::of(after, ChangeKind::Change, changed_comment(before, after));
        JournalEntry::new(author, after.info.project, TransactionKind::SaveObject, vec![o])
    }

    /// The entry of a new object made at once; `copied_from` for a copy.
    pub fn of_create(author: &Author, obj: &ModelObject, copied_from: Option<&ModelObject>) -> JournalEntry {
        match copied_from {
            Some(original) => {
                let comment = format!("Copied from '{}' ({})", original.info.name, original.info.id);
                let o = ChangedObject::of(obj, ChangeKind::Create, comment);
                JournalEntry::new(author, obj.info.project, TransactionKind::CopyObject, vec![o])
            }
            None => {
                let o = ChangedObject::of(obj, ChangeKind::Create, "Created".to_owned());
                JournalEntry::new(author, obj.info.project, TransactionKind::SaveObject, vec![o])
            }
        }
    }

    /// The entry of a delete at once.
    pub fn of_delete(author: &Author, obj: &ModelObject) -> JournalEntry {
        let o = ChangedObject::of(obj, ChangeKind::Delete, "Deleted".to_owned());
        JournalEntry::new(author, obj.info.project, TransactionKind::DeleteObject, vec![o])
    }

    /// The entry a purge of `project`'s entries (those before `before_ms`, or all) leaves.
    pub fn of_purge(
        author: &Author,
        project: Guid,
        project_name: &str,
        before_ms: Option<i64>,
    ) -> JournalEntry {
        let system_comment = match before_ms {
            Some(t) => format!(
                "Purged the change journal entries written before {}",
                crate::clock::rfc3339_ms(t)
            ),
            None => "Purged every change journal entry".to_owned(),
        };
        let o = ChangedObject {
            id: project,
            kind: None,
            name: project_name.to_owned(),
            change: ChangeKind::Purge,
            system_comment,
            owner: None,
            acl: None,
        };
        JournalEntry::new(author, project, TransactionKind::PurgeJournal, vec![o])
    }
}

/// A search of the journal: what the store narrows ([`JournalQuery`]) and the rest, matched
/// here. Every list left empty (or `None`) matches anything, `Some` of an empty list nothing; a
/// value in a list matches without regard to case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalFilter {
    pub query: JournalQuery,
    pub sources: Vec<String>,
    pub transactions: Option<Vec<TransactionKind>>,
    /// Entries that did one of these to an object.
    pub changes: Option<Vec<ChangeKind>>,
    pub sessions: Vec<String>,
    pub machines: Vec<String>,
    /// User ids or names.
    pub users: Vec<String>,
}

fn any_of(list: &[String], value: &str) -> bool {
    list.is_empty() || list.iter().any(|v| v.trim().eq_ignore_ascii_case(value))
}

impl JournalFilter {
    /// Whether `e` matches the parts the store does not narrow.
    pub fn matches(&self, e: &JournalEntry) -> bool {
        any_of(&self.sources, &e.source)
            && self
                .transactions
                .as_ref()
                .is_none_or(|t| t.contains(&e.transaction))
            && self
                .changes
                .as_ref()
                .is_none_or(|c| e.objects.iter().any(|o| c.contains(&o.change)))
            && any_of(&self.sessions, &e.session)
            && any_of(&self.machines, &e.machine)
            && (self.users.is_empty()
                || self.users.iter().any(|u| {
                    let u = u.trim();
                    u.parse::<Guid>().is_ok_and(|id| id == e.user) || u.eq_ignore_ascii_case(&e.user_name)
                }))
    }
}

/// What decides who may read an object: its owner and its ACL (`None`: the default rule).
type Guard = (Option<Guid>, Option<Vec<AccessEntry>>);

/// Whether `entries` let the caller read (Browse and Read) an object of `kind`.
fn readable_by(caller: &Principal, entries: &[AccessEntry], kind: ObjectKind) -> bool {
    let mask = Access::Read.mask();
    rights_of(entries, kind, caller.user.user.id, &caller.user.groups) & mask == mask
}

impl ModelService {
    fn require_audit(caller: &Principal) -> Result<()> {
        if caller.user.has(Privilege::ADMINISTRATION) {
            return Ok(());
        }
        caller.require(Privilege::AUDIT_CHANGE_JOURNAL)
    }

    /// The newest entry's transaction number, for a search to see the journal as it is now
    /// (0 when it is empty); needs the audit privilege.
    pub async fn journal_mark(&self, caller: &Principal) -> Result<i64> {
        Self::require_audit(caller)?;
        caller.require_full_scope()?;
        Ok(self.store().journal_last_id().await?)
    }

    /// The entries that match `filter`, newest first, as the caller may see them: of each entry
    /// the objects it may read (see the module doc); an entry left with none is not shown.
    pub async fn journal(&self, caller: &Principal, filter: &JournalFilter) -> Result<Vec<JournalEntry>> {
        Self::require_audit(caller)?;
        caller.require_full_scope()?;
        let found: Vec<JournalEntry> = self
            .store()
            .journal(&filter.query)
            .await?
            .into_iter()
            .filter(|e| filter.matches(e))
            .collect();
        if caller.user.has(Privilege::ADMINISTRATION) {
            return Ok(found);
        }
        let everyone = self.everyone().await?;
        // Who may read an object: its owner and ACL as they are now, or, for an object deleted
        // since, as its newest entry (its delete) recorded them.
        let mut access: HashMap<(Guid, Guid), Guard> = HashMap::new();
        let mut projects: Vec<Guid> = found.iter().map(|e| e.project).collect();
        projects.sort();
        projects.dedup();
        for project in projects {
            for o in self.list(&View::Committed(project), None).await? {
                access.insert((project, o.info.id), (o.info.owner, o.info.acl));
            }
            let mut gone: Vec<Guid> = found
                .iter()
                .filter(|e| e.project == project)
                .flat_map(|e| e.objects.iter())
                .filter(|o| o.kind.is_some() && !access.contains_key(&(project, o.id)))
                .map(|o| o.id)
                .collect();
            gone.sort();
            gone.dedup();
            if gone.is_empty() {
                continue;
            }
            let last = JournalQuery {
                projects: vec![project],
                objects: gone,
                ..JournalQuery::default()
            };
            for e in self.store().journal(&last).await? {
                for o in e.objects {
                    access.entry((project, o.id)).or_insert((o.owner, o.acl));
                }
            }
        }
        let mut out = Vec::with_capacity(found.len());
        for mut e in found {
            e.objects.retain(|o| {
                let Some(kind) = o.kind else {
                    return true;
                };
                let (owner, acl) = match access.get(&(e.project, o.id)) {
                    Some((owner, acl)) => (*owner, acl.as_ref()),
                    None => (o.owner, o.acl.as_ref()),
                };
                let entries = match acl {
                    Some(acl) => acl.clone(),
                    None => default_entries(owner, everyone),
                };
                readable_by(caller, &entries, kind)
            });
            if !e.objects.is_empty() {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Removes the entries of `projects` (`None`: every project) written before `before_ms`
    /// (`None`: all of them), leaving one entry per project that says so; needs the
    /// administration privilege. Answers how many entries went.
    pub async fn purge_journal(
        &self,
        caller: &Principal,
        projects: Option<Vec<Guid>>,
        before_ms: Option<i64>,
        note: &ChangeNote,
    ) -> Result<u64> {
        caller.require(Privilege::ADMINISTRATION)?;
        caller.require_full_scope()?;
        let known = self.directory.list_projects().await?;
        let chosen = match &projects {
            None => known,
            Some(ids) => {
                let mut chosen = Vec::with_capacity(ids.len());
                for id in ids {
                    match known.iter().find(|p| p.id == *id) {
                        Some(p) => chosen.push(p.clone()),
                        None => {
                            return Err(CoreError::NotFound(format!(
                                "The project with id '{id}' could not be found"
                            )))
                        }
                    }
                }
                chosen
            }
        };
        let author = Author::of(caller, note);
        let left: Vec<JournalEntry> = chosen
            .iter()
            .map(|p| JournalEntry::of_purge(&author, p.id, &p.name, before_ms))
            .collect();
        let ids: Option<Vec<Guid>> = projects.map(|_| chosen.iter().map(|p| p.id).collect());
        Ok(self
            .store()
            .purge_journal(ids.as_deref(), before_ms, &left)
            .await?)
    }

    /// Keeps `comment` on the changeset of `view` for the entry its commit writes (a commit that
    /// gives its own comment wins). Nothing when there is no comment.
    pub async fn note_comment(&self, view: &View, comment: Option<&str>) -> Result<()> {
        let Some(comment) = comment.filter(|c| !c.is_empty()) else {
            return Ok(());
        };
        // The view's changeset is the caller's own (`ModelService::view` checked it).
        let cs = view.changeset()?;
        self.store().set_changeset_comment(cs.id, comment).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::types::{Body, ObjectInfo};

    fn folder(name: &str) -> ModelObject {
        ModelObject {
            info: ObjectInfo {
                id: Guid::random(),
                project: Guid([7; 16]),
                kind: ObjectKind::Folder,
                name: name.into(),
                description: String::new(),
                folder: Some(Guid([8; 16])),
                hidden: false,
                comments: Vec::new(),
                owner: None,
                created_ms: 0,
                modified_ms: 0,
                version: Guid::random(),
                acl: None,
            },
            body: Body::Folder,
        }
    }

    fn author() -> Author {
        Author {
            user: Guid([1; 16]),
            user_name: "administrator".into(),
            session: "S".into(),
            machine: "127.0.0.1".into(),
            source: "rest_api".into(),
            comment: Some("why".into()),
            at_ms: 5,
        }
    }

    #[test]
    fn a_commit_names_what_it_created_changed_and_deleted() {
        let (a, b, c) = (folder("A"), folder("B"), folder("C"));
        let mut b2 = b.clone();
        b2.info.name = "B2".into();
        b2.info.description = "d".into();
        let cs = Guid([3; 16]);
        let changes = vec![
            (None, Some(a.clone())),
            (Some(b), Some(b2)),
            (Some(c.clone()), None),
        ];
        let e = JournalEntry::of_commit(&author(), a.info.project, cs, &changes).unwrap();
        assert_eq!(e.transaction, TransactionKind::SaveObjects);
        assert_eq!(e.comment.as_deref(), Some("why"));
        let kinds: Vec<ChangeKind> = e.objects.iter().map(|o| o.change).collect();
        assert_eq!(
            kinds,
            [ChangeKind::Create, ChangeKind::Change, ChangeKind::Delete]
        );
        assert_eq!(e.objects[1].name, "B2");
        assert_eq!(
            e.objects[1].system_comment,
            format!("Changed name, description in changeset {cs}")
        );
        assert_eq!(e.objects[2].name, "C");
        // Only deletes, and nothing at all.
        let e = JournalEntry::of_commit(&author(), a.info.project, cs, &[(Some(c), None)]).unwrap();
        assert_eq!(e.transaction, TransactionKind::DeleteObjects);
        assert!(JournalEntry::of_commit(&author(), a.info.project, cs, &[]).is_none());
    }

    #[test]
    fn filters_match_without_regard_to_case_and_by_user_id_or_name() {
        let e = JournalEntry::of_create(&author(), &folder("A"), None);
        let mut f = JournalFilter::default();
        assert!(f.matches(&e));
        f.users = vec!["ADMINISTRATOR".into()];
        assert!(f.matches(&e));
        f.users = vec![Guid([1; 16]).to_hex().to_lowercase()];
        assert!(f.matches(&e));
        f.users = vec!["bob".into()];
        assert!(!f.matches(&e));
        f.users.clear();
        f.changes = Some(vec![ChangeKind::Delete]);
        assert!(!f.matches(&e));
        f.changes = Some(Vec::new());
        assert!(
            !f.matches(&e),
            "a list of kinds none of which is kept finds nothing"
        );
        f.changes = Some(vec![ChangeKind::Create]);
        f.transactions = Some(vec![TransactionKind::SaveObject]);
        f.machines = vec!["127.0.0.1".into()];
        f.sources = vec!["REST_API".into()];
        assert!(f.matches(&e));
        f.sessions = vec!["other".into()];
        assert!(!f.matches(&e));
    }

    #[test]
    fn a_session_id_is_stable_and_is_not_the_token_hash() {
        let h = SecretHash::of("token");
        assert_eq!(session_id(&h), session_id(&h));
        assert_eq!(session_id(&h).len(), 32);
        assert!(!h.to_hex().to_uppercase().contains(&session_id(&h)));
        assert_ne!(session_id(&h), session_id(&SecretHash::of("other")));
    }
}
