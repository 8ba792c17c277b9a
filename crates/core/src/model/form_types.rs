//! A form's data type and display format when the request leaves them out: the data type of its
//! first expression, from the column types of the expression's tables and the function
//! catalogue's result rules (`vestibule_expr::functions::Yields`), and the display format that
//! type reads best in (spec §4.2: "can be calculated based on the first attribute form
//! expression"; the choices are in docs/compatibility.md).

use vestibule_expr::functions::{self, Yields};
use vestibule_expr::{Expr, NumberKind};

use crate::model::types::DataType;

/// Whether a column type holds characters.
fn is_string(kind: &str) -> bool {
    matches!(
        kind,
        "char" | "var_char" | "n_char" | "n_var_char" | "long_var_char" | "utf8_char"
    )
}

/// Numeric types from narrowest to widest; `None` for a type that is not numeric.
fn numeric_rank(kind: &str) -> Option<u8> {
    Some(match kind {
        "integer" | "unsigned" => 0,
        "numeric" | "decimal" => 1,
        "big_decimal" => 2,
        "real" | "float" | "double" => 3,
        _ => return None,
    })
}

/// The data type `e` yields; `column` gives a column's type by name. `None` when it cannot be
/// told (an unknown column, a function the catalogue has no rule for).
pub fn infer(e: &Expr, column: &dyn Fn(&str) -> Option<DataType>) -> Option<DataType> {
    match e {
        Expr::Column(c) => column(c),
        Expr::Number { kind, .. } => Some(match kind {
            NumberKind::Int32 => DataType::of("integer"),
            NumberKind::Int64 => DataType {
                kind: "numeric".into(),
                precision: 19,
                scale: 0,
            },
            NumberKind::Double => DataType::of("double"),
        }),
        Expr::Str(s) => Some(DataType {
            kind: "var_char".into(),
            precision: s.chars().count().max(1) as i64,
            scale: 0,
        }),
        Expr::Call { function, args } => {
            let arg = |i: usize| args.get(i).and_then(|a| infer(a, column));
            match functions::by_key(function)?.yields {
                Yields::Numeric => args
                    .iter()
                    .filter_map(|a| infer(a, column))
                    .filter(|t| numeric_rank(&t.kind).is_some())
                    .max_by_key(|t| numeric_rank(&t.kind)),
                Yields::Double => Some(DataType::of("double")),
                Yields::Integer => Some(DataType::of("integer")),
                Yields::Boolean => Some(DataType::of("bool")),
                Yields::Date => Some(DataType::of("date")),
                Yields::DateTime => Some(DataType::of("timestamp")),
                Yields::Time => Some(DataType::of("time")),
                Yields::String => Some(DataType::of("var_char")),
                Yields::Arg0String => Some(
                    arg(0)
                        .filter(|t| is_string(&t.kind))
                        .unwrap_or_else(|| DataType::of("var_char")),
                ),
                Yields::Concat => Some(concatenation(args, column)),
                Yields::Arg0 => arg(0),
                Yields::Arg1 => arg(1),
                Yields::Arg2 => arg(2),
                Yields::Unknown => None,
            }
        }
    }
}

/// The string a concatenation yields: national characters if any part has them, as long as its
/// parts together (a part of unknown or non-string type counts as 255).
fn concatenation(args: &[Expr], column: &dyn Fn(&str) -> Option<DataType>) -> DataType {
    let parts: Vec<Option<DataType>> = args.iter().map(|a| infer(a, column)).collect();
    let national = parts
        .iter()
        .flatten()
        .any(|t| matches!(t.kind.as_str(), "n_char" | "n_var_char"));
    let precision = parts
        .iter()
        .map(|t| match t {
            Some(t) if is_string(&t.kind) => t.precision.max(1),
            _ => 255,
        })
        .fold(0i64, i64::saturating_add);
    DataType {
        kind: if national { "n_var_char" } else { "var_char" }.into(),
        precision,
        scale: 0,
    }
}

/// The display format a form of type `t` gets when none is given.
pub fn display_format(t: Option<&DataType>) -> &'static str {
    let Some(t) = t else { return "text" };
    match t.kind.as_str() {
        "big_decimal" => "big_decimal",
        "date" => "date",
        "time" => "time",
        "timestamp" => "date_time",
        k if numeric_rank(k).is_some() => "number",
        _ => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(name: &str) -> Option<DataType> {
        match name {
            "ID" => Some(DataType::of("integer")),
            "PRICE" => Some(DataType::of("double")),
            "FIRST" => Some(DataType {
                kind: "n_var_char".into(),
                precision: 50,
                scale: 0,
            }),
            "LAST" => Some(DataType {
                kind: "var_char".into(),
                precision: 60,
                scale: 0,
            }),
            "BORN" => Some(DataType::of("date")),
            _ => None,
        }
    }

    fn of(text: &str) -> Option<DataType> {
        infer(&vestibule_expr::parse(text).unwrap(), &columns)
    }

    #[test]
    fn types_follow_columns_and_functions() {
        assert_eq!(of("ID"), Some(DataType::of("integer")));
        assert_eq!(of("ID + 1"), Some(DataType::of("integer")));
        assert_eq!(of("ID * PRICE"), Some(DataType::of("double")));
        assert_eq!(of("ID / 2"), Some(DataType::of("double")));
        let name = of(r#"Concat(FIRST, " ", LAST)"#).unwrap();
        assert_eq!((name.kind.as_str(), name.precision), ("n_var_char", 111));
        assert_eq!(of("Upper(LAST)").map(|t| t.precision), Some(60));
        assert_eq!(of("Length(LAST)"), Some(DataType::of("integer")));
        assert_eq!(of("Year(BORN)"), Some(DataType::of("integer")));
        assert_eq!(of("AddDays(BORN, 1)"), Some(DataType::of("date")));
        assert_eq!(of("NOPE"), None);
        assert_eq!(of(r##"ApplySimple("#0", ID)"##), None);
    }

    #[test]
    fn display_formats_follow_types() {
        let f = |t: &str| display_format(Some(&DataType::of(t)));
        assert_eq!(f("integer"), "number");
        assert_eq!(f("double"), "number");
        assert_eq!(f("big_decimal"), "big_decimal");
        assert_eq!(f("n_var_char"), "text");
        assert_eq!(f("date"), "date");
        assert_eq!(f("timestamp"), "date_time");
        assert_eq!(f("time"), "time");
        assert_eq!(display_format(None), "text");
    }
}
