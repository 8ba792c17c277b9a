//! The modeling JSON of spec §4: attribute, table, changeset and relationship bodies as the
//! API writes them, and the request bodies read into the core's specs. Field names and shapes
//! follow the spec exactly; anything of the wrong type is a 400 naming the field.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use vestibule_core::clock::rfc3339_ms;
use vestibule_core::ids::Guid;
use vestibule_core::model::spec::*;
use vestibule_core::model::types::*;
use vestibule_expr::{FormError, SyntaxError};

use super::Show;
use crate::api::mstr::error::{MstrError, MstrResult};

pub const LOCALE: &str = "en-US";

// --- output ----------------------------------------------------------------------------------

/// Objects a response refers to by id (tables, attributes), to print their names.
#[derive(Default)]
pub struct Names {
    pub objects: HashMap<Guid, ModelObject>,
}

impl Names {
    pub fn new(objects: Vec<ModelObject>) -> Names {
        Names {
            objects: objects.into_iter().map(|o| (o.info.id, o)).collect(),
        }
    }

    pub fn name(&self, id: Guid) -> String {
        self.objects
            .get(&id)
            .map(|o| o.info.name.clone())
            .unwrap_or_default()
    }

    pub fn table_ref(&self, id: Guid) -> Value {
        json!({"objectId": id.to_hex(), "subType": "logical_table", "name": self.name(id)})
    }

    pub fn attribute_ref(&self, id: Guid) -> Value {
        json!({"objectId": id.to_hex(), "subType": "attribute", "name": self.name(id)})
    }

    fn table(&self, id: Guid) -> Option<&Table> {
        self.objects.get(&id).and_then(ModelObject::table)
    }

    /// The column object of `name` in the first of `tables` that has it.
    fn column(&self, tables: &[Guid], name: &str) -> Option<(Guid, &Column)> {
        tables
            .iter()
            .find_map(|t| self.table(*t).and_then(|tb| tb.column(name)).map(|c| (*t, c)))
    }
}

fn date(ms: i64) -> String {
    rfc3339_ms(ms)
}

/// `information` of an object; the create response has `destinationFolderId` and no dates.
pub fn information(o: &ModelObject, sub_type: &str, created: bool) -> Value {
    let mut m = Map::new();
    m.insert("objectId".into(), json!(o.info.id.to_hex()));
    m.insert("subType".into(), json!(sub_type));
    m.insert("name".into(), json!(o.info.name));
    if !o.info.description.is_empty() {
        m.insert("description".into(), json!(o.info.description));
    }
    if created {
        if let Some(f) = o.info.folder {
            m.insert("destinationFolderId".into(), json!(f.to_hex()));
        }
    } else {
        m.insert("dateCreated".into(), json!(date(o.info.created_ms)));
        m.insert("dateModified".into(), json!(date(o.info.modified_ms)));
    }
    m.insert("versionId".into(), json!(o.info.version.to_hex()));
    m.insert("primaryLocale".into(), json!(LOCALE));
    Value::Object(m)
}

fn form_ref(a: &Attribute, id: Guid) -> Value {
    json!({"id": id.to_hex(), "name": a.form(id).map(|f| f.name.clone()).unwrap_or_default()})
}

fn sorts_json(a: &Attribute, sorts: &[Sort]) -> Value {
    Value::Array(
        sorts
            .iter()
            .map(|s| json!({"form": form_ref(a, s.form), "ascending": s.ascending}))
            .collect(),
    )
}

pub fn relationship_json(r: &Relationship, names: &Names) -> Value {
    json!({
        "parent": names.attribute_ref(r.parent),
        "child": names.attribute_ref(r.child),
        "relationshipTable": names.table_ref(r.table),
        "relationshipType": r.kind,
    })
}

