//! Attribute relationships as one fact: set from the child or from the parent, inside a
//! changeset and after commit, each relationship is the same from the parent's definition, the
//! child's and both system hierarchy views, and either side removes it. Deleting an attribute
//! another relates to as parent is refused. Each test runs on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::json;
use crate::common::model::{start, Backend, Model};

/// The relationships of attribute `id` from the definition and from the system hierarchy,
/// committed or inside `cs`; asserts the two agree and returns them as (parent, child, type).
async fn seen(m: &Model, id: &str, cs: Option<&str>) -> Vec<(String, String, String)> {
    let (status, def) = m.get_attribute(&m.admin, id, cs, "").await;
    assert_eq!(status, 200, "{def}");
    let mut req = m
        .admin
        .get(&m.url(&format!(
            "/api/model/systemHierarchy/attributes/{id}/relationships"
        )))
        .header("X-MSTR-ProjectID", &m.project);
    if let Some(cs) = cs {
        req = req.header("X-MSTR-MS-Changeset", cs);
    }
    let (status, hierarchy) = json(req.send().await.unwrap()).await;
    assert_eq!(status, 200, "{hierarchy}");
    assert_eq!(
        def["relationships"], hierarchy["relationships"],
        "definition and system hierarchy of {id}"
    );
    triples(&hierarchy["relationships"])
}

fn triples(list: &Value) -> Vec<(String, String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                s(&r["parent"]["name"]),
                s(&r["child"]["name"]),
                s(&r["relationshipType"]),
            )
        })
        .collect()
}

async fn put(m: &Model, id: &str, cs: &str, rels: Value) -> (u16, Value) {
    json(
        m.admin
            .put(&m.url(&format!(
                "/api/model/systemHierarchy/attributes/{id}/relationships"
            )))
            .header("X-MSTR-MS-Changeset", cs)
            .json(&json!({ "relationships": rels }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn rel(parent: &str, child: &str, table: &str, kind: &str) -> Value {
    json!({"parent": {"objectId": parent, "subType": "attribute"}, "child": {"objectId": child, "subType": "attribute"},
           "relationshipTable": {"objectId": table, "subType": "logical_table"}, "relationshipType": kind})
}

/// A committed Subcategory and a committed Category on LU_SUBCATEG: (table, subcategory, category).
async fn two_attributes(m: &Model) -> (String, String, String) {
    let (table, sub) = m.subcategory().await;
    let cs = m.changeset(&m.admin).await;
    let body = m.attribute_body("Category", &table, "LU_SUBCATEG", "CATEGORY_ID", "SUBCAT_DESC");
    let (status, cat) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{cat}");
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);
    (
        table,
        sub,
        cat["information"]["objectId"].as_str().unwrap().to_string(),
    )
}

fn cat_sub(kind: &str) -> Vec<(String, String, String)> {
    vec![("Category".into(), "Subcategory".into(), kind.into())]
}

async fn either_side(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, sub, cat) = two_attributes(&m).await;

    // Set from the child: inside the changeset both sides see it, the committed model does not.
    let cs = m.changeset(&m.admin).await;
    let (status, body) = put(&m, &sub, &cs, json!([rel(&cat, &sub, &table, "one_to_many")])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(triples(&body["relationships"]), cat_sub("one_to_many"));
    for id in [&sub, &cat] {
        assert_eq!(
            seen(&m, id, Some(&cs)).await,
            cat_sub("one_to_many"),
            "inside the changeset"
        );
        assert_eq!(seen(&m, id, None).await, vec![], "not committed yet");
    }
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    for id in [&sub, &cat] {
        assert_eq!(seen(&m, id, None).await, cat_sub("one_to_many"), "committed");
    }

    // Removed from the parent: gone from both sides.
    let cs = m.changeset(&m.admin).await;
    let (status, body) = put(&m, &cat, &cs, json!([])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["relationships"], json!([]));
    assert_eq!(seen(&m, &sub, Some(&cs)).await, vec![]);
    assert_eq!(
        seen(&m, &sub, None).await,
        cat_sub("one_to_many"),
        "still committed"
    );
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    for id in [&sub, &cat] {
        assert_eq!(seen(&m, id, None).await, vec![], "removed");
    }

    // Set from the parent, changed from the child (the pair stays one fact), removed by the child.
    let cs = m.changeset(&m.admin).await;
    assert_eq!(
        put(&m, &cat, &cs, json!([rel(&cat, &sub, &table, "one_to_one")]))
            .await
            .0,
        200
    );
    assert_eq!(
        put(&m, &sub, &cs, json!([rel(&cat, &sub, &table, "many_to_many")]))
            .await
            .0,
        200
    );
    assert_eq!(seen(&m, &cat, Some(&cs)).await, cat_sub("many_to_many"));
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(seen(&m, &cat, None).await, cat_sub("many_to_many"));
    let cs = m.changeset(&m.admin).await;
    assert_eq!(put(&m, &sub, &cs, json!([])).await.0, 200);
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    for id in [&sub, &cat] {
        assert_eq!(seen(&m, id, None).await, vec![], "removed by the child");
    }

    // A pair given twice is refused, and nothing changes.
    let cs = m.changeset(&m.admin).await;
    let twice = json!([
        rel(&cat, &sub, &table, "one_to_many"),
        rel(&cat, &sub, &table, "one_to_one")
    ]);
    let (status, err) = put(&m, &sub, &cs, twice).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    assert_eq!(seen(&m, &sub, Some(&cs)).await, vec![]);
}
both_backends!(relationships_are_one_fact_from_either_side, either_side);

async fn chains_and_deletes(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, sub, cat) = two_attributes(&m).await;
    // Item, child of Subcategory, made and related in one changeset through the PATCH body.
    let cs = m.changeset(&m.admin).await;
    let body = m.attribute_body("Item", &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
    let (status, item) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{item}");
    let item = item["information"]["objectId"].as_str().unwrap().to_string();
    let (status, patched) = m
        .patch_attribute(
            &m.admin,
            &item,
            &cs,
            &json!({"relationships": [rel(&sub, &item, &table, "one_to_many")]}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        triples(&patched["relationships"]),
        vec![("Subcategory".into(), "Item".into(), "one_to_many".into())]
    );
    // Subcategory gets its parent; its child stays.
    let keep = json!([
        rel(&sub, &item, &table, "one_to_many"),
        rel(&cat, &sub, &table, "one_to_many")
    ]);
    assert_eq!(put(&m, &sub, &cs, keep).await.0, 200);
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    let both: Vec<(String, String, String)> = vec![
        ("Subcategory".into(), "Item".into(), "one_to_many".into()),
        ("Category".into(), "Subcategory".into(), "one_to_many".into()),
    ];
    assert_eq!(seen(&m, &sub, None).await, both, "as parent first, then as child");
    assert_eq!(seen(&m, &cat, None).await, cat_sub("one_to_many"));
    assert_eq!(seen(&m, &item, None).await, vec![both[0].clone()]);

    // Category is Subcategory's parent: it cannot be deleted. Item, a child only, can; its
    // relationship goes with it.
    let delete = |id: String| {
        let m = &m;
        async move {
            json(
                m.admin
                    .delete(&m.url(&format!("/api/objects/{id}?type=12")))
                    .header("X-MSTR-ProjectID", &m.project)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, err) = delete(cat.clone()).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    let (status, _) = delete(item.clone()).await;
    assert_eq!(status, 204);
    assert_eq!(seen(&m, &sub, None).await, cat_sub("one_to_many"));
}
both_backends!(relationships_chain_and_guard_deletes, chains_and_deletes);
