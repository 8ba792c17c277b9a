//! The expression parser: examples of each form, error positions, and properties (random
//! expressions round-trip through text, tree and tokens; random input never panics).

use proptest::prelude::*;
use serde_json::json;
use vestibule_expr::tokens::{from_tokens, to_tokens};
use vestibule_expr::tree::{from_tree, to_tree};
use vestibule_expr::{parse, Expr, NumberKind};

fn no_ids(_: &str) -> Option<String> {
    None
}

#[test]
fn columns_constants_operators_and_calls() {
    let e = parse("TOT_DOLLAR_SALES - TOT_COST").unwrap();
    assert_eq!(
        to_tree(&e, &|c| Some(format!("ID-{c}"))),
        json!({"type":"operator","function":"minus","children":[
            {"type":"column_reference","columnName":"TOT_DOLLAR_SALES","objectId":"ID-TOT_DOLLAR_SALES"},
            {"type":"column_reference","columnName":"TOT_COST","objectId":"ID-TOT_COST"}]})
    );
    let e = parse(r#"Concat(FIRST_NAME, " ", LAST_NAME)"#).unwrap();
    assert_eq!(
        to_tree(&e, &no_ids)["children"][1],
        json!({"type":"constant","variant":{"type":"string","value":" "}})
    );
    assert_eq!(e.to_text(), r#"Concat(FIRST_NAME, " ", LAST_NAME)"#);
    let e = parse(r##"applysimple("#0 * 2 + #1", [unit price], 3.5)"##).unwrap();
    assert_eq!(e.to_text(), r##"ApplySimple("#0 * 2 + #1", [unit price], 3.5)"##);
    assert_eq!(e.columns(), vec!["unit price"]);
    let e = parse("(A + B) * -C >= 10 And Not D = 2 Or E <> 3000000000").unwrap();
    assert_eq!(
        e.to_text(),
        "(A + B) * -C >= 10 And Not(D = 2) Or E <> 3000000000"
    );
    let Expr::Call { args, .. } = &e else { panic!() };
    let Expr::Call { args, .. } = &args[1] else {
        panic!()
    };
    assert_eq!(
        args[1],
        Expr::Number {
            text: "3000000000".into(),
            kind: NumberKind::Int64
        }
    );
    assert_eq!(
        parse("-5").unwrap(),
        Expr::Number {
            text: "-5".into(),
            kind: NumberKind::Int32
        }
    );
    assert_eq!(parse("-(5)").unwrap().to_text(), "-(5)");
    assert_eq!(parse("a - - 5").unwrap().to_text(), "a - -5");
    assert_eq!(parse("a - (b - c)").unwrap().to_text(), "a - (b - c)");
    assert_eq!(parse("(a - b) - c").unwrap().to_text(), "a - b - c");
    assert_eq!(parse("CurrentDate()").unwrap().to_text(), "CurrentDate()");
    assert_eq!(parse("'it''s'").unwrap(), Expr::Str("it's".into()));
    assert_eq!(parse("[a]]b]").unwrap().to_text(), "[a]]b]");
    assert_eq!(parse("[and]").unwrap().to_text(), "[and]");
}

#[test]
fn syntax_errors_say_where_and_what_was_expected() {
    let e = parse("A +").unwrap_err();
    assert_eq!((e.position, e.found.as_str()), (3, "end of text"));
    assert!(e.expected.contains("a column"), "{e}");
    let e = parse("Concat(A B)").unwrap_err();
    assert_eq!(
        (e.position, e.expected.as_str(), e.found.as_str()),
        (9, "',' or ')'", "'B'")
    );
    let e = parse("(A + B").unwrap_err();
    assert_eq!((e.position, e.expected.as_str()), (6, "')'"));
    let e = parse("Frobnicate(A)").unwrap_err();
    assert_eq!((e.position, e.expected.as_str()), (0, "a known function name"));
    let e = parse("A $ B").unwrap_err();
    assert_eq!(e.position, 2);
    let e = parse("\"open").unwrap_err();
    assert_eq!(e.expected, "closing \"");
    let e = parse("ApplySimple(A, B)").unwrap_err();
    assert!(e.expected.contains("template string"), "{e}");
    let e = parse(r##"ApplySimple("#0 + #1", A)"##).unwrap_err();
    assert_eq!(e.found, "#1");
    assert!(parse(&"(".repeat(5000)).is_err());
    assert!(parse("A B")
        .unwrap_err()
        .to_string()
        .starts_with("Syntax error at position 2"));
}

#[test]
fn calls_are_checked_against_the_catalogue() {
    let e = parse("Concat()").unwrap_err();
    assert_eq!(
        (e.position, e.expected.as_str(), e.found.as_str()),
        (0, "at least 2 arguments for Concat", "0")
    );
    let e = parse("A + Upper(B, C)").unwrap_err();
    assert_eq!(
        (e.position, e.expected.as_str(), e.found.as_str()),
        (4, "1 argument for Upper", "2")
    );
    assert!(parse("Not(A, B)").is_err());
    assert!(parse("CurrentDate(A)").is_err());
    // MicroStrategy's names, in and outside mstrio's enum.
    let e = parse("Upper(A)").unwrap();
    assert_eq!(e, Expr::call("ucase", vec![Expr::Column("A".into())]));
    assert_eq!(e.to_text(), "Upper(A)");
    assert_eq!(parse("UCase(A)").unwrap(), e);
    assert_eq!(to_tree(&e, &no_ids)["function"], "ucase");
    let e = parse("Round(A / 3)").unwrap();
    let tree = to_tree(&e, &no_ids);
    assert_eq!(tree["function"], "custom");
    assert_eq!(tree["customFunction"]["name"], "Round");
    assert_eq!(tree["customFunction"]["subType"], "function");
    assert_eq!(from_tree(&tree).unwrap(), e);
    // Trees: the same checks, by path.
    let minus = json!({"type":"operator","function":"minus","children":[{"type":"column_reference","columnName":"X"}]});
    let e = from_tree(&minus).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid expression tree at tree: Minus takes 2 arguments, not 1"
    );
    let nested = json!({"type":"operator","function":"plus","children":[
        {"type":"column_reference","columnName":"X"},
        {"type":"operator","function":"concat","children":[]}]});
    assert_eq!(
        from_tree(&nested).unwrap_err().to_string(),
        "Invalid expression tree at tree.children[1]: Concat takes at least 2 arguments, not 0"
    );
    let custom = json!({"type":"operator","function":"custom","children":[]});
    assert!(from_tree(&custom)
        .unwrap_err()
        .to_string()
        .contains("customFunction"));
    let custom =
        json!({"type":"operator","function":"custom","customFunction":{"name":"Frob"},"children":[]});
    assert!(from_tree(&custom)
        .unwrap_err()
        .to_string()
        .contains("unknown function 'Frob'"));
    let toks = to_tokens(&parse("Sum(A) > 1").unwrap(), &|_| None);
    assert_eq!(toks[0]["target"]["objectId"], "8107C31BDD9911D3B98100C04F2233EA");
    assert_eq!(toks[4]["target"]["objectId"], "8107C317DD9911D3B98100C04F2233EA");
}

#[test]
fn tree_and_token_inputs() {
    let e = from_tree(&json!({"columnName":"SUBCAT_ID","type":"column_reference"})).unwrap();
    assert_eq!(e, Expr::Column("SUBCAT_ID".into()));
    let e = from_tokens(&[json!({"value":"SUBCAT_DESC"})]).unwrap();
    assert_eq!(e, Expr::Column("SUBCAT_DESC".into()));
    let e = from_tokens(&[json!({"value":"TOT_DOLLAR_SALES - TOT_COST"})]).unwrap();
    assert_eq!(e.to_text(), "TOT_DOLLAR_SALES - TOT_COST");
    let toks = to_tokens(&e, &|_| None);
    assert_eq!(toks.len(), 4);
    assert_eq!(toks[1]["type"], "character");
    assert_eq!(toks[1]["target"]["objectId"], "8107C311DD9911D3B98100C04F2233EA");
    assert_eq!(toks[3]["type"], "end_of_text");
    assert_eq!(from_tokens(&toks).unwrap(), e);
    assert!(from_tree(&json!({"type":"operator","function":"nope","children":[]})).is_err());
    assert!(from_tree(&json!({"type":"constant","variant":{"type":"int32","value":"1x"}})).is_err());
    assert!(from_tree(&json!({"type":"column_reference"})).is_err());
    assert!(from_tree(&json!([1])).is_err());
}

fn column() -> impl Strategy<Value = Expr> {
    prop_oneof![
        "[A-Z_][A-Z0-9_]{0,8}".prop_map(Expr::Column),
        "[ -~]{1,8}".prop_map(Expr::Column),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        column(),
        (-100000i64..100000).prop_map(|n| {
            let text = n.to_string();
            Expr::Number {
                kind: NumberKind::of_literal(&text),
                text,
            }
        }),
        (any::<i64>()).prop_map(|n| {
            let text = n.to_string();
            Expr::Number {
                kind: NumberKind::of_literal(&text),
                text,
            }
        }),
        (0u32..1000, 0u32..1000).prop_map(|(a, b)| Expr::Number {
            text: format!("{a}.{b}"),
            kind: NumberKind::Double
        }),
        "[ -~]{0,6}".prop_map(Expr::Str),
    ]
}

const OPS: &[&str] = &[
    "plus",
    "minus",
    "times",
    "divide",
    "equals",
    "not_equal",
    "less",
    "greater",
    "less_equal",
    "greater_equal",
    "and",
    "or",
    "not",
    "unary_minus",
    "concat",
    "abs",
    "if",
    "sum",
    "current_date",
    "ucase",
    "sub_str",
    "in",
    "round",
    "concat_blank",
];

/// A call of `OPS[i]` with a number of arguments the catalogue allows.
fn call(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
    (0..OPS.len()).prop_flat_map(move |i| {
        let f = vestibule_expr::functions::by_key(OPS[i]).expect("in the catalogue");
        let hi = f.max_args.unwrap_or(f.min_args + 3).min(f.min_args + 3);
        prop::collection::vec(inner.clone(), f.min_args..=hi).prop_map(move |args| Expr::call(OPS[i], args))
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            call(inner.clone().boxed()),
            prop::collection::vec(inner, 0..3).prop_map(|args| {
                let template = (0..args.len())
                    .map(|i| format!("#{i}"))
                    .collect::<Vec<_>>()
                    .join(" + ");
                let mut all = vec![Expr::Str(template)];
                all.extend(args);
                Expr::call("apply_simple", all)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_expressions_round_trip(e in expr()) {
        let text = e.to_text();
        let back = parse(&text).map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
        prop_assert_eq!(&back, &e, "text {}", text);
        prop_assert_eq!(back.to_text(), text.clone());
        let tree = to_tree(&e, &no_ids);
        prop_assert_eq!(from_tree(&tree).unwrap(), e.clone());
        let toks = to_tokens(&e, &|_| None);
        prop_assert_eq!(from_tokens(&toks).unwrap(), e);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse(&text);
    }

    #[test]
    fn random_operator_soup_never_panics(text in "[-+*/=<>(),\"'\\[\\] a-zA-Z0-9.#]{0,80}") {
        if let Ok(e) = parse(&text) {
            // Whatever parses prints back to text that parses to the same expression.
            prop_assert_eq!(parse(&e.to_text()).unwrap(), e);
        }
    }
}