/// The expression of a form in the forms `show` asks for.
fn expression_json(e: &FormExpression, names: &Names, show: Show) -> Value {
    let mut expr = Map::new();
    expr.insert("text".into(), json!(e.text));
    if show.tree || show.tokens {
        if let Ok(parsed) = vestibule_expr::parse(&e.text) {
            if show.tree {
                let column_id = |c: &str| names.column(&e.tables, c).map(|(_, col)| col.id.to_hex());
                expr.insert("tree".into(), vestibule_expr::tree::to_tree(&parsed, &column_id));
            }
            if show.tokens {
                let target = |c: &str| {
                    names.column(&e.tables, c).map(|(_, col)| {
                        json!({"objectId": col.id.to_hex(), "subType": "column", "name": col.name})
                    })
                };
                expr.insert(
                    "tokens".into(),
                    Value::Array(vestibule_expr::tokens::to_tokens(&parsed, &target)),
                );
            }
        }
    }
    let mut m = Map::new();
    m.insert("expressionId".into(), json!(e.id.to_hex()));
    m.insert("expression".into(), Value::Object(expr));
    m.insert(
        "tables".into(),
        Value::Array(e.tables.iter().map(|t| names.table_ref(*t)).collect()),
    );
    if show.potential_tables {
        let columns: Vec<String> = vestibule_expr::parse(&e.text)
            .map(|p| p.columns().into_iter().map(str::to_owned).collect())
            .unwrap_or_default();
        let mut potential: Vec<&ModelObject> = names
            .objects
            .values()
            .filter(|o| {
                o.table()
                    .is_some_and(|t| columns.iter().all(|c| t.column(c).is_some()))
            })
            .collect();
        potential.sort_by_key(|o| o.info.name.to_lowercase());
        m.insert(
            "potentialTables".into(),
            Value::Array(potential.iter().map(|o| names.table_ref(o.info.id)).collect()),
        );
    }
    Value::Object(m)
}

/// An attribute as spec §4.2 shows it.
pub fn attribute_json(o: &ModelObject, names: &Names, show: Show, created: bool) -> Value {
    let Some(a) = o.attribute() else { return json!({}) };
    let forms: Vec<Value> = a
        .forms
        .iter()
        .map(|f| {
            let mut m = Map::new();
            m.insert("id".into(), json!(f.id.to_hex()));
            m.insert("name".into(), json!(f.name));
            if !f.description.is_empty() {
                m.insert("description".into(), json!(f.description));
            }
            m.insert(
                "category".into(),
                json!(f.category.clone().unwrap_or_else(|| f.name.clone())),
            );
            m.insert(
                "type".into(),
                json!(if f.category.is_some() { "system" } else { "custom" }),
            );
            m.insert("displayFormat".into(), json!(f.display_format));
            if let Some(d) = &f.data_type {
                m.insert(
                    "dataType".into(),
                    json!({"type": d.kind, "precision": d.precision, "scale": d.scale}),
                );
            }
            m.insert(
                "expressions".into(),
                Value::Array(
                    f.expressions
                        .iter()
                        .map(|e| expression_json(e, names, show))
                        .collect(),
                ),
            );
            if let Some(alias) = &f.alias {
                m.insert("alias".into(), json!(alias));
            }
            if let Some(t) = f.lookup_table.or(a.lookup_table) {
                m.insert("lookupTable".into(), names.table_ref(t));
            }
            m.insert("isMultilingual".into(), json!(f.is_multilingual));
            m.insert("isFormGroup".into(), json!(false));
            m.insert("geographicalRole".into(), json!(f.geographical_role));
            m.insert("timeRole".into(), json!(f.time_role));
            Value::Object(m)
        })
        .collect();
    let mut info = information(o, &a.sub_type, created);
    if let Value::Object(m) = &mut info {
        m.insert("isEmbedded".into(), json!(a.is_embedded));
    }
    let mut sorts = Map::new();
    if !a.report_sorts.is_empty() {
        sorts.insert("reportSorts".into(), sorts_json(a, &a.report_sorts));
    }
    if !a.browse_sorts.is_empty() {
        sorts.insert("browseSorts".into(), sorts_json(a, &a.browse_sorts));
    }
    let mut m = Map::new();
    m.insert("information".into(), info);
    m.insert("forms".into(), Value::Array(forms));
    if let Some(t) = a
        .lookup_table
        .or_else(|| a.forms.iter().find_map(|f| f.lookup_table))
    {
        m.insert("attributeLookupTable".into(), names.table_ref(t));
    }
    m.insert("keyForm".into(), form_ref(a, a.key_form));
    m.insert(
        "displays".into(),
        json!({
            "reportDisplays": a.report_displays.iter().map(|f| form_ref(a, *f)).collect::<Vec<_>>(),
            "browseDisplays": a.browse_displays.iter().map(|f| form_ref(a, *f)).collect::<Vec<_>>(),
        }),
    );
    m.insert("sorts".into(), Value::Object(sorts));
    m.insert(
        "relationships".into(),
        Value::Array(
            a.relationships
                .iter()
                .map(|r| relationship_json(r, names))
                .collect(),
        ),
    );
    if show.acl {
        m.insert("acl".into(), acl(o));
    }
    Value::Object(m)
}

