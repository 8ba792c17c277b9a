//! [`ModelService`]: reading the model (committed, or as seen inside a changeset), changesets
//! (create, commit, abandon), object properties and the project folder trees.

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::now_ms;
use crate::core::Principal;
use crate::directory::check_name;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::acl::Access;
use crate::model::committed::{Committed, Snapshot};
use crate::model::journal::{Author, ChangeNote, JournalEntry};
use crate::model::spec::InfoPatch;
use crate::model::types::*;
use crate::model::Place;
use crate::model_store::{CommitRefusal, ModelStore};
use crate::privilege::Privilege;
use crate::store::{MetadataStore, SessionStore};

/// Where reads come from: the committed model of a project, or a changeset's view of it (its
/// staged changes over the committed model).
#[derive(Debug, Clone)]
pub enum View {
    Committed(Guid),
    Changeset(Changeset),
}

impl View {
    pub fn project(&self) -> Guid {
        match self {
            View::Committed(p) => *p,
            View::Changeset(c) => c.project,
        }
    }

    pub fn changeset(&self) -> Result<&Changeset> {
        match self {
            View::Changeset(c) => Ok(c),
            View::Committed(_) => Err(CoreError::Unplaced(Place::Changeset)),
        }
    }
}

/// Writes are checked inside the store's transactions (`ModelStore`): the database orders
/// writers, so any number of nodes (or requests of one) get the outcomes one writer at a time
/// would; nothing here holds a lock of its own.
pub struct ModelService {
    store: Arc<dyn ModelStore>,
    /// Users and groups: the trustees of object ACLs (see `acl.rs`).
    pub(super) directory: Arc<dyn MetadataStore>,
    /// The Everyone group's id, once read (the trustee of the default ACL rule).
    pub(super) everyone: std::sync::OnceLock<Guid>,
    /// The sessions, to tell whether a schema lock's session still lives (`schema_lock.rs`);
    /// given by the core it serves.
    pub(super) sessions: Option<Arc<dyn SessionStore>>,
    /// The committed objects of each project as last read, with the generation they are of.
    committed: Committed,
}

/// How often a direct property change re-reads an object that another write changed between its
/// read and its write (each retry applies the change to the newer object).
pub(super) const UPDATE_TRIES: usize = 8;

pub(super) fn not_found(kind: &str, id: Guid) -> CoreError {
    CoreError::NotFound(format!("The {kind} with id '{id}' could not be found"))
}

impl ModelService {
    pub fn new(store: Arc<dyn ModelStore>, directory: Arc<dyn MetadataStore>) -> Self {
        ModelService {
            store,
            directory,
            everyone: std::sync::OnceLock::new(),
            sessions: None,
            committed: Committed::default(),
        }
    }

    /// The session store schema locks are judged by (a lock dies with its session).
    pub fn with_sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    pub fn store(&self) -> &Arc<dyn ModelStore> {
        &self.store
    }

    /// Deletes a project and everything its model holds, in one transaction. Unless `force`, a
    /// project holding model objects (its system folders aside) is refused with their number.
    pub async fn delete_project(&self, project: &crate::directory::Project, force: bool) -> Result<usize> {
        use crate::model_store::ProjectDeletion;
        let system: Vec<Guid> = crate::model::folders::SYSTEM_FOLDERS
            .iter()
            .map(|f| f.id)
            .collect();
        match self.store.delete_project(project.id, &system, force).await? {
            ProjectDeletion::Deleted { objects } => Ok(objects),
            ProjectDeletion::Refused { objects } => Err(CoreError::Conflict(format!(
                "project '{}' holds {objects} model object(s) (tables, attributes, folders); \
                 delete them first or use --force to delete them with the project",
                project.name
            ))),
            ProjectDeletion::NotFound => Err(CoreError::NotFound(format!(
                "no project named '{}'",
                project.name
            ))),
        }
    }

    // --- folders -------------------------------------------------------------------------------

    /// The folders from the root down to `id`'s parent (for `ancestors`).
    pub async fn ancestors(&self, view: &View, obj: &ModelObject) -> Result<Vec<ModelObject>> {
        let mut out = Vec::new();
        let mut next = obj.info.folder;
        while let Some(id) = next {
            if out.len() > 64 {
                break;
            }
            match self.get(view, id).await? {
                Some(f) => {
                    next = f.info.folder;
                    out.push(f);
                }
                None => break,
            }
        }
        out.reverse();
        Ok(out)
    }

    // --- reading -------------------------------------------------------------------------------

