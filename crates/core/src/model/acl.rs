//! Object access control: each model object's list of entries (a user or group, the rights it is
//! granted or denied), how a caller's rights are worked out from it, how it changes, and the
//! checks the model service makes before it shows, changes, deletes or uses an object.
//!
//! The rules (the reasons are in docs/compatibility.md, "Object ACLs"):
//! - an object's ACL is `None` until it is first set: then the default rule holds, the owner has
//!   every right and the Everyone group every right but Control; the first change writes that
//!   rule out as entries and changes them, so an emptied list means "nobody", never "anybody";
//! - a caller's rights are the union of the grants of the entries naming it or one of its
//!   groups, less the union of their denials (a denial wins);
//! - a folder's entries with `inheritable` are the ACL of what is made in it, the others its own;
//!   a new object takes its folder's inheritable entries (and the owner Full Control), or the
//!   default rule when the folder has none;
//! - a caller holding the administration privilege passes every check, as MicroStrategy's
//!   administrators ("Bypass all object security access checks") do.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::accounts::EVERYONE_GROUP;
use crate::clock::now_ms;
use crate::core::Principal;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::service::{ModelService, View};
use crate::model::types::{ModelObject, ObjectKind};
use crate::model_store::CommitRefusal;
use crate::privilege::Privilege;

/// The rights of an entry: MicroStrategy's access bits.
pub mod right {
    pub const BROWSE: u32 = 1;
    pub const USE_EXECUTE: u32 = 2;
    pub const READ: u32 = 4;
    pub const WRITE: u32 = 8;
    pub const DELETE: u32 = 16;
    pub const CONTROL: u32 = 32;
    pub const USE: u32 = 64;
    pub const EXECUTE: u32 = 128;
    /// Every right.
    pub const FULL: u32 = 255;
    /// What the default rule gives the Everyone group: every right but Control.
    pub const ALL_BUT_CONTROL: u32 = FULL & !CONTROL;
}

/// What a caller needs for each kind of act, with the rights each depends on (as MicroStrategy
/// requires them: Write needs Browse and Read, Delete needs Browse and Write, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Seeing the object in a list or a search.
    Browse,
    /// Reading its info, definition and ACL.
    Read,
    /// Changing it (or, on a folder, making or moving objects into it).
    Write,
    Delete,
    /// Changing its ACL.
    Control,
    /// Using it in another object's definition (a table in an attribute's form).
    Use,
}

