//! The recursive-descent parser: lexemes into an [`Expr`], one function per precedence level.

use crate::lexer::{lex, Lexeme, LexemeKind};
use crate::{functions, Expr, NumberKind, SyntaxError, MAX_DEPTH, MAX_LEN};

/// Parses expression text.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    if text.len() > MAX_LEN {
        return Err(SyntaxError {
            position: 0,
            expected: format!("an expression of at most {MAX_LEN} bytes"),
            found: format!("{} bytes", text.len()),
        });
    }
    let lexemes = lex(text)?;
    let mut p = Parser {
        lexemes,
        at: 0,
        depth: 0,
    };
    let e = p.or()?;
    match p.peek().kind {
        LexemeKind::End => Ok(e),
        _ => Err(p.error("an operator or the end of the expression")),
    }
}

struct Parser {
    lexemes: Vec<Lexeme>,
    at: usize,
    depth: usize,
}

pub(crate) fn keyword(word: &str) -> Option<&'static str> {
    if word.eq_ignore_ascii_case("and") {
        Some("and")
    } else if word.eq_ignore_ascii_case("or") {
        Some("or")
    } else if word.eq_ignore_ascii_case("not") {
        Some("not")
    } else {
        None
    }
}

impl Parser {
    fn peek(&self) -> &Lexeme {
        // The lexer always ends with `End`, and `advance` never moves past it.
        &self.lexemes[self.at.min(self.lexemes.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Lexeme {
        &self.lexemes[(self.at + n).min(self.lexemes.len() - 1)]
    }

    fn advance(&mut self) -> Lexeme {
        let l = self.peek().clone();
        if !matches!(l.kind, LexemeKind::End) {
            self.at += 1;
        }
        l
    }

    fn error(&self, expected: &str) -> SyntaxError {
        let l = self.peek();
        SyntaxError {
            position: l.position,
            expected: expected.into(),
            found: l.describe(),
        }
    }

    fn is_symbol(&self, s: &str) -> bool {
        matches!(self.peek().kind, LexemeKind::Symbol(x) if x == s)
    }

    /// Whether the next lexeme is the keyword `k` used as an operator. After an operand `And (`
    /// is still the operator; in operand position `Not(` is a call of `Not`, the same tree.
    fn is_keyword(&self, k: &str) -> bool {
        matches!(&self.peek().kind, LexemeKind::Word(w) if keyword(w) == Some(k))
            && (k != "not" || !matches!(self.peek_at(1).kind, LexemeKind::Symbol("(")))
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("a less deeply nested expression"));
        }
        Ok(())
    }

    fn binary(
        &mut self,
        next: fn(&mut Parser) -> Result<Expr, SyntaxError>,
        op: fn(&Parser) -> Option<&'static str>,
    ) -> Result<Expr, SyntaxError> {
        let mut left = next(self)?;
        while let Some(function) = op(self) {
            self.advance();
            self.enter()?;
            let right = next(self)?;
            self.depth -= 1;
            left = Expr::call(function, vec![left, right]);
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(Parser::and, |p| p.is_keyword("or").then_some("or"))
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(Parser::not, |p| p.is_keyword("and").then_some("and"))
    }

    fn not(&mut self) -> Result<Expr, SyntaxError> {
        if self.is_keyword("not") {
            self.advance();
            self.enter()?;
            let operand = self.not()?;
            self.depth -= 1;
            return Ok(Expr::call("not", vec![operand]));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(Parser::additive, |p| match p.peek().kind {
            LexemeKind::Symbol("=") => Some("equals"),
            LexemeKind::Symbol("<>") => Some("not_equal"),
            LexemeKind::Symbol("<") => Some("less"),
            LexemeKind::Symbol(">") => Some("greater"),
            LexemeKind::Symbol("<=") => Some("less_equal"),
            LexemeKind::Symbol(">=") => Some("greater_equal"),
            _ => None,
        })
    }

    fn additive(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(Parser::multiplicative, |p| match p.peek().kind {
            LexemeKind::Symbol("+") => Some("plus"),
            LexemeKind::Symbol("-") => Some("minus"),
            _ => None,
        })
    }

    fn multiplicative(&mut self) -> Result<Expr, SyntaxError> {
        self.binary(Parser::unary, |p| match p.peek().kind {
            LexemeKind::Symbol("*") => Some("times"),
            LexemeKind::Symbol("/") => Some("divide"),
            _ => None,
        })
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if self.is_symbol("-") {
            self.advance();
            // A minus right before a number is part of the constant.
            if let LexemeKind::Number(n) = &self.peek().kind {
                let text = format!("-{n}");
                self.advance();
                let kind = NumberKind::of_literal(&text);
                return Ok(Expr::Number { text, kind });
            }
            self.enter()?;
            let operand = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::call("unary_minus", vec![operand]));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        const OPERAND: &str = "a column, a constant, a function call or '('";
        let l = self.peek().clone();
        match l.kind.clone() {
            LexemeKind::Number(n) => {
                self.advance();
                let kind = NumberKind::of_literal(&n);
                Ok(Expr::Number { text: n, kind })
            }
            LexemeKind::Str(s) => {
                self.advance();
                Ok(Expr::Str(s))
            }
            LexemeKind::Bracketed(c) => {
                self.advance();
                Ok(Expr::Column(c))
            }
            LexemeKind::Word(w) => {
                if matches!(self.peek_at(1).kind, LexemeKind::Symbol("(")) {
                    return self.call(&l, &w);
                }
                if keyword(&w).is_some() {
                    return Err(self.error(OPERAND));
                }
                self.advance();
                Ok(Expr::Column(w))
            }
            LexemeKind::Symbol("(") => {
                self.advance();
                self.enter()?;
                let e = self.or()?;
                self.depth -= 1;
                if !self.is_symbol(")") {
                    return Err(self.error("')'"));
                }
                self.advance();
                Ok(e)
            }
            _ => Err(self.error(OPERAND)),
        }
    }

    fn call(&mut self, name: &Lexeme, word: &str) -> Result<Expr, SyntaxError> {
        let Some(def) = functions::by_text(word) else {
            return Err(SyntaxError {
                position: name.position,
                expected: "a known function name".into(),
                found: name.describe(),
            });
        };
        self.advance(); // name
        self.advance(); // (
        self.enter()?;
        let mut args = Vec::new();
        let mut arg_positions = Vec::new();
        if self.is_symbol(")") {
            self.advance();
        } else {
            loop {
                arg_positions.push(self.peek().position);
                args.push(self.or()?);
                if self.is_symbol(",") {
                    self.advance();
                    continue;
                }
                if self.is_symbol(")") {
                    self.advance();
                    break;
                }
                return Err(self.error("',' or ')'"));
            }
        }
        self.depth -= 1;
        let function = def.name;
        if def.check_arity(args.len()).is_err() {
            return Err(SyntaxError {
                position: name.position,
                expected: format!("{} for {}", def.arguments_wanted(), def.text),
                found: args.len().to_string(),
            });
        }
        if functions::takes_template(function) {
            check_template(
                function,
                &args,
                arg_positions.first().copied().unwrap_or(name.position),
            )?;
        }
        Ok(Expr::call(function, args))
    }
}

/// `ApplySimple("#0 + #1", A, B)`: the first argument is a string whose `#n` placeholders each
/// name one of the arguments after it.
pub(crate) fn check_template(function: &str, args: &[Expr], position: usize) -> Result<(), SyntaxError> {
    let Some(Expr::Str(template)) = args.first() else {
        return Err(SyntaxError {
            position,
            expected: format!(
                "a template string as the first argument of {}",
                functions::text_name(function)
            ),
            found: if args.is_empty() {
                "no arguments".into()
            } else {
                "another expression".into()
            },
        });
    };
    let available = args.len() - 1;
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '#' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j > start {
                let n: String = chars[start..j].iter().collect();
                if n.parse::<usize>().map_or(true, |k| k >= available) {
                    return Err(SyntaxError {
                        position,
                        expected: format!(
                            "placeholders #0 to #{} in the template ({available} arguments follow it)",
                            available.saturating_sub(1)
                        ),
                        found: format!("#{n}"),
                    });
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    Ok(())
}