    /// The view a request reads: the changeset when one is given (it must be the caller's),
    /// else the committed model of `project`.
    pub async fn view(
        &self,
        caller: &Principal,
        project: Option<Guid>,
        changeset: Option<Guid>,
    ) -> Result<View> {
        caller.require(Privilege::WEB_USER)?;
        if let Some(cs) = changeset {
            return Ok(View::Changeset(self.changeset_of(caller, cs).await?));
        }
        match project {
            Some(p) => Ok(View::Committed(p)),
            None => Err(CoreError::Unplaced(Place::ProjectOrChangeset)),
        }
    }

    /// An object as `view` sees it; objects of other projects are not seen.
    pub async fn get(&self, view: &View, id: Guid) -> Result<Option<ModelObject>> {
        if let View::Changeset(cs) = view {
            if let Some(staged) = self.store.staged_one(cs.id, id).await? {
                return Ok(staged.object);
            }
        }
        Ok(self.store.object(view.project(), id).await?)
    }

    pub async fn require(&self, view: &View, id: Guid, kind: ObjectKind) -> Result<ModelObject> {
        match self.get(view, id).await? {
            Some(o) if o.info.kind == kind => Ok(o),
            _ => Err(not_found(kind.label(), id)),
        }
    }

    /// The committed objects of `project` as the store holds them at a moment after this call
    /// began: this node's copy while the store's generation is the one it was read at, else read
    /// afresh (`committed.rs`).
    pub async fn committed(&self, project: Guid) -> Result<Arc<Snapshot>> {
        let store = &self.store;
        self.committed
            .objects(
                project,
                || async move { Ok(store.generation(project).await?) },
                || async move { Ok(store.objects(project, None).await?) },
            )
            .await
    }

    /// Every object `view` sees, by id: the committed ones (see [`ModelService::committed`]),
    /// under a changeset's staged changes when the view is a changeset's.
    pub async fn seen(&self, view: &View) -> Result<Arc<HashMap<Guid, ModelObject>>> {
        let committed = self.committed(view.project()).await?;
        let View::Changeset(cs) = view else {
            return Ok(committed.objects.clone());
        };
        let mut objects = (*committed.objects).clone();
        for change in self.store.staged(cs.id).await? {
            match change.object {
                Some(o) => objects.insert(change.id, o),
                None => objects.remove(&change.id),
            };
        }
        Ok(Arc::new(objects))
    }

    /// Objects of a project as `view` sees them, ordered by name.
    pub async fn list(&self, view: &View, kind: Option<ObjectKind>) -> Result<Vec<ModelObject>> {
        let mut objects = self.store.objects(view.project(), kind).await?;
        if let View::Changeset(cs) = view {
            for change in self.store.staged(cs.id).await? {
                objects.retain(|o| o.info.id != change.id);
                if let Some(o) = change.object {
                    if kind.is_none_or(|k| k == o.info.kind) {
                        objects.push(o);
                    }
                }
            }
            objects.sort_by_key(|o| o.info.name.to_lowercase());
        }
        Ok(objects)
    }

    // --- changesets ----------------------------------------------------------------------------