/// The owner's full control, the one entry vestibule keeps.
pub fn acl(o: &ModelObject) -> Value {
    match o.info.owner {
        Some(owner) => json!([{"deny": false, "type": 1, "rights": 255, "trusteeId": owner.to_hex(),
            "trusteeType": 34, "trusteeSubtype": 8704, "inheritable": false}]),
        None => json!([]),
    }
}

pub fn physical_table_json(o: &ModelObject, t: &Table) -> Value {
    json!({
        "information": {"objectId": t.physical_id.to_hex(), "subType": "physical_table", "name": t.physical_name},
        "tableName": t.physical_name,
        "columns": t.columns.iter().map(|c| json!({
            "information": {"objectId": c.id.to_hex(), "subType": "column", "name": c.name},
            "dataType": {"type": c.data_type.kind, "precision": c.data_type.precision, "scale": c.data_type.scale},
            "columnName": c.name,
        })).collect::<Vec<_>>(),
        "namespace": t.namespace,
        "tablePrefix": "",
        "type": "normal",
        "logicalTableId": o.info.id.to_hex(),
    })
}

/// A table's entry in the list (`fields` picks `information` and/or `physicalTable`).
pub fn table_entry(o: &ModelObject, fields: &[String]) -> Value {
    let mut m = Map::new();
    let want =
        |f: &str| fields.is_empty() && f == "information" || fields.iter().any(|x| x.eq_ignore_ascii_case(f));
    if want("information") {
        m.insert("information".into(), information(o, "logical_table", false));
    }
    if want("physicalTable") {
        if let Some(t) = o.table() {
            m.insert("physicalTable".into(), physical_table_json(o, t));
        }
    }
    Value::Object(m)
}

/// A table in full, with the attributes whose forms read it.
pub fn table_json(o: &ModelObject, attributes: &[ModelObject], created: bool) -> Value {
    let Some(t) = o.table() else { return json!({}) };
    let attrs: Vec<Value> = attributes
        .iter()
        .filter_map(|ao| ao.attribute().map(|a| (ao, a)))
        .filter_map(|(ao, a)| {
            let forms: Vec<Value> = a
                .forms
                .iter()
                .filter_map(|f| {
                    let e = f.expressions.iter().find(|e| e.tables.contains(&o.info.id))?;
                    Some(json!({
                        "formCategory": {
                            "objectId": f.id.to_hex(),
                            "subType": if f.category.is_some() { "attribute_form_system" } else { "attribute_form_custom" },
                            "name": f.category.clone().unwrap_or_else(|| f.name.clone()),
                        },
                        "name": f.name,
                        "dataFormat": f.display_format,
                        "expression": {"text": e.text},
                    }))
                })
                .collect();
            (!forms.is_empty()).then(|| {
                json!({"information": {"objectId": ao.info.id.to_hex(), "subType": a.sub_type, "name": ao.info.name},
                       "forms": forms})
            })
        })
        .collect();
    json!({
        "information": information(o, "logical_table", created),
        "physicalTable": physical_table_json(o, t),
        "logicalSize": 0,
        "isLogicalSizeLocked": false,
        "isTrueKey": false,
        "isPartOfPartition": false,
        "tableKey": [],
        "attributes": attrs,
        "facts": [],
    })
}

