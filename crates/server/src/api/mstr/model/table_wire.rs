//! The logical table JSON of spec §4: the body that creates a table (read into [`TableSpec`]),
//! and a table as the API writes it, in full or as an entry of the list.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::ids::Guid;
use vestibule_core::model::spec::{ColumnSpec, TableSpec};
use vestibule_core::model::types::{ModelObject, Table};

use super::wire::{missing, opt_guid, DataTypeIn, DataTypeJson, Information, ObjectRef};
use crate::api::mstr::error::MstrResult;

// --- request ---------------------------------------------------------------------------------

/// A table to create: `information{name, destinationFolderId?}` and
/// `physicalTable{tableName?, namespace?, columns[{columnName | information.name, dataType}]}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableBody {
    #[schema(required = true, nullable = false)]
    pub information: Option<TableInformationIn>,
    #[schema(required = true, nullable = false)]
    pub physical_table: Option<PhysicalTableIn>,
    /// The comment for the change journal entry of the commit.
    pub change_journal: Option<super::wire::ChangeJournalIn>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableInformationIn {
    #[schema(required = true, nullable = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_guid")]
    #[schema(value_type = Option<String>)]
    pub destination_folder_id: Option<Guid>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalTableIn {
    /// The warehouse table's name; the logical name when absent.
    pub table_name: Option<String>,
    pub namespace: Option<String>,
    #[schema(required = true, nullable = false)]
    pub columns: Option<Vec<ColumnIn>>,
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

impl TableBody {
    /// The core's spec of this body; what a table needs is checked here, by path.
    pub fn into_spec(self) -> MstrResult<TableSpec> {
        let info = self.information.ok_or_else(|| missing("information"))?;
        let name = info.name.ok_or_else(|| missing("information.name"))?;
        let pt = self.physical_table.ok_or_else(|| missing("physicalTable"))?;
        let columns = pt
            .columns
            .ok_or_else(|| missing("physicalTable.columns"))?
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
            .collect::<MstrResult<Vec<_>>>()?;
        Ok(TableSpec {
            name,
            physical_name: pt.table_name,
            namespace: pt.namespace,
            folder: info.destination_folder_id,
            columns,
        })
    }
}

// --- response --------------------------------------------------------------------------------

/// The warehouse table behind a logical table.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalTableJson {
    pub information: ObjectRef,
    pub table_name: String,
    pub columns: Vec<ColumnJson>,
    pub namespace: String,
    pub table_prefix: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
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
    pub fn of(o: &ModelObject, t: &Table) -> PhysicalTableJson {
        PhysicalTableJson {
            information: ObjectRef {
                object_id: t.physical_id.to_hex(),
                sub_type: "physical_table".into(),
                name: t.physical_name.clone(),
            },
            table_name: t.physical_name.clone(),
            columns: t
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
            namespace: t.namespace.clone(),
            table_prefix: "",
            kind: "normal",
            logical_table_id: o.info.id.to_hex(),
        }
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
    pub fn of(o: &ModelObject, fields: &[String]) -> TableEntry {
        let want = |f: &str| {
            fields.is_empty() && f == "information" || fields.iter().any(|x| x.eq_ignore_ascii_case(f))
        };
        TableEntry {
            information: want("information").then(|| Information::of(o, "logical_table", false)),
            physical_table: if want("physicalTable") {
                o.table().map(|t| PhysicalTableJson::of(o, t))
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
    /// The table `o` (`None` when it is not one), with those of `attributes` that read it.
    pub fn of(o: &ModelObject, attributes: &[ModelObject], created: bool) -> Option<TableJson> {
        let t = o.table()?;
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
            information: Information::of(o, "logical_table", created),
            physical_table: PhysicalTableJson::of(o, t),
            logical_size: 0,
            is_logical_size_locked: false,
            is_true_key: false,
            is_part_of_partition: false,
            table_key: Vec::new(),
            attributes,
            facts: Vec::new(),
        })
    }
}
