//! Attribute relationships as one fact: set from the child or from the parent, inside a
//! changeset and after commit, each relationship is the same from the parent's definition, the
//! child's and both system hierarchy views, and either side removes it. Deleting an attribute
//! another relates to as parent is refused. Joint children (several attributes as one child):
//! seen alike by the parent and each member, checked (members, duplicates, the table that relates
//! them), removed from any side. Each test runs on SQLite and PostgreSQL.

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

/// Each relationship as "Parent > Child (type)", a joint child as "Parent > [A, B] (type)".
fn described(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = |v: &Value| v["name"].as_str().unwrap_or_default().to_string();
            let child = match r.get("jointChild") {
                Some(members) => {
                    assert!(r.get("child").is_none(), "child or jointChild, not both: {r}");
                    let names: Vec<String> = members.as_array().unwrap().iter().map(name).collect();
                    format!("[{}]", names.join(", "))
                }
                None => name(&r["child"]),
            };
            format!(
                "{} > {child} ({})",
                name(&r["parent"]),
                r["relationshipType"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The relationships of `id` as [`described`], from its definition and the system hierarchy,
/// which must agree.
async fn seen_as(m: &Model, id: &str, cs: Option<&str>) -> Vec<String> {
    seen(m, id, cs).await;
    let (_, def) = m.get_attribute(&m.admin, id, cs, "").await;
    described(&def["relationships"])
}

fn joint(parent: &str, members: &[&str], table: &str, kind: &str) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|m| json!({"objectId": m, "subType": "attribute"}))
        .collect();
    json!({"parent": {"objectId": parent, "subType": "attribute"}, "jointChild": members,
           "relationshipTable": {"objectId": table, "subType": "logical_table"}, "relationshipType": kind})
}

/// Tables ORDER_DETAIL (PROMO_ID, DAY_ID, ITEM_ID, NAME) and LU_PROMO (PROMO_ID, NAME), and
/// committed attributes Promotion (its key form on both), Day and Item (on ORDER_DETAIL):
/// (order detail, lu_promo, promotion, day, item).
async fn promotion_day_item(m: &Model) -> (String, String, String, String, String) {
    let od = m
        .table(
            "ORDER_DETAIL",
            &[
                ("PROMO_ID", "integer"),
                ("DAY_ID", "integer"),
                ("ITEM_ID", "integer"),
                ("NAME", "n_var_char"),
            ],
        )
        .await;
    let lu = m
        .table("LU_PROMO", &[("PROMO_ID", "integer"), ("NAME", "n_var_char")])
        .await;
    let cs = m.changeset(&m.admin).await;
    let mut promo = m.attribute_body("Promotion", &od, "ORDER_DETAIL", "PROMO_ID", "NAME");
    promo["forms"][0]["expressions"][0]["tables"] = json!([
        {"objectId": od, "subType": "logical_table", "name": "ORDER_DETAIL"},
        {"objectId": lu, "subType": "logical_table", "name": "LU_PROMO"}
    ]);
    let mut ids = Vec::new();
    for body in [
        promo,
        m.attribute_body("Day", &od, "ORDER_DETAIL", "DAY_ID", "NAME"),
        m.attribute_body("Item", &od, "ORDER_DETAIL", "ITEM_ID", "NAME"),
    ] {
        let (status, a) = m.post_attribute(&m.admin, &cs, &body).await;
        assert_eq!(status, 201, "{a}");
        ids.push(a["information"]["objectId"].as_str().unwrap().to_string());
    }
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);
    let [promo, day, item] = <[String; 3]>::try_from(ids).unwrap();
    (od, lu, promo, day, item)
}

