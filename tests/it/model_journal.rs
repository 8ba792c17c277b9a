//! The change journal over HTTP: an entry for each kind of model write (a commit, `PUT` and
//! `DELETE /api/objects/{id}`, a new and a deleted folder, a copy) with the comment its request
//! gave, none for a refused write, the search filters mstrio-py sends, paging, the search seeing
//! the journal as it was when it was made, who may read which entries, purges, and the errors in
//! MicroStrategy's body. Each test runs on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::model::{start, Backend, Model};
use crate::common::{json, mstr_login, MstrSession};

const PASSWORD: &str = "journal-test-password";

/// `POST /api/changeJournal` with `body`: the status and the answer.
async fn search(m: &Model, s: &MstrSession, body: &Value) -> (u16, Value) {
    json(
        s.post(&m.url("/api/changeJournal"))
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// `GET /api/changeJournal/{id}{query}`: status, answer and `X-MSTR-Total-Count`.
async fn page(m: &Model, s: &MstrSession, id: &str, query: &str) -> (u16, Value, Option<usize>) {
    let resp = s
        .get(&m.url(&format!("/api/changeJournal/{id}{query}")))
        .send()
        .await
        .unwrap();
    let total = resp
        .headers()
        .get("x-mstr-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let (status, body) = json(resp).await;
    (status, body, total)
}

/// Every entry a search with `body` finds, newest first.
async fn entries(m: &Model, s: &MstrSession, body: Value) -> Vec<Value> {
    let (status, made) = search(m, s, &body).await;
    assert_eq!(status, 201, "{made}");
    let id = made["searchId"].as_str().expect("a searchId").to_string();
    let (status, found, _) = page(m, s, &id, "").await;
    assert_eq!(status, 200, "{found}");
    found["changeJournalEntries"]
        .as_array()
        .expect("changeJournalEntries")
        .clone()
}

async fn of_object(m: &Model, s: &MstrSession, id: &str) -> Vec<Value> {
    entries(m, s, json!({"affectedObjects": [{"id": id}]})).await
}

/// (transaction type, change type of the object `id`, its user comment) of each entry.
fn kinds(list: &[Value], id: &str) -> Vec<(String, String, Option<String>)> {
    list.iter()
        .map(|e| {
            let o = e["changedObjects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["id"] == id)
                .expect("the object in its entry");
            (
                e["transaction"]["type"].as_str().unwrap().to_string(),
                o["changeType"].as_str().unwrap().to_string(),
                o["userComments"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn k(t: &str, c: &str, comment: Option<&str>) -> (String, String, Option<String>) {
    (t.into(), c.into(), comment.map(str::to_owned))
}

async fn commit_with(m: &Model, s: &MstrSession, cs: &str, body: Value) -> (u16, Value) {
    json(
        s.post(&m.url(&format!("/api/model/changesets/{cs}/commit?changesetId={cs}")))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn put_object(m: &Model, s: &MstrSession, id: &str, kind: u32, body: Value) -> (u16, Value) {
    json(
        s.put(&m.url(&format!("/api/objects/{id}?type={kind}")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn delete_object(m: &Model, s: &MstrSession, id: &str, kind: u32, comment: &str) -> (u16, Value) {
    json(
        s.delete(&m.url(&format!("/api/objects/{id}?type={kind}&userComments={comment}")))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn id_of(v: &Value) -> String {
    v["information"]["objectId"]
        .as_str()
        .or_else(|| v["id"].as_str())
        .expect("an id")
        .to_string()
}

fn is_hex32(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn every_kind_of_write(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, sub) = m.subcategory().await;

    // A commit: the comment of the attribute's body (as mstrio-py's `journal_comment` sends it)
    // is the entry's, and the commit's own comment wins over it.
    let cs = m.changeset(&m.admin).await;
    let mut body = m.attribute_body("Category", &table, "LU_SUBCATEG", "CATEGORY_ID", "SUBCAT_DESC");
    body["changeJournal"] = json!({"userComments": "made by the attribute body"});
    let (status, cat) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{cat}");
    let cat = id_of(&cat);
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    let cs = m.changeset(&m.admin).await;
    let (status, patched) = m
        .patch_attribute(
            &m.admin,
            &cat,
            &cs,
            &json!({"information": {"description": "d"}, "changeJournal": {"userComments": "from the patch"}}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (status, committed) = commit_with(
        &m,
        &m.admin,
        &cs,
        json!({"changeJournal": {"userComments": "from the commit"}}),
    )
    .await;
    assert_eq!(status, 201, "{committed}");

    // PUT /api/objects: a rename, its comment from `changeJournal`.
    let (status, renamed) = put_object(
        &m,
        &m.admin,
        &cat,
        12,
        json!({"name": "Category (renamed)", "changeJournal": {"userComments": "renamed"}}),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    // A copy, then the copy deleted with `userComments`, as mstrio-py's delete sends it.
    let (status, copy) = json(
        m.admin
            .post(&m.url(&format!("/api/objects/{cat}/copy?type=12")))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({"name": "Category copy", "folderId": null}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{copy}");
    let copy = id_of(&copy);
    assert_eq!(delete_object(&m, &m.admin, &copy, 12, "copy%20gone").await.0, 204);

    let cat_entries = of_object(&m, &m.admin, &cat).await;
    assert_eq!(
        kinds(&cat_entries, &cat),
        vec![
            k("save_object", "change_object", Some("renamed")),
            k("save_objects", "change_object", Some("from the commit")),
            k(
                "save_objects",
                "create_object",
                Some("made by the attribute body")
            ),
        ],
        "newest first: {cat_entries:#?}"
    );
    let renamed = &cat_entries[0];
    let o = &renamed["changedObjects"][0];
    assert_eq!(o["name"], "Category (renamed)");
    assert_eq!(
        (o["type"].clone(), o["subtype"].clone()),
        (json!(12), json!(3072))
    );
    assert_eq!(o["systemComments"], "Changed name");
    assert_eq!(o["projectId"], m.project);
    assert!(
        cat_entries[1]["changedObjects"][0]["systemComments"]
            .as_str()
            .unwrap()
            .starts_with("Changed description in changeset "),
        "{}",
        cat_entries[1]
    );
    // What every entry carries, as mstrio-py's ChangeJournalEntry takes it (no other field).
    for e in &cat_entries {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "changedLinks",
                "changedObjects",
                "machine",
                "projectId",
                "sessionId",
                "timestamp",
                "timestampIso",
                "transaction",
                "user"
            ]
        );
        assert_eq!(e["projectId"], m.project);
        assert_eq!(e["machine"], "127.0.0.1");
        assert_eq!(e["user"]["name"], "administrator");
        assert!(is_hex32(&e["user"]["id"]) && is_hex32(&e["sessionId"]), "{e}");
        assert_eq!(e["transaction"]["source"], "rest_api");
        assert_eq!(e["changedLinks"], json!([]));
        let ts = e["timestamp"].as_str().unwrap();
        assert!(
            ts.len() == 22 && (ts.ends_with(" AM") || ts.ends_with(" PM")) && &ts[2..3] == "/",
            "MM/DD/YYYY hh:mm:ss AM|PM: {ts}"
        );
        assert!(e["timestampIso"].as_str().unwrap().ends_with('Z'));
    }
    let ids: Vec<i64> = cat_entries
        .iter()
        .map(|e| e["transaction"]["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "numbers grow: {ids:?}");
    assert_eq!(
        cat_entries[0]["sessionId"], cat_entries[2]["sessionId"],
        "one session, one id"
    );
    let copy_entries = of_object(&m, &m.admin, &copy).await;
    assert_eq!(
        kinds(&copy_entries, &copy),
        vec![
            k("delete_object", "delete_object", Some("copy gone")),
            k("copy_object", "create_object", None)
        ]
    );
    assert_eq!(copy_entries[0]["changedObjects"][0]["name"], "Category copy");
    assert_eq!(
        copy_entries[1]["changedObjects"][0]["systemComments"],
        format!("Copied from 'Category (renamed)' ({cat})")
    );
    // The first commits: the table and Subcategory, without comments.
    assert_eq!(
        kinds(&of_object(&m, &m.admin, &sub).await, &sub),
        vec![k("save_objects", "create_object", None)]
    );
    assert_eq!(
        kinds(&of_object(&m, &m.admin, &table).await, &table),
        vec![k("save_objects", "create_object", None)]
    );

    // A folder made and deleted (DELETE /api/folders/{id} takes `userComments` too).
    let (status, folder) = json(
        m.admin
            .post(&m.url("/api/folders"))
            .header("X-MSTR-ProjectID", &m.project)
            .json(&json!({"name": "Journaled", "description": "", "parent": m.attributes_folder}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{folder}");
    let folder = id_of(&folder);
    let status = m
        .admin
        .delete(&m.url(&format!("/api/folders/{folder}?userComments=tidy")))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 204);
    let folder_entries = of_object(&m, &m.admin, &folder).await;
    assert_eq!(
        kinds(&folder_entries, &folder),
        vec![
            k("delete_object", "delete_object", Some("tidy")),
            k("save_object", "create_object", None)
        ]
    );
    assert_eq!(folder_entries[0]["changedObjects"][0]["type"], 8);

    // A commit that only deletes, and relationships set with a comment in the PUT body (mstrio's
    // `alter(relationships=…, journal_comment=…)`), committed without one.
    let cs = m.changeset(&m.admin).await;
    let (status, put) = json(
        m.admin
            .put(&m.url(&format!(
                "/api/model/systemHierarchy/attributes/{sub}/relationships"
            )))
            .header("X-MSTR-MS-Changeset", &cs)
            .json(
                &json!({"relationships": [{"parent": {"objectId": cat}, "child": {"objectId": sub},
                "relationshipTable": {"objectId": table}, "relationshipType": "one_to_many"}],
                "changeJournal": {"userComments": "related"}}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    assert_eq!(
        kinds(&of_object(&m, &m.admin, &sub).await, &sub)[0],
        k("save_objects", "change_object", Some("related"))
    );
    // The changeset of a committed change answers as before.
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);
}
both_backends!(journal_records_every_kind_of_write, every_kind_of_write);

async fn refused(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, sub) = m.subcategory().await;
    let before = entries(&m, &m.admin, json!({})).await.len();

    // Two changesets change Subcategory; the second commit conflicts and writes nothing.
    let one = m.changeset(&m.admin).await;
    let two = m.changeset(&m.admin).await;
    for (cs, d) in [(&one, "one"), (&two, "two")] {
        let (status, body) = m
            .patch_attribute(&m.admin, &sub, cs, &json!({"information": {"description": d}}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(commit_with(&m, &m.admin, &one, json!({})).await.0, 201);
    let (status, err) = commit_with(
        &m,
        &m.admin,
        &two,
        json!({"changeJournal": {"userComments": "lost"}}),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("ERR001")), "{err}");
    let after = entries(&m, &m.admin, json!({})).await;
    assert_eq!(after.len(), before + 1, "only the first commit is journaled");
    assert!(after
        .iter()
        .all(|e| e["changedObjects"][0]["userComments"] != "lost"));

    // A delete refused (the table is in use), a rename refused (the name is taken), a body
    // refused, an empty commit: none is journaled.
    let mut folders = Vec::new();
    for name in ["X", "Y"] {
        let (status, f) = json(
            m.admin
                .post(&m.url("/api/folders"))
                .header("X-MSTR-ProjectID", &m.project)
                .json(&json!({"name": name, "parent": m.attributes_folder}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{f}");
        folders.push(id_of(&f));
    }
    let before = before + 3;
    let (status, err) = delete_object(&m, &m.admin, &table, 15, "nope").await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    let (status, err) = put_object(&m, &m.admin, &folders[1], 8, json!({"name": "X"})).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("ERR015")), "{err}");
    let (status, err) = put_object(&m, &m.admin, &sub, 12, json!({"name": "S", "description": 5})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    let cs = m.changeset(&m.admin).await;
    assert_eq!(
        commit_with(
            &m,
            &m.admin,
            &cs,
            json!({"changeJournal": {"userComments": "empty"}})
        )
        .await
        .0,
        201
    );
    assert_eq!(entries(&m, &m.admin, json!({})).await.len(), before);

    // The commit body is checked: an unknown field or a comment of the wrong type is a 400.
    let cs = m.changeset(&m.admin).await;
    let (status, err) = commit_with(&m, &m.admin, &cs, json!({"changeJournal": {"userComments": 7}})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    let (status, err) = commit_with(&m, &m.admin, &cs, json!({"comment": "x"})).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
}
both_backends!(a_refused_write_leaves_no_entry, refused);

async fn filters_and_pages(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, sub) = m.subcategory().await;
    let other = mstr_login(&m.server, "administrator", crate::common::ADMIN_PASSWORD).await;
    // Three renames by another session of the administrator.
    for n in 1..=3 {
        let (status, body) = put_object(&m, &other, &sub, 12, json!({"name": format!("Sub {n}")})).await;
        assert_eq!(status, 200, "{body}");
    }
    let all = entries(&m, &m.admin, json!({})).await;
    assert_eq!(all.len(), 5, "two commits and three renames: {all:#?}");
    let theirs = all[0]["sessionId"].clone();
    let mine = all[4]["sessionId"].clone();
    assert_ne!(theirs, mine);
    let admin_id = all[0]["user"]["id"].as_str().unwrap().to_string();
    let newest = all[0]["transaction"]["id"].as_i64().unwrap();

    let count = |body: Value| {
        let m = &m;
        async move { entries(m, &m.admin, body).await.len() }
    };
    assert_eq!(count(json!({"sessionIds": [theirs]})).await, 3);
    assert_eq!(count(json!({"sessionIds": [mine]})).await, 2);
    assert_eq!(count(json!({"transactionTypes": ["save_object"]})).await, 3);
    assert_eq!(
        count(json!({"transactionTypes": ["save_objects", "copy_object"]})).await,
        2
    );
    assert_eq!(
        count(json!({"transactionTypes": ["merge_user"]})).await,
        0,
        "a kind never written"
    );
    assert_eq!(count(json!({"changeTypes": ["create_object"]})).await, 2);
    assert_eq!(count(json!({"changeTypes": ["delete_object"]})).await, 0);
    assert_eq!(count(json!({"users": [admin_id]})).await, 5);
    assert_eq!(count(json!({"users": ["administrator"]})).await, 5);
    assert_eq!(
        count(json!({"users": ["7FC05A65473CE2FD845CE6A1D3F13233"]})).await,
        0
    );
    assert_eq!(count(json!({"machines": ["127.0.0.1"]})).await, 5);
    assert_eq!(count(json!({"machines": ["elsewhere"]})).await, 0);
    assert_eq!(count(json!({"transactionSources": ["rest_api"]})).await, 5);
    assert_eq!(count(json!({"affectedProjects": [m.project]})).await, 5);
    assert_eq!(
        count(json!({"affectedProjects": ["7FC05A65473CE2FD845CE6A1D3F13233"]})).await,
        0
    );
    assert_eq!(count(json!({"affectedObjects": [{"id": table}]})).await, 1);
    assert_eq!(
        count(json!({"affectedObjects": [{"id": table}, {"id": sub}]})).await,
        5
    );
    assert_eq!(count(json!({"beginTransactionId": newest - 1})).await, 2);
    assert_eq!(count(json!({"endTransactionId": newest - 1})).await, 4);
    assert_eq!(count(json!({"beginTime": "01/01/2000 12:00:00 AM"})).await, 5);
    assert_eq!(count(json!({"beginTime": "01/01/2999 12:00:00 AM"})).await, 0);
    assert_eq!(count(json!({"endTime": "1/1/2000 1:00:00 AM"})).await, 0);

    // Pages of one search; the whole count in X-MSTR-Total-Count; `fields` keeps top-level fields.
    let (status, made) = search(&m, &m.admin, &json!({})).await;
    assert_eq!(status, 201, "{made}");
    let id = made["searchId"].as_str().unwrap().to_string();
    let (status, first, total) = page(&m, &m.admin, &id, "?offset=0&limit=2").await;
    assert_eq!((status, total), (200, Some(5)), "{first}");
    let (_, rest, _) = page(&m, &m.admin, &id, "?offset=2&limit=100").await;
    let numbers = |v: &Value| -> Vec<i64> {
        v["changeJournalEntries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["transaction"]["id"].as_i64().unwrap())
            .collect()
    };
    let paged: Vec<i64> = [numbers(&first), numbers(&rest)].concat();
    assert_eq!(
        paged,
        all.iter()
            .map(|e| e["transaction"]["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    );
    let (_, only, _) = page(&m, &m.admin, &id, "?fields=changeJournalEntries&limit=1").await;
    assert_eq!(only["changeJournalEntries"].as_array().unwrap().len(), 1);
    let (_, none, _) = page(&m, &m.admin, &id, "?fields=other").await;
    assert_eq!(none, json!({}));

    // The search sees the journal as it was: a later change is not in it, a new search has it.
    let (status, _) = put_object(&m, &m.admin, &sub, 12, json!({"name": "Sub 4"})).await;
    assert_eq!(status, 200);
    assert_eq!(page(&m, &m.admin, &id, "").await.2, Some(5));
    assert_eq!(entries(&m, &m.admin, json!({})).await.len(), 6);

    // Errors, in MicroStrategy's body.
    for (body, what) in [
        (json!({"changeTypes": ["sideways"]}), "an unknown change type"),
        (
            json!({"transactionTypes": ["SAVE_OBJECTS"]}),
            "a type not as mstrio-py writes it",
        ),
        (json!({"transactionTypes": "save_object"}), "a string for a list"),
        (json!({"beginTime": "yesterday"}), "a time that is not one"),
        (
            json!({"affectedObjects": [{"id": "nope"}]}),
            "an id that is not one",
        ),
        (json!({"beginTransactionId": "x"}), "a number that is not one"),
        (json!({"orderBy": "time"}), "an unknown filter"),
    ] {
        let (status, err) = search(&m, &m.admin, &body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("ERR006")),
            "{what}: {err}"
        );
        assert!(err["ticketId"].is_string(), "{err}");
    }
    let (status, err, _) = page(&m, &m.admin, "not-a-search", "").await;
    assert_eq!((status, err["code"].as_str()), (404, Some("ERR004")), "{err}");
    let (status, err, _) = page(&m, &m.admin, &id, "?limit=-2").await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    let (status, err, _) = page(&m, &m.admin, &id, "?offset=x").await;
    assert_eq!((status, err["code"].as_str()), (400, Some("ERR006")), "{err}");
    let status = m
        .admin
        .put(&m.url("/api/changeJournal"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 405);
}
both_backends!(journal_searches_filter_and_page, filters_and_pages);

async fn rights_and_purges(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, sub) = m.subcategory().await;
    // audrey holds the audit privilege (granted before she logs in: a node caches a user's
    // privileges for two seconds), nora does not.
    for name in ["audrey", "nora"] {
        let out = m.server.cli(
            &["user", "add", name, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = m
        .server
        .cli(&["user", "grant", "audrey", "AUDIT_CHANGE_JOURNAL"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let audrey = mstr_login(&m.server, "audrey", PASSWORD).await;
    let nora = mstr_login(&m.server, "nora", PASSWORD).await;

    // Without the audit privilege the journal is closed.
    let (status, err) = search(&m, &nora, &json!({})).await;
    assert_eq!((status, err["code"].as_str()), (403, Some("ERR014")), "{err}");
    let (status, made) = search(&m, &m.admin, &json!({})).await;
    assert_eq!(status, 201);
    let id = made["searchId"].as_str().unwrap().to_string();
    let (status, err, _) = page(&m, &nora, &id, "").await;
    assert_eq!((status, err["code"].as_str()), (403, Some("ERR014")), "{err}");

    // With it, of each entry the objects she may read: Subcategory hidden from her (no Everyone
    // entry) leaves its entries out, for her only.
    assert_eq!(entries(&m, &audrey, json!({})).await.len(), 2);
    let (status, info) = json(
        m.admin
            .get(&m.url(&format!("/api/objects/{sub}?type=12")))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let everyone = info["acl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["trusteeName"] == "Everyone")
        .expect("Everyone's entry")["trusteeId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = put_object(
        &m,
        &m.admin,
        &sub,
        12,
        json!({"acl": [{"op": "REPLACE", "trustee": everyone, "rights": 0, "type": 1, "denied": false}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let hers = entries(&m, &audrey, json!({})).await;
    assert!(
        hers.iter().all(|e| e["changedObjects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["id"] != sub)),
        "{hers:#?}"
    );
    assert_eq!(
        kinds(&hers, &table),
        vec![k("save_objects", "create_object", None)]
    );
    assert!(of_object(&m, &audrey, &sub).await.is_empty());
    assert_eq!(
        of_object(&m, &m.admin, &sub).await.len(),
        2,
        "the ACL change is journaled too"
    );
    // Deleted, its entries follow the ACL it had: still hidden from her.
    assert_eq!(delete_object(&m, &m.admin, &sub, 12, "gone").await.0, 204);
    assert!(of_object(&m, &audrey, &sub).await.is_empty());
    assert_eq!(of_object(&m, &m.admin, &sub).await.len(), 3);

    // Purging needs the administration privilege.
    let purge = |s: &MstrSession, query: String| {
        let m = &m;
        let req = s.delete(&m.url(&format!("/api/changeJournal?{query}")));
        async move { json(req.send().await.unwrap()).await }
    };
    let (status, err) = purge(&audrey, format!("projects.id={}", m.project)).await;
    assert_eq!((status, err["code"].as_str()), (403, Some("ERR014")), "{err}");
    // Errors.
    for (query, code, what) in [
        (
            format!("projects.id={}&timestamp=soon", m.project),
            400,
            "a bad timestamp",
        ),
        ("projects.id=nope".to_string(), 400, "a bad project id"),
        (
            "projects.id=7FC05A65473CE2FD845CE6A1D3F13233".to_string(),
            404,
            "an unknown project",
        ),
        ("purgeAllProjects=maybe".to_string(), 400, "a bad boolean"),
    ] {
        let (status, err) = purge(&m.admin, query).await;
        assert_eq!(status, code, "{what}: {err}");
        assert!(
            err["code"].is_string() && err["ticketId"].is_string(),
            "{what}: {err}"
        );
    }
    let count = entries(&m, &m.admin, json!({})).await.len();
    // The configuration's entries (no project, purgeAllProjects false): vestibule keeps none.
    let (status, _) = purge(&m.admin, "purgeAllProjects=False&comment=config".into()).await;
    assert_eq!(status, 202);
    assert_eq!(entries(&m, &m.admin, json!({})).await.len(), count);
    // Before a time long past: nothing goes, the purge is recorded.
    let (status, _) = purge(
        &m.admin,
        format!(
            "purgeAllProjects=False&projects.id={}&timestamp=1/1/2001%201:00:00%20AM&comment=old",
            m.project
        ),
    )
    .await;
    assert_eq!(status, 202);
    let now = entries(&m, &m.admin, json!({})).await;
    assert_eq!(now.len(), count + 1);
    let p = &now[0];
    assert_eq!(p["transaction"]["type"], "purge_change_journal");
    let o = &p["changedObjects"][0];
    assert_eq!(
        (
            o["id"].clone(),
            o["type"].clone(),
            o["changeType"].clone(),
            o["userComments"].clone()
        ),
        (
            json!(m.project),
            json!(32),
            json!("change_journal_purge"),
            json!("old")
        )
    );
    // Everything of the project: only the purge's own entry is left.
    let (status, _) = purge(
        &m.admin,
        format!("projects.id={}&comment=all%20of%20it", m.project),
    )
    .await;
    assert_eq!(status, 202);
    let left = entries(&m, &m.admin, json!({})).await;
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["changedObjects"][0]["userComments"], "all of it");
    // Every project.
    let (status, _) = purge(&m.admin, "purgeAllProjects=true".into()).await;
    assert_eq!(status, 202);
    let left = entries(&m, &m.admin, json!({})).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["transaction"]["type"], "purge_change_journal");
}
both_backends!(journal_rights_and_purges, rights_and_purges);
