//! The attribute-based access control fields of the v2 token requests, in the specification's
//! shapes, and the shapes ThoughtSpot shows them back in.
//!
//! - `token/custom`: `filter_rules`, `parameter_values`, `variable_values` and `objects`, with a
//!   `persist_option` (`NONE`, `APPEND`, `REPLACE`, `RESET`) saying how the user's stored rules
//!   change ([`Persist`]);
//! - `token/full` and `token/object`: `user_parameters` (`runtime_filters`, `parameters`,
//!   `runtime_sorts`, each item with its own `persist` flag and `objects`).
//!
//! Every field is read into a typed struct, so a wrong type anywhere is a 400 that names its path
//! (`filter_rules[0].operator`). What a user holds is shown on `auth/session/user` as ThoughtSpot
//! shows it on a user (`access_control_properties` and `variable_values` keyed by org id, then
//! `ALL` or an object's id; `user_parameters`); what a token carries, on `auth/token/validate`.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::ToSchema;

use vestibule_core::access::{
    Access, AccessSet, FilterRule, NamedValues, Operator, Persist, Properties, RuntimeChange, Sort, Target,
    Value,
};

use super::super::error::TsError;

/// The only org: rules are shown under its id.
const ORG: &str = "0";
/// The key of the rules that apply to every object.
const ALL: &str = "ALL";

// --- request shapes ----------------------------------------------------------------------------

/// A filter rule (`FilterRules`).
#[derive(Deserialize, ToSchema)]
pub struct FilterRuleIn {
    column_name: String,
    #[serde(deserialize_with = "operator")]
    #[schema(schema_with = operator_schema)]
    operator: Operator,
    #[serde(deserialize_with = "values")]
    #[schema(schema_with = values_schema)]
    values: Vec<Value>,
}

/// A parameter's or variable's values (`ParameterValues`, `VariableValues`).
#[derive(Deserialize, ToSchema)]
pub struct NamedValuesIn {
    name: String,
    #[serde(deserialize_with = "values")]
    #[schema(schema_with = values_schema)]
    values: Vec<Value>,
}

/// An object the rules apply to (`TokenAccessScopeObject`, `User_Object`).
#[derive(Deserialize, ToSchema)]
pub struct ObjectIn {
    /// `LOGICAL_TABLE`, or null; checked by its type, the target is the identifier either way.
    #[allow(dead_code)]
    #[serde(default, rename = "type")]
    #[schema(schema_with = object_type_schema)]
    kind: Option<ObjectType>,
    identifier: String,
}

#[derive(Deserialize, ToSchema)]
enum ObjectType {
    #[serde(rename = "LOGICAL_TABLE")]
    LogicalTable,
}

/// A runtime filter of `user_parameters` (`Runtime_Filters`).
#[derive(Deserialize, ToSchema)]
pub struct RuntimeFilterIn {
    column_name: String,
    values: Vec<String>,
    #[serde(deserialize_with = "operator")]
    #[schema(schema_with = operator_schema)]
    operator: Operator,
    #[serde(default)]
    persist: Option<bool>,
    #[serde(default)]
    objects: Option<Vec<ObjectIn>>,
}

/// A runtime parameter of `user_parameters` (`Runtime_Parameters`).
#[derive(Deserialize, ToSchema)]
pub struct RuntimeParameterIn {
    name: String,
    values: Vec<String>,
    #[serde(default)]
    persist: Option<bool>,
    #[serde(default)]
    objects: Option<Vec<ObjectIn>>,
}

#[derive(Deserialize, ToSchema)]
enum SortOrder {
    #[serde(rename = "ASC")]
    Asc,
    #[serde(rename = "DESC")]
    Desc,
}

/// A runtime sort of `user_parameters` (`Runtime_Sorts`).
#[derive(Deserialize, ToSchema)]
pub struct RuntimeSortIn {
    #[serde(default)]
    column_name: Option<String>,
    #[serde(default)]
    order: Option<SortOrder>,
    #[serde(default)]
    persist: Option<bool>,
    #[serde(default)]
    objects: Option<Vec<ObjectIn>>,
}

