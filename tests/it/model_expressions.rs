//! Form expressions against the function catalogue: a call with the wrong number of arguments is
//! a 400 naming the function and the count (text, tokens and tree alike); MicroStrategy's
//! function names (`Upper`, `Round`) are accepted; a form's data type and display format are
//! inferred from its expression when left out; an empty name is a missing field. Each test runs
//! on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::model::{start, Backend, Model};

const COLUMNS: &[(&str, &str)] = &[
    ("ITEM_ID", "integer"),
    ("FIRST_NAME", "n_var_char"),
    ("LAST_NAME", "var_char"),
    ("PRICE", "double"),
    ("BORN", "date"),
];

/// An attribute body with an ID form on ITEM_ID and a second form with `expression` (given as
/// `tree` or `tokens`) and no display format or data type.
fn body(m: &Model, table: &str, name: &str, expression: Value) -> Value {
    let mut b = m.attribute_body(name, table, "LU_ITEM", "ITEM_ID", "LAST_NAME");
    b["forms"][0].as_object_mut().unwrap().remove("displayFormat");
    b["forms"][1] = json!({"name": "DESC", "category": "DESC", "expressions": [{"expression": expression}],
                           "lookupTable": b["attributeLookupTable"].clone()});
    b
}

async fn arity_and_names(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let table = m.table("LU_ITEM", COLUMNS).await;
    let cs = m.changeset(&m.admin).await;

    // Wrong arities: text (as tokens), then trees, each a 400 naming the function and the count.
    let cases = [
        (
            json!({"tokens": [{"value": "Concat()"}]}),
            "at least 2 arguments for Concat, found 0",
        ),
        (
            json!({"tokens": [{"value": "Upper(FIRST_NAME, LAST_NAME)"}]}),
            "1 argument for Upper, found 2",
        ),
        (
            json!({"tree": {"type": "operator", "function": "minus",
                            "children": [{"type": "column_reference", "columnName": "PRICE"}]}}),
            "Minus takes 2 arguments, not 1",
        ),
        (
            json!({"tree": {"type": "operator", "function": "concat", "children": []}}),
            "Concat takes at least 2 arguments, not 0",
        ),
    ];
    for (i, (expression, message)) in cases.into_iter().enumerate() {
        let (status, err) = m
            .post_attribute(&m.admin, &cs, &body(&m, &table, &format!("Bad {i}"), expression))
            .await;
        assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
        let text = err["message"].as_str().unwrap();
        assert!(text.contains(message), "{text}");
        assert!(
            text.contains("forms[1].expressions[0].expression"),
            "names the path: {text}"
        );
    }

    // MicroStrategy's names: Upper (mstrio's `ucase`) and Round (outside the enum: a custom node).
    let upper = json!({"tokens": [{"value": "Upper(LAST_NAME)"}]});
    let (status, made) = m
        .post_attribute(&m.admin, &cs, &body(&m, &table, "Upper", upper))
        .await;
    assert_eq!(status, 201, "{made}");
    let form = &made["forms"][1];
    assert_eq!(form["expressions"][0]["expression"]["text"], "Upper(LAST_NAME)");
    assert_eq!(form["expressions"][0]["expression"]["tree"]["function"], "ucase");
    let round = json!({"tree": {"type": "operator", "function": "custom",
        "customFunction": {"subType": "function", "name": "Round"},
        "children": [{"type": "column_reference", "columnName": "PRICE"}]}});
    let (status, made) = m
        .post_attribute(&m.admin, &cs, &body(&m, &table, "Rounded", round))
        .await;
    assert_eq!(status, 201, "{made}");
    let tree = &made["forms"][1]["expressions"][0]["expression"]["tree"];
    assert_eq!(
        (&tree["function"], &tree["customFunction"]["name"]),
        (&json!("custom"), &json!("Round")),
        "{tree}"
    );
    assert_eq!(
        made["forms"][1]["expressions"][0]["expression"]["text"],
        "Round(PRICE)"
    );
}
both_backends!(expressions_are_checked_against_the_catalogue, arity_and_names);

async fn inferred_types(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let table = m.table("LU_ITEM", COLUMNS).await;
    let cs = m.changeset(&m.admin).await;
    let concat = json!({"tokens": [{"value": r#"Concat(FIRST_NAME, " ", LAST_NAME)"#}]});
    let (status, made) = m
        .post_attribute(&m.admin, &cs, &body(&m, &table, "Person", concat))
        .await;
    assert_eq!(status, 201, "{made}");
    // The ID form on an integer column: number, and the column's type.
    assert_eq!(made["forms"][0]["displayFormat"], "number");
    assert_eq!(made["forms"][0]["dataType"]["type"], "integer");
    // The Concat form: a national string as long as its parts (255 + 1 + 255), shown as text.
    assert_eq!(made["forms"][1]["displayFormat"], "text");
    assert_eq!(
        made["forms"][1]["dataType"],
        json!({"type": "n_var_char", "precision": 511, "scale": 0})
    );
    // A date and a double column, each its format; an explicit one wins.
    for (expr, format, kind) in [
        ("BORN", "date", "date"),
        ("PRICE * 2", "number", "double"),
        ("Year(BORN)", "number", "integer"),
    ] {
        let b = body(
            &m,
            &table,
            &format!("Of {expr}"),
            json!({"tokens": [{"value": expr}]}),
        );
        let (status, made) = m.post_attribute(&m.admin, &cs, &b).await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(
            (
                &made["forms"][1]["displayFormat"],
                &made["forms"][1]["dataType"]["type"]
            ),
            (&json!(format), &json!(kind)),
            "{expr}"
        );
    }
    let mut b = body(&m, &table, "Explicit", json!({"tokens": [{"value": "PRICE"}]}));
    b["forms"][1]["displayFormat"] = json!("text");
    let (status, made) = m.post_attribute(&m.admin, &cs, &b).await;
    assert_eq!(
        (status, &made["forms"][1]["displayFormat"]),
        (201, &json!("text")),
        "{made}"
    );
    // What the changeset shows is what the commit keeps.
    let id = made["information"]["objectId"].as_str().unwrap().to_string();
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    let (status, got) = m.get_attribute(&m.admin, &id, None, "").await;
    assert_eq!(
        (status, &got["forms"][1]["dataType"]["type"]),
        (200, &json!("double")),
        "{got}"
    );
}
both_backends!(form_types_and_formats_are_inferred, inferred_types);

async fn empty_names(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, sub) = m.subcategory().await;
    let cs = m.changeset(&m.admin).await;
    for name in ["", "   "] {
        let b = m.attribute_body(name, &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
        let (status, err) = m.post_attribute(&m.admin, &cs, &b).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("ERR007")),
            "{name:?}: {err}"
        );
        let (status, err) = m
            .patch_attribute(&m.admin, &sub, &cs, &json!({"information": {"name": name}}))
            .await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("ERR007")),
            "{name:?}: {err}"
        );
    }
}
both_backends!(an_empty_name_is_a_missing_field, empty_names);
