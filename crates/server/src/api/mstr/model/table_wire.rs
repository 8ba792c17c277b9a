//! The logical table JSON of spec §4: the body that creates a table (read into [`TableSpec`]),
//! and a table as the API writes it, in full or as an entry of the list, with the physical table
//! it is over.
//!
//! The body's `physicalTable` says which physical table: `information.objectId` of an existing
//! one (an alias, as mstrio-py's `create_alias` sends it), `type: "sql"` with a `sqlStatement`
//! and columns (a free-form SQL table), or a warehouse table's `tableName`, `namespace` and
//! columns (the existing physical table of that name when the project has one).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::ids::Guid;
use vestibule_core::model::spec::{ColumnSpec, PhysicalSpec, TableSpec};
use vestibule_core::model::types::{ModelObject, PhysicalTable, PhysicalTableType};

use super::wire::{missing, opt_guid, DataTypeIn, DataTypeJson, Information, ObjectRef};
use crate::api::body;
use crate::api::mstr::error::{MstrError, MstrResult};

// --- request ---------------------------------------------------------------------------------

/// A table to create: `information{name?, description?, destinationFolderId?}` (none: the
/// physical table's name, `Name (1)` when taken) and `physicalTable`; other fields MicroStrategy
/// has (`primaryDataSource`, `isPartOfPartition`, …) are not read.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableBody {
    pub information: Option<TableInformationIn>,
    #[schema(required = true, nullable = false)]
    pub physical_table: Option<PhysicalTableIn>,
    #[serde(default, deserialize_with = "body::int")]
    #[schema(schema_with = body::nullable_int_schema)]
    pub logical_size: Option<i64>,
    #[serde(default, deserialize_with = "body::true_false")]
    #[schema(value_type = Option<bool>)]
    pub is_logical_size_locked: Option<bool>,
    #[serde(default, deserialize_with = "body::true_false")]
    #[schema(value_type = Option<bool>)]
    pub is_true_key: Option<bool>,
    /// Over a free-form SQL table: put its statement in parentheses (default true).
    #[serde(default, deserialize_with = "body::true_false")]
    #[schema(value_type = Option<bool>)]
    pub enclose_sql_in_parentheses: Option<bool>,
    /// The comment for the change journal entry of the commit.
    pub change_journal: Option<super::wire::ChangeJournalIn>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableInformationIn {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_guid")]
    #[schema(value_type = Option<String>)]
    pub destination_folder_id: Option<Guid>,
}

/// The physical table: an existing one by `information.objectId`, or a new one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalTableIn {
    /// `objectId`: an existing physical table, which the new logical table is an alias of.
    pub information: Option<PhysicalInformationIn>,
    /// `normal` (a warehouse table, the default) or `sql` (a free-form SQL statement).
    #[serde(rename = "type")]
    #[schema(pattern = "^([Nn][Oo][Rr][Mm][Aa][Ll]|[Ss][Qq][Ll])?$")]
    pub kind: Option<String>,
    /// The warehouse table's name; the logical name when absent.
    pub table_name: Option<String>,
    pub namespace: Option<String>,
    pub table_prefix: Option<String>,
    /// A free-form SQL table's statement.
    pub sql_statement: Option<String>,
    /// Required for a new physical table (there is no warehouse to read them from).
    pub columns: Option<Vec<ColumnIn>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalInformationIn {
    #[serde(default, deserialize_with = "opt_guid")]
    #[schema(value_type = Option<String>)]
    pub object_id: Option<Guid>,
}

/// A column: its name in `columnName` (or `information.name`) and its data type.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ColumnIn {
    pub column_name: Option<String>,
    pub information: Option<ColumnInformationIn>,
    #[schema(required = true, nullable = false)]
    pub data_type: Option<DataTypeIn>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ColumnInformationIn {
    pub name: Option<String>,
}

fn columns(list: Option<Vec<ColumnIn>>) -> MstrResult<Vec<ColumnSpec>> {
    list.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let p = format!("physicalTable.columns[{i}]");
            let name = c
                .column_name
                .or_else(|| c.information.and_then(|ci| ci.name))
                .ok_or_else(|| missing(&format!("{p}.columnName")))?;
            let dt = c.data_type.ok_or_else(|| missing(&format!("{p}.dataType")))?;
            Ok(ColumnSpec {
                name,
                data_type: dt.into_data_type(&format!("{p}.dataType"))?,
            })
        })
        .collect()
}