    /// A new changeset of the caller's session in `project`; needs the schema privilege.
    pub async fn create_changeset(
        &self,
        caller: &Principal,
        project: Guid,
        schema_edit: bool,
    ) -> Result<Changeset> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        caller.require_full_scope()?;
        let now = now_ms();
        let cs = Changeset {
            id: Guid::random(),
            project,
            user: caller.user.user.id,
            session: caller.session.token.to_hex(),
            schema_edit,
            status: ChangesetStatus::Ready,
            created_ms: now,
            modified_ms: now,
            comment: None,
        };
        self.store.create_changeset(&cs).await?;
        Ok(cs)
    }

    /// The caller's changeset `id`. A changeset belongs to the session that made it: another
    /// session (even of the same user) does not see it.
    pub async fn changeset_of(&self, caller: &Principal, id: Guid) -> Result<Changeset> {
        match self.store.changeset(id).await? {
            Some(cs) if cs.session == caller.session.token.to_hex() => Ok(cs),
            _ => Err(not_found("changeset", id)),
        }
    }

    fn ready(cs: &Changeset) -> Result<()> {
        if cs.status != ChangesetStatus::Ready {
            return Err(CoreError::Invalid(format!(
                "The changeset '{}' is already committed; make a new one",
                cs.id
            )));
        }
        Ok(())
    }

    /// Commits the caller's changeset: every staged change or none, with its journal entry (the
    /// note's comment, else the one the changeset's requests gave). A change based on an object
    /// another commit has changed since is a conflict.
    pub async fn commit(&self, caller: &Principal, id: Guid, note: &ChangeNote) -> Result<Changeset> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        let cs = self.changeset_of(caller, id).await?;
        if cs.status == ChangesetStatus::Committed {
            return Ok(cs);
        }
        self.check_commit(caller, &cs).await?;
        let author = Author::of(caller, &note.or_comment(cs.comment.as_deref()));
        let now = now_ms();
        match self.past_lock(|| self.store.commit(id, now, &author)).await? {
            Ok(()) => {}
            Err(CommitRefusal::Conflict(obj)) => {
                return Err(CoreError::Conflict(format!(
                    "The object '{obj}' was changed by another commit after this changeset read it; \
                     nothing was committed. Abandon this changeset and make the change again"
                )))
            }
            Err(CommitRefusal::DuplicateName(m)) => {
                return Err(CoreError::AlreadyExists(format!("Nothing was committed: {m}")))
            }
            Err(CommitRefusal::Missing {
                user_name,
                missing,
                kind,
                ..
            }) => {
                return Err(CoreError::Conflict(format!(
                    "The {} '{missing}' that '{user_name}' uses was deleted after this changeset read it; \
                     nothing was committed",
                    kind.label()
                )))
            }
            Err(CommitRefusal::InUse { user_name, user_kind }) => {
                return Err(CoreError::Conflict(format!(
                    "The {} '{user_name}' uses an object this changeset deletes; nothing was committed",
                    user_kind.label()
                )))
            }
            Err(CommitRefusal::Locked(lock)) => return Err(super::schema_lock::locked(&lock)),
        }
        self.store
            .changeset(id)
            .await?
            .ok_or_else(|| not_found("changeset", id))
    }

    /// Deletes the caller's changeset and what is staged in it. A committed changeset can be
    /// deleted too (its changes stay); an unknown one is not found.
    pub async fn delete_changeset(&self, caller: &Principal, id: Guid) -> Result<()> {
        let cs = self.changeset_of(caller, id).await?;
        self.store.delete_changeset(cs.id).await?;
        Ok(())
    }

    /// Drops the changesets whose session is gone; returns how many went.
    pub async fn drop_orphans(&self, sessions: &dyn crate::store::SessionStore) -> Result<usize> {
        let now = now_ms();
        let mut n = 0;
        for cs in self.store.changesets().await? {
            let Some(hash) = crate::secret::SecretHash::from_hex(&cs.session) else {
                continue;
            };
            if !sessions.is_live(&hash, now).await? && self.store.delete_changeset(cs.id).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Stages `obj` in the changeset of `view`, with a fresh version and modification time, once
    /// the caller's access allows it (`acl.rs`); a new object takes its folder's ACL.
    pub(crate) async fn stage(
        &self,
        caller: &Principal,
        view: &View,
        mut obj: ModelObject,
    ) -> Result<ModelObject> {
        let cs = view.changeset()?;
        Self::ready(cs)?;
        let base = self.get(view, obj.info.id).await?;
        self.check_change(caller, view, base.as_ref(), &obj).await?;
        if base.is_none() {
            self.inherit_acl(view, &mut obj).await?;
        }
        let base_version = match self.store.staged_one(cs.id, obj.info.id).await? {
            Some(s) => s.base_version,
            None => self
                .store
                .object(cs.project, obj.info.id)
                .await?
                .map(|o| o.info.version),
        };
        obj.info.version = Guid::random();
        obj.info.modified_ms = now_ms();
        self.store
            .stage(
                cs.id,
                &StagedChange {
                    id: obj.info.id,
                    base_version,
                    object: Some(obj.clone()),
                },
            )
            .await?;
        Ok(obj)
    }

    /// Checks a name and that no other object of the kind has it in the folder (physical tables,
    /// in no folder, need no unique names: see [`ModelObject::name_key`]).
    pub(crate) async fn check_unique(&self, view: &View, obj: &ModelObject) -> Result<()> {
        check_name("object", &obj.info.name).map_err(|e| match e {
            CoreError::Invalid(m) => CoreError::Invalid(m.replace("object name", "name")),
            other => other,
        })?;
        if obj.info.kind == ObjectKind::PhysicalTable {
            return Ok(());
        }
        let clash = self.list(view, Some(obj.info.kind)).await?.into_iter().any(|o| {
            o.info.id != obj.info.id
                && o.info.folder == obj.info.folder
                && o.info.name.to_lowercase() == obj.info.name.to_lowercase()
        });
        if clash {
            return Err(CoreError::AlreadyExists(format!(
                "An {} named '{}' already exists in this folder",
                obj.info.kind.as_str(),
                obj.info.name
            )));
        }
        Ok(())
    }

    /// Checks that `folder` is a folder of the view's project.
    pub(crate) async fn check_folder(&self, view: &View, folder: Guid) -> Result<()> {
        match self.get(view, folder).await? {
            Some(f) if f.info.kind == ObjectKind::Folder => Ok(()),
            _ => Err(CoreError::NotFound(format!(
                "The destination folder '{folder}' could not be found"
            ))),
        }
    }

    // --- object properties ---------------------------------------------------------------------

    /// Changes name, description, hidden, comments or folder of a committed object, at once (as
    /// `PUT /api/objects/{id}` does, outside changesets), with its journal entry.
    pub async fn update_info(
        &self,
        caller: &Principal,
        project: Guid,
        id: Guid,
        kind: ObjectKind,
        patch: InfoPatch,
        note: &ChangeNote,
    ) -> Result<ModelObject> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        caller.require_object(id)?;
        let view = View::Committed(project);
        for _ in 0..UPDATE_TRIES {
            let read = self.require(&view, id, kind).await?;
            self.check(caller, &read, Access::Write).await?;
            let mut obj = read.clone();
            let system = crate::model::folders::system_folder(id).is_some();
            if let Some(n) = &patch.name {
                if system && *n != obj.info.name {
                    return Err(CoreError::Invalid(
                        "The system folders of a project cannot be renamed".into(),
                    ));
                }
                obj.info.name = n.clone();
            }
            if let Some(f) = patch.folder {
                if kind == ObjectKind::PhysicalTable {
                    return Err(CoreError::Invalid(
                        "A physical table is in no folder; move its logical tables".into(),
                    ));
                }
                if system && Some(f) != obj.info.folder {
                    return Err(CoreError::Invalid(
                        "The system folders of a project cannot be moved".into(),
                    ));
                }
                self.check_move(&view, &obj, f).await?;
                if Some(f) != obj.info.folder {
                    if let Some(target) = self.get(&view, f).await? {
                        self.check(caller, &target, crate::model::acl::Access::Write)
                            .await?;
                    }
                }
                obj.info.folder = Some(f);
            }
            if let Some(d) = &patch.description {
                obj.info.description = d.clone();
            }
            if let Some(h) = patch.hidden {
                obj.info.hidden = h;
            }
            if let Some(c) = &patch.comments {
                obj.info.comments = c.clone();
            }
            self.check_unique(&view, &obj).await?;
            obj.info.version = Guid::random();
            obj.info.modified_ms = now_ms();
            let entry = JournalEntry::of_change(&Author::of(caller, note), &read, &obj);
            let session = caller.session.token.to_hex();
            let write = || {
                self.store
                    .update_object(&obj, read.info.version, &session, &entry)
            };
            match self.past_lock(write).await? {
                Ok(()) => return Ok(obj),
                // Changed meanwhile: apply the change to what is there now.
                Err(CommitRefusal::Conflict(_)) => continue,
                Err(CommitRefusal::DuplicateName(_)) => {
                    return Err(CoreError::AlreadyExists(format!(
                        "An {} named '{}' already exists in this folder",
                        kind.label(),
                        obj.info.name
                    )))
                }
                Err(CommitRefusal::Missing { missing, kind: k, .. }) => {
                    return Err(CoreError::Conflict(format!(
                        "The {} '{missing}' that '{}' uses is gone",
                        k.as_str(),
                        obj.info.name
                    )))
                }
                Err(CommitRefusal::InUse { .. }) => {
                    return Err(CoreError::Conflict(format!("'{}' is in use", obj.info.name)))
                }
                Err(CommitRefusal::Locked(lock)) => return Err(super::schema_lock::locked(&lock)),
            }
        }
        Err(CoreError::Conflict(format!(
            "The object '{id}' kept changing while this change was made; nothing was changed, try again"
        )))
    }

    /// Deletes a committed object at once, with its journal entry. A folder that holds objects, a
    /// table an attribute uses, and an attribute another one relates to cannot be deleted.
    pub async fn delete_object(
        &self,
        caller: &Principal,
        project: Guid,
        id: Guid,
        kind: ObjectKind,
        note: &ChangeNote,
    ) -> Result<()> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        caller.require_object(id)?;
        if crate::model::folders::system_folder(id).is_some() {
            return Err(CoreError::Invalid(
                "The system folders of a project cannot be deleted".into(),
            ));
        }
        let view = View::Committed(project);
        let obj = self.require(&view, id, kind).await?;
        self.check(caller, &obj, Access::Delete).await?;
        let session = caller.session.token.to_hex();
        let author = Author::of(caller, note);
        match self
            .past_lock(|| self.store.delete_unused(project, id, &session, &author))
            .await?
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_found(kind.label(), id)),
            Err(CommitRefusal::InUse { user_name, user_kind }) => Err(CoreError::Invalid(format!(
                "'{}' cannot be deleted: the {} '{user_name}' depends on it",
                obj.info.name,
                user_kind.as_str()
            ))),
            // A delete needs nothing that could be missing or named twice.
            Err(_) => Err(CoreError::Conflict(format!(
                "'{}' could not be deleted; try again",
                obj.info.name
            ))),
        }
    }
}
