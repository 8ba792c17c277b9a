//! What a caller asks for: attribute, table and relationship definitions with references by id
//! or name, before the service resolves and checks them. The HTTP layer builds these from the
//! wire JSON.

use vestibule_expr::Expr;

use crate::ids::Guid;
use crate::model::types::DataType;

/// A reference to an object or a form: `id` wins, else `name`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ref {
    pub id: Option<Guid>,
    pub name: Option<String>,
}

impl Ref {
    pub fn describe(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), _) => id.to_hex(),
            (None, Some(n)) => format!("'{n}'"),
            (None, None) => "(empty reference)".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExprSpec {
    /// `expressionId` echoed back by a client, to keep the expression's id.
    pub id: Option<Guid>,
    pub expr: Expr,
    pub tables: Vec<Ref>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormSpec {
    pub id: Option<Guid>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub display_format: Option<String>,
    pub data_type: Option<DataType>,
    pub expressions: Option<Vec<ExprSpec>>,
    pub alias: Option<String>,
    pub lookup_table: Option<Ref>,
    pub is_multilingual: Option<bool>,
    pub is_form_group: bool,
    pub geographical_role: Option<String>,
    pub time_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    pub form: Ref,
    pub ascending: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipSpec {
    pub parent: Ref,
    pub child: ChildSpec,
    pub table: Ref,
    pub kind: String,
}

/// The child side as given: one attribute, or the members of a joint child.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildSpec {
    One(Ref),
    Joint(Vec<Ref>),
}

/// An attribute definition; on PATCH every `None` means "unchanged".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeSpec {
    pub name: Option<String>,
    pub description: Option<String>,
    pub sub_type: Option<String>,
    pub folder: Option<Guid>,
    pub is_embedded: Option<bool>,
    pub forms: Option<Vec<FormSpec>>,
    pub lookup_table: Option<Ref>,
    pub key_form: Option<Ref>,
    pub report_displays: Option<Vec<Ref>>,
    pub browse_displays: Option<Vec<Ref>>,
    pub report_sorts: Option<Vec<SortSpec>>,
    pub browse_sorts: Option<Vec<SortSpec>>,
    pub relationships: Option<Vec<RelationshipSpec>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    pub name: String,
    pub data_type: DataType,
}

/// The physical table a new logical table is over.
#[derive(Debug, Clone, PartialEq)]
pub enum PhysicalSpec {
    /// A warehouse table: the existing physical table of this namespace and name when the project
    /// has one, else a new one with these columns.
    Normal {
        /// The warehouse table's name; the logical name when absent.
        table_name: Option<String>,
        namespace: Option<String>,
        table_prefix: Option<String>,
        columns: Vec<ColumnSpec>,
    },
    /// A new free-form SQL table.
    Sql {
        sql_statement: String,
        columns: Vec<ColumnSpec>,
    },
    /// An existing physical table, by id (an alias). What else is given of it must agree with it.
    Existing {
        id: Guid,
        table_type: Option<crate::model::types::PhysicalTableType>,
        table_name: Option<String>,
        namespace: Option<String>,
        sql_statement: Option<String>,
        columns: Vec<ColumnSpec>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    /// The logical table's name; when absent, the physical table's name (`Name (1)`, … when that
    /// is taken).
    pub name: Option<String>,
    pub description: Option<String>,
    pub folder: Option<Guid>,
    pub physical: PhysicalSpec,
    pub logical_size: Option<i64>,
    pub is_logical_size_locked: Option<bool>,
    pub is_true_key: Option<bool>,
    pub enclose_sql_in_parentheses: Option<bool>,
}

impl TableSpec {
    /// A table with only a name, a physical table and its columns (the CLI's).
    pub fn normal(name: &str, table_name: Option<String>, columns: Vec<ColumnSpec>) -> TableSpec {
        TableSpec {
            name: Some(name.to_owned()),
            description: None,
            folder: None,
            physical: PhysicalSpec::Normal {
                table_name,
                namespace: None,
                table_prefix: None,
                columns,
            },
            logical_size: None,
            is_logical_size_locked: None,
            is_true_key: None,
            enclose_sql_in_parentheses: None,
        }
    }
}

/// Changes to an object's properties through `PUT /api/objects/{id}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InfoPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub hidden: Option<bool>,
    /// The long description, which MicroStrategy also shows as the object's comments.
    pub comments: Option<Vec<String>>,
    /// Moves the object into this folder.
    pub folder: Option<Guid>,
}