fn table_type(kind: Option<&str>) -> MstrResult<Option<PhysicalTableType>> {
    match kind.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(None),
        Some("normal") => Ok(Some(PhysicalTableType::Normal)),
        Some("sql") => Ok(Some(PhysicalTableType::Sql)),
        Some(other) => Err(MstrError::invalid(format!(
            "'physicalTable.type' must be normal or sql, not '{other}' (partition tables are not supported)"
        ))),
    }
}

/// A field that does not belong to the kind of physical table being made.
fn not_for(field: &str, what: &str) -> MstrError {
    MstrError::invalid(format!("'physicalTable.{field}' is not given for {what}"))
}

fn given(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

impl TableBody {
    /// The core's spec of this body; what a table needs is checked here, by path.
    pub fn into_spec(self) -> MstrResult<TableSpec> {
        let info = self.information.unwrap_or_default();
        let pt = self.physical_table.ok_or_else(|| missing("physicalTable"))?;
        let kind = table_type(pt.kind.as_deref())?;
        let existing = pt.information.and_then(|i| i.object_id);
        let columns = columns(pt.columns)?;
        let physical = match (existing, kind) {
            (Some(id), table_type) => PhysicalSpec::Existing {
                id,
                table_type,
                table_name: pt.table_name,
                namespace: pt.namespace,
                sql_statement: pt.sql_statement,
                columns,
            },
            (None, Some(PhysicalTableType::Sql)) => {
                for (field, value) in [
                    ("tableName", &pt.table_name),
                    ("namespace", &pt.namespace),
                    ("tablePrefix", &pt.table_prefix),
                ] {
                    if given(value) {
                        return Err(not_for(field, "a free-form SQL table (type sql)"));
                    }
                }
                PhysicalSpec::Sql {
                    sql_statement: pt
                        .sql_statement
                        .filter(|s| !s.trim().is_empty())
                        .ok_or_else(|| missing("physicalTable.sqlStatement"))?,
                    columns,
                }
            }
            (None, _) => {
                if given(&pt.sql_statement) {
                    return Err(not_for(
                        "sqlStatement",
                        "a warehouse table (type normal); a free-form SQL table is type sql",
                    ));
                }
                PhysicalSpec::Normal {
                    table_name: pt.table_name.filter(|n| !n.is_empty()),
                    namespace: pt.namespace,
                    table_prefix: pt.table_prefix,
                    columns,
                }
            }
        };
        Ok(TableSpec {
            name: info.name,
            description: info.description,
            folder: info.destination_folder_id,
            physical,
            logical_size: self.logical_size,
            is_logical_size_locked: self.is_logical_size_locked,
            is_true_key: self.is_true_key,
            enclose_sql_in_parentheses: self.enclose_sql_in_parentheses,
        })
    }
}

// --- response --------------------------------------------------------------------------------

/// The physical table behind a logical table: a warehouse table (`tableName`, `namespace`,
/// `tablePrefix`) or a free-form SQL table (`sqlStatement`), with its columns.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalTableJson {
    /// The physical table object (type 53): the id `GET /api/objects/{id}?type=53` reads.
    pub information: Information,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    pub columns: Vec<ColumnJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_statement: Option<String>,
    /// `normal` or `sql`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The logical table this answer is about.
    pub logical_table_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ColumnJson {
    pub information: ObjectRef,
    pub data_type: DataTypeJson,
    pub column_name: String,
}

impl PhysicalTableJson {
    /// The physical table `po` (`p` its body) under the logical table `logical`; `created` for
    /// one made with it (the create response's `information`).
    pub fn of(
        logical: &ModelObject,
        po: &ModelObject,
        p: &PhysicalTable,
        created: bool,
    ) -> PhysicalTableJson {
        let normal = p.table_type == PhysicalTableType::Normal;
        PhysicalTableJson {
            information: Information::of(po, "physical_table", created),
            table_name: normal.then(|| p.table_name.clone()),
            columns: p
                .columns
                .iter()
                .map(|c| ColumnJson {
                    information: ObjectRef {
                        object_id: c.id.to_hex(),
                        sub_type: "column".into(),
                        name: c.name.clone(),
                    },
                    data_type: DataTypeJson::from(&c.data_type),
                    column_name: c.name.clone(),
                })
                .collect(),
            namespace: normal.then(|| p.namespace.clone()),
            table_prefix: normal.then(|| p.table_prefix.clone()),
            sql_statement: p.sql_statement.clone().filter(|_| !normal),
            kind: p.table_type.as_str(),
            logical_table_id: logical.info.id.to_hex(),
        }
    }
}

/// The physical tables of a view by id, to write the logical tables over them.
pub struct Physicals(pub HashMap<Guid, ModelObject>);

impl Physicals {
    pub fn new(objects: Vec<ModelObject>) -> Physicals {
        Physicals(objects.into_iter().map(|o| (o.info.id, o)).collect())
    }

    /// The physical table of logical table `o`.
    pub fn of(&self, o: &ModelObject) -> Option<(&ModelObject, &PhysicalTable)> {
        let po = self.0.get(&o.table()?.physical_id)?;
        Some((po, po.physical_table()?))
    }
}

/// A table's entry in the list (`fields` picks `information` and/or `physicalTable`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub information: Option<Information>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_table: Option<PhysicalTableJson>,
}