impl Access {
    pub fn mask(self) -> u32 {
        use right::*;
        match self {
            Access::Browse => BROWSE,
            Access::Read => BROWSE | READ,
            Access::Write => BROWSE | READ | WRITE,
            Access::Delete => BROWSE | WRITE | DELETE,
            Access::Control => BROWSE | READ | CONTROL,
            Access::Use => BROWSE | READ | USE,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Access::Browse => "Browse",
            Access::Read => "Read",
            Access::Write => "Write",
            Access::Delete => "Delete",
            Access::Control => "Control",
            Access::Use => "Use",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrusteeKind {
    User,
    Group,
}

/// One entry of an object's ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    pub trustee: Guid,
    pub trustee_kind: TrusteeKind,
    /// 0–255, the [`right`] bits.
    pub rights: u32,
    /// A denial: these rights are taken away even when another entry grants them.
    pub deny: bool,
    /// On a folder: an entry for what is made in it, not for the folder itself.
    #[serde(default)]
    pub inheritable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclOp {
    /// Adds the rights to the trustee's entry (made if missing).
    Add,
    /// Takes the rights from the trustee's entry (dropped when none are left).
    Remove,
    /// Sets the trustee's entry to exactly these rights (dropped when they are none).
    Replace,
}

/// One change of an ACL. The entry it acts on is the trustee's with the same `deny` and
/// `inheritable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclChange {
    pub op: AclOp,
    pub trustee: Guid,
    pub rights: u32,
    pub deny: bool,
    pub inheritable: bool,
}

/// An entry with its trustee's name, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedEntry {
    pub entry: AccessEntry,
    pub name: String,
}

/// The entries of the default rule for an object owned by `owner`.
pub fn default_entries(owner: Option<Guid>, everyone: Option<Guid>) -> Vec<AccessEntry> {
    let entry = |trustee, trustee_kind, rights| AccessEntry {
        trustee,
        trustee_kind,
        rights,
        deny: false,
        inheritable: false,
    };
    let mut out: Vec<AccessEntry> = owner
        .map(|o| entry(o, TrusteeKind::User, right::FULL))
        .into_iter()
        .collect();
    out.extend(everyone.map(|e| entry(e, TrusteeKind::Group, right::ALL_BUT_CONTROL)));
    out
}

/// The rights `entries` give a caller who is `user` and a member of `groups`, on an object of
/// `kind` (on a folder, only its own entries count).
pub fn rights_of(entries: &[AccessEntry], kind: ObjectKind, user: Guid, groups: &[Guid]) -> u32 {
    let (mut granted, mut denied) = (0, 0);
    for e in entries {
        if kind == ObjectKind::Folder && e.inheritable {
            continue;
        }
        let names_caller = match e.trustee_kind {
            TrusteeKind::User => e.trustee == user,
            TrusteeKind::Group => groups.contains(&e.trustee),
        };
        if names_caller {
            if e.deny {
                denied |= e.rights;
            } else {
                granted |= e.rights;
            }
        }
    }
    granted & !denied & right::FULL
}

/// Applies `change` to `entries`; `kind` is the object's (only folders keep `inheritable`).
pub fn apply(
    entries: &mut Vec<AccessEntry>,
    change: &AclChange,
    trustee_kind: TrusteeKind,
    kind: ObjectKind,
) {
    let inheritable = kind == ObjectKind::Folder && change.inheritable;
    let at = entries
        .iter()
        .position(|e| e.trustee == change.trustee && e.deny == change.deny && e.inheritable == inheritable);
    let old = at.map(|i| entries[i].rights).unwrap_or(0);
    let rights = match change.op {
        AclOp::Add => old | change.rights,
        AclOp::Remove => old & !change.rights,
        AclOp::Replace => change.rights,
    } & right::FULL;
    match (at, rights) {
        (Some(i), 0) => {
            entries.remove(i);
        }
        (Some(i), r) => entries[i].rights = r,
        (None, 0) => {}
        (None, r) => entries.push(AccessEntry {
            trustee: change.trustee,
            trustee_kind,
            rights: r,
            deny: change.deny,
            inheritable,
        }),
    }
}

/// The ACL of a new object made in a folder whose entries are `folder`: the folder's inheritable
/// entries (for a new folder both as its own and as inheritable ones) and the owner Full Control;
/// `None` (the default rule) when the folder has no inheritable entries.
pub fn inherited(
    folder: Option<&[AccessEntry]>,
    owner: Option<Guid>,
    kind: ObjectKind,
) -> Option<Vec<AccessEntry>> {
    let inheritable: Vec<&AccessEntry> = folder?.iter().filter(|e| e.inheritable).collect();
    if inheritable.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    if let Some(o) = owner {
        out.push(AccessEntry {
            trustee: o,
            trustee_kind: TrusteeKind::User,
            rights: right::FULL,
            deny: false,
            inheritable: false,
        });
    }
    for e in inheritable {
        let own = AccessEntry {
            inheritable: false,
            ..e.clone()
        };
        match out
            .iter_mut()
            .find(|x| x.trustee == own.trustee && x.deny == own.deny && !x.inheritable)
        {
            Some(x) => x.rights |= own.rights,
            None => out.push(own),
        }
        if kind == ObjectKind::Folder {
            out.push(e.clone());
        }
    }
    Some(out)
}

fn denied(caller: &Principal, access: Access, obj: &ModelObject, browsable: bool) -> CoreError {
    let what = if browsable {
        format!(
            "the {} '{}' ({})",
            obj.info.kind.label(),
            obj.info.name,
            obj.info.id
        )
    } else {
        format!("the {} '{}'", obj.info.kind.label(), obj.info.id)
    };
    CoreError::AccessDenied(format!(
        "User '{}' does not have {} access to {what}",
        caller.user.user.username,
        access.name()
    ))
}

impl ModelService {
    /// The Everyone group's id (the default rule's trustee), read once.
    pub(crate) async fn everyone(&self) -> Result<Option<Guid>> {
        if let Some(id) = self.everyone.get() {
            return Ok(Some(*id));
        }
        let found = self.directory.group_by_name(EVERYONE_GROUP).await?.map(|g| g.id);
        if let Some(id) = found {
            let _ = self.everyone.set(id);
        }
        Ok(found)
    }

