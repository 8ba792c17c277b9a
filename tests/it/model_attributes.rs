//! Attributes: create with ID and DESC forms, read with text/tree/tokens, PATCH merge rules,
//! relationships, and the errors (syntax with position, missing key form, unknown column,
//! privilege, unknown id, duplicate name). Each test runs on SQLite and PostgreSQL.

use serde_json::json;

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::common::{json, mstr_login};

const ID_CATEGORY: &str = "45C11FA478E745FEA08D781CEA190FE5";
const DESC_CATEGORY: &str = "CCFBE2A5EADB4F50941FB879CCF1721C";

async fn create_and_read(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let table = m
        .table(
            "LU_SUBCATEG",
            &[("SUBCAT_ID", "integer"), ("SUBCAT_DESC", "n_var_char")],
        )
        .await;
    let cs = m.changeset(&m.admin).await;
    let body = m.attribute_body("Subcategory", &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
    let (status, created) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{created}");
    let info = &created["information"];
    assert_eq!(info["name"], "Subcategory");
    assert_eq!(info["subType"], "attribute");
    assert_eq!(info["destinationFolderId"], m.attributes_folder.as_str());
    assert!(info["versionId"].as_str().unwrap().len() == 32);
    assert!(
        info.get("dateCreated").is_none(),
        "the create response has no dates"
    );
    assert_eq!(created["forms"][0]["id"], ID_CATEGORY);
    assert_eq!(created["forms"][1]["id"], DESC_CATEGORY);
    assert_eq!(created["forms"][0]["type"], "system");
    assert_eq!(created["keyForm"], json!({"id": ID_CATEGORY, "name": "ID"}));
    assert_eq!(
        created["displays"]["reportDisplays"],
        json!([{"id": DESC_CATEGORY, "name": "DESC"}])
    );
    assert_eq!(created["sorts"]["reportSorts"][0]["form"]["id"], DESC_CATEGORY);
    assert_eq!(created["relationships"], json!([]));
    let id = info["objectId"].as_str().unwrap().to_string();
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(
        m.delete_changeset(&m.admin, &cs).await,
        204,
        "DELETE after commit answers 204"
    );

    // Text only by default; tree and tokens when asked, repeatable.
    let (status, plain) = m.get_attribute(&m.admin, &id, None, "").await;
    assert_eq!(status, 200, "{plain}");
    let e = &plain["forms"][0]["expressions"][0]["expression"];
    assert_eq!(e, &json!({"text": "SUBCAT_ID"}));
    assert!(plain["information"]["dateCreated"].is_string());
    assert!(plain["information"].get("destinationFolderId").is_none());
    let (_, both) = m
        .get_attribute(
            &m.admin,
            &id,
            None,
            "?showExpressionAs=tree&showExpressionAs=tokens&showPotentialTables=TRUE",
        )
        .await;
    let e = &both["forms"][0]["expressions"][0];
    assert_eq!(e["expression"]["tree"]["type"], "column_reference");
    assert_eq!(e["expression"]["tree"]["columnName"], "SUBCAT_ID");
    assert_eq!(e["expression"]["tree"]["objectId"].as_str().unwrap().len(), 32);
    let tokens = e["expression"]["tokens"].as_array().unwrap();
    assert_eq!(tokens[0]["type"], "column_reference");
    assert_eq!(tokens[0]["target"]["subType"], "column");
    assert_eq!(tokens.last().unwrap()["type"], "end_of_text");
    assert_eq!(e["tables"][0]["objectId"], table.as_str());
    assert_eq!(e["potentialTables"][0]["name"], "LU_SUBCATEG");
    assert_eq!(
        both["forms"][1]["expressions"][0]["expression"]["text"],
        "SUBCAT_DESC"
    );
    assert_eq!(both["forms"][0]["dataType"]["type"], "integer");
    assert_eq!(both["attributeLookupTable"]["objectId"], table.as_str());
    let (_, only) = m
        .get_attribute(&m.admin, &id, None, "?fields=information,keyForm&showFields=acl")
        .await;
    assert_eq!(only.as_object().unwrap().len(), 2, "{only}");
    let (_, acl) = m.get_attribute(&m.admin, &id, None, "?showFields=acl").await;
    assert_eq!(acl["acl"][0]["rights"], 255);
    let (status, _) = m
        .get_attribute(&m.admin, &id, None, "?showExpressionAs=pictures")
        .await;
    assert_eq!(status, 400);

    // ApplySimple with its template string, given as tokens, comes back as a tree and as text.
    let cs = m.changeset(&m.admin).await;
    let mut body = m.attribute_body("Scaled", &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
    body["forms"][1]["expressions"][0]["expression"] =
        json!({"tokens": [{"value": "ApplySimple(\"#0 * 2\", SUBCAT_ID)"}]});
    let (status, scaled) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{scaled}");
    let e = &scaled["forms"][1]["expressions"][0]["expression"];
    assert_eq!(e["text"], "ApplySimple(\"#0 * 2\", SUBCAT_ID)");
    assert_eq!(e["tree"]["function"], "apply_simple");
    assert_eq!(
        e["tree"]["children"][0]["variant"],
        json!({"type": "string", "value": "#0 * 2"})
    );
    assert_eq!(e["tree"]["children"][1]["columnName"], "SUBCAT_ID");
    body["information"]["name"] = json!("Scaled 2");
    body["forms"][1]["expressions"][0]["expression"] =
        json!({"tokens": [{"value": "ApplySimple(\"#0 * #1\", SUBCAT_ID)"}]});
    let (status, err) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 400, "{err}");
    assert!(err["message"].as_str().unwrap().contains("#1"), "{err}");
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);

    // The list shows it.
    let (status, list) = json(
        m.admin
            .get(&m.url("/api/model/attributes"))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["attributes"][0]["information"]["objectId"], id.as_str());
}
both_backends!(create_and_read_with_every_expression_form, create_and_read);