impl TableEntry {
    pub fn of(o: &ModelObject, physicals: &Physicals, fields: &[String]) -> TableEntry {
        let want = |f: &str| {
            fields.is_empty() && f == "information" || fields.iter().any(|x| x.eq_ignore_ascii_case(f))
        };
        TableEntry {
            information: want("information").then(|| Information::of(o, "logical_table", false)),
            physical_table: if want("physicalTable") {
                physicals
                    .of(o)
                    .map(|(po, p)| PhysicalTableJson::of(o, po, p, false))
            } else {
                None
            },
        }
    }
}

/// `{offset, limit, total, tables:[…]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableList {
    pub offset: i64,
    pub limit: i64,
    pub total: usize,
    pub tables: Vec<TableEntry>,
}

/// A table in full, with the attributes whose forms read it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableJson {
    pub information: Information,
    pub physical_table: PhysicalTableJson,
    pub logical_size: i64,
    pub is_logical_size_locked: bool,
    pub is_true_key: bool,
    pub is_part_of_partition: bool,
    /// Over a free-form SQL table only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enclose_sql_in_parentheses: Option<bool>,
    /// Always empty.
    pub table_key: Vec<ObjectRef>,
    pub attributes: Vec<TableAttributeJson>,
    /// Always empty: vestibule models no facts.
    pub facts: Vec<ObjectRef>,
}