async fn joint_children(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (od, lu, promo, day, item) = promotion_day_item(&m).await;
    let promo_of = |kind: &str| vec![format!("Promotion > [Item, Day] ({kind})")];

    // Set from the parent inside a changeset: every member and the parent see it there, as the
    // members were given; the committed model only after the commit.
    let cs = m.changeset(&m.admin).await;
    let (status, body) = put(
        &m,
        &promo,
        &cs,
        json!([joint(&promo, &[&item, &day], &od, "many_to_many")]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(described(&body["relationships"]), promo_of("many_to_many"));
    assert_eq!(body["relationships"][0]["jointChild"][0]["objectId"], item);
    for id in [&promo, &day, &item] {
        assert_eq!(
            seen_as(&m, id, Some(&cs)).await,
            promo_of("many_to_many"),
            "inside the changeset"
        );
        assert_eq!(
            seen_as(&m, id, None).await,
            Vec::<String>::new(),
            "not committed yet"
        );
    }
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    for id in [&promo, &day, &item] {
        assert_eq!(seen_as(&m, id, None).await, promo_of("many_to_many"), "committed");
    }

    // Bad input, each a 400 naming the problem, nothing staged.
    let cs = m.changeset(&m.admin).await;
    let unknown = "7FC05A65473CE2FD845CE6A1D3F13233";
    for (rels, code, says) in [
        (
            json!([joint(&promo, &[], &od, "one_to_many")]),
            "ERR006",
            "two or more attributes, not 0",
        ),
        (
            json!([joint(&promo, &[&day], &od, "one_to_many")]),
            "ERR006",
            "two or more attributes, not 1",
        ),
        (
            json!([joint(&promo, &[&day, unknown], &od, "one_to_many")]),
            "ERR006",
            "could not be found",
        ),
        (
            json!([joint(&promo, &[&day, &promo], &od, "one_to_many")]),
            "ERR006",
            "member of its own joint child",
        ),
        (
            json!([joint(&promo, &[&day, &day], &od, "one_to_many")]),
            "ERR006",
            "given twice in a joint child",
        ),
        (
            json!([joint(&promo, &[&day, &item], &lu, "one_to_many")]),
            "ERR006",
            "the key form of 'Day'",
        ),
        (
            json!([joint(&promo, &[&day, &item], &od, "sideways")]),
            "ERR006",
            "Unknown relationshipType",
        ),
        (
            json!([
                joint(&promo, &[&day, &item], &od, "one_to_many"),
                joint(&promo, &[&item, &day], &od, "one_to_one")
            ]),
            "ERR006",
            "given twice",
        ),
        (
            json!([
                joint(&promo, &[&day, &item], &od, "one_to_many"),
                rel(&promo, &day, &od, "one_to_many")
            ]),
            "ERR006",
            "given twice",
        ),
        (
            json!([{"parent": {"objectId": promo}, "child": {"objectId": day}, "jointChild": [{"objectId": day}, {"objectId": item}],
                    "relationshipTable": {"objectId": od}}]),
            "ERR006",
            "not both",
        ),
    ] {
        let (status, err) = put(&m, &promo, &cs, rels.clone()).await;
        assert_eq!((status, err["code"].as_str()), (400, Some(code)), "{rels}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(says), "{says}: {message}");
        assert!(err["ticketId"].is_string());
    }
    assert_eq!(
        seen_as(&m, &day, Some(&cs)).await,
        promo_of("many_to_many"),
        "nothing changed"
    );

    // A member cannot be deleted while the joint child holds it; removed by one member, it is
    // gone for all.
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
    let (status, err) = delete(day.clone()).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    assert_eq!(put(&m, &item, &cs, json!([])).await.0, 200);
    for id in [&promo, &day, &item] {
        assert_eq!(
            seen_as(&m, id, Some(&cs)).await,
            Vec::<String>::new(),
            "removed by Item"
        );
    }
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(seen_as(&m, &promo, None).await, Vec::<String>::new());

    // In attribute definitions: a new attribute made with a joint child (by names, as a client
    // that does not know its id yet sends it), then removed by a PATCH of the parent.
    let cs = m.changeset(&m.admin).await;
    let mut campaign = m.attribute_body("Campaign", &od, "ORDER_DETAIL", "PROMO_ID", "NAME");
    campaign["relationships"] = json!([{"parent": {"name": "Campaign"}, "jointChild": [{"name": "Day"}, {"name": "Item"}],
        "relationshipTable": {"name": "ORDER_DETAIL"}, "relationshipType": "one_to_many"}]);
    let (status, made) = m.post_attribute(&m.admin, &cs, &campaign).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        described(&made["relationships"]),
        ["Campaign > [Day, Item] (one_to_many)"]
    );
    let campaign = made["information"]["objectId"].as_str().unwrap().to_string();
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    for id in [&campaign, &day, &item] {
        assert_eq!(
            seen_as(&m, id, None).await,
            ["Campaign > [Day, Item] (one_to_many)"]
        );
    }
    // The parent can be deleted: its joint child goes with it.
    let (status, body) = delete(campaign.clone()).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(seen_as(&m, &day, None).await, Vec::<String>::new());

    // Set again and removed by a PATCH of the parent's definition.
    let cs = m.changeset(&m.admin).await;
    let (status, body) = m
        .patch_attribute(
            &m.admin,
            &promo,
            &cs,
            &json!({"relationships": [joint(&promo, &[&day, &item], &od, "one_to_one")]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        described(&body["relationships"]),
        ["Promotion > [Day, Item] (one_to_one)"]
    );
    let (status, body) = m
        .patch_attribute(&m.admin, &promo, &cs, &json!({"relationships": []}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["relationships"], json!([]));
    assert_eq!(seen_as(&m, &item, Some(&cs)).await, Vec::<String>::new());
}
both_backends!(joint_children_are_one_fact_for_every_member, joint_children);

async fn related_through_their_table(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (od, lu, promo, day, _) = promotion_day_item(&m).await;
    // An ordinary relationship is held to the same rule: Day's key form does not read LU_PROMO.
    let cs = m.changeset(&m.admin).await;
    let (status, err) = put(&m, &day, &cs, json!([rel(&promo, &day, &lu, "one_to_many")])).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("'LU_PROMO'"), "{err}");
    assert_eq!(
        put(&m, &day, &cs, json!([rel(&promo, &day, &od, "one_to_many")]))
            .await
            .0,
        200
    );
    // An unknown attribute in a relationship is a bad request, not a missing resource.
    let (status, err) = put(
        &m,
        &day,
        &cs,
        json!([rel("7FC05A65473CE2FD845CE6A1D3F13233", &day, &od, "one_to_many")]),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
}
both_backends!(
    relationships_need_a_table_that_relates_them,
    related_through_their_table
);