/// `user_parameters` of `token/full` and `token/object` (`User_Parameter_Options`). Items marked
/// `persist: true` are stored on the user; a kind given as an empty list clears what the user
/// holds of it.
#[derive(Deserialize, ToSchema)]
pub struct UserParametersIn {
    /// The objects of items that name none.
    #[serde(default)]
    objects: Option<Vec<ObjectIn>>,
    #[serde(default)]
    runtime_filters: Option<Vec<RuntimeFilterIn>>,
    #[serde(default)]
    runtime_sorts: Option<Vec<RuntimeSortIn>>,
    #[serde(default)]
    parameters: Option<Vec<RuntimeParameterIn>>,
}

fn operator<'de, D: Deserializer<'de>>(d: D) -> Result<Operator, D::Error> {
    let name = String::deserialize(d)?;
    Operator::parse(&name).ok_or_else(|| {
        let names: Vec<&str> = Operator::ALL.iter().map(|o| o.name()).collect();
        de::Error::custom(format!(
            "unknown operator '{name}', expected one of {}",
            names.join(", ")
        ))
    })
}

fn values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Vec::<Json>::deserialize(d)?
        .into_iter()
        .map(|v| match v {
            Json::String(s) => Ok(Value::Text(s)),
            Json::Bool(b) => Ok(Value::Bool(b)),
            Json::Number(n) => Ok(Value::Number(n)),
            other => Err(de::Error::custom(format!(
                "a value must be a string, a boolean or a number, not {other}"
            ))),
        })
        .collect()
}

fn operator_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Operator::ALL.iter().map(|o| o.name())))
        .into()
}

fn values_schema() -> Schema {
    let item = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(ObjectBuilder::new().schema_type(Type::Number));
    ArrayBuilder::new().items(item).into()
}

fn object_type_schema() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["LOGICAL_TABLE"])),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

// --- into the core -----------------------------------------------------------------------------

/// The targets `objects` names (none: every object).
fn targets(objects: Option<&[ObjectIn]>, field: &str) -> Result<Vec<Target>, TsError> {
    objects
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let id = o.identifier.trim();
            if id.is_empty() {
                return Err(TsError::bad_request(format!(
                    "'{field}[{i}].identifier' must not be empty"
                )));
            }
            Ok(Target::Object(id.to_owned()))
        })
        .collect()
}

fn named(items: Vec<NamedValuesIn>, field: &str) -> Result<Vec<NamedValues>, TsError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            if n.name.trim().is_empty() {
                return Err(TsError::bad_request(format!(
                    "'{field}[{i}].name' must not be empty"
                )));
            }
            Ok(NamedValues {
                name: n.name,
                values: n.values,
            })
        })
        .collect()
}

/// The rules of a `token/custom` request.
pub struct CustomRules {
    pub persist: Persist,
    /// What the request asks for, at its targets: what the token carries.
    pub asked: AccessSet,
}

/// Reads the attribute-based access control fields of `token/custom`.
pub fn custom_rules(
    persist_option: Option<String>,
    filter_rules: Option<Vec<FilterRuleIn>>,
    parameter_values: Option<Vec<NamedValuesIn>>,
    variable_values: Option<Vec<NamedValuesIn>>,
    objects: Option<Vec<ObjectIn>>,
) -> Result<CustomRules, TsError> {
    // Not sent by the Python client, which has the argument but never puts it in the body.
    let persist = match persist_option
        .as_deref()
        .map(str::trim)
        .unwrap_or("NONE")
        .to_ascii_uppercase()
        .as_str()
    {
        "NONE" => Persist::None,
        "APPEND" => Persist::Append,
        "REPLACE" => Persist::Replace,
        "RESET" => Persist::Reset,
        _ => {
            return Err(TsError::bad_request(
                "'persist_option' must be one of REPLACE, APPEND, NONE, RESET",
            ))
        }
    };
    let variables = named(variable_values.unwrap_or_default(), "variable_values")?;
    if !variables.is_empty() && matches!(persist, Persist::None | Persist::Reset) {
        return Err(TsError::bad_request(
            "'variable_values' cannot be used with persist_option NONE or RESET: use APPEND or REPLACE",
        ));
    }
    let mut filters = Vec::new();
    for (i, f) in filter_rules.unwrap_or_default().into_iter().enumerate() {
        if f.column_name.trim().is_empty() {
            return Err(TsError::bad_request(format!(
                "'filter_rules[{i}].column_name' must not be empty"
            )));
        }
        filters.push(FilterRule {
            column: f.column_name,
            operator: f.operator,
            values: f.values,
        });
    }
    let props = Properties {
        filters,
        parameters: named(parameter_values.unwrap_or_default(), "parameter_values")?,
        variables,
        sorts: Vec::new(),
    };
    let mut asked = AccessSet::default();
    asked.add(&targets(objects.as_deref(), "objects")?, &props);
    Ok(CustomRules { persist, asked })
}