/// An attribute that reads a table, with the forms that read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableAttributeJson {
    pub information: ObjectRef,
    pub forms: Vec<TableFormJson>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableFormJson {
    pub form_category: ObjectRef,
    pub name: String,
    pub data_format: String,
    pub expression: ExpressionTextJson,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpressionTextJson {
    pub text: String,
}

impl TableJson {
    /// The table `o` over the physical table `physical` (`None` when either is not what it
    /// should be), with those of `attributes` that read it; `created`: the create response, and
    /// whether the physical table was made with it.
    pub fn of(
        o: &ModelObject,
        physical: &ModelObject,
        attributes: &[ModelObject],
        created: Option<bool>,
    ) -> Option<TableJson> {
        let t = o.table()?;
        let p = physical.physical_table()?;
        let attributes = attributes
            .iter()
            .filter_map(|ao| ao.attribute().map(|a| (ao, a)))
            .filter_map(|(ao, a)| {
                let forms: Vec<TableFormJson> = a
                    .forms
                    .iter()
                    .filter_map(|f| {
                        let e = f.expressions.iter().find(|e| e.tables.contains(&o.info.id))?;
                        Some(TableFormJson {
                            form_category: ObjectRef {
                                object_id: f.id.to_hex(),
                                sub_type: if f.category.is_some() {
                                    "attribute_form_system"
                                } else {
                                    "attribute_form_custom"
                                }
                                .into(),
                                name: f.category.clone().unwrap_or_else(|| f.name.clone()),
                            },
                            name: f.name.clone(),
                            data_format: f.display_format.clone(),
                            expression: ExpressionTextJson { text: e.text.clone() },
                        })
                    })
                    .collect();
                (!forms.is_empty()).then(|| TableAttributeJson {
                    information: ObjectRef {
                        object_id: ao.info.id.to_hex(),
                        sub_type: a.sub_type.clone(),
                        name: ao.info.name.clone(),
                    },
                    forms,
                })
            })
            .collect();
        Some(TableJson {
            information: Information::of(o, "logical_table", created.is_some()),
            physical_table: PhysicalTableJson::of(o, physical, p, created == Some(true)),
            logical_size: t.logical_size,
            is_logical_size_locked: t.is_logical_size_locked,
            is_true_key: t.is_true_key,
            is_part_of_partition: false,
            enclose_sql_in_parentheses: (p.table_type == PhysicalTableType::Sql)
                .then_some(t.enclose_sql_in_parentheses),
            table_key: Vec::new(),
            attributes,
            facts: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::mstr::model::wire::read;

    fn spec(body: &str) -> MstrResult<TableSpec> {
        read::<TableBody>(body.as_bytes())?.into_spec()
    }

    #[test]
    fn the_physical_table_is_named_by_id_or_made_new() {
        let id = "E278D17342991E49710D6F90E2A7BF2C";
        let s = spec(&format!(
            r#"{{"physicalTable":{{"information":{{"objectId":"{id}"}}}}}}"#
        ))
        .unwrap();
        assert_eq!(s.name, None);
        assert!(matches!(s.physical, PhysicalSpec::Existing { id: i, .. } if i.to_hex() == id));

        let s = spec(
            r#"{"information":{"name":"S"},"physicalTable":{"type":"SQL","sqlStatement":"select 1 a",
                "columns":[{"columnName":"A","dataType":{"type":"integer","precision":"2","scale":" 0 "}}]}}"#,
        )
        .unwrap();
        let PhysicalSpec::Sql {
            sql_statement,
            columns,
        } = s.physical
        else {
            panic!("a SQL table")
        };
        assert_eq!(sql_statement, "select 1 a");
        assert_eq!(
            (columns[0].data_type.precision, columns[0].data_type.scale),
            (2, 0)
        );

        let s = spec(r#"{"physicalTable":{"tableName":"T","columns":[]},"logicalSize":"15"}"#).unwrap();
        assert_eq!(s.logical_size, Some(15));
        assert!(matches!(s.physical, PhysicalSpec::Normal { table_name: Some(ref n), .. } if n == "T"));
    }

    #[test]
    fn wrong_numbers_and_mixed_kinds_are_refused_by_path() {
        let e = spec(
            r#"{"physicalTable":{"columns":[{"columnName":"A","dataType":{"type":"integer","precision":"two"}}]}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, "ERR006");
        assert!(
            e.message
                .starts_with("'physicalTable.columns[0].dataType.precision': invalid value"),
            "{}",
            e.message
        );
        let e = spec(r#"{"physicalTable":{"tableName":"T"},"logicalSize":[1]}"#).unwrap_err();
        assert!(e.message.starts_with("'logicalSize'"), "{}", e.message);
        let e = spec(r#"{"physicalTable":{"type":"sql"}}"#).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("ERR007", "'physicalTable.sqlStatement' is required")
        );
        let e = spec(r#"{"physicalTable":{"type":"sql","sqlStatement":"x","tableName":"T"}}"#).unwrap_err();
        assert!(e.message.contains("'physicalTable.tableName'"), "{}", e.message);
        let e = spec(r#"{"physicalTable":{"tableName":"T","sqlStatement":"x"}}"#).unwrap_err();
        assert!(
            e.message.contains("'physicalTable.sqlStatement'"),
            "{}",
            e.message
        );
        let e = spec(r#"{"physicalTable":{"type":"warehouse_partition"}}"#).unwrap_err();
        assert!(e.message.contains("'physicalTable.type'"), "{}", e.message);
        let e = spec(r#"{"information":{"name":"T"}}"#).unwrap_err();
        assert_eq!(e.message, "'physicalTable' is required");
    }
}
