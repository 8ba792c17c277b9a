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

#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub name: String,
    /// The warehouse table's name; the logical name when absent.
    pub physical_name: Option<String>,
    pub namespace: Option<String>,
    pub folder: Option<Guid>,
    pub columns: Vec<ColumnSpec>,
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
