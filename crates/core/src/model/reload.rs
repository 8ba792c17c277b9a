//! Reloading a project's schema, and the tasks that record each reload.
//!
//! MicroStrategy's reload rebuilds the I-Server's in-memory schema from the metadata (table keys,
//! fact entry levels, logical table sizes, the element cache, as the update types ask). vestibule
//! serves every read from the store, so there is nothing to rebuild; what a reload does here is
//! check the committed model as a whole, the way the platform's reload finds what no longer
//! holds: every reference of every object resolves to an object of the right kind, the folder
//! tree is a tree under the project's root with every system folder in place, and each object's
//! own definition holds (forms, expressions and their columns, displays, sorts, relationships,
//! table columns). What it finds is the task's problems and fails it.
//!
//! A task is a row in the model store, so any node answers for it. While a reload runs its task's
//! heartbeat is renewed; a running task whose heartbeat has stopped (the server running it
//! stopped) is failed when it is next read, and by the background sweep.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::now_ms;
use crate::core::Principal;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::folders::{MAX_DEPTH, ROOT_FOLDER, SYSTEM_FOLDERS};
use crate::model::service::ModelService;
use crate::model::types::*;

/// What a reload is asked to bring up to date. vestibule keeps none of them apart from the
/// model, so they are checked, recorded on the task and shown; every reload checks the whole
/// model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateType {
    TableKey,
    EntryLevel,
    LogicalSize,
    ClearElementCache,
}

impl UpdateType {
    pub const ALL: [UpdateType; 4] = [
        UpdateType::TableKey,
        UpdateType::EntryLevel,
        UpdateType::LogicalSize,
        UpdateType::ClearElementCache,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UpdateType::TableKey => "table_key",
            UpdateType::EntryLevel => "entry_level",
            UpdateType::LogicalSize => "logical_size",
            UpdateType::ClearElementCache => "clear_element_cache",
        }
    }

    pub fn parse(s: &str) -> Option<UpdateType> {
        UpdateType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Running,
    Completed,
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
        }
    }
}

/// What kind of problem a reload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An object needs another (its folder, a table, an attribute) that is not in the model, or
    /// that is of another kind.
    MissingReference,
    /// An object's own definition does not hold: a form, an expression, a column, a sort.
    InvalidDefinition,
    /// The folder tree: an object outside the project's root, a loop, a missing system folder.
    FolderTree,
    /// The reload did not finish: the server running it stopped, or the model could not be read.
    Interrupted,
}

/// One problem a reload found, with the object it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
    #[serde(default)]
    pub object: Option<Guid>,
    #[serde(default)]
    pub object_kind: Option<ObjectKind>,
    #[serde(default)]
    pub object_name: Option<String>,
    /// What the object needs and the model lacks.
    #[serde(default)]
    pub missing: Option<Guid>,
}

impl Problem {
    fn about(kind: ProblemKind, o: &ModelObject, message: String) -> Problem {
        Problem {
            kind,
            message,
            object: Some(o.info.id),
            object_kind: Some(o.info.kind),
            object_name: Some(o.info.name.clone()),
            missing: None,
        }
    }

    fn general(kind: ProblemKind, message: String) -> Problem {
        Problem {
            kind,
            message,
            object: None,
            object_kind: None,
            object_name: None,
            missing: None,
        }
    }
}

/// One reload of one project: who asked, for what, and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaTask {
    pub id: Guid,
    pub project: Guid,
    pub user: Guid,
    pub user_name: String,
    pub update_types: Vec<UpdateType>,
    pub status: TaskStatus,
    pub start_ms: i64,
    #[serde(default)]
    pub end_ms: Option<i64>,
    /// When the node running it last said it still was (while running).
    pub heartbeat_ms: i64,
    /// How many objects the reload checked.
    #[serde(default)]
    pub checked: usize,
    #[serde(default)]
    pub problems: Vec<Problem>,
}

/// How often a running reload renews its task's heartbeat.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A running task whose heartbeat is older than this was interrupted.
const STALE_MS: i64 = 30_000;
/// Finished tasks are kept this long (each project's newest always).
const TASK_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
/// Problems reported at most; a last one says how many more there were.
const MAX_PROBLEMS: usize = 200;

fn kind_name(kind: ObjectKind) -> &'static str {
    kind.as_str()
}

