//! The model's objects as vestibule keeps them: folders, physical tables with typed columns (a
//! warehouse table or a free-form SQL statement), the logical tables over them, and attributes
//! with forms, expressions, lookup tables, key form, displays, sorts and relationships.
//!
//! These are stored as JSON documents (serde), so a new optional field needs no migration.
//! Expressions are kept as their canonical text; the tree and token forms are made from it.

use serde::{Deserialize, Serialize};

use crate::ids::Guid;

/// The system ID form category, the same id on every attribute.
pub const ID_CATEGORY: &str = "45C11FA478E745FEA08D781CEA190FE5";
/// The system DESC form category.
pub const DESC_CATEGORY: &str = "CCFBE2A5EADB4F50941FB879CCF1721C";

/// What kind of object: the numbers are MicroStrategy's object types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Folder,
    /// A logical table.
    Table,
    Attribute,
    /// The physical table one or more logical tables are over.
    PhysicalTable,
}

impl ObjectKind {
    /// MicroStrategy's `type` number: 8 folder, 15 (logical) table, 12 attribute, 53 physical
    /// table.
    pub fn type_number(self) -> i32 {
        match self {
            ObjectKind::Folder => 8,
            ObjectKind::Table => 15,
            ObjectKind::Attribute => 12,
            ObjectKind::PhysicalTable => 53,
        }
    }

    /// MicroStrategy's `subtype` number.
    pub fn subtype_number(self) -> i32 {
        match self {
            ObjectKind::Folder => 2048,
            ObjectKind::Table => 3840,
            ObjectKind::Attribute => 3072,
            ObjectKind::PhysicalTable => 13568,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Folder => "folder",
            ObjectKind::Table => "table",
            ObjectKind::Attribute => "attribute",
            ObjectKind::PhysicalTable => "physical_table",
        }
    }

    /// The kind as messages name it.
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::PhysicalTable => "physical table",
            other => other.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<ObjectKind> {
        match s {
            "folder" => Some(ObjectKind::Folder),
            "table" => Some(ObjectKind::Table),
            "attribute" => Some(ObjectKind::Attribute),
            "physical_table" => Some(ObjectKind::PhysicalTable),
            _ => None,
        }
    }
}

/// What every object has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub id: Guid,
    pub project: Guid,
    pub kind: ObjectKind,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The folder holding it; `None` for a project's root folder and for physical tables, which
    /// are reached through their logical tables, not through folders.
    pub folder: Option<Guid>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub comments: Vec<String>,
    pub owner: Option<Guid>,
    pub created_ms: i64,
    pub modified_ms: i64,
    /// Changes at every committed change; a changeset's commit checks it (optimistic locking).
    pub version: Guid,
    /// Who may do what to it; `None` (documents from before ACLs, the project's folder tree):
    /// the default rule of `acl.rs`.
    #[serde(default)]
    pub acl: Option<Vec<crate::model::acl::AccessEntry>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    Folder,
    Table(Table),
    Attribute(Attribute),
    PhysicalTable(PhysicalTable),
}

/// One object of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelObject {
    pub info: ObjectInfo,
    pub body: Body,
}