pub fn changeset_json(cs: &Changeset, user_name: &str) -> Value {
    json!({
        "id": cs.id.to_hex(),
        "dateCreated": date(cs.created_ms),
        "dateModified": date(cs.modified_ms),
        "status": cs.status.as_str(),
        "schemaEdit": cs.schema_edit,
        "mstrProjectId": cs.project.to_hex(),
        "mstrUserId": cs.user.to_hex(),
        "userDateNumberLocale": LOCALE,
        "userMetadataLocale": LOCALE,
        "userWarehouseLocale": LOCALE,
        "userName": user_name,
    })
}

// --- input -----------------------------------------------------------------------------------

fn invalid(path: &str, what: &str) -> MstrError {
    MstrError::invalid(format!("'{path}' must be {what}"))
}

fn missing(path: &str) -> MstrError {
    MstrError::new(StatusCode::BAD_REQUEST, "ERR007", format!("'{path}' is required"))
}

/// An expression error as a 400: a syntax error names its position and what was expected.
pub fn expression_error(path: &str, e: FormError) -> MstrError {
    match e {
        FormError::Syntax(SyntaxError {
            position,
            expected,
            found,
        }) => MstrError::invalid(format!(
            "Syntax error in {path} at position {position}: expected {expected}, found {found}"
        )),
        FormError::Tree { path: at, message } => {
            MstrError::invalid(format!("Invalid expression in {path} ({at}): {message}"))
        }
    }
}

fn obj<'a>(v: &'a Value, path: &str) -> MstrResult<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| invalid(path, "an object"))
}

/// A field that may be absent or null.
fn field<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

fn opt_str(m: &Map<String, Value>, key: &str, path: &str) -> MstrResult<Option<String>> {
    match field(m, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(&format!("{path}.{key}"), "a string")),
    }
}

fn opt_bool(m: &Map<String, Value>, key: &str, path: &str) -> MstrResult<Option<bool>> {
    match field(m, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(invalid(&format!("{path}.{key}"), "true or false")),
    }
}

fn opt_guid(m: &Map<String, Value>, key: &str, path: &str) -> MstrResult<Option<Guid>> {
    match opt_str(m, key, path)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| invalid(&format!("{path}.{key}"), "an object id (32 hex characters)")),
    }
}

fn opt_array<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> MstrResult<Option<&'a Vec<Value>>> {
    match field(m, key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err(invalid(&format!("{path}.{key}"), "an array")),
    }
}

/// An object reference: `objectId` or `id`, and/or `name`.
fn reference(v: &Value, path: &str) -> MstrResult<Ref> {
    let m = obj(v, path)?;
    let id = match opt_guid(m, "objectId", path)? {
        Some(id) => Some(id),
        None => opt_guid(m, "id", path)?,
    };
    let name = opt_str(m, "name", path)?;
    if id.is_none() && name.is_none() {
        return Err(MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR007",
            format!("'{path}' needs an id or a name"),
        ));
    }
    Ok(Ref { id, name })
}

fn data_type(v: &Value, path: &str) -> MstrResult<DataType> {
    let m = obj(v, path)?;
    let kind = opt_str(m, "type", path)?.ok_or_else(|| missing(&format!("{path}.type")))?;
    let base = DataType::of(&kind);
    let int = |key: &str, default: i64| -> MstrResult<i64> {
        match field(m, key) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| invalid(&format!("{path}.{key}"), "an integer")),
        }
    };
    Ok(DataType {
        precision: int("precision", base.precision)?,
        scale: int("scale", base.scale)?,
        kind,
    })
}