/// The runtime properties of a `token/full` or `token/object` request.
pub struct RuntimeRules {
    /// Every item: what the token carries.
    pub carried: AccessSet,
    /// How the user's stored runtime properties change.
    pub change: RuntimeChange,
}

/// Reads `user_parameters`.
pub fn runtime_rules(params: Option<UserParametersIn>) -> Result<RuntimeRules, TsError> {
    let mut carried = AccessSet::default();
    let mut change = RuntimeChange::default();
    let Some(p) = params else {
        return Ok(RuntimeRules { carried, change });
    };
    let default = targets(p.objects.as_deref(), "user_parameters.objects")?;
    // A kind changes what the user holds when it is given empty (cleared) or with items to persist.
    let persists = |persist: &[Option<bool>]| persist.is_empty() || persist.contains(&Some(true));
    if let Some(f) = &p.runtime_filters {
        change.filters = persists(&f.iter().map(|i| i.persist).collect::<Vec<_>>());
    }
    if let Some(f) = &p.parameters {
        change.parameters = persists(&f.iter().map(|i| i.persist).collect::<Vec<_>>());
    }
    if let Some(f) = &p.runtime_sorts {
        change.sorts = persists(&f.iter().map(|i| i.persist).collect::<Vec<_>>());
    }
    let persisted = &mut change.persisted;
    let mut place = |props: Properties,
                     persist: Option<bool>,
                     objects: Option<Vec<ObjectIn>>,
                     field: String|
     -> Result<(), TsError> {
        let at = match objects {
            Some(own) => targets(Some(own.as_slice()), &format!("{field}.objects"))?,
            None => default.clone(),
        };
        carried.add(&at, &props);
        if persist == Some(true) {
            persisted.add(&at, &props);
        }
        Ok(())
    };
    if let Some(filters) = p.runtime_filters {
        for (i, f) in filters.into_iter().enumerate() {
            let field = format!("user_parameters.runtime_filters[{i}]");
            if f.column_name.trim().is_empty() {
                return Err(TsError::bad_request(format!(
                    "'{field}.column_name' must not be empty"
                )));
            }
            let props = Properties {
                filters: vec![FilterRule {
                    column: f.column_name,
                    operator: f.operator,
                    values: f.values.into_iter().map(Value::Text).collect(),
                }],
                ..Properties::default()
            };
            place(props, f.persist, f.objects, field)?;
        }
    }
    if let Some(parameters) = p.parameters {
        for (i, n) in parameters.into_iter().enumerate() {
            let field = format!("user_parameters.parameters[{i}]");
            if n.name.trim().is_empty() {
                return Err(TsError::bad_request(format!("'{field}.name' must not be empty")));
            }
            let props = Properties {
                parameters: vec![NamedValues {
                    name: n.name,
                    values: n.values.into_iter().map(Value::Text).collect(),
                }],
                ..Properties::default()
            };
            place(props, n.persist, n.objects, field)?;
        }
    }
    if let Some(sorts) = p.runtime_sorts {
        for (i, s) in sorts.into_iter().enumerate() {
            let props = Properties {
                sorts: vec![Sort {
                    column: s.column_name,
                    descending: s.order.map(|o| matches!(o, SortOrder::Desc)),
                }],
                ..Properties::default()
            };
            place(
                props,
                s.persist,
                s.objects,
                format!("user_parameters.runtime_sorts[{i}]"),
            )?;
        }
    }
    Ok(RuntimeRules { carried, change })
}

