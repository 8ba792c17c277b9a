//! The attribute JSON of spec §4.2: the body a client sends to create or change an attribute
//! (read into [`AttributeSpec`]) and the definition the API answers with, its expressions as
//! text and, on request, as tree, tokens and potential tables.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use vestibule_core::model::relationships::involving;
use vestibule_core::model::spec::{AttributeSpec, ExprSpec, FormSpec, SortSpec};
use vestibule_core::model::types::{Attribute, FormExpression, ModelObject, Sort};

use super::relationship_wire::{RelationshipIn, RelationshipJson};
use super::wire::{
    expression_error, missing, opt_guid, refs, ChangeJournalIn, DataTypeIn, DataTypeJson, Information, Names,
    ObjectRef, RefIn,
};
use super::Show;
use crate::api::mstr::error::{MstrError, MstrResult};

// --- request ---------------------------------------------------------------------------------

/// An attribute definition; on PATCH an absent field is unchanged.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeBody {
    pub information: Option<AttributeInformationIn>,
    pub forms: Option<Vec<FormIn>>,
    pub attribute_lookup_table: Option<RefIn>,
    pub key_form: Option<RefIn>,
    pub displays: Option<DisplaysIn>,
    pub sorts: Option<SortsIn>,
    pub relationships: Option<Vec<RelationshipIn>>,
    /// The comment for the change journal entry of the commit.
    pub change_journal: Option<ChangeJournalIn>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeInformationIn {
    pub name: Option<String>,
    pub description: Option<String>,
    pub sub_type: Option<String>,
    #[serde(default, deserialize_with = "opt_guid")]
    #[schema(value_type = Option<String>)]
    pub destination_folder_id: Option<vestibule_core::ids::Guid>,
    #[serde(default, deserialize_with = "crate::api::body::true_false")]
    #[schema(value_type = Option<bool>)]
    pub is_embedded: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FormIn {
    #[serde(default, deserialize_with = "opt_guid")]
    #[schema(value_type = Option<String>)]
    pub id: Option<vestibule_core::ids::Guid>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub display_format: Option<String>,
    pub data_type: Option<DataTypeIn>,
    pub expressions: Option<Vec<ExpressionIn>>,
    pub alias: Option<String>,
    pub lookup_table: Option<RefIn>,
    #[serde(default, deserialize_with = "crate::api::body::true_false")]
    #[schema(value_type = Option<bool>)]
    pub is_multilingual: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::body::true_false")]
    #[schema(value_type = Option<bool>)]
    pub is_form_group: Option<bool>,
    pub geographical_role: Option<String>,
    pub time_role: Option<String>,
}

/// A form expression; `expression.text` is read-only, the tree or the tokens are what count.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpressionIn {
    #[serde(default, deserialize_with = "opt_guid")]
    #[schema(value_type = Option<String>)]
    pub expression_id: Option<vestibule_core::ids::Guid>,
    #[schema(required = true, nullable = false)]
    pub expression: Option<ExpressionValueIn>,
    pub tables: Option<Vec<RefIn>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ExpressionValueIn {
    /// The expression tree (spec §4.3); wins over `tokens`.
    pub tree: Option<Value>,
    /// The expression as tokens (spec §4.3).
    pub tokens: Option<Vec<Value>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisplaysIn {
    pub report_displays: Option<Vec<RefIn>>,
    pub browse_displays: Option<Vec<RefIn>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SortsIn {
    pub report_sorts: Option<Vec<SortIn>>,
    pub browse_sorts: Option<Vec<SortIn>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SortIn {
    #[schema(required = true, nullable = false)]
    pub form: Option<RefIn>,
    /// Default true.
    #[serde(default, deserialize_with = "crate::api::body::true_false")]
    #[schema(value_type = Option<bool>)]
    pub ascending: Option<bool>,
}

impl AttributeBody {
    /// The core's spec of this body and its change journal comment; what a definition needs is
    /// checked here, by path.
    pub fn into_spec_and_comment(mut self) -> MstrResult<(AttributeSpec, Option<String>)> {
        let comment = ChangeJournalIn::comment(self.change_journal.take());
        Ok((self.into_spec()?, comment))
    }

    /// The core's spec of this body; what a definition needs is checked here, by path.
    pub fn into_spec(self) -> MstrResult<AttributeSpec> {
        let mut spec = AttributeSpec::default();
        if let Some(info) = self.information {
            spec.name = info.name;
            spec.description = info.description;
            spec.sub_type = info.sub_type;
            spec.folder = info.destination_folder_id;
            spec.is_embedded = info.is_embedded;
        }
        spec.forms = self
            .forms
            .map(|forms| {
                forms
                    .into_iter()
                    .enumerate()
                    .map(|(i, f)| f.into_spec(&format!("forms[{i}]")))
                    .collect::<MstrResult<Vec<_>>>()
            })
            .transpose()?;
        spec.lookup_table = self
            .attribute_lookup_table
            .map(|t| t.into_ref("attributeLookupTable"))
            .transpose()?;
        spec.key_form = self.key_form.map(|k| k.into_ref("keyForm")).transpose()?;
        if let Some(d) = self.displays {
            spec.report_displays = refs(d.report_displays, "displays.reportDisplays")?;
            spec.browse_displays = refs(d.browse_displays, "displays.browseDisplays")?;
        }
        if let Some(s) = self.sorts {
            spec.report_sorts = sorts(s.report_sorts, "sorts.reportSorts")?;
            spec.browse_sorts = sorts(s.browse_sorts, "sorts.browseSorts")?;
        }
        spec.relationships = self
            .relationships
            .map(|r| RelationshipIn::into_specs(r, "relationships"))
            .transpose()?;
        Ok(spec)
    }
}

impl FormIn {
    fn into_spec(self, path: &str) -> MstrResult<FormSpec> {
        Ok(FormSpec {
            id: self.id,
            name: self.name,
            description: self.description,
            category: self.category,
            display_format: self.display_format,
            data_type: self
                .data_type
                .map(|d| d.into_data_type(&format!("{path}.dataType")))
                .transpose()?,
            expressions: self
                .expressions
                .map(|list| {
                    list.into_iter()
                        .enumerate()
                        .map(|(i, e)| e.into_spec(&format!("{path}.expressions[{i}]")))
                        .collect::<MstrResult<Vec<_>>>()
                })
                .transpose()?,
            alias: self.alias,
            lookup_table: self
                .lookup_table
                .map(|t| t.into_ref(&format!("{path}.lookupTable")))
                .transpose()?,
            is_multilingual: self.is_multilingual,
            is_form_group: self.is_form_group.unwrap_or(false),
            geographical_role: self.geographical_role,
            time_role: self.time_role,
        })
    }
}

impl ExpressionIn {
    fn into_spec(self, path: &str) -> MstrResult<ExprSpec> {
        let e = self
            .expression
            .ok_or_else(|| missing(&format!("{path}.expression")))?;
        let expr = if let Some(tree) = &e.tree {
            vestibule_expr::tree::from_tree(tree)
                .map_err(|err| expression_error(&format!("{path}.expression.tree"), err))?
        } else if let Some(tokens) = &e.tokens {
            vestibule_expr::tokens::from_tokens(tokens)
                .map_err(|err| expression_error(&format!("{path}.expression.tokens"), err))?
        } else {
            return Err(MstrError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "ERR007",
                format!("'{path}.expression' needs a 'tree' or 'tokens' ('text' is read-only)"),
            ));
        };
        Ok(ExprSpec {
            id: self.expression_id,
            expr,
            tables: refs(self.tables, &format!("{path}.tables"))?.unwrap_or_default(),
        })
    }
}

fn sorts(list: Option<Vec<SortIn>>, path: &str) -> MstrResult<Option<Vec<SortSpec>>> {
    list.map(|l| {
        l.into_iter()
            .enumerate()
            .map(|(i, s)| {
                let p = format!("{path}[{i}]");
                let form = s.form.ok_or_else(|| missing(&format!("{p}.form")))?;
                Ok(SortSpec {
                    form: form.into_ref(&format!("{p}.form"))?,
                    ascending: s.ascending.unwrap_or(true),
                })
            })
            .collect()
    })
    .transpose()
}

// --- response --------------------------------------------------------------------------------

/// An attribute as spec §4.2 shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeJson {
    pub information: Information,
    pub forms: Vec<FormJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_lookup_table: Option<ObjectRef>,
    pub key_form: FormRef,
    pub displays: DisplaysJson,
    pub sorts: SortsJson,
    pub relationships: Vec<RelationshipJson>,
    /// With `showFields=acl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<Vec<AclEntry>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FormJson {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub category: String,
    /// `system` for a form with a category, else `custom`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub display_format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<DataTypeJson>,
    pub expressions: Vec<ExpressionJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup_table: Option<ObjectRef>,
    pub is_multilingual: bool,
    pub is_form_group: bool,
    pub geographical_role: String,
    pub time_role: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExpressionJson {
    pub expression_id: String,
    pub expression: ExpressionValueJson,
    pub tables: Vec<ObjectRef>,
    /// With `showPotentialTables=true`: the tables that have every column the expression reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub potential_tables: Option<Vec<ObjectRef>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpressionValueJson {
    pub text: String,
    /// With `showExpressionAs=tree`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<Value>,
    /// With `showExpressionAs=tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<Value>>,
}

/// A form by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisplaysJson {
    pub report_displays: Vec<FormRef>,
    pub browse_displays: Vec<FormRef>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SortsJson {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub report_sorts: Vec<SortJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub browse_sorts: Vec<SortJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SortJson {
    pub form: FormRef,
    pub ascending: bool,
}

/// An access-control entry: vestibule keeps one, the owner's full control.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AclEntry {
    pub deny: bool,
    #[serde(rename = "type")]
    pub kind: u32,
    pub rights: u32,
    pub trustee_id: String,
    pub trustee_type: u32,
    pub trustee_subtype: u32,
    pub inheritable: bool,
}

fn form_ref(a: &Attribute, id: vestibule_core::ids::Guid) -> FormRef {
    FormRef {
        id: id.to_hex(),
        name: a.form(id).map(|f| f.name.clone()).unwrap_or_default(),
    }
}

fn sorts_json(a: &Attribute, sorts: &[Sort]) -> Vec<SortJson> {
    sorts
        .iter()
        .map(|s| SortJson {
            form: form_ref(a, s.form),
            ascending: s.ascending,
        })
        .collect()
}

/// The owner's full control, the one entry vestibule keeps.
fn acl(o: &ModelObject) -> Vec<AclEntry> {
    o.info
        .owner
        .map(|owner| AclEntry {
            deny: false,
            kind: 1,
            rights: 255,
            trustee_id: owner.to_hex(),
            trustee_type: 34,
            trustee_subtype: 8704,
            inheritable: false,
        })
        .into_iter()
        .collect()
}

/// The expression of a form in the forms `show` asks for.
fn expression_json(e: &FormExpression, names: &Names, show: Show) -> ExpressionJson {
    let mut value = ExpressionValueJson {
        text: e.text.clone(),
        tree: None,
        tokens: None,
    };
    if show.tree || show.tokens {
        if let Ok(parsed) = vestibule_expr::parse(&e.text) {
            if show.tree {
                let column_id = |c: &str| names.column(&e.tables, c).map(|(_, col)| col.id.to_hex());
                value.tree = Some(vestibule_expr::tree::to_tree(&parsed, &column_id));
            }
            if show.tokens {
                let target = |c: &str| {
                    names.column(&e.tables, c).and_then(|(_, col)| {
                        serde_json::to_value(ObjectRef {
                            object_id: col.id.to_hex(),
                            sub_type: "column".into(),
                            name: col.name.clone(),
                        })
                        .ok()
                    })
                };
                value.tokens = Some(vestibule_expr::tokens::to_tokens(&parsed, &target));
            }
        }
    }
    let potential_tables = show.potential_tables.then(|| {
        let columns: Vec<String> = vestibule_expr::parse(&e.text)
            .map(|p| p.columns().into_iter().map(str::to_owned).collect())
            .unwrap_or_default();
        let mut potential: Vec<&ModelObject> = names
            .objects
            .values()
            .filter(|o| {
                names
                    .physical_of(o.info.id)
                    .is_some_and(|p| columns.iter().all(|c| p.column(c).is_some()))
            })
            .collect();
        potential.sort_by_key(|o| o.info.name.to_lowercase());
        potential.iter().map(|o| names.table_ref(o.info.id)).collect()
    });
    ExpressionJson {
        expression_id: e.id.to_hex(),
        expression: value,
        tables: e.tables.iter().map(|t| names.table_ref(*t)).collect(),
        potential_tables,
    }
}

impl AttributeJson {
    /// The definition of `o`, or `None` when it is not an attribute.
    pub fn of(o: &ModelObject, names: &Names, show: Show, created: bool) -> Option<AttributeJson> {
        let a = o.attribute()?;
        let forms = a
            .forms
            .iter()
            .map(|f| FormJson {
                id: f.id.to_hex(),
                name: f.name.clone(),
                description: (!f.description.is_empty()).then(|| f.description.clone()),
                category: f.category.clone().unwrap_or_else(|| f.name.clone()),
                kind: if f.category.is_some() { "system" } else { "custom" },
                display_format: f.display_format.clone(),
                data_type: f.data_type.as_ref().map(DataTypeJson::from),
                expressions: f
                    .expressions
                    .iter()
                    .map(|e| expression_json(e, names, show))
                    .collect(),
                alias: f.alias.clone(),
                lookup_table: f.lookup_table.or(a.lookup_table).map(|t| names.table_ref(t)),
                is_multilingual: f.is_multilingual,
                is_form_group: false,
                geographical_role: f.geographical_role.clone(),
                time_role: f.time_role.clone(),
            })
            .collect();
        let mut information = Information::of(o, &a.sub_type, created);
        information.is_embedded = Some(a.is_embedded);
        Some(AttributeJson {
            information,
            forms,
            attribute_lookup_table: a
                .lookup_table
                .or_else(|| a.forms.iter().find_map(|f| f.lookup_table))
                .map(|t| names.table_ref(t)),
            key_form: form_ref(a, a.key_form),
            displays: DisplaysJson {
                report_displays: a.report_displays.iter().map(|f| form_ref(a, *f)).collect(),
                browse_displays: a.browse_displays.iter().map(|f| form_ref(a, *f)).collect(),
            },
            sorts: SortsJson {
                report_sorts: sorts_json(a, &a.report_sorts),
                browse_sorts: sorts_json(a, &a.browse_sorts),
            },
            // Both sides of every relationship it takes part in, as the system hierarchy shows them.
            relationships: involving(o.info.id, names.objects.values())
                .iter()
                .map(|r| RelationshipJson::of(r, names))
                .collect(),
            acl: show.acl.then(|| acl(o)),
        })
    }
}

/// `{offset, limit, total, attributes:[{information}]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeList {
    pub offset: i64,
    pub limit: i64,
    pub total: usize,
    pub attributes: Vec<super::wire::InformationOnly>,
}

#[cfg(test)]
mod tests {
    use super::super::wire::read;
    use super::*;

    #[test]
    fn a_wrong_type_deep_in_a_form_names_its_path() {
        let body = br#"{"forms":[{"name":"a"},{"expressions":[{"expression":{"tokens":"x"}}]}]}"#;
        let e = read::<AttributeBody>(body).unwrap_err();
        assert_eq!(e.code, "ERR006");
        assert!(
            e.message
                .starts_with("'forms[1].expressions[0].expression.tokens': invalid type: string"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        for body in [&br#"[{"name":"a"}]"#[..], b" []"] {
            let e = read::<AttributeBody>(body).unwrap_err();
            assert_eq!(e.code, "ERR006");
            assert_eq!(e.message, "Invalid JSON: the body must be a JSON object");
        }
        let e = read::<AttributeBody>(b"7").unwrap_err();
        assert!(e.message.starts_with("'body': invalid type"), "{}", e.message);
        let e = read::<AttributeBody>(b"[1,").unwrap_err();
        assert!(e.message.starts_with("Invalid JSON: EOF"), "{}", e.message);
        assert!(read::<AttributeBody>(b" \n").is_ok());
    }

    #[test]
    fn what_a_definition_needs_is_named_by_path() {
        let body = br#"{"forms":[{"name":"a"},{"expressions":[{"tables":[]}]}]}"#;
        let e = read::<AttributeBody>(body).unwrap().into_spec().unwrap_err();
        assert_eq!(e.code, "ERR007");
        assert_eq!(e.message, "'forms[1].expressions[0].expression' is required");
        let body = br#"{"sorts":{"browseSorts":[{"ascending":"False"}]}}"#;
        let e = read::<AttributeBody>(body).unwrap().into_spec().unwrap_err();
        assert_eq!(e.message, "'sorts.browseSorts[0].form' is required");
        let body = br#"{"information":{"name":"n","isEmbedded":"TRUE"},"keyForm":{"name":"ID"}}"#;
        let spec = read::<AttributeBody>(body).unwrap().into_spec().unwrap();
        assert_eq!(spec.is_embedded, Some(true));
        assert_eq!(spec.key_form.and_then(|k| k.name).as_deref(), Some("ID"));
    }
}
