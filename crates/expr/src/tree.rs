//! The `tree` form: typed nodes as the modeling API writes them (spec §4.2).
//!
//! `{"type":"column_reference","columnName":"X","objectId":"…"}`,
//! `{"type":"constant","variant":{"type":"int32","value":"5"}}` and
//! `{"type":"operator","function":"plus","children":[…]}`. A function outside mstrio's `Function`
//! enum is `{"type":"operator","function":"custom","customFunction":{"objectId":…,"subType":
//! "function","name":"Round"},"children":[…]}`, as the modeling service writes such calls.

use serde_json::{json, Map, Value};

use crate::lexer::{lex, LexemeKind};
use crate::parser::check_template;
use crate::{functions, Expr, FormError, NumberKind, MAX_DEPTH};

/// The tree of `e`; `column_id` gives the object id of a column name, added as `objectId` when
/// known.
pub fn to_tree(e: &Expr, column_id: &dyn Fn(&str) -> Option<String>) -> Value {
    match e {
        Expr::Column(c) => {
            let mut m = Map::new();
            m.insert("type".into(), json!("column_reference"));
            m.insert("columnName".into(), json!(c));
            if let Some(id) = column_id(c) {
                m.insert("objectId".into(), json!(id));
            }
            Value::Object(m)
        }
        Expr::Number { text, kind } => json!({
            "type": "constant",
            "variant": {"type": kind.as_str(), "value": text},
        }),
        Expr::Str(s) => json!({
            "type": "constant",
            "variant": {"type": "string", "value": s},
        }),
        Expr::Call { function, args } => {
            let children: Vec<Value> = args.iter().map(|a| to_tree(a, column_id)).collect();
            match functions::by_key(function) {
                Some(f) if !f.in_enum() => json!({
                    "type": "operator",
                    "function": "custom",
                    "customFunction": {
                        "objectId": crate::tokens::function_id(f.name),
                        "subType": "function",
                        "name": f.text,
                    },
                    "children": children,
                }),
                _ => json!({"type": "operator", "function": function, "children": children}),
            }
        }
    }
}

fn bad(path: &str, message: impl Into<String>) -> FormError {
    FormError::Tree {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Reads a tree given as input.
pub fn from_tree(v: &Value) -> Result<Expr, FormError> {
    node(v, "tree", 0)
}

fn str_field<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str, FormError> {
    match m.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(bad(path, format!("'{key}' must be a string"))),
        None => Err(bad(path, format!("'{key}' is required"))),
    }
}

fn node(v: &Value, path: &str, depth: usize) -> Result<Expr, FormError> {
    if depth > MAX_DEPTH {
        return Err(bad(path, "the tree is nested too deeply"));
    }
    let Value::Object(m) = v else {
        return Err(bad(path, "a node must be an object"));
    };
    let kind = str_field(m, "type", path)?;
    match kind {
        "column_reference" => {
            let name = str_field(m, "columnName", path)?;
            if name.is_empty() {
                return Err(bad(path, "'columnName' must not be empty"));
            }
            Ok(Expr::Column(name.to_owned()))
        }
        "constant" => {
            let Some(Value::Object(variant)) = m.get("variant") else {
                return Err(bad(path, "a constant needs a 'variant' object"));
            };
            let vpath = format!("{path}.variant");
            let vtype = str_field(variant, "type", &vpath)?;
            let value = match variant.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(_) => return Err(bad(&vpath, "'value' must be a string")),
                None => return Err(bad(&vpath, "'value' is required")),
            };
            match vtype {
                "string" => Ok(Expr::Str(value)),
                "int32" | "int64" | "double" => number(&value, vtype, &vpath),
                other => Err(bad(
                    &vpath,
                    format!("constants of type '{other}' are not supported (int32, int64, double, string)"),
                )),
            }
        }
        "operator" => {
            let function = operator_function(m, path)?;
            let children = match m.get("children") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.clone(),
                Some(_) => return Err(bad(path, "'children' must be an array")),
            };
            let mut args = Vec::with_capacity(children.len());
            for (i, c) in children.iter().enumerate() {
                args.push(node(c, &format!("{path}.children[{i}]"), depth + 1)?);
            }
            function.check_arity(args.len()).map_err(|m| bad(path, m))?;
            let function = function.name;
            if functions::takes_template(function) {
                check_template(function, &args, 0).map_err(|e| bad(path, format!("expected {}, found {}", e.expected, e.found)))?;
            }
            Ok(Expr::Call {
                function: function.to_owned(),
                args,
            })
        }
        other => Err(bad(
            path,
            format!("node type '{other}' is not supported in attribute form expressions (column_reference, constant, operator)"),
        )),
    }
}

/// The function of an operator node: its `function`, or for `custom` and `third_party` the
/// function its `customFunction` names (by name, else by object id).
fn operator_function(m: &Map<String, Value>, path: &str) -> Result<&'static functions::Function, FormError> {
    let function = str_field(m, "function", path)?;
    if function != "custom" && function != "third_party" {
        return functions::by_name(function).ok_or_else(|| {
            bad(
                path,
                format!("unknown function '{function}' (a function outside mstrio's enum is 'custom' with a 'customFunction')"),
            )
        });
    }
    let Some(Value::Object(custom)) = m.get("customFunction") else {
        return Err(bad(
            path,
            format!("a '{function}' operator needs a 'customFunction' object naming the function"),
        ));
    };
    let cpath = format!("{path}.customFunction");
    let by_name = match custom.get("name") {
        Some(Value::String(n)) => functions::by_text(n),
        _ => None,
    };
    let by_id = || match custom.get("objectId") {
        Some(Value::String(id)) => functions::CATALOGUE
            .iter()
            .find(|f| crate::tokens::function_id(f.name).eq_ignore_ascii_case(id)),
        _ => None,
    };
    by_name.or_else(by_id).ok_or_else(|| {
        let named = custom
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| custom.get("objectId").and_then(Value::as_str))
            .unwrap_or("");
        bad(&cpath, format!("unknown function '{named}'"))
    })
}

/// A numeric constant's value must read as a number literal, optionally negative.
fn number(value: &str, vtype: &str, path: &str) -> Result<Expr, FormError> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let ok = match lex(digits) {
        Ok(l) => l.len() == 2 && matches!(l[0].kind, LexemeKind::Number(_)) && l[0].source == digits,
        Err(_) => false,
    };
    if !ok {
        return Err(bad(path, format!("'{value}' is not a {vtype} number")));
    }
    let mut text = value.to_owned();
    let mut kind = NumberKind::of_literal(&text);
    if vtype == "double" && kind != NumberKind::Double {
        text.push_str(".0");
        kind = NumberKind::Double;
    } else if vtype != "double" && kind == NumberKind::Double {
        return Err(bad(path, format!("'{value}' is not an {vtype} number")));
    }
    Ok(Expr::Number { text, kind })
}