// --- shown back --------------------------------------------------------------------------------

/// The access properties of a user or token as ThoughtSpot shows them: `access_control_properties`
/// and `variable_values` as `{"<org id>": {"ALL" | "<object>": {…}}}`, and `user_parameters` in
/// the shape of the request's `user_parameters` (each item with the objects it applies to).
#[derive(Serialize, ToSchema)]
pub struct AccessView {
    /// Filter rules and parameter values: `{"0": {"ALL": {"filter_rules": […],
    /// "parameter_values": […]}}}`.
    #[schema(value_type = Object)]
    pub access_control_properties: Json,
    /// Variable values: `{"0": {"ALL": {"variable_values": […]}}}`.
    #[schema(value_type = Object)]
    pub variable_values: Json,
    /// Runtime filters, parameters and sorts: `{"runtime_filters": […], "parameters": […],
    /// "runtime_sorts": […]}`.
    #[schema(value_type = Object)]
    pub user_parameters: Json,
}

fn value(v: &Value) -> Json {
    match v {
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => Json::Number(n.clone()),
        Value::Text(s) => Json::String(s.clone()),
    }
}

fn filter(f: &FilterRule) -> Json {
    json!({"column_name": f.column, "operator": f.operator.name(), "values": f.values.iter().map(value).collect::<Vec<_>>()})
}

fn named_out(n: &NamedValues) -> Json {
    json!({"name": n.name, "values": n.values.iter().map(value).collect::<Vec<_>>()})
}

fn target_key(t: &Target) -> String {
    match t {
        Target::All => ALL.to_owned(),
        Target::Object(o) => o.clone(),
    }
}

fn by_org(entries: Map<String, Json>) -> Json {
    if entries.is_empty() {
        return json!({});
    }
    json!({ ORG: entries })
}

impl AccessView {
    pub fn of(access: &Access) -> AccessView {
        let mut rules = Map::new();
        let mut variables = Map::new();
        for (t, p) in access.rules.iter() {
            if !p.filters.is_empty() || !p.parameters.is_empty() {
                rules.insert(
                    target_key(t),
                    json!({
                        "filter_rules": p.filters.iter().map(filter).collect::<Vec<_>>(),
                        "parameter_values": p.parameters.iter().map(named_out).collect::<Vec<_>>(),
                    }),
                );
            }
            if !p.variables.is_empty() {
                variables.insert(
                    target_key(t),
                    json!({"variable_values": p.variables.iter().map(named_out).collect::<Vec<_>>()}),
                );
            }
        }
        let mut runtime = Map::new();
        let (mut filters, mut parameters, mut sorts) = (Vec::new(), Vec::new(), Vec::new());
        for (t, p) in access.runtime.iter() {
            let with_objects = |mut item: Json| {
                if let (Target::Object(o), Some(map)) = (t, item.as_object_mut()) {
                    map.insert("objects".into(), json!([{"identifier": o}]));
                }
                item
            };
            filters.extend(p.filters.iter().map(filter).map(with_objects));
            parameters.extend(p.parameters.iter().map(named_out).map(with_objects));
            sorts.extend(p.sorts.iter().map(|s| {
                let order = s.descending.map(|d| if d { "DESC" } else { "ASC" });
                with_objects(json!({"column_name": s.column, "order": order}))
            }));
        }
        for (key, items) in [
            ("runtime_filters", filters),
            ("parameters", parameters),
            ("runtime_sorts", sorts),
        ] {
            if !items.is_empty() {
                runtime.insert(key.into(), Json::Array(items));
            }
        }
        AccessView {
            access_control_properties: by_org(rules),
            variable_values: by_org(variables),
            user_parameters: Json::Object(runtime),
        }
    }
}