async fn patch_merges(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, id) = m.subcategory().await;
    let (_, before) = m
        .get_attribute(&m.admin, &id, None, "?showExpressionAs=tree")
        .await;
    let cs = m.changeset(&m.admin).await;
    // What mstrio sends for alter(name=…, description=…).
    let (status, after) = m
        .patch_attribute(
            &m.admin,
            &id,
            &cs,
            &json!({"keyForm": {"id": ID_CATEGORY, "name": "ID"},
                    "displays": {"reportDisplays": [{"id": DESC_CATEGORY, "name": "DESC"}],
                                 "browseDisplays": [{"id": DESC_CATEGORY, "name": "DESC"}]},
                    "sorts": {"reportSorts": [{"form": {"name": "DESC"}, "ascending": true}]},
                    "information": {"name": "Subcategory 2", "description": "desc changed"}}),
        )
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["information"]["name"], "Subcategory 2");
    assert_eq!(after["information"]["description"], "desc changed");
    assert_eq!(
        after["forms"], before["forms"],
        "forms absent from the PATCH stay as they were"
    );
    assert_ne!(
        after["information"]["versionId"],
        before["information"]["versionId"]
    );
    // Not visible outside the changeset until the commit.
    let (_, outside) = m.get_attribute(&m.admin, &id, None, "").await;
    assert_eq!(outside["information"]["name"], "Subcategory");

    // alter(forms=…): forms without id or type, matched by category; a new form; a new key form.
    let t = json!({"objectId": table, "subType": "logical_table", "name": "LU_SUBCATEG"});
    let (status, after) = m
        .patch_attribute(
            &m.admin,
            &id,
            &cs,
            &json!({"forms": [
                {"name": "ID", "category": "ID", "displayFormat": "number",
                 "expressions": [{"expression": {"text": "ignored", "tree": {"type": "column_reference", "columnName": "SUBCAT_ID"}},
                                  "tables": [t], "expressionId": before["forms"][0]["expressions"][0]["expressionId"]}]},
                {"name": "Description", "category": "DESC", "displayFormat": "text",
                 "expressions": [{"expression": {"tokens": [{"value": "Concat(SUBCAT_DESC, \" \", SUBCAT_ID)"}]}, "tables": [t]}]},
                {"name": "Category key", "category": "CATKEY", "displayFormat": "number",
                 "expressions": [{"expression": {"tree": {"type": "operator", "function": "plus", "children": [
                     {"type": "column_reference", "columnName": "CATEGORY_ID"},
                     {"type": "constant", "variant": {"type": "int32", "value": "1000"}}]}}, "tables": [t]}]}],
                "keyForm": {"name": "Category key"}}),
        )
        .await;
    assert_eq!(status, 200, "{after}");
    let forms = after["forms"].as_array().unwrap();
    assert_eq!(forms.len(), 3);
    assert_eq!(forms[0]["id"], ID_CATEGORY);
    assert_eq!(
        forms[0]["expressions"][0]["expressionId"],
        before["forms"][0]["expressions"][0]["expressionId"]
    );
    assert_eq!(forms[1]["id"], DESC_CATEGORY, "matched by category, renamed");
    assert_eq!(forms[1]["name"], "Description");
    assert_eq!(
        forms[1]["expressions"][0]["expression"]["text"],
        "Concat(SUBCAT_DESC, \" \", SUBCAT_ID)"
    );
    assert_eq!(
        forms[1]["expressions"][0]["expression"]["tree"]["function"],
        "concat"
    );
    assert_eq!(
        forms[2]["expressions"][0]["expression"]["text"],
        "CATEGORY_ID + 1000"
    );
    assert_eq!(after["keyForm"]["name"], "Category key");
    assert_eq!(after["keyForm"]["id"], forms[2]["id"]);
    assert_eq!(
        after["displays"]["reportDisplays"][0]["name"], "Description",
        "displays follow the form's id"
    );
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);
    let (_, committed) = m.get_attribute(&m.admin, &id, None, "").await;
    assert_eq!(committed["information"]["name"], "Subcategory 2");
    assert_eq!(committed["forms"].as_array().unwrap().len(), 3);
    assert_eq!(committed["keyForm"]["name"], "Category key");
}
both_backends!(patch_merges_information_and_matches_forms, patch_merges);

