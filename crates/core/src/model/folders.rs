//! A project's folders: MicroStrategy's system folders, which have the same well-known ids in
//! every project (clients find `Public Objects` or `Schema Objects/Attributes` by these ids and by
//! name from the root), the folders users make under them, and what a folder holds.

use crate::clock::now_ms;
use crate::core::Principal;
use crate::directory::Project;
use crate::error::{CoreError, Result, StoreError};
use crate::ids::Guid;
use crate::model::service::{ModelService, View};
use crate::model::types::*;
use crate::model_store::CommitRefusal;
use crate::privilege::Privilege;

/// One system folder: its well-known id, its name, its parent (`None`: the project's root, which
/// takes the project's name) and its number among the predefined folders
/// (`EnumDSSXMLFolderNames`, as `/api/folders/preDefined/{n}` names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemFolder {
    pub id: Guid,
    pub name: &'static str,
    pub parent: Option<Guid>,
    pub predefined: u32,
}

const fn id(hex: &str) -> Guid {
    Guid::from_hex_const(hex)
}

// MicroStrategy's published ids: the root (mstrio-py's `ROOT_PROJECT_FOLDER_ID`), Public Objects
// and its Reports (the REST API documentation's samples).
pub const ROOT_FOLDER: Guid = id("D43364C684E34A5F9B2F9AD7108F7828");
pub const PUBLIC_OBJECTS: Guid = id("98FE182C2A10427EACE0CD30B6768258");
pub const REPORTS_FOLDER: Guid = id("D3C7D461F69C4610AA6BAA5EF51F4125");
// The other system folders' ids are fixed on the platform too, but published nowhere we could find;
// these are vestibule's own, fixed the same way (the same in every project, never changed).
// Clients reach them by name from the root or by their predefined number.
pub const METRICS_FOLDER: Guid = id("21BAD02B866351C5FF6B19A0AD9DD7ED");
pub const SCHEMA_OBJECTS: Guid = id("F770B462BF8CAFDD3C303A75D9A87D8E");
pub const ATTRIBUTES_FOLDER: Guid = id("6FA880FE66F3201C21C3A23ED7595A37");
pub const FACTS_FOLDER: Guid = id("5CAA5F4C973DF82676C1BB9FF1C569A9");
pub const FUNCTIONS_FOLDER: Guid = id("B54B67AF7D03A9E2D2DC19F83D504195");
pub const HIERARCHIES_FOLDER: Guid = id("8F982B9DC8B3EFC09BDD9312C046D461");
pub const TABLES_FOLDER: Guid = id("06935F5167AB27050B3466FC585223F4");
pub const TRANSFORMATIONS_FOLDER: Guid = id("58A0F325D1F1AD73F032A35896ED85B1");

const fn folder(id: Guid, name: &'static str, parent: Guid, predefined: u32) -> SystemFolder {
    SystemFolder {
        id,
        name,
        parent: Some(parent),
        predefined,
    }
}

/// The system folders every project has, each after its parent; the numbers are
/// `EnumDSSXMLFolderNames` (mstrio-py's `PredefinedFolders`).
pub const SYSTEM_FOLDERS: &[SystemFolder] = &[
    SystemFolder {
        id: ROOT_FOLDER,
        name: "",
        parent: None,
        predefined: 39,
    },
    folder(PUBLIC_OBJECTS, "Public Objects", ROOT_FOLDER, 1),
    folder(METRICS_FOLDER, "Metrics", PUBLIC_OBJECTS, 5),
    folder(REPORTS_FOLDER, "Reports", PUBLIC_OBJECTS, 7),
    folder(SCHEMA_OBJECTS, "Schema Objects", ROOT_FOLDER, 24),
    folder(ATTRIBUTES_FOLDER, "Attributes", SCHEMA_OBJECTS, 26),
    folder(FACTS_FOLDER, "Facts", SCHEMA_OBJECTS, 29),
    folder(FUNCTIONS_FOLDER, "Functions", SCHEMA_OBJECTS, 30),
    folder(HIERARCHIES_FOLDER, "Hierarchies", SCHEMA_OBJECTS, 31),
    folder(TABLES_FOLDER, "Tables", SCHEMA_OBJECTS, 35),
    folder(TRANSFORMATIONS_FOLDER, "Transformations", SCHEMA_OBJECTS, 38),
];

/// The system folder with this id.
pub fn system_folder(id: Guid) -> Option<&'static SystemFolder> {
    SYSTEM_FOLDERS.iter().find(|f| f.id == id)
}

/// The system folder with this predefined number.
pub fn predefined_folder(n: u32) -> Option<&'static SystemFolder> {
    SYSTEM_FOLDERS.iter().find(|f| f.predefined == n)
}

/// How deep folders may nest (a bound on walks up the tree).
pub(crate) const MAX_DEPTH: usize = 64;

