//! vestibule's parser for MicroStrategy attribute form expressions.
//!
//! An expression has three forms on the wire (spec §4.2): `text` (what a person writes, e.g.
//! `Concat(FIRST_NAME, " ", LAST_NAME)`), `tree` (typed nodes: `column_reference`, `constant`,
//! `operator`) and `tokens` (the lexed text with each token's kind). [`parse`] reads text into an
//! [`Expr`]; [`Expr::to_text`] prints the canonical text back, so text → tree → text round-trips;
//! [`tree`] reads and writes the tree form and [`tokens`] the token form.
//!
//! Grammar, lowest precedence first: `Or`, `And`, prefix `Not`, comparisons (`= <> < > <= >=`),
//! `+ -`, `* /`, unary `-`, then primaries: numbers, strings (`"…"` with `""` inside, or `'…'`),
//! column names (`NAME` or `[any name]` with `]]` inside), function calls `Name(args…)`, and
//! brackets.
#![forbid(unsafe_code)]

pub mod functions;
mod lexer;
mod parser;
mod print;
pub mod tokens;
pub mod tree;

pub use lexer::{lex, Lexeme, LexemeKind};
pub use parser::parse;

use thiserror::Error;

/// A number's variant type, as the tree's `variant.type` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Int32,
    Int64,
    Double,
}

impl NumberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NumberKind::Int32 => "int32",
            NumberKind::Int64 => "int64",
            NumberKind::Double => "double",
        }
    }

    /// The kind a number literal gets: integers that fit 32 bits are `int32`, other integers that
    /// fit 64 bits `int64`, the rest `double`.
    pub fn of_literal(text: &str) -> NumberKind {
        if text.contains(['.', 'e', 'E']) {
            NumberKind::Double
        } else if text.parse::<i32>().is_ok() {
            NumberKind::Int32
        } else if text.parse::<i64>().is_ok() {
            NumberKind::Int64
        } else {
            NumberKind::Double
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column of the table the expression is applied to, by name.
    Column(String),
    /// A number, kept as its literal text (optionally with a leading `-`) so it prints back
    /// exactly as written.
    Number { text: String, kind: NumberKind },
    /// A string constant.
    Str(String),
    /// A function or operator applied to arguments; `function` is the snake-case name.
    Call { function: String, args: Vec<Expr> },
}

impl Expr {
    pub fn call(function: &str, args: Vec<Expr>) -> Expr {
        Expr::Call {
            function: function.to_owned(),
            args,
        }
    }

    /// The canonical text of the expression.
    pub fn to_text(&self) -> String {
        print::print(self)
    }

    /// Every column name the expression references, in order of appearance, without repeats.
    pub fn columns(&self) -> Vec<&str> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
            match e {
                Expr::Column(c) if !out.contains(&c.as_str()) => out.push(c),
                Expr::Call { args, .. } => args.iter().for_each(|a| walk(a, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }
}

/// A syntax error: where (a 0-based character position in the text) and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Syntax error at position {position}: expected {expected}, found {found}")]
pub struct SyntaxError {
    pub position: usize,
    pub expected: String,
    pub found: String,
}

/// An error in a `tree` or `tokens` form given as input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormError {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error("Invalid expression tree at {path}: {message}")]
    Tree { path: String, message: String },
}

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;
/// Longest text accepted, in bytes.
pub const MAX_LEN: usize = 64 * 1024;