/// Checks a project's committed model (`objects`, every object of the project) as a whole:
/// the problems found, in the objects' order.
pub fn check_model(objects: &[ModelObject]) -> Vec<Problem> {
    let by_id: HashMap<Guid, &ModelObject> = objects.iter().map(|o| (o.info.id, o)).collect();
    let mut problems = Vec::new();
    for f in SYSTEM_FOLDERS {
        match by_id.get(&f.id) {
            Some(o) if o.info.kind == ObjectKind::Folder && o.info.folder == f.parent => {}
            Some(o) => problems.push(Problem::about(
                ProblemKind::FolderTree,
                o,
                format!(
                    "The system folder '{}' ({}) is not a folder in its place",
                    if f.name.is_empty() {
                        "(the project's root)"
                    } else {
                        f.name
                    },
                    f.id
                ),
            )),
            None => problems.push(Problem::general(
                ProblemKind::FolderTree,
                format!(
                    "The system folder '{}' ({}) is missing",
                    if f.name.is_empty() {
                        "(the project's root)"
                    } else {
                        f.name
                    },
                    f.id
                ),
            )),
        }
    }
    for o in objects {
        check_needs(o, &by_id, &mut problems);
        check_place(o, &by_id, &mut problems);
        match &o.body {
            Body::Folder => {}
            // A logical table's physical table is among its needs, checked above.
            Body::Table(_) => {}
            Body::PhysicalTable(t) => check_physical_table(o, t, &mut problems),
            Body::Attribute(a) => check_attribute(o, a, &by_id, &mut problems),
        }
    }
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        problems.push(Problem::general(
            ProblemKind::InvalidDefinition,
            format!("… and {more} more problems"),
        ));
    }
    problems
}

/// Every object the model must keep for `o` (its folder, its references) is there, of its kind.
fn check_needs(o: &ModelObject, by_id: &HashMap<Guid, &ModelObject>, problems: &mut Vec<Problem>) {
    for (id, kind) in o.needs() {
        let found = by_id.get(&id);
        if found.is_some_and(|f| f.info.kind == kind) {
            continue;
        }
        let what = match found {
            Some(f) => format!(
                "which is a {} ('{}'), not a {}",
                kind_name(f.info.kind),
                f.info.name,
                kind_name(kind)
            ),
            None => "which is not in the model".to_owned(),
        };
        let mut p = Problem::about(
            ProblemKind::MissingReference,
            o,
            format!(
                "The {} '{}' ({}) uses the {} {id}, {what}",
                kind_name(o.info.kind),
                o.info.name,
                o.info.id,
                kind_name(kind)
            ),
        );
        p.missing = Some(id);
        problems.push(p);
    }
}

/// `o` is in the tree under the project's root: its folders lead there without a loop.
fn check_place(o: &ModelObject, by_id: &HashMap<Guid, &ModelObject>, problems: &mut Vec<Problem>) {
    // A physical table is in no folder: its logical tables are.
    if o.info.kind == ObjectKind::PhysicalTable {
        return;
    }
    let mut at = o;
    for _ in 0..=MAX_DEPTH {
        match at.info.folder {
            None if at.info.id == ROOT_FOLDER => return,
            None => {
                problems.push(Problem::about(
                    ProblemKind::FolderTree,
                    o,
                    format!(
                        "The {} '{}' ({}) is outside the project's folder tree: its topmost folder '{}' is not the project's root",
                        kind_name(o.info.kind),
                        o.info.name,
                        o.info.id,
                        at.info.name
                    ),
                ));
                return;
            }
            // A folder that is missing is a missing reference of the object holding it.
            Some(f) => match by_id.get(&f) {
                Some(parent) => at = parent,
                None => return,
            },
        }
    }
    problems.push(Problem::about(
        ProblemKind::FolderTree,
        o,
        format!(
            "The {} '{}' ({}) is in a loop of folders, or nested deeper than {MAX_DEPTH} folders",
            kind_name(o.info.kind),
            o.info.name,
            o.info.id
        ),
    ));
}

fn check_physical_table(o: &ModelObject, t: &PhysicalTable, problems: &mut Vec<Problem>) {
    let mut bad = |message: String| problems.push(Problem::about(ProblemKind::InvalidDefinition, o, message));
    if t.columns.is_empty() {
        bad(format!(
            "The table '{}' ({}) has no column",
            o.info.name, o.info.id
        ));
    }
    let mut seen = HashSet::new();
    for c in &t.columns {
        if !seen.insert(c.name.to_lowercase()) {
            bad(format!(
                "The table '{}' has the column '{}' twice",
                o.info.name, c.name
            ));
        }
        if !DATA_TYPES.contains(&c.data_type.kind.as_str()) {
            bad(format!(
                "The column '{}' of the table '{}' has the unknown data type '{}'",
                c.name, o.info.name, c.data_type.kind
            ));
        }
    }
}