fn folder_object(project: &Project, f: &SystemFolder, now: i64) -> ModelObject {
    ModelObject {
        info: ObjectInfo {
            id: f.id,
            project: project.id,
            kind: ObjectKind::Folder,
            name: if f.parent.is_none() {
                project.name.clone()
            } else {
                f.name.to_owned()
            },
            description: String::new(),
            folder: f.parent,
            hidden: false,
            comments: Vec::new(),
            owner: None,
            created_ms: now,
            modified_ms: now,
            version: Guid::random(),
            acl: None,
        },
        body: Body::Folder,
    }
}

/// The path of names from the root to `f` (the root's own name left out), by which a folder tree
/// made before the well-known ids is matched to them.
fn system_path(f: &SystemFolder) -> Vec<&'static str> {
    let mut path = Vec::new();
    let mut next = Some(f);
    while let Some(s) = next {
        if s.parent.is_some() {
            path.push(s.name);
        }
        next = s.parent.and_then(system_folder);
    }
    path.reverse();
    path
}

impl ModelService {
    /// Makes a project's system folders where they are missing. A project whose tree was made
    /// before the folders had their well-known ids (its root has another id) is moved to them
    /// once, in one transaction: every folder found by its path gets its well-known id and every
    /// object in it follows. Safe to call again and from processes at once (the result is the
    /// same whoever writes it).
    pub async fn ensure_project(&self, project: &Project) -> Result<()> {
        let now = now_ms();
        let existing = self.store().objects(project.id, Some(ObjectKind::Folder)).await?;
        let old_root = existing
            .iter()
            .find(|f| f.info.folder.is_none() && f.info.id != ROOT_FOLDER);
        if let Some(old_root) = old_root {
            let all = self.store().objects(project.id, None).await?;
            let moved = Self::to_well_known(project, old_root.info.id, all, now);
            self.store().replace_project(project.id, &moved).await?;
            return Ok(());
        }
        let missing: Vec<ModelObject> = SYSTEM_FOLDERS
            .iter()
            .filter(|f| !existing.iter().any(|e| e.info.id == f.id))
            .map(|f| folder_object(project, f, now))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        match self.store().put_objects(&missing).await {
            Ok(()) => Ok(()),
            // Another process made them at the same moment: its folders stand.
            Err(StoreError::Duplicate(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `objects` (a project's whole model, with its root `old_root`) with the system folders
    /// found by path under their well-known ids, and those missing added.
    fn to_well_known(
        project: &Project,
        old_root: Guid,
        mut objects: Vec<ModelObject>,
        now: i64,
    ) -> Vec<ModelObject> {
        let path_of = |objects: &[ModelObject], id: Guid| -> Option<Vec<String>> {
            let mut path = Vec::new();
            let mut next = Some(id);
            while let Some(cur) = next {
                if cur == old_root {
                    path.reverse();
                    return Some(path);
                }
                let o = objects.iter().find(|o| o.info.id == cur)?;
                path.push(o.info.name.clone());
                next = o.info.folder;
                if path.len() > MAX_DEPTH {
                    return None;
                }
            }
            None
        };
        let mut renames: Vec<(Guid, Guid)> = vec![(old_root, ROOT_FOLDER)];
        for f in SYSTEM_FOLDERS.iter().filter(|f| f.parent.is_some()) {
            let want = system_path(f);
            let found = objects.iter().find(|o| {
                o.info.kind == ObjectKind::Folder
                    && path_of(&objects, o.info.id)
                        .is_some_and(|p| p.iter().map(String::as_str).eq(want.iter().copied()))
            });
            if let Some(o) = found {
                renames.push((o.info.id, f.id));
            }
        }
        let renamed = |id: Guid| {
            renames
                .iter()
                .find(|(old, _)| *old == id)
                .map_or(id, |(_, new)| *new)
        };
        for o in &mut objects {
            o.info.id = renamed(o.info.id);
            o.info.folder = o.info.folder.map(renamed);
        }
        for f in SYSTEM_FOLDERS {
            if !objects.iter().any(|o| o.info.id == f.id) {
                objects.push(folder_object(project, f, now));
            }
        }
        objects
    }

    /// What folder `folder` holds as `view` sees it, of what the caller may read: folders first,
    /// then the other objects, each by name.
    pub async fn folder_contents(
        &self,
        caller: &Principal,
        view: &View,
        folder: Guid,
    ) -> Result<Vec<ModelObject>> {
        self.read(caller, view, folder, ObjectKind::Folder).await?;
        let mut inside: Vec<ModelObject> = self
            .list(view, None)
            .await?
            .into_iter()
            .filter(|o| o.info.folder == Some(folder))
            .collect();
        inside = self.readable(caller, inside).await?;
        inside.sort_by_key(|o| (o.info.kind != ObjectKind::Folder, o.info.name.to_lowercase()));
        Ok(inside)
    }

    /// A new folder in `parent`, made at once (folders are not schema objects: no changeset),
    /// with its journal entry.
    pub async fn create_folder(
        &self,
        caller: &Principal,
        project: Guid,
        name: &str,
        description: &str,
        parent: Guid,
        note: &crate::model::journal::ChangeNote,
    ) -> Result<ModelObject> {
        caller.require(Privilege::CREATE_APPLICATION_OBJECTS)?;
        caller.require_full_scope()?;
        let view = View::Committed(project);
        self.check_folder(&view, parent).await?;
        let now = now_ms();
        let obj = ModelObject {
            info: ObjectInfo {
                id: Guid::random(),
                project,
                kind: ObjectKind::Folder,
                name: name.to_owned(),
                description: description.to_owned(),
                folder: Some(parent),
                hidden: false,
                comments: Vec::new(),
                owner: Some(caller.user.user.id),
                created_ms: now,
                modified_ms: now,
                version: Guid::random(),
                acl: None,
            },
            body: Body::Folder,
        };
        self.check_unique(&view, &obj).await?;
        self.check_change(caller, &view, None, &obj).await?;
        let mut obj = obj;
        self.inherit_acl(&view, &mut obj).await?;
        let entry = crate::model::journal::JournalEntry::of_create(
            &crate::model::journal::Author::of(caller, note),
            &obj,
            None,
        );
        let session = caller.session.token.to_hex();
        match self
            .past_lock(|| self.store().insert_object(&obj, &session, &entry))
            .await?
        {
            Ok(()) => Ok(obj),
            Err(CommitRefusal::DuplicateName(_)) => Err(CoreError::AlreadyExists(format!(
                "A folder named '{name}' already exists in this folder"
            ))),
            Err(CommitRefusal::Missing { .. }) => Err(CoreError::NotFound(format!(
                "The destination folder '{parent}' could not be found"
            ))),
            Err(_) => Err(CoreError::Conflict(format!(
                "The folder '{name}' could not be made; try again"
            ))),
        }
    }

    /// Checks that moving `obj` into `target` keeps the tree a tree: the target is a folder of
    /// the view, not the object itself nor one of the folders inside it.
    pub(crate) async fn check_move(&self, view: &View, obj: &ModelObject, target: Guid) -> Result<()> {
        self.check_folder(view, target).await?;
        if obj.info.kind != ObjectKind::Folder {
            return Ok(());
        }
        let mut next = Some(target);
        let mut depth = 0;
        while let Some(cur) = next {
            if cur == obj.info.id {
                return Err(CoreError::Invalid(format!(
                    "The folder '{}' cannot be moved into itself or a folder inside it",
                    obj.info.name
                )));
            }
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(CoreError::Invalid("Folders nest too deep".into()));
            }
            next = self.get(view, cur).await?.and_then(|f| f.info.folder);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_folders_are_a_tree_with_unique_ids_and_numbers() {
        for (i, f) in SYSTEM_FOLDERS.iter().enumerate() {
            assert!(
                SYSTEM_FOLDERS[i + 1..]
                    .iter()
                    .all(|g| g.id != f.id && g.predefined != f.predefined),
                "{} twice",
                f.name
            );
            if let Some(p) = f.parent {
                let at = SYSTEM_FOLDERS.iter().position(|g| g.id == p);
                assert!(at.is_some_and(|at| at < i), "{}'s parent comes first", f.name);
            }
        }
        assert_eq!(system_path(&SYSTEM_FOLDERS[5]), ["Schema Objects", "Attributes"]);
    }

    #[test]
    fn an_old_tree_moves_to_the_well_known_ids() {
        let project = Project {
            id: Guid::random(),
            name: "Sales".into(),
            description: String::new(),
            created_ms: 0,
        };
        let mk = |name: &str, parent: Option<Guid>, kind: ObjectKind| ModelObject {
            info: ObjectInfo {
                id: Guid::random(),
                project: project.id,
                kind,
                name: name.into(),
                description: String::new(),
                folder: parent,
                hidden: false,
                comments: Vec::new(),
                owner: None,
                created_ms: 0,
                modified_ms: 0,
                version: Guid::random(),
                acl: None,
            },
            body: Body::Folder,
        };
        let root = mk("Sales", None, ObjectKind::Folder);
        let schema = mk("Schema Objects", Some(root.info.id), ObjectKind::Folder);
        let attrs = mk("Attributes", Some(schema.info.id), ObjectKind::Folder);
        let mine = mk("Mine", Some(attrs.info.id), ObjectKind::Folder);
        let old_root = root.info.id;
        let moved =
            ModelService::to_well_known(&project, old_root, vec![root, schema, attrs, mine.clone()], 1);
        let find = |id: Guid| moved.iter().find(|o| o.info.id == id);
        assert_eq!(find(ROOT_FOLDER).map(|o| o.info.name.as_str()), Some("Sales"));
        assert_eq!(
            find(ATTRIBUTES_FOLDER).and_then(|o| o.info.folder),
            Some(SCHEMA_OBJECTS)
        );
        assert_eq!(
            find(mine.info.id).and_then(|o| o.info.folder),
            Some(ATTRIBUTES_FOLDER)
        );
        assert!(find(old_root).is_none());
        for f in SYSTEM_FOLDERS {
            assert!(find(f.id).is_some(), "{} is there", f.name);
        }
    }
}
