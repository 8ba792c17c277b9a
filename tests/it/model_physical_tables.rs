//! Physical tables as objects of their own (type 53): the id every table endpoint answers is the
//! one `/api/objects/{id}?type=53` and the metadata search know; aliases (another logical table
//! over one physical table, sharing its columns) made, listed and deleted, the physical table
//! going with its last logical table; free-form SQL tables stored and answered back; the
//! structure refresh; numbers sent as text; errors in MicroStrategy's body. On SQLite and
//! PostgreSQL.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::model::{start, Backend, Model};
use crate::common::{json, mstr_login, MstrSession};

const PASSWORD: &str = "physical-tables-password";

/// POST a table body in `cs`.
async fn post_table(m: &Model, s: &MstrSession, cs: &str, body: &Value) -> (u16, Value) {
    json(
        s.post(&m.url("/api/model/tables"))
            .header("X-MSTR-MS-Changeset", cs)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Makes and commits tables from `bodies` in one changeset; the create responses.
async fn committed(m: &Model, bodies: &[Value]) -> Vec<Value> {
    let cs = m.changeset(&m.admin).await;
    let mut out = Vec::new();
    for b in bodies {
        let (status, made) = post_table(m, &m.admin, &cs, b).await;
        assert_eq!(status, 201, "{b}: {made}");
        out.push(made);
    }
    let (status, body) = m.commit(&m.admin, &cs).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);
    out
}

async fn get(m: &Model, s: &MstrSession, path: &str) -> (u16, Value) {
    json(
        s.get(&m.url(path))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn delete(m: &Model, id: &str, kind: u32) -> (u16, Value) {
    let resp = m
        .admin
        .delete(&m.url(&format!("/api/objects/{id}?type={kind}")))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The search results (ids) of `query` as the caller `s`.
async fn search(m: &Model, s: &MstrSession, query: &str) -> Vec<String> {
    let (status, stored) = json(
        s.post(&m.url(&format!("/api/metadataSearches/results?{query}")))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{stored}");
    let id = stored["id"].as_str().expect("a search id").to_string();
    let (status, found) = get(m, s, &format!("/api/metadataSearches/results?searchId={id}")).await;
    assert_eq!(status, 200, "{found}");
    found
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| o["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn physical_id(table: &Value) -> String {
    table["physicalTable"]["information"]["objectId"]
        .as_str()
        .expect("a physical table id")
        .to_string()
}

/// An error in MicroStrategy's body: the status, the code, and a message that says `word`.
fn refused(got: &(u16, Value), status: u16, code: &str, word: &str) {
    let (s, body) = got;
    assert_eq!((*s, body["code"].as_str()), (status, Some(code)), "{body}");
    assert!(
        body["message"].as_str().unwrap_or_default().contains(word),
        "'{word}' in {body}"
    );
    assert_eq!(body["ticketId"].as_str().map(str::len), Some(32), "{body}");
}

fn normal(name: &str, table_name: &str, columns: &[&str]) -> Value {
    let cols: Vec<Value> = columns
        .iter()
        .map(|c| json!({"columnName": c, "dataType": {"type": "integer", "precision": 4, "scale": 0}}))
        .collect();
    json!({"information": {"name": name},
           "physicalTable": {"type": "normal", "tableName": table_name, "namespace": "dbo", "columns": cols}})
}

async fn objects_and_ids(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let cs = m.changeset(&m.admin).await;
    let (status, made) = post_table(&m, &m.admin, &cs, &normal("Regions", "LU_REGION", &["REGION_ID"])).await;
    assert_eq!(status, 201, "{made}");
    let table = made["information"]["objectId"].as_str().unwrap().to_string();
    let physical = physical_id(&made);
    assert_ne!(table, physical);
    assert_eq!(made["physicalTable"]["information"]["subType"], "physical_table");
    assert_eq!(made["physicalTable"]["information"]["name"], "LU_REGION");
    assert_eq!(made["physicalTable"]["namespace"], "dbo");
    assert_eq!(made["physicalTable"]["type"], "normal");
    // Inside the changeset only, until it is committed.
    let (status, _) = get(&m, &m.admin, &format!("/api/objects/{physical}?type=53")).await;
    assert_eq!(status, 404);
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);

    let (status, info) = get(&m, &m.admin, &format!("/api/objects/{physical}?type=53")).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(
        (
            info["id"].as_str(),
            info["type"].as_i64(),
            info["subtype"].as_i64()
        ),
        (Some(physical.as_str()), Some(53), Some(13568)),
        "{info}"
    );
    assert_eq!(info["name"], "LU_REGION");
    assert_eq!(info["ancestors"], json!([]));
    assert!(info["acl"].as_array().is_some_and(|a| !a.is_empty()), "{info}");
    // One kind each: the logical id is no physical table, and the physical id no logical one.
    assert_eq!(
        get(&m, &m.admin, &format!("/api/objects/{table}?type=53"))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&m, &m.admin, &format!("/api/objects/{physical}?type=15"))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&m, &m.admin, &format!("/api/model/tables/{physical}"))
            .await
            .0,
        404
    );

    // Every endpoint answers the same physical id.
    let (status, list) = get(&m, &m.admin, "/api/model/tables?fields=physicalTable").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["tables"][0].as_object().map(|o| o.len()), Some(1), "{list}");
    assert_eq!(physical_id(&list["tables"][0]), physical);
    let (status, full) = get(&m, &m.admin, &format!("/api/model/tables/{table}")).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(physical_id(&full), physical);
    assert_eq!(full["physicalTable"]["tableName"], "LU_REGION");
    assert_eq!(full["physicalTable"]["columns"][0]["columnName"], "REGION_ID");
    let (_, only) = get(
        &m,
        &m.admin,
        &format!("/api/model/tables/{table}?fields=physicalTable"),
    )
    .await;
    assert_eq!(physical_id(&only), physical);
    assert!(only.get("information").is_none(), "{only}");

    // The metadata search: by type 53 (mstrio's DBTABLE) or its subtype, not by 15.
    assert_eq!(search(&m, &m.admin, "type=53").await, vec![physical.clone()]);
    assert_eq!(search(&m, &m.admin, "type=13568").await, vec![physical.clone()]);
    assert_eq!(search(&m, &m.admin, "type=15").await, vec![table.clone()]);
    assert_eq!(
        search(&m, &m.admin, &format!("usesObject={physical};53")).await,
        vec![table.clone()],
        "the logical table uses its physical table"
    );

    // Its ACL holds as any object's: a user it denies cannot read or find it.
    let out = m.server.cli(
        &["user", "add", "carol", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let carol = mstr_login(&m.server, "carol", PASSWORD).await;
    assert_eq!(
        get(&m, &carol, &format!("/api/objects/{physical}?type=53"))
            .await
            .0,
        200
    );
    let everyone = info["acl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["trusteeName"] == "Everyone")
        .expect("Everyone's entry")["trusteeId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, changed) = json(
        m.admin
            .put(&m.url(&format!("/api/objects/{physical}?type=53")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(
                &json!({"acl": [{"op": "REMOVE", "trustee": everyone, "rights": 255, "type": 1,
                                    "denied": false, "inheritable": null}]}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let denied = get(&m, &carol, &format!("/api/objects/{physical}?type=53")).await;
    refused(&denied, 403, "ERR017", "Read");
    assert!(search(&m, &carol, "type=53").await.is_empty());
    assert_eq!(search(&m, &m.admin, "type=53").await, vec![physical.clone()]);

    // A physical table is in no folder and cannot be copied.
    let (status, err) = json(
        m.admin
            .put(&m.url(&format!("/api/objects/{physical}?type=53")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({"folderId": m.attributes_folder}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&(status, err), 400, "ERR006", "no folder");
    let (status, err) = json(
        m.admin
            .post(&m.url(&format!("/api/objects/{physical}/copy?type=53")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&(status, err), 400, "ERR006", "cannot be copied");
}
both_backends!(
    physical_tables_are_objects_with_one_id_everywhere,
    objects_and_ids
);

async fn aliases(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let made = committed(
        &m,
        &[normal(
            "CITY_CTR_SLS",
            "CITY_CTR_SLS",
            &["CUST_CITY_ID", "CALL_CTR_ID"],
        )],
    )
    .await;
    let original = made[0]["information"]["objectId"].as_str().unwrap().to_string();
    let physical = physical_id(&made[0]);

    // mstrio-py's create_alias: nothing but the physical table's id.
    let cs = m.changeset(&m.admin).await;
    let alias_body = json!({"physicalTable": {"information": {"objectId": physical}}});
    let (status, alias) = post_table(&m, &m.admin, &cs, &alias_body).await;
    assert_eq!(status, 201, "{alias}");
    assert_eq!(alias["information"]["name"], "CITY_CTR_SLS (1)");
    assert_eq!(alias["information"]["subType"], "logical_table");
    assert_eq!(physical_id(&alias), physical);
    assert_eq!(
        alias["physicalTable"]["columns"],
        made[0]["physicalTable"]["columns"]
    );
    let (status, alias2) = post_table(&m, &m.admin, &cs, &alias_body).await;
    assert_eq!(status, 201, "{alias2}");
    assert_eq!(alias2["information"]["name"], "CITY_CTR_SLS (2)");
    // A warehouse table the project has is the same physical table, its columns as they are.
    let (status, same) = post_table(
        &m,
        &m.admin,
        &cs,
        &normal("City Sales", "city_ctr_sls", &["CUST_CITY_ID"]),
    )
    .await;
    assert_eq!(status, 201, "{same}");
    assert_eq!(physical_id(&same), physical);
    assert_eq!(same["physicalTable"]["columns"].as_array().map(Vec::len), Some(2));
    // What disagrees with the physical table, or names none, is refused.
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &normal("Other", "CITY_CTR_SLS", &["NOT_THERE"]),
        )
        .await,
        400,
        "ERR006",
        "NOT_THERE",
    );
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"information": {"objectId": physical}, "type": "sql"}}),
        )
        .await,
        400,
        "ERR006",
        "type",
    );
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"information": {"objectId": "0123456789ABCDEF0123456789ABCDEF"}}}),
        )
        .await,
        404,
        "ERR004",
        "physical table",
    );
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"information": {"objectId": original}}}),
        )
        .await,
        404,
        "ERR004",
        "physical table",
    );
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"information": {"objectId": "zz"}}}),
        )
        .await,
        400,
        "ERR006",
        "physicalTable.information.objectId",
    );
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);

    // Listed once per logical table, all with the one physical id; an attribute reads the alias's
    // columns.
    let (_, list) = get(&m, &m.admin, "/api/model/tables?fields=information,physicalTable").await;
    let tables = list["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), 4, "{list}");
    assert!(tables.iter().all(|t| physical_id(t) == physical), "{list}");
    let alias_id = alias["information"]["objectId"].as_str().unwrap().to_string();
    let cs = m.changeset(&m.admin).await;
    let body = m.attribute_body(
        "City",
        &alias_id,
        "CITY_CTR_SLS (1)",
        "CUST_CITY_ID",
        "CALL_CTR_ID",
    );
    let (status, attr) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{attr}");
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);

    // The physical table stays while a logical table is over it, and goes with the last.
    refused(&delete(&m, &physical, 53).await, 400, "ERR006", "depends on it");
    assert_eq!(delete(&m, &original, 15).await.0, 204);
    assert_eq!(
        get(&m, &m.admin, &format!("/api/objects/{physical}?type=53"))
            .await
            .0,
        200
    );
    let (_, full) = get(&m, &m.admin, &format!("/api/model/tables/{alias_id}")).await;
    assert_eq!(physical_id(&full), physical);
    for t in [&alias2, &same] {
        let id = t["information"]["objectId"].as_str().unwrap();
        assert_eq!(delete(&m, id, 15).await.0, 204);
    }
    assert_eq!(
        get(&m, &m.admin, &format!("/api/objects/{physical}?type=53"))
            .await
            .0,
        200
    );
    // The last one is used by an attribute: refused, and nothing goes.
    refused(&delete(&m, &alias_id, 15).await, 400, "ERR006", "City");
    let attr_id = attr["information"]["objectId"].as_str().unwrap();
    assert_eq!(delete(&m, attr_id, 12).await.0, 204);
    assert_eq!(delete(&m, &alias_id, 15).await.0, 204);
    refused(
        &get(&m, &m.admin, &format!("/api/objects/{physical}?type=53")).await,
        404,
        "ERR004",
        &physical,
    );
    assert!(search(&m, &m.admin, "type=53").await.is_empty());
}
both_backends!(aliases_share_a_physical_table_that_goes_with_the_last, aliases);