fn check_attribute(
    o: &ModelObject,
    a: &Attribute,
    by_id: &HashMap<Guid, &ModelObject>,
    problems: &mut Vec<Problem>,
) {
    let name = &o.info.name;
    let mut bad = |message: String| problems.push(Problem::about(ProblemKind::InvalidDefinition, o, message));
    if a.forms.is_empty() {
        bad(format!("The attribute '{name}' has no form"));
    }
    if a.form(a.key_form).is_none() {
        bad(format!(
            "The key form {} of the attribute '{name}' is not one of its forms",
            a.key_form
        ));
    }
    let displays = a.report_displays.iter().chain(&a.browse_displays);
    for d in displays {
        if a.form(*d).is_none() {
            bad(format!(
                "The display form {d} of the attribute '{name}' is not one of its forms"
            ));
        }
    }
    for s in a.report_sorts.iter().chain(&a.browse_sorts) {
        if a.form(s.form).is_none() {
            bad(format!(
                "The sort form {} of the attribute '{name}' is not one of its forms",
                s.form
            ));
        }
    }
    for f in &a.forms {
        if f.expressions.is_empty() {
            bad(format!(
                "The form '{}' of the attribute '{name}' has no expression",
                f.name
            ));
        }
        for e in &f.expressions {
            let expr = match vestibule_expr::parse(&e.text) {
                Ok(expr) => expr,
                Err(err) => {
                    bad(format!(
                        "The expression '{}' of the form '{}' of the attribute '{name}' does not parse: \
                         expected {} at position {}",
                        e.text, f.name, err.expected, err.position
                    ));
                    continue;
                }
            };
            if e.tables.is_empty() {
                bad(format!(
                    "The expression '{}' of the form '{}' of the attribute '{name}' names no table",
                    e.text, f.name
                ));
            }
            for t in &e.tables {
                // A table that is missing is a missing reference, reported once above.
                // The columns are the logical table's physical table's.
                let Some(table) = by_id.get(t).and_then(|t| {
                    let physical = by_id.get(&t.table()?.physical_id)?.physical_table()?;
                    Some((t, physical))
                }) else {
                    continue;
                };
                for col in expr.columns() {
                    if table.1.column(col).is_none() {
                        bad(format!(
                            "The column '{col}' of the form '{}' of the attribute '{name}' is not in the table '{}'",
                            f.name, table.0.info.name
                        ));
                    }
                }
            }
        }
    }
    for r in &a.relationships {
        if !RELATIONSHIP_TYPES.contains(&r.kind.as_str()) {
            bad(format!(
                "A relationship of the attribute '{name}' has the unknown type '{}'",
                r.kind
            ));
        }
        let members = r.child.members();
        if members.contains(&r.parent) {
            bad(format!("The attribute '{name}' has a relationship with itself"));
        } else if r.parent != o.info.id && !members.contains(&o.info.id) {
            let children: Vec<String> = members.iter().map(Guid::to_string).collect();
            bad(format!(
                "The attribute '{name}' keeps a relationship between other attributes ({} and {})",
                r.parent,
                children.join(", ")
            ));
        }
    }
}

fn not_found(id: Guid) -> CoreError {
    CoreError::NotFound(format!("The task with id '{id}' could not be found"))
}

impl ModelService {
    /// Records a new reload of `project` by the caller, running.
    pub async fn start_reload(
        &self,
        caller: &Principal,
        project: Guid,
        update_types: Vec<UpdateType>,
    ) -> Result<SchemaTask> {
        self.require_schema_project(caller, project).await?;
        let now = now_ms();
        let task = SchemaTask {
            id: Guid::random(),
            project,
            user: caller.user.user.id,
            user_name: caller.user.user.display_name().to_owned(),
            update_types,
            status: TaskStatus::Running,
            start_ms: now,
            end_ms: None,
            heartbeat_ms: now,
            checked: 0,
            problems: Vec::new(),
        };
        self.store().insert_task(&task).await?;
        Ok(task)
    }