fn expression(v: &Value, path: &str) -> MstrResult<ExprSpec> {
    let m = obj(v, path)?;
    let e = field(m, "expression").ok_or_else(|| missing(&format!("{path}.expression")))?;
    let em = obj(e, &format!("{path}.expression"))?;
    // `text` is read-only: the tree or the tokens are what count.
    let expr = if let Some(tree) = field(em, "tree") {
        vestibule_expr::tree::from_tree(tree)
            .map_err(|e| expression_error(&format!("{path}.expression.tree"), e))?
    } else if let Some(tokens) = field(em, "tokens") {
        let list = tokens
            .as_array()
            .ok_or_else(|| invalid(&format!("{path}.expression.tokens"), "an array"))?;
        vestibule_expr::tokens::from_tokens(list)
            .map_err(|e| expression_error(&format!("{path}.expression.tokens"), e))?
    } else {
        return Err(MstrError::new(
            StatusCode::BAD_REQUEST,
            "ERR007",
            format!("'{path}.expression' needs a 'tree' or 'tokens' ('text' is read-only)"),
        ));
    };
    let mut tables = Vec::new();
    for (i, t) in opt_array(m, "tables", path)?.into_iter().flatten().enumerate() {
        tables.push(reference(t, &format!("{path}.tables[{i}]"))?);
    }
    Ok(ExprSpec {
        id: opt_guid(m, "expressionId", path)?,
        expr,
        tables,
    })
}

fn form(v: &Value, path: &str) -> MstrResult<FormSpec> {
    let m = obj(v, path)?;
    let expressions = match opt_array(m, "expressions", path)? {
        None => None,
        Some(list) => Some(
            list.iter()
                .enumerate()
                .map(|(i, e)| expression(e, &format!("{path}.expressions[{i}]")))
                .collect::<MstrResult<Vec<_>>>()?,
        ),
    };
    Ok(FormSpec {
        id: opt_guid(m, "id", path)?,
        name: opt_str(m, "name", path)?,
        description: opt_str(m, "description", path)?,
        category: opt_str(m, "category", path)?,
        display_format: opt_str(m, "displayFormat", path)?,
        data_type: field(m, "dataType")
            .map(|d| data_type(d, &format!("{path}.dataType")))
            .transpose()?,
        expressions,
        alias: opt_str(m, "alias", path)?,
        lookup_table: field(m, "lookupTable")
            .map(|t| reference(t, &format!("{path}.lookupTable")))
            .transpose()?,
        is_multilingual: opt_bool(m, "isMultilingual", path)?,
        is_form_group: opt_bool(m, "isFormGroup", path)?.unwrap_or(false),
        geographical_role: opt_str(m, "geographicalRole", path)?,
        time_role: opt_str(m, "timeRole", path)?,
    })
}

fn refs(m: &Map<String, Value>, key: &str, path: &str) -> MstrResult<Option<Vec<Ref>>> {
    opt_array(m, key, path)?
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, r)| reference(r, &format!("{path}.{key}[{i}]")))
                .collect()
        })
        .transpose()
}

fn sorts(m: &Map<String, Value>, key: &str, path: &str) -> MstrResult<Option<Vec<SortSpec>>> {
    opt_array(m, key, path)?
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, s)| {
                    let p = format!("{path}.{key}[{i}]");
                    let sm = obj(s, &p)?;
                    let form = field(sm, "form").ok_or_else(|| missing(&format!("{p}.form")))?;
                    Ok(SortSpec {
                        form: reference(form, &format!("{p}.form"))?,
                        ascending: opt_bool(sm, "ascending", &p)?.unwrap_or(true),
                    })
                })
                .collect()
        })
        .transpose()
}

/// The relationships of a body: `{"relationships":[…]}` or the list itself.
pub fn relationships(v: &Value, path: &str) -> MstrResult<Vec<RelationshipSpec>> {
    let list = match v {
        Value::Array(a) => a,
        Value::Object(m) => opt_array(m, "relationships", path)?.ok_or_else(|| missing("relationships"))?,
        _ => return Err(invalid(path, "an object with 'relationships'")),
    };
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            let p = format!("relationships[{i}]");
            let m = obj(r, &p)?;
            if field(m, "jointChild").is_some() {
                return Err(MstrError::invalid(format!(
                    "'{p}.jointChild': joint children are not supported by this server"
                )));
            }
            let get = |key: &str| -> MstrResult<Ref> {
                let v = field(m, key).ok_or_else(|| missing(&format!("{p}.{key}")))?;
                reference(v, &format!("{p}.{key}"))
            };
            Ok(RelationshipSpec {
                parent: get("parent")?,
                child: get("child")?,
                table: get("relationshipTable")?,
                kind: opt_str(m, "relationshipType", &p)?.unwrap_or_else(|| "one_to_many".into()),
            })
        })
        .collect()
}