async fn sql_tables(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let sql = "select CUST_CITY_ID, TOT_COST from dbo.CUST_CTR_SLS";
    // As mstrio-py's LogicalTable.create sends it: the data type's numbers as text.
    let body = json!({
        "information": {"subType": "logical_table"},
        "logicalSize": "3",
        "isTrueKey": false,
        "encloseSqlInParentheses": false,
        "primaryDataSource": {"objectId": "8FB036244C375FC9CE3FCABF45ECC5A8", "subType": "db_role"},
        "physicalTable": {"type": "sql", "sqlStatement": sql, "columns": [
            {"information": {"name": "CUST_CITY_ID"}, "columnName": "CUST_CITY_ID",
             "dataType": {"type": "integer", "precision": "2", "scale": "0"}},
            {"columnName": "TOT_COST", "dataType": {"type": "double", "precision": " 8 ", "scale": 0}}
        ]}
    });
    let made = committed(&m, &[body.clone(), body]).await;
    assert_eq!(made[0]["information"]["name"], "New Custom Sql");
    assert_eq!(made[1]["information"]["name"], "New Custom Sql (1)");
    assert_ne!(
        physical_id(&made[0]),
        physical_id(&made[1]),
        "each SQL table is its own"
    );
    let id = made[0]["information"]["objectId"].as_str().unwrap().to_string();
    let (status, t) = get(&m, &m.admin, &format!("/api/model/tables/{id}")).await;
    assert_eq!(status, 200, "{t}");
    let p = &t["physicalTable"];
    assert_eq!(
        (p["type"].as_str(), p["sqlStatement"].as_str()),
        (Some("sql"), Some(sql)),
        "{t}"
    );
    assert!(
        p.get("tableName").is_none() && p.get("namespace").is_none(),
        "{t}"
    );
    assert_eq!(p["information"]["name"], "New Custom Sql");
    assert_eq!(
        p["columns"][0]["dataType"],
        json!({"type": "integer", "precision": 2, "scale": 0})
    );
    assert_eq!(
        p["columns"][1]["dataType"],
        json!({"type": "double", "precision": 8, "scale": 0})
    );
    assert_eq!(
        (t["logicalSize"].as_i64(), t["encloseSqlInParentheses"].as_bool()),
        (Some(3), Some(false))
    );
    let physical = physical_id(&t);
    let (status, info) = get(&m, &m.admin, &format!("/api/objects/{physical}?type=53")).await;
    assert_eq!(
        (status, info["name"].as_str()),
        (200, Some("New Custom Sql")),
        "{info}"
    );

    // The structure refresh: a SQL table is left as it is; a warehouse table has no warehouse.
    let cs = m.changeset(&m.admin).await;
    let refresh = |table: String, query: &'static str| {
        let req = m
            .admin
            .post(&m.url(&format!("/api/model/tables/{table}/physicalTable/refresh{query}")))
            .header("X-MSTR-MS-Changeset", &cs);
        async move { json(req.send().await.unwrap()).await }
    };
    let (status, same) = refresh(id.clone(), "?columnMergeOption=reuse_any").await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["physicalTable"], t["physicalTable"]);
    let normal_table = {
        let (status, n) = post_table(&m, &m.admin, &cs, &normal("LU", "LU", &["A"])).await;
        assert_eq!(status, 201, "{n}");
        n["information"]["objectId"].as_str().unwrap().to_string()
    };
    refused(&refresh(normal_table, "").await, 400, "ERR006", "warehouse");
    refused(
        &refresh(id.clone(), "?columnMergeOption=sometimes").await,
        400,
        "ERR006",
        "columnMergeOption",
    );
    refused(
        &refresh("0123456789ABCDEF0123456789ABCDEF".into(), "").await,
        404,
        "ERR004",
        "0123456789ABCDEF0123456789ABCDEF",
    );
    let outside = json(
        m.admin
            .post(&m.url(&format!("/api/model/tables/{id}/physicalTable/refresh")))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&outside, 400, "ERR007", "changeset");

    // What a SQL table needs, and what it does not take.
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"type": "sql", "columns": []}}),
        )
        .await,
        400,
        "ERR007",
        "physicalTable.sqlStatement",
    );
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"type": "sql", "sqlStatement": sql, "columns": []}}),
        )
        .await,
        400,
        "ERR007",
        "column",
    );
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"type": "sql", "sqlStatement": sql, "tableName": "T",
                    "columns": [{"columnName": "A", "dataType": {"type": "integer"}}]}}),
        )
        .await,
        400,
        "ERR006",
        "physicalTable.tableName",
    );
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"type": "warehouse_partition"}}),
        )
        .await,
        400,
        "ERR006",
        "physicalTable.type",
    );
}
both_backends!(sql_tables_are_stored_and_answered_back, sql_tables);

