//! The `tokens` form: the canonical text split into typed tokens, ending with `end_of_text`
//! (spec §4.2). As input, a token list is read by joining the tokens' `value`s.

use serde_json::{json, Map, Value};

use crate::lexer::{lex, LexemeKind};
use crate::parser::keyword;
use crate::{functions, Expr, FormError, SyntaxError};

/// The object id of a function (a catalogue key): MicroStrategy's own where the catalogue has it,
/// else a stable id derived from the name.
pub fn function_id(function: &str) -> String {
    if let Some(id) = functions::by_key(function).and_then(|f| f.object_id) {
        return id.into();
    }
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("vestibule-function:{function}").as_bytes());
    hex::encode_upper(&d[..16])
}

fn symbol_function(s: &str, unary: bool) -> Option<&'static str> {
    Some(match s {
        "+" => "plus",
        "-" if unary => "unary_minus",
        "-" => "minus",
        "*" => "times",
        "/" => "divide",
        "=" => "equals",
        "<>" => "not_equal",
        "<" => "less",
        ">" => "greater",
        "<=" => "less_equal",
        ">=" => "greater_equal",
        _ => return None,
    })
}

fn token(value: &str, kind: &str, target: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("level".into(), json!("resolved"));
    m.insert("state".into(), json!("okay"));
    m.insert("value".into(), json!(value));
    m.insert("type".into(), json!(kind));
    if let Some(t) = target {
        m.insert("target".into(), t);
    }
    Value::Object(m)
}

fn function_target(function: &str, name: &str) -> Value {
    json!({"objectId": function_id(function), "subType": "function", "name": name})
}

/// The tokens of `e`'s canonical text. `column_target` gives the `target` object of a column
/// name, when the column is known.
pub fn to_tokens(e: &Expr, column_target: &dyn Fn(&str) -> Option<Value>) -> Vec<Value> {
    let text = e.to_text();
    // The canonical text always lexes: it was printed from a valid expression.
    let lexemes = lex(&text).unwrap_or_default();
    let mut out = Vec::with_capacity(lexemes.len());
    // Whether the previous token ends an operand (so a following `-` is binary).
    let mut after_operand = false;
    for (i, l) in lexemes.iter().enumerate() {
        let next_is_paren = matches!(lexemes.get(i + 1).map(|n| &n.kind), Some(LexemeKind::Symbol("(")));
        match &l.kind {
            LexemeKind::Word(w) if next_is_paren => {
                let f = functions::by_text(w).map_or("custom", |f| f.name);
                out.push(token(
                    &l.source,
                    "function",
                    Some(function_target(f, functions::text_name(f))),
                ));
                after_operand = false;
            }
            LexemeKind::Word(w) if keyword(w).is_some() => {
                let f = keyword(w).unwrap_or("and");
                out.push(token(
                    &l.source,
                    "keyword",
                    Some(function_target(f, functions::text_name(f))),
                ));
                after_operand = false;
            }
            LexemeKind::Word(name) | LexemeKind::Bracketed(name) => {
                out.push(token(&l.source, "column_reference", column_target(name)));
                after_operand = true;
            }
            LexemeKind::Number(n) => {
                let kind = if crate::NumberKind::of_literal(n) == crate::NumberKind::Double {
                    "float"
                } else {
                    "integer"
                };
                out.push(token(&l.source, kind, None));
                after_operand = true;
            }
            LexemeKind::Str(_) => {
                out.push(token(&l.source, "string_literal", None));
                after_operand = true;
            }
            LexemeKind::Symbol(s) => {
                let target = symbol_function(s, !after_operand).map(|f| function_target(f, s));
                out.push(token(&l.source, "character", target));
                after_operand = *s == ")";
            }
            LexemeKind::End => out.push(token("", "end_of_text", None)),
        }
    }
    out
}

/// Reads a token list given as input: the tokens' values joined by spaces, parsed as text. A
/// single token may hold the whole text (`[{"value":"A - B"}]`).
pub fn from_tokens(tokens: &[Value]) -> Result<Expr, FormError> {
    let mut text = String::new();
    for (i, t) in tokens.iter().enumerate() {
        let Value::Object(m) = t else {
            return Err(FormError::Tree {
                path: format!("tokens[{i}]"),
                message: "a token must be an object".into(),
            });
        };
        if m.get("type").and_then(Value::as_str) == Some("end_of_text") {
            continue;
        }
        match m.get("value") {
            Some(Value::String(v)) => {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(v);
            }
            _ => {
                return Err(FormError::Tree {
                    path: format!("tokens[{i}]"),
                    message: "'value' must be a string".into(),
                })
            }
        }
    }
    if text.trim().is_empty() {
        return Err(FormError::Syntax(SyntaxError {
            position: 0,
            expected: "an expression".into(),
            found: "end of text".into(),
        }));
    }
    Ok(crate::parse(&text)?)
}