    /// The object's entries: its own, or the default rule's written out.
    pub async fn entries(&self, obj: &ModelObject) -> Result<Vec<AccessEntry>> {
        match &obj.info.acl {
            Some(acl) => Ok(acl.clone()),
            None => Ok(default_entries(obj.info.owner, self.everyone().await?)),
        }
    }

    /// The rights the caller has on `obj` (every right for an administrator).
    pub async fn rights(&self, caller: &Principal, obj: &ModelObject) -> Result<u32> {
        if caller.user.has(Privilege::ADMINISTRATION) {
            return Ok(right::FULL);
        }
        let entries = self.entries(obj).await?;
        Ok(rights_of(
            &entries,
            obj.info.kind,
            caller.user.user.id,
            &caller.user.groups,
        ))
    }

    /// `Ok` if the caller may do `access` to `obj`, else [`CoreError::AccessDenied`] naming what
    /// it lacks (the object's name only to a caller who may browse it).
    pub async fn check(&self, caller: &Principal, obj: &ModelObject, access: Access) -> Result<()> {
        let have = self.rights(caller, obj).await?;
        if have & access.mask() == access.mask() {
            Ok(())
        } else {
            Err(denied(caller, access, obj, have & right::BROWSE != 0))
        }
    }

    /// The objects of `objects` the caller may see in a list or a search (Browse), in order.
    pub async fn readable(&self, caller: &Principal, objects: Vec<ModelObject>) -> Result<Vec<ModelObject>> {
        if caller.user.has(Privilege::ADMINISTRATION) {
            return Ok(objects);
        }
        let everyone = self.everyone().await?;
        let (user, groups) = (caller.user.user.id, &caller.user.groups);
        Ok(objects
            .into_iter()
            .filter(|o| {
                let rights = match &o.info.acl {
                    Some(acl) => rights_of(acl, o.info.kind, user, groups),
                    None => rights_of(
                        &default_entries(o.info.owner, everyone),
                        o.info.kind,
                        user,
                        groups,
                    ),
                };
                rights & right::BROWSE != 0
            })
            .collect())
    }

    /// An object as `view` sees it, if the caller may read it: unknown is not found, unreadable
    /// is [`CoreError::AccessDenied`].
    pub async fn read(
        &self,
        caller: &Principal,
        view: &View,
        id: crate::ids::Guid,
        kind: ObjectKind,
    ) -> Result<ModelObject> {
        caller.require_object(id)?;
        let obj = self.require(view, id, kind).await?;
        self.check(caller, &obj, Access::Read).await?;
        Ok(obj)
    }