async fn numbers(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let cs = m.changeset(&m.admin).await;
    let with_type = |dt: Value| {
        json!({"information": {"name": "N"}, "physicalTable": {"tableName": "N",
               "columns": [{"columnName": "A", "dataType": dt}]}})
    };
    for (dt, path, word) in [
        (
            json!({"type": "integer", "precision": "two"}),
            "physicalTable.columns[0].dataType.precision",
            "two",
        ),
        (
            json!({"type": "integer", "scale": "1.5"}),
            "physicalTable.columns[0].dataType.scale",
            "1.5",
        ),
        (
            json!({"type": "integer", "scale": 1.5}),
            "physicalTable.columns[0].dataType.scale",
            "1.5",
        ),
        (
            json!({"type": "integer", "precision": [2]}),
            "physicalTable.columns[0].dataType.precision",
            "sequence",
        ),
        (
            json!({"type": "integer", "precision": true}),
            "physicalTable.columns[0].dataType.precision",
            "boolean",
        ),
        (
            json!({"precision": 2}),
            "physicalTable.columns[0].dataType.type",
            "required",
        ),
    ] {
        let got = post_table(&m, &m.admin, &cs, &with_type(dt.clone())).await;
        assert_eq!(got.0, 400, "{dt}: {}", got.1);
        refused(
            &got,
            400,
            got.1["code"].as_str().unwrap_or("none"),
            &format!("'{path}'"),
        );
        assert!(
            got.1["message"].as_str().unwrap_or_default().contains(word),
            "{dt}: {}",
            got.1
        );
    }
    refused(
        &post_table(
            &m,
            &m.admin,
            &cs,
            &json!({"physicalTable": {"tableName": "N"}, "logicalSize": "big"}),
        )
        .await,
        400,
        "ERR006",
        "'logicalSize'",
    );
    // Text, white space around it, whole numbers written with a fraction, and null: all taken.
    let (status, made) = post_table(
        &m,
        &m.admin,
        &cs,
        &json!({"information": {"name": "N"}, "logicalSize": "7", "physicalTable": {"tableName": "N", "columns": [
            {"columnName": "A", "dataType": {"type": "n_var_char", "precision": "255", "scale": " -1 "}},
            {"columnName": "B", "dataType": {"type": "decimal", "precision": 18.0, "scale": null}},
            {"columnName": "C", "dataType": {"type": "integer", "precision": "", "scale": "-2147483648"}}
        ]}}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let cols = &made["physicalTable"]["columns"];
    assert_eq!(
        cols[0]["dataType"],
        json!({"type": "n_var_char", "precision": 255, "scale": -1})
    );
    assert_eq!(
        cols[1]["dataType"],
        json!({"type": "decimal", "precision": 18, "scale": 0})
    );
    assert_eq!(
        cols[2]["dataType"],
        json!({"type": "integer", "precision": 4, "scale": -2147483648i64})
    );
    assert_eq!(made["logicalSize"], 7);

    // An attribute form's data type takes the same numbers.
    let table = made["information"]["objectId"].as_str().unwrap().to_string();
    let mut body = m.attribute_body("Letter", &table, "N", "C", "A");
    body["forms"][0]["dataType"] = json!({"type": "integer", "precision": "4", "scale": "0"});
    let (status, attr) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{attr}");
    assert_eq!(
        attr["forms"][0]["dataType"],
        json!({"type": "integer", "precision": 4, "scale": 0}),
        "{attr}"
    );
    body["information"]["name"] = json!("Letter 2");
    body["forms"][0]["dataType"] = json!({"type": "integer", "precision": "four"});
    let got = m.post_attribute(&m.admin, &cs, &body).await;
    refused(&got, 400, "ERR006", "'forms[0].dataType.precision'");
}
both_backends!(model_numbers_may_be_text_and_junk_is_refused_by_path, numbers);