/// An attribute body (create or PATCH: every absent field is `None`).
pub fn attribute_spec(body: &Value) -> MstrResult<AttributeSpec> {
    let m = obj(body, "body")?;
    let mut spec = AttributeSpec::default();
    if let Some(info) = field(m, "information") {
        let im = obj(info, "information")?;
        spec.name = opt_str(im, "name", "information")?;
        spec.description = opt_str(im, "description", "information")?;
        spec.sub_type = opt_str(im, "subType", "information")?;
        spec.folder = opt_guid(im, "destinationFolderId", "information")?;
        spec.is_embedded = opt_bool(im, "isEmbedded", "information")?;
    }
    if let Some(list) = opt_array(m, "forms", "body")? {
        spec.forms = Some(
            list.iter()
                .enumerate()
                .map(|(i, f)| form(f, &format!("forms[{i}]")))
                .collect::<MstrResult<Vec<_>>>()?,
        );
    }
    spec.lookup_table = field(m, "attributeLookupTable")
        .map(|t| reference(t, "attributeLookupTable"))
        .transpose()?;
    spec.key_form = field(m, "keyForm").map(|k| reference(k, "keyForm")).transpose()?;
    if let Some(d) = field(m, "displays") {
        let dm = obj(d, "displays")?;
        spec.report_displays = refs(dm, "reportDisplays", "displays")?;
        spec.browse_displays = refs(dm, "browseDisplays", "displays")?;
    }
    if let Some(s) = field(m, "sorts") {
        let sm = obj(s, "sorts")?;
        spec.report_sorts = sorts(sm, "reportSorts", "sorts")?;
        spec.browse_sorts = sorts(sm, "browseSorts", "sorts")?;
    }
    if field(m, "relationships").is_some() {
        spec.relationships = Some(relationships(body, "body")?);
    }
    Ok(spec)
}

/// A table body: `information{name, destinationFolderId}` and
/// `physicalTable{tableName, namespace, columns[{columnName | information.name, dataType}]}`.
pub fn table_spec(body: &Value) -> MstrResult<TableSpec> {
    let m = obj(body, "body")?;
    let info = field(m, "information").ok_or_else(|| missing("information"))?;
    let im = obj(info, "information")?;
    let name = opt_str(im, "name", "information")?.ok_or_else(|| missing("information.name"))?;
    let folder = opt_guid(im, "destinationFolderId", "information")?;
    let pt = field(m, "physicalTable").ok_or_else(|| missing("physicalTable"))?;
    let pm = obj(pt, "physicalTable")?;
    let columns =
        opt_array(pm, "columns", "physicalTable")?.ok_or_else(|| missing("physicalTable.columns"))?;
    let mut specs = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let p = format!("physicalTable.columns[{i}]");
        let cm = obj(c, &p)?;
        let name = match opt_str(cm, "columnName", &p)? {
            Some(n) => n,
            None => match field(cm, "information") {
                Some(ci) => opt_str(obj(ci, &p)?, "name", &format!("{p}.information"))?
                    .ok_or_else(|| missing(&format!("{p}.columnName")))?,
                None => return Err(missing(&format!("{p}.columnName"))),
            },
        };
        let dt = field(cm, "dataType").ok_or_else(|| missing(&format!("{p}.dataType")))?;
        specs.push(ColumnSpec {
            name,
            data_type: data_type(dt, &format!("{p}.dataType"))?,
        });
    }
    Ok(TableSpec {
        name,
        physical_name: opt_str(pm, "tableName", "physicalTable")?,
        namespace: opt_str(pm, "namespace", "physicalTable")?,
        folder,
        columns: specs,
    })
}

/// A JSON body, or a 400 saying it is not one.
pub fn json_body(bytes: &[u8]) -> MstrResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(bytes).map_err(|e| MstrError::invalid(format!("Invalid JSON: {e}")))
}