impl ModelObject {
    pub fn table(&self) -> Option<&Table> {
        match &self.body {
            Body::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn attribute(&self) -> Option<&Attribute> {
        match &self.body {
            Body::Attribute(a) => Some(a),
            _ => None,
        }
    }

    pub fn physical_table(&self) -> Option<&PhysicalTable> {
        match &self.body {
            Body::PhysicalTable(p) => Some(p),
            _ => None,
        }
    }

    /// The objects this one uses and the kind each must be: a logical table's physical table,
    /// the tables an attribute's forms read, the attributes and tables of its relationships. A
    /// model may not keep an object whose references are gone.
    pub fn references(&self) -> Vec<(Guid, ObjectKind)> {
        if let Some(t) = self.table() {
            return vec![(t.physical_id, ObjectKind::PhysicalTable)];
        }
        let Some(a) = self.attribute() else {
            return Vec::new();
        };
        let mut refs: Vec<(Guid, ObjectKind)> = Vec::new();
        refs.extend(a.lookup_table.map(|t| (t, ObjectKind::Table)));
        for f in &a.forms {
            refs.extend(f.lookup_table.map(|t| (t, ObjectKind::Table)));
            for e in &f.expressions {
                refs.extend(e.tables.iter().map(|t| (*t, ObjectKind::Table)));
            }
        }
        for r in &a.relationships {
            refs.push((r.table, ObjectKind::Table));
            refs.extend(r.attributes().map(|id| (id, ObjectKind::Attribute)));
        }
        refs.sort_by_key(|(id, kind)| (*id, kind.as_str()));
        refs.dedup();
        refs
    }

    /// What must exist for the model to keep this object: its folder and its references.
    pub fn needs(&self) -> Vec<(Guid, ObjectKind)> {
        let mut needs = self.references();
        needs.extend(self.info.folder.map(|f| (f, ObjectKind::Folder)));
        needs
    }

    /// Whether deleting `id` would leave this object without something it needs: it is in the
    /// folder `id`, or uses it.
    pub fn depends_on(&self, id: Guid) -> bool {
        self.info.id != id
            && (self.info.folder == Some(id) || self.references().iter().any(|(r, _)| *r == id))
    }

    /// The objects that exist only for those that use them, and go with the last of them: a
    /// logical table's physical table (as in MicroStrategy, deleting a physical table's last
    /// logical table removes it from the project).
    pub fn owned(&self) -> Vec<Guid> {
        self.table().map(|t| vec![t.physical_id]).unwrap_or_default()
    }

    /// The key no two objects of a kind in one folder may share: the name, in lower case. Physical
    /// tables are in no folder and their names need not be unique (free-form SQL tables are named
    /// after their logical tables; two namespaces may hold a table of one name), so theirs is the
    /// name with the id.
    pub fn name_key(&self) -> String {
        let name = self.info.name.to_lowercase();
        match self.info.kind {
            ObjectKind::PhysicalTable => format!("{name}\u{1}{}", self.info.id.to_hex()),
            _ => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataType {
    /// Lower snake case: `integer`, `n_var_char`, `double`, `date`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub precision: i64,
    pub scale: i64,
}

impl DataType {
    /// The usual precision and scale of a type name (`integer` → 4 bytes, strings → 255, …).
    pub fn of(kind: &str) -> DataType {
        let (precision, scale) = match kind {
            "integer" | "unsigned" => (4, 0),
            "big_decimal" | "decimal" | "numeric" => (28, 0),
            "double" | "float" | "real" => (8, 0),
            "date" | "time" | "timestamp" => (0, 0),
            "bool" => (1, 0),
            _ => (255, 0),
        };
        DataType {
            kind: kind.to_owned(),
            precision,
            scale: if kind == "integer" { -2147483648 } else { scale },
        }
    }
}

/// Column type names accepted from the API and the CLI.
pub const DATA_TYPES: &[&str] = &[
    "integer",
    "unsigned",
    "numeric",
    "decimal",
    "real",
    "double",
    "float",
    "char",
    "var_char",
    "n_char",
    "n_var_char",
    "long_var_char",
    "binary",
    "var_bin",
    "date",
    "time",
    "timestamp",
    "big_decimal",
    "bool",
    "utf8_char",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub id: Guid,
    pub name: String,
    pub data_type: DataType,
}

/// A logical table: the model's name for a physical table, which attributes read. Several
/// logical tables may be over one physical table (aliases), sharing its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The physical table object's id.
    pub physical_id: Guid,
    #[serde(default)]
    pub logical_size: i64,
    #[serde(default)]
    pub is_logical_size_locked: bool,
    #[serde(default)]
    pub is_true_key: bool,
    /// Over a free-form SQL table: whether its statement is put in parentheses when it is run.
    #[serde(default = "yes")]
    pub enclose_sql_in_parentheses: bool,
}

fn yes() -> bool {
    true
}

/// What a physical table reads: a warehouse table by name, or a free-form SQL statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhysicalTableType {
    Normal,
    Sql,
}

impl PhysicalTableType {
    pub fn as_str(self) -> &'static str {
        match self {
            PhysicalTableType::Normal => "normal",
            PhysicalTableType::Sql => "sql",
        }
    }
}

/// A physical table: a warehouse table (name, namespace, prefix) or a free-form SQL statement,
/// with its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhysicalTable {
    pub table_type: PhysicalTableType,
    /// The warehouse table's name (empty for a free-form SQL table).
    #[serde(default)]
    pub table_name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub table_prefix: String,
    /// A free-form SQL table's statement.
    #[serde(default)]
    pub sql_statement: Option<String>,
    pub columns: Vec<Column>,
}

impl PhysicalTable {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormExpression {
    pub id: Guid,
    /// Canonical text (see `vestibule_expr`).
    pub text: String,
    pub tables: Vec<Guid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    /// The id of the form's category: the system ID and DESC ids, a stable id per named
    /// category, or a fresh one for a form without category.
    pub id: Guid,
    /// The category's name (`ID`, `DESC`, or another name); `None` for an auto-generated one.
    pub category: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub display_format: String,
    pub data_type: Option<DataType>,
    pub expressions: Vec<FormExpression>,
    pub alias: Option<String>,
    pub lookup_table: Option<Guid>,
    #[serde(default)]
    pub is_multilingual: bool,
    #[serde(default = "none_role")]
    pub geographical_role: String,
    #[serde(default = "none_role")]
    pub time_role: String,
}

fn none_role() -> String {
    "none".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub form: Guid,
    pub ascending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    pub parent: Guid,
    pub child: Child,
    pub table: Guid,
    /// `one_to_one`, `one_to_many` or `many_to_many`.
    pub kind: String,
}

impl Relationship {
    /// Whether `id` is its parent, its child or a member of its joint child.
    pub fn involves(&self, id: Guid) -> bool {
        self.parent == id || self.child.members().contains(&id)
    }

