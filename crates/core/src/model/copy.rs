//! Copying an attribute or a table within its project, at once (as `POST /api/objects/{id}/copy`
//! does, outside changesets): a new object with new ids of its own, the same references.

use crate::clock::now_ms;
use crate::core::Principal;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::journal::{Author, ChangeNote, JournalEntry};
use crate::model::service::{ModelService, View};
use crate::model::types::*;
use crate::model_store::CommitRefusal;
use crate::privilege::Privilege;

/// How many `Name (n)` a copy tries before it gives up finding a free name.
const NAME_TRIES: usize = 1000;

impl ModelService {
    /// A copy of `id` named `name` (else `Name (1)`, `Name (2)`, … whichever is free) in `folder`
    /// (else the original's). An attribute's copy keeps its forms' categories and the tables it
    /// reads, with new expression ids; its relationships stay with the original. A table's copy
    /// is another logical table over the same physical table (an alias). The copy is journaled.
    #[allow(clippy::too_many_arguments)]
    pub async fn copy_object(
        &self,
        caller: &Principal,
        project: Guid,
        id: Guid,
        kind: ObjectKind,
        name: Option<String>,
        folder: Option<Guid>,
        note: &ChangeNote,
    ) -> Result<ModelObject> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        caller.require_full_scope()?;
        if kind == ObjectKind::Folder {
            return Err(CoreError::Invalid(
                "Folders cannot be copied here; copy the objects inside them".into(),
            ));
        }
        if kind == ObjectKind::PhysicalTable {
            return Err(CoreError::Invalid(
                "A physical table cannot be copied; make another logical table over it".into(),
            ));
        }
        let view = View::Committed(project);
        let original = self.read(caller, &view, id, kind).await?;
        let folder = folder.or(original.info.folder);
        if let Some(f) = folder {
            self.check_folder(&view, f).await?;
        }
        let now = now_ms();
        let mut copy = original.clone();
        copy.info.id = Guid::random();
        copy.info.folder = folder;
        copy.info.owner = Some(caller.user.user.id);
        copy.info.created_ms = now;
        copy.info.modified_ms = now;
        copy.info.version = Guid::random();
        copy.info.acl = None;
        self.check_change(caller, &view, None, &copy).await?;
        self.inherit_acl(&view, &mut copy).await?;
        if let Body::Attribute(a) = &mut copy.body {
            for f in &mut a.forms {
                for e in &mut f.expressions {
                    e.id = Guid::random();
                }
            }
            a.relationships.clear();
        }
        let candidates: Vec<String> = match name {
            Some(n) => vec![n],
            None => (1..=NAME_TRIES)
                .map(|i| format!("{} ({i})", original.info.name))
                .collect(),
        };
        let given = candidates.len() == 1;
        let author = Author::of(caller, note);
        for candidate in candidates {
            copy.info.name = candidate;
            if !given && self.check_unique(&view, &copy).await.is_err() {
                continue;
            }
            self.check_unique(&view, &copy).await?;
            let entry = JournalEntry::of_create(&author, &copy, Some(&original));
            let session = caller.session.token.to_hex();
            match self
                .past_lock(|| self.store().insert_object(&copy, &session, &entry))
                .await?
            {
                Ok(()) => return Ok(copy),
                // Taken meanwhile: the next number.
                Err(CommitRefusal::DuplicateName(_)) if !given => continue,
                Err(CommitRefusal::DuplicateName(m)) => return Err(CoreError::AlreadyExists(m)),
                Err(CommitRefusal::Missing { missing, kind, .. }) => {
                    return Err(CoreError::Conflict(format!(
                        "The {} '{missing}' that '{}' uses is gone; nothing was copied",
                        kind.label(),
                        original.info.name
                    )))
                }
                Err(_) => {
                    return Err(CoreError::Conflict(format!(
                        "'{}' could not be copied; try again",
                        original.info.name
                    )))
                }
            }
        }
        Err(CoreError::Conflict(format!(
            "No free name was found for a copy of '{}'; give one",
            original.info.name
        )))
    }
}