    /// Reads the committed model of `project` and checks it (off the async workers: a large
    /// model takes a while): how many objects, and the problems.
    async fn check_committed(&self, project: Guid) -> Result<(usize, Vec<Problem>)> {
        let objects = self.store().objects(project, None).await?;
        tokio::task::spawn_blocking(move || (objects.len(), check_model(&objects)))
            .await
            .map_err(|e| CoreError::Internal(format!("the schema check stopped: {e}")))
    }

    /// Runs a reload recorded by [`ModelService::start_reload`], renewing its heartbeat while it
    /// works, and records the outcome: completed, or failed with the problems found. When the
    /// model cannot be read the task is failed as interrupted and the error returned.
    pub async fn run_reload(&self, mut task: SchemaTask) -> Result<SchemaTask> {
        let work = self.check_committed(task.project);
        tokio::pin!(work);
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.tick().await;
        let outcome = loop {
            tokio::select! {
                done = &mut work => break done,
                _ = beat.tick() => {
                    if let Err(e) = self.store().beat_task(task.id, now_ms()).await {
                        tracing::warn!(error = %e, task = %task.id, "renewing a reload's heartbeat failed");
                    }
                }
            }
        };
        task.end_ms = Some(now_ms());
        let failure = match outcome {
            Ok((checked, problems)) => {
                task.checked = checked;
                task.problems = problems;
                None
            }
            Err(e) => {
                task.problems = vec![Problem::general(
                    ProblemKind::Interrupted,
                    "The reload could not read the model; nothing was checked".into(),
                )];
                Some(e)
            }
        };
        task.status = if task.problems.is_empty() {
            TaskStatus::Completed
        } else {
            TaskStatus::Failed
        };
        let recorded = self.store().finish_task(&task).await;
        if let Some(e) = failure {
            return Err(e);
        }
        recorded?;
        Ok(task)
    }

    /// A running task whose heartbeat has stopped, failed and recorded so; any other as it is.
    async fn settle(&self, task: SchemaTask) -> Result<SchemaTask> {
        if task.status != TaskStatus::Running || task.heartbeat_ms >= now_ms() - STALE_MS {
            return Ok(task);
        }
        let mut failed = task;
        failed.status = TaskStatus::Failed;
        failed.end_ms = Some(failed.heartbeat_ms);
        failed.problems.push(Problem::general(
            ProblemKind::Interrupted,
            "The reload was interrupted: the server running it stopped before it finished".into(),
        ));
        if self.store().finish_task(&failed).await? {
            return Ok(failed);
        }
        // It finished meanwhile after all.
        self.store()
            .task(failed.id)
            .await?
            .ok_or_else(|| not_found(failed.id))
    }

    /// The task `id` of `project` (a task of another project is not found there).
    pub async fn task(&self, caller: &Principal, project: Guid, id: Guid) -> Result<SchemaTask> {
        self.require_schema_project(caller, project).await?;
        match self.store().task(id).await? {
            Some(t) if t.project == project => self.settle(t).await,
            _ => Err(not_found(id)),
        }
    }

    /// The newest reload of `project`.
    pub async fn last_reload(&self, caller: &Principal, project: Guid) -> Result<Option<SchemaTask>> {
        self.require_schema_project(caller, project).await?;
        match self.store().last_task(project).await? {
            Some(t) => Ok(Some(self.settle(t).await?)),
            None => Ok(None),
        }
    }