    /// The attributes it relates: the parent, then the child's members.
    pub fn attributes(&self) -> impl Iterator<Item = Guid> + '_ {
        std::iter::once(self.parent).chain(self.child.members().iter().copied())
    }
}

/// The child side of a relationship: one attribute, or a joint child (several attributes that
/// together are the child). Stored as an id or a list of ids, so documents written before joint
/// children read as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Child {
    One(Guid),
    /// Two or more attributes, in the order the client gave them.
    Joint(Vec<Guid>),
}

impl Child {
    pub fn members(&self) -> &[Guid] {
        match self {
            Child::One(id) => std::slice::from_ref(id),
            Child::Joint(ids) => ids,
        }
    }

    pub fn is_joint(&self) -> bool {
        matches!(self, Child::Joint(_))
    }

    /// Whether two child sides share an attribute.
    pub fn overlaps(&self, other: &Child) -> bool {
        self.members().iter().any(|m| other.members().contains(m))
    }
}

pub const RELATIONSHIP_TYPES: &[&str] = &["one_to_one", "one_to_many", "many_to_many"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// `attribute` (the others of spec §4.2 are accepted and kept as given).
    pub sub_type: String,
    #[serde(default)]
    pub is_embedded: bool,
    pub forms: Vec<Form>,
    pub lookup_table: Option<Guid>,
    pub key_form: Guid,
    pub report_displays: Vec<Guid>,
    pub browse_displays: Vec<Guid>,
    pub report_sorts: Vec<Sort>,
    pub browse_sorts: Vec<Sort>,
    /// The relationships in which this attribute is the child, and those of its joint children:
    /// each relationship is kept once, an ordinary one on its child, one with a joint child on its
    /// parent, and every side's view is derived (`model::relationships`). Older documents may hold
    /// ordinary ones where it is the parent; readers take those too.
    #[serde(default)]
    pub relationships: Vec<Relationship>,
}

impl Attribute {
    pub fn form(&self, id: Guid) -> Option<&Form> {
        self.forms.iter().find(|f| f.id == id)
    }
}

/// A changeset: a private workspace of changes, committed atomically or abandoned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Changeset {
    pub id: Guid,
    pub project: Guid,
    pub user: Guid,
    /// Hash (hex) of the token of the session that made it; it dies with that session.
    pub session: String,
    pub schema_edit: bool,
    pub status: ChangesetStatus,
    pub created_ms: i64,
    pub modified_ms: i64,
    /// The change journal comment its requests gave (the last one), for the entry its commit
    /// writes when the commit itself gives none.
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangesetStatus {
    Ready,
    Committed,
}

impl ChangesetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangesetStatus::Ready => "Ready",
            ChangesetStatus::Committed => "Committed",
        }
    }

    pub fn parse(s: &str) -> Option<ChangesetStatus> {
        match s {
            "Ready" => Some(ChangesetStatus::Ready),
            "Committed" => Some(ChangesetStatus::Committed),
            _ => None,
        }
    }
}

/// One staged change in a changeset: the object as it will be after commit (`None`: deleted),
/// and the version of the committed object it was based on (`None`: a new object).
#[derive(Debug, Clone, PartialEq)]
pub struct StagedChange {
    pub id: Guid,
    pub base_version: Option<Guid>,
    pub object: Option<ModelObject>,
}