async fn errors(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, id) = m.subcategory().await;
    let cs = m.changeset(&m.admin).await;

    // A syntax error: 400 with the position and what was expected.
    let mut bad = m.attribute_body("Broken", &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
    bad["forms"][1]["expressions"][0]["expression"] = json!({"tokens": [{"value": "Concat(SUBCAT_DESC, "}]});
    let (status, err) = m.post_attribute(&m.admin, &cs, &bad).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["code"], "ERR006");
    let msg = err["message"].as_str().unwrap();
    assert!(msg.contains("position 20") && msg.contains("expected"), "{msg}");

    // A column the table does not have.
    let bad = m.attribute_body("Broken", &table, "LU_SUBCATEG", "NO_SUCH_COL", "SUBCAT_DESC");
    let (status, err) = m.post_attribute(&m.admin, &cs, &bad).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("NO_SUCH_COL"));

    // No key form.
    let mut bad = m.attribute_body("Broken", &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
    bad.as_object_mut().unwrap().remove("keyForm");
    let (status, err) = m.post_attribute(&m.admin, &cs, &bad).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR007")), "{err}");

    // An unknown table.
    let bad = m.attribute_body(
        "Broken",
        "0123456789ABCDEF0123456789ABCDEF",
        "NOPE",
        "SUBCAT_ID",
        "SUBCAT_DESC",
    );
    let (status, err) = m.post_attribute(&m.admin, &cs, &bad).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("ERR004")), "{err}");

    // A duplicate name in the folder (case-insensitive).
    let dup = m.attribute_body("SUBCATEGORY", &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
    let (status, err) = m.post_attribute(&m.admin, &cs, &dup).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("ERR015")), "{err}");

    // Not JSON; no changeset.
    let resp = m
        .admin
        .post(&m.url("/api/model/attributes"))
        .header("X-MSTR-MS-Changeset", &cs)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (status, err) = json(
        m.admin
            .post(&m.url("/api/model/attributes"))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&dup)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR007")), "{err}");

    // Unknown ids.
    let (status, err) = m
        .get_attribute(&m.admin, "0123456789ABCDEF0123456789ABCDEF", None, "")
        .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("ERR004")));
    let (status, _) = m.get_attribute(&m.admin, "not-an-id", None, "").await;
    assert_eq!(status, 404);
    let (status, _) = m.get_attribute(&m.admin, &table, None, "").await;
    assert_eq!(status, 404, "a table is not an attribute");

    // Without the schema privilege: reads yes, changes no.
    m.server.add_user("reader", "reader-pass");
    let reader = mstr_login(&m.server, "reader", "reader-pass").await;
    let (status, _) = m.get_attribute(&reader, &id, None, "").await;
    assert_eq!(status, 200);
    let (status, err) = json(
        reader
            .post(&m.url("/api/model/changesets?schemaEdit=true"))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("ERR014")), "{err}");
    let (status, err) = m
        .patch_attribute(&reader, &id, &cs, &json!({"information": {"name": "x"}}))
        .await;
    // The administrator's changeset is not the reader's: to the reader it does not exist.
    assert_eq!((status, err["code"].as_str()), (404, Some("ERR004")), "{err}");
    let (status, err) = json(
        reader
            .put(&m.url(&format!("/api/objects/{id}?type=12")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({"hidden": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("ERR014")), "{err}");
}
both_backends!(errors_are_clear, errors);

async fn relationships(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, sub) = m.subcategory().await;
    let cs = m.changeset(&m.admin).await;
    let body = m.attribute_body("Category", &table, "LU_SUBCATEG", "CATEGORY_ID", "SUBCAT_DESC");
    let (status, cat) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{cat}");
    let cat = cat["information"]["objectId"].as_str().unwrap().to_string();
    let rel = json!({"relationships": [{"parent": {"objectId": cat}, "child": {"objectId": sub},
        "relationshipTable": {"objectId": table}, "relationshipType": "one_to_many"}]});
    let path = format!("/api/model/systemHierarchy/attributes/{sub}/relationships");
    let (status, put) = json(
        m.admin
            .put(&m.url(&path))
            .header("X-MSTR-MS-Changeset", &cs)
            .json(&rel)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["relationships"][0]["parent"]["name"], "Category");
    assert_eq!(
        put["relationships"][0]["relationshipTable"]["name"],
        "LU_SUBCATEG"
    );
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    // Seen from both ends, committed.
    for id in [&sub, &cat] {
        let p = format!("/api/model/systemHierarchy/attributes/{id}/relationships");
        let (status, got) = json(
            m.admin
                .get(&m.url(&p))
                .header("X-MSTR-ProjectID", &m.project)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(got["relationships"].as_array().unwrap().len(), 1, "{got}");
        assert_eq!(got["relationships"][0]["relationshipType"], "one_to_many");
    }
    let cs = m.changeset(&m.admin).await;
    let bad = json!({"relationships": [{"parent": {"objectId": cat}, "child": {"objectId": sub},
        "relationshipTable": {"objectId": table}, "relationshipType": "sideways"}]});
    let resp = m
        .admin
        .put(&m.url(&path))
        .header("X-MSTR-MS-Changeset", &cs)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}
both_backends!(relationships_are_kept_and_shown_from_both_ends, relationships);