    /// Fails the running tasks whose heartbeat has stopped and drops finished tasks older than a
    /// week (each project's newest stays); returns how many it settled and dropped.
    pub async fn sweep_tasks(&self) -> Result<usize> {
        let now = now_ms();
        let mut n = 0;
        for t in self.store().stale_tasks(now - STALE_MS).await? {
            self.settle(t).await?;
            n += 1;
        }
        n += self.store().drop_tasks_before(now - TASK_RETENTION_MS).await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::folders::{ATTRIBUTES_FOLDER, TABLES_FOLDER};

    fn info(id: Guid, kind: ObjectKind, name: &str, folder: Option<Guid>) -> ObjectInfo {
        ObjectInfo {
            id,
            project: Guid([9; 16]),
            kind,
            name: name.into(),
            description: String::new(),
            folder,
            hidden: false,
            comments: Vec::new(),
            owner: None,
            created_ms: 0,
            modified_ms: 0,
            version: Guid::random(),
            acl: None,
        }
    }

    fn folders() -> Vec<ModelObject> {
        SYSTEM_FOLDERS
            .iter()
            .map(|f| ModelObject {
                info: info(
                    f.id,
                    ObjectKind::Folder,
                    if f.name.is_empty() { "P" } else { f.name },
                    f.parent,
                ),
                body: Body::Folder,
            })
            .collect()
    }

    /// A logical table `id` and its physical table with `columns`.
    fn table(id: Guid, columns: &[&str]) -> [ModelObject; 2] {
        let physical = Guid::random();
        [
            ModelObject {
                info: info(id, ObjectKind::Table, "LU_T", Some(TABLES_FOLDER)),
                body: Body::Table(Table {
                    physical_id: physical,
                    logical_size: 0,
                    is_logical_size_locked: false,
                    is_true_key: false,
                    enclose_sql_in_parentheses: true,
                }),
            },
            ModelObject {
                info: info(physical, ObjectKind::PhysicalTable, "LU_T", None),
                body: Body::PhysicalTable(PhysicalTable {
                    table_type: PhysicalTableType::Normal,
                    table_name: "LU_T".into(),
                    namespace: String::new(),
                    table_prefix: String::new(),
                    sql_statement: None,
                    columns: columns
                        .iter()
                        .map(|c| Column {
                            id: Guid::random(),
                            name: (*c).into(),
                            data_type: DataType::of("integer"),
                        })
                        .collect(),
                }),
            },
        ]
    }

    fn attribute(id: Guid, table: Guid, expression: &str) -> ModelObject {
        let form = Guid::random();
        ModelObject {
            info: info(id, ObjectKind::Attribute, "A", Some(ATTRIBUTES_FOLDER)),
            body: Body::Attribute(Attribute {
                sub_type: "attribute".into(),
                is_embedded: false,
                forms: vec![Form {
                    id: form,
                    category: Some("ID".into()),
                    name: "ID".into(),
                    description: String::new(),
                    display_format: "number".into(),
                    data_type: None,
                    expressions: vec![FormExpression {
                        id: Guid::random(),
                        text: expression.into(),
                        tables: vec![table],
                    }],
                    alias: None,
                    lookup_table: Some(table),
                    is_multilingual: false,
                    geographical_role: "none".into(),
                    time_role: "none".into(),
                }],
                lookup_table: Some(table),
                key_form: form,
                report_displays: vec![form],
                browse_displays: vec![form],
                report_sorts: Vec::new(),
                browse_sorts: Vec::new(),
                relationships: Vec::new(),
            }),
        }
    }

    #[test]
    fn a_sound_model_has_no_problem() {
        let (t, a) = (Guid::random(), Guid::random());
        let mut model = folders();
        model.extend(table(t, &["ID", "X"]));
        model.push(attribute(a, t, "ID + X"));
        assert_eq!(check_model(&model), Vec::new());
    }

    #[test]
    fn a_missing_table_and_column_and_a_loop_are_each_found() {
        let (t, a, gone) = (Guid::random(), Guid::random(), Guid::random());
        let mut model = folders();
        model.extend(table(t, &["ID"]));
        model.push(attribute(a, t, "ID + NOPE"));
        model.push(attribute(Guid::random(), gone, "ID"));
        let (f1, f2) = (Guid::random(), Guid::random());
        model.push(ModelObject {
            info: info(f1, ObjectKind::Folder, "F1", Some(f2)),
            body: Body::Folder,
        });
        model.push(ModelObject {
            info: info(f2, ObjectKind::Folder, "F2", Some(f1)),
            body: Body::Folder,
        });
        let problems = check_model(&model);
        let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
        assert!(
            problems.iter().any(|p| p.kind == ProblemKind::InvalidDefinition
                && p.object == Some(a)
                && p.message.contains("'NOPE'")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.kind == ProblemKind::MissingReference && p.missing == Some(gone)),
            "{problems:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == ProblemKind::FolderTree).count(),
            2,
            "{problems:?}"
        );
    }

    #[test]
    fn a_missing_system_folder_is_found() {
        let mut model = folders();
        model.retain(|o| o.info.id != TABLES_FOLDER);
        let problems = check_model(&model);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("'Tables'"), "{problems:?}");
    }

    #[test]
    fn update_types_read_back_what_they_write() {
        for t in UpdateType::ALL {
            assert_eq!(UpdateType::parse(t.as_str()), Some(t));
        }
        assert_eq!(UpdateType::parse("TABLE_KEY"), None);
    }
}