    /// Object `id` of `objects` (what a view sees, [`ModelService::seen`]), if it is a `kind`
    /// and the caller may read it: as [`ModelService::read`], on objects already read.
    pub async fn read_in<'a>(
        &self,
        caller: &Principal,
        objects: &'a HashMap<Guid, ModelObject>,
        id: Guid,
        kind: ObjectKind,
    ) -> Result<&'a ModelObject> {
        caller.require_object(id)?;
        let obj = match objects.get(&id) {
            Some(o) if o.info.kind == kind => o,
            _ => return Err(super::service::not_found(kind.label(), id)),
        };
        self.check(caller, obj, Access::Read).await?;
        Ok(obj)
    }

    /// Objects of a project as `view` sees them that the caller may browse, ordered by name.
    pub async fn list_readable(
        &self,
        caller: &Principal,
        view: &View,
        kind: Option<ObjectKind>,
    ) -> Result<Vec<ModelObject>> {
        let all = self.list(view, kind).await?;
        self.readable(caller, all).await
    }

    /// The checks before `obj` is staged in a changeset or written: Write on the object as it is
    /// (or, for a new one, on its folder), Write on a folder it moves into, Use on each object it
    /// newly references; and its ACL must be the one it had (a changeset does not change ACLs).
    pub(crate) async fn check_change(
        &self,
        caller: &Principal,
        view: &View,
        base: Option<&ModelObject>,
        obj: &ModelObject,
    ) -> Result<()> {
        if let Some(b) = base {
            self.check(caller, b, Access::Write).await?;
            if b.info.acl != obj.info.acl {
                return Err(CoreError::Invalid(
                    "An object's ACL changes through PUT /api/objects/{id}, not in a changeset".into(),
                ));
            }
        }
        let moved = base.is_none_or(|b| b.info.folder != obj.info.folder);
        if let (true, Some(folder)) = (moved, obj.info.folder) {
            if let Some(f) = self.get(view, folder).await? {
                self.check(caller, &f, Access::Write).await?;
            }
        }
        let before = base.map(|b| b.references()).unwrap_or_default();
        for (id, _) in obj.references() {
            if id == obj.info.id || before.iter().any(|(b, _)| *b == id) {
                continue;
            }
            if let Some(used) = self.get(view, id).await? {
                self.check(caller, &used, Access::Use).await?;
            }
        }
        Ok(())
    }

    /// The ACL a new object gets from its folder (see the module doc).
    pub(crate) async fn inherit_acl(&self, view: &View, obj: &mut ModelObject) -> Result<()> {
        if obj.info.acl.is_some() {
            return Ok(());
        }
        let folder = match obj.info.folder {
            Some(f) => self.get(view, f).await?,
            None => None,
        };
        obj.info.acl = inherited(
            folder.as_ref().and_then(|f| f.info.acl.as_deref()),
            obj.info.owner,
            obj.info.kind,
        );
        Ok(())
    }

    /// The checks a commit makes again for each staged change, against the committed objects
    /// as they are now: an ACL changed since the change was staged counts.
    pub(crate) async fn check_commit(
        &self,
        caller: &Principal,
        changeset: &crate::model::types::Changeset,
    ) -> Result<()> {
        if caller.user.has(Privilege::ADMINISTRATION) {
            return Ok(());
        }
        let view = View::Changeset(changeset.clone());
        for change in self.store().staged(changeset.id).await? {
            let committed = self.store().object(changeset.project, change.id).await?;
            match (&committed, &change.object) {
                (Some(c), Some(_)) => self.check(caller, c, Access::Write).await?,
                (Some(c), None) => self.check(caller, c, Access::Delete).await?,
                (None, Some(new)) => {
                    if let Some(f) = new.info.folder {
                        if let Some(folder) = self.get(&view, f).await? {
                            self.check(caller, &folder, Access::Write).await?;
                        }
                    }
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// The entries with their trustees' names (a trustee deleted since is shown by its id).
    pub async fn named_entries(&self, obj: &ModelObject) -> Result<Vec<NamedEntry>> {
        let entries = self.entries(obj).await?;
        let mut groups: Option<HashMap<Guid, String>> = None;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let name = match entry.trustee_kind {
                TrusteeKind::User => self
                    .directory
                    .user_by_id(entry.trustee)
                    .await?
                    .map(|u| u.display_name().to_owned()),
                TrusteeKind::Group => {
                    if groups.is_none() {
                        let all = self.directory.list_groups().await?;
                        groups = Some(all.into_iter().map(|g| (g.id, g.name)).collect());
                    }
                    groups.as_ref().and_then(|g| g.get(&entry.trustee).cloned())
                }
            };
            out.push(NamedEntry {
                name: name.unwrap_or_else(|| entry.trustee.to_hex()),
                entry,
            });
        }
        Ok(out)
    }

    /// Whether `id` is a user or a group, or neither.
    async fn trustee_kind(&self, id: Guid) -> Result<Option<TrusteeKind>> {
        if self.directory.user_by_id(id).await?.is_some() {
            return Ok(Some(TrusteeKind::User));
        }
        Ok(self
            .directory
            .list_groups()
            .await?
            .iter()
            .any(|g| g.id == id)
            .then_some(TrusteeKind::Group))
    }

    /// Changes a committed object's ACL at once (as `PUT /api/objects/{id}` with `acl` does):
    /// needs Control on it. The first change writes the default rule out as entries. Applied to
    /// the object as stored, retrying when another write changed it meanwhile; journaled.
    pub async fn change_acl(
        &self,
        caller: &Principal,
        project: Guid,
        id: Guid,
        kind: ObjectKind,
        changes: &[AclChange],
        note: &crate::model::journal::ChangeNote,
    ) -> Result<ModelObject> {
        caller.require(Privilege::WEB_USER)?;
        caller.require_object(id)?;
        let mut kinds = Vec::with_capacity(changes.len());
        for c in changes {
            if c.rights > right::FULL {
                return Err(CoreError::Invalid(format!(
                    "The rights {} of trustee '{}' are not 0 to 255",
                    c.rights, c.trustee
                )));
            }
            let k = self.trustee_kind(c.trustee).await?.ok_or_else(|| {
                CoreError::Invalid(format!("The trustee '{}' is not a user or a group", c.trustee))
            })?;
            kinds.push(k);
        }
        let view = View::Committed(project);
        for _ in 0..super::service::UPDATE_TRIES {
            let read = self.require(&view, id, kind).await?;
            self.check(caller, &read, Access::Control).await?;
            let mut entries = self.entries(&read).await?;
            for (c, k) in changes.iter().zip(&kinds) {
                apply(&mut entries, c, *k, kind);
            }
            let mut obj = read.clone();
            obj.info.acl = Some(entries);
            obj.info.version = Guid::random();
            obj.info.modified_ms = now_ms();
            let author = crate::model::journal::Author::of(caller, note);
            let entry = crate::model::journal::JournalEntry::of_change(&author, &read, &obj);
            let session = caller.session.token.to_hex();
            let write = || {
                self.store()
                    .update_object(&obj, read.info.version, &session, &entry)
            };
            match self.past_lock(write).await? {
                Ok(()) => return Ok(obj),
                Err(CommitRefusal::Conflict(_)) => continue,
                Err(_) => {
                    return Err(CoreError::Conflict(format!(
                        "The ACL of '{}' could not be changed; try again",
                        obj.info.name
                    )))
                }
            }
        }
        Err(CoreError::Conflict(format!(
            "The object '{id}' kept changing while its ACL was changed; nothing was changed, try again"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(n: u8) -> Guid {
        Guid([n; 16])
    }

    fn change(op: AclOp, trustee: Guid, rights: u32, deny: bool) -> AclChange {
        AclChange {
            op,
            trustee,
            rights,
            deny,
            inheritable: false,
        }
    }

    #[test]
    fn a_denial_wins_over_a_grant_through_any_group() {
        let (user, group) = (g(1), g(2));
        let mut acl = Vec::new();
        apply(
            &mut acl,
            &change(AclOp::Add, user, right::FULL, false),
            TrusteeKind::User,
            ObjectKind::Attribute,
        );
        apply(
            &mut acl,
            &change(AclOp::Add, group, right::WRITE, true),
            TrusteeKind::Group,
            ObjectKind::Attribute,
        );
        let r = rights_of(&acl, ObjectKind::Attribute, user, &[group]);
        assert_eq!(r, right::FULL & !right::WRITE);
        assert_eq!(rights_of(&acl, ObjectKind::Attribute, user, &[]), right::FULL);
        assert_eq!(rights_of(&acl, ObjectKind::Attribute, g(3), &[]), 0);
    }

    #[test]
    fn add_remove_and_replace_act_on_the_trustees_entry() {
        let t = g(1);
        let mut acl = Vec::new();
        apply(
            &mut acl,
            &change(AclOp::Add, t, right::BROWSE, false),
            TrusteeKind::User,
            ObjectKind::Table,
        );
        apply(
            &mut acl,
            &change(AclOp::Add, t, right::READ, false),
            TrusteeKind::User,
            ObjectKind::Table,
        );
        assert_eq!(acl.len(), 1);
        assert_eq!(acl[0].rights, right::BROWSE | right::READ);
        apply(
            &mut acl,
            &change(AclOp::Replace, t, right::WRITE, false),
            TrusteeKind::User,
            ObjectKind::Table,
        );
        assert_eq!(acl[0].rights, right::WRITE);
        apply(
            &mut acl,
            &change(AclOp::Add, t, right::WRITE, true),
            TrusteeKind::User,
            ObjectKind::Table,
        );
        assert_eq!(acl.len(), 2, "a denial is its own entry");
        apply(
            &mut acl,
            &change(AclOp::Remove, t, right::WRITE, false),
            TrusteeKind::User,
            ObjectKind::Table,
        );
        assert_eq!(acl.len(), 1);
        assert!(acl[0].deny);
    }

    #[test]
    fn a_folders_inheritable_entries_are_for_what_is_made_in_it() {
        let (owner, group) = (g(1), g(2));
        let folder = vec![
            AccessEntry {
                trustee: group,
                trustee_kind: TrusteeKind::Group,
                rights: right::BROWSE | right::READ,
                deny: false,
                inheritable: true,
            },
            AccessEntry {
                trustee: group,
                trustee_kind: TrusteeKind::Group,
                rights: right::FULL,
                deny: false,
                inheritable: false,
            },
        ];
        assert_eq!(
            rights_of(&folder, ObjectKind::Folder, g(9), &[group]),
            right::FULL
        );
        let child = inherited(Some(&folder), Some(owner), ObjectKind::Attribute).unwrap();
        assert_eq!(rights_of(&child, ObjectKind::Attribute, owner, &[]), right::FULL);
        assert_eq!(
            rights_of(&child, ObjectKind::Attribute, g(9), &[group]),
            right::BROWSE | right::READ
        );
        assert!(child.iter().all(|e| !e.inheritable));
        assert_eq!(
            inherited(Some(&folder[1..]), Some(owner), ObjectKind::Attribute),
            None
        );
        assert_eq!(inherited(None, Some(owner), ObjectKind::Attribute), None);
    }

    #[test]
    fn the_default_rule_gives_the_owner_everything_and_everyone_all_but_control() {
        let (owner, everyone) = (g(1), g(2));
        let acl = default_entries(Some(owner), Some(everyone));
        assert_eq!(
            rights_of(&acl, ObjectKind::Attribute, owner, &[everyone]),
            right::FULL
        );
        assert_eq!(
            rights_of(&acl, ObjectKind::Attribute, g(3), &[everyone]),
            right::ALL_BUT_CONTROL
        );
        assert_eq!(rights_of(&acl, ObjectKind::Attribute, g(3), &[]), 0);
    }
}
