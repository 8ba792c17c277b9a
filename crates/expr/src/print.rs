//! The printer: an [`Expr`] into its canonical text, with only the brackets precedence needs.

use crate::parser::keyword;
use crate::{functions, Expr};

const PRIMARY: u8 = 8;

fn infix(function: &str) -> Option<(&'static str, u8)> {
    Some(match function {
        "or" => ("Or", 1),
        "and" => ("And", 2),
        "equals" => ("=", 4),
        "not_equal" => ("<>", 4),
        "less" => ("<", 4),
        "greater" => (">", 4),
        "less_equal" => ("<=", 4),
        "greater_equal" => (">=", 4),
        "plus" => ("+", 5),
        "minus" => ("-", 5),
        "times" => ("*", 6),
        "divide" => ("/", 6),
        _ => return None,
    })
}

fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Call { function, args } if args.len() == 2 => infix(function).map_or(PRIMARY, |(_, p)| p),
        Expr::Call { function, args } if args.len() == 1 && function == "unary_minus" => 7,
        _ => PRIMARY,
    }
}

pub fn print(e: &Expr) -> String {
    let mut out = String::new();
    write(e, &mut out);
    out
}

fn bracketed(e: &Expr, need: bool, out: &mut String) {
    if need {
        out.push('(');
        write(e, out);
        out.push(')');
    } else {
        write(e, out);
    }
}

/// A column name as text: bare when it reads back as the same column, else in `[ ]`.
pub fn column_text(name: &str) -> String {
    let mut chars = name.chars();
    let bare = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && keyword(name).is_none();
    if bare {
        name.to_owned()
    } else {
        format!("[{}]", name.replace(']', "]]"))
    }
}

pub fn string_text(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn write(e: &Expr, out: &mut String) {
    match e {
        Expr::Column(c) => out.push_str(&column_text(c)),
        Expr::Number { text, .. } => out.push_str(text),
        Expr::Str(s) => out.push_str(&string_text(s)),
        Expr::Call { function, args } => {
            if args.len() == 2 {
                if let Some((symbol, p)) = infix(function) {
                    bracketed(&args[0], precedence(&args[0]) < p, out);
                    out.push(' ');
                    out.push_str(symbol);
                    out.push(' ');
                    bracketed(&args[1], precedence(&args[1]) <= p, out);
                    return;
                }
            }
            if args.len() == 1 && function == "unary_minus" {
                out.push('-');
                // `-5` would read back as the constant -5, so a minus on a number keeps brackets.
                let need = precedence(&args[0]) < 7
                    || matches!(&args[0], Expr::Number { text, .. } if !text.starts_with('-'));
                bracketed(&args[0], need, out);
                return;
            }
            out.push_str(functions::text_name(function));
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(a, out);
            }
            out.push(')');
        }
    }
}
