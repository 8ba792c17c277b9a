//! The lexer: text into lexemes with their character positions.

use crate::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub enum LexemeKind {
    /// A bare word: a column name, a function name or a keyword (`And`, `Or`, `Not`).
    Word(String),
    /// A `[bracketed]` column name, unescaped.
    Bracketed(String),
    Number(String),
    Str(String),
    /// One of `+ - * / = <> < > <= >= ( ) ,`.
    Symbol(&'static str),
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lexeme {
    pub kind: LexemeKind,
    /// Character position of its first character.
    pub position: usize,
    /// The text it was read from.
    pub source: String,
}

impl Lexeme {
    pub fn describe(&self) -> String {
        match &self.kind {
            LexemeKind::End => "end of text".into(),
            _ => format!("'{}'", self.source),
        }
    }
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `text` into lexemes, ending with [`LexemeKind::End`].
pub fn lex(text: &str) -> Result<Vec<Lexeme>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |position: usize, expected: &str, found: String| SyntaxError {
        position,
        expected: expected.into(),
        found,
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let kind = if is_word_start(c) {
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            LexemeKind::Word(chars[start..i].iter().collect())
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i < chars.len() && chars[i] == '.' {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    return Err(err(j, "digits of an exponent", found_at(&chars, j)));
                }
            }
            if i < chars.len() && is_word_char(chars[i]) {
                return Err(err(i, "an operator or the end of a number", found_at(&chars, i)));
            }
            LexemeKind::Number(chars[start..i].iter().collect())
        } else if c == '"' || c == '\'' {
            let quote = c;
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(err(i, &format!("closing {quote}"), "end of text".into())),
                    Some(&q) if q == quote => {
                        if chars.get(i + 1) == Some(&quote) {
                            s.push(quote);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            LexemeKind::Str(s)
        } else if c == '[' {
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(err(i, "closing ]", "end of text".into())),
                    Some(']') => {
                        if chars.get(i + 1) == Some(&']') {
                            s.push(']');
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            if s.is_empty() {
                return Err(err(start, "a column name inside [ ]", "[]".into()));
            }
            LexemeKind::Bracketed(s)
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let sym: &'static str = match two.as_str() {
                "<>" => "<>",
                "<=" => "<=",
                ">=" => ">=",
                _ => match c {
                    '+' => "+",
                    '-' => "-",
                    '*' => "*",
                    '/' => "/",
                    '=' => "=",
                    '<' => "<",
                    '>' => ">",
                    '(' => "(",
                    ')' => ")",
                    ',' => ",",
                    _ => {
                        return Err(err(
                            i,
                            "a column, a constant, a function, an operator or a bracket",
                            format!("'{c}'"),
                        ))
                    }
                },
            };
            i += sym.chars().count();
            LexemeKind::Symbol(sym)
        };
        out.push(Lexeme {
            kind,
            position: start,
            source: chars[start..i].iter().collect(),
        });
    }
    out.push(Lexeme {
        kind: LexemeKind::End,
        position: chars.len(),
        source: String::new(),
    });
    Ok(out)
}

fn found_at(chars: &[char], i: usize) -> String {
    chars
        .get(i)
        .map(|c| format!("'{c}'"))
        .unwrap_or_else(|| "end of text".into())
}
