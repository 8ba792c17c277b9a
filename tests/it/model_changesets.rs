//! Changesets: isolation until commit, atomic commit, conflicts (also between commits racing),
//! abandon leaving no trace, changesets of a closed session dropped, and committed changes
//! surviving kill -9. Each test runs on SQLite and PostgreSQL.

use serde_json::json;

use crate::both_backends;
use crate::common::model::{start, Backend};
use crate::common::{json, mstr_login, ADMIN_PASSWORD};

async fn isolation_and_abandon(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let table = m
        .table("LU_ITEM", &[("ITEM_ID", "integer"), ("ITEM_NAME", "n_var_char")])
        .await;
    let cs = m.changeset(&m.admin).await;
    let (status, cs_body) = json(
        m.admin
            .get(&m.url(&format!("/api/model/changesets/{cs}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(cs_body["status"], "Ready");
    assert_eq!(cs_body["schemaEdit"], true);
    assert_eq!(cs_body["mstrProjectId"], m.project.as_str());
    let body = m.attribute_body("Item", &table, "LU_ITEM", "ITEM_ID", "ITEM_NAME");
    let (status, created) = m.post_attribute(&m.admin, &cs, &body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["information"]["objectId"].as_str().unwrap().to_string();
    // Visible inside the changeset only.
    assert_eq!(m.get_attribute(&m.admin, &id, Some(&cs), "").await.0, 200);
    assert_eq!(m.get_attribute(&m.admin, &id, None, "").await.0, 404);
    let other = m.changeset(&m.admin).await;
    assert_eq!(m.get_attribute(&m.admin, &id, Some(&other), "").await.0, 404);
    // Another session of the same user does not see the changeset at all.
    let second = mstr_login(&m.server, "administrator", ADMIN_PASSWORD).await;
    assert_eq!(m.get_attribute(&second, &id, Some(&cs), "").await.0, 404);
    assert_eq!(m.delete_changeset(&second, &cs).await, 404);
    // Abandon: no trace.
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 204);
    assert_eq!(m.delete_changeset(&m.admin, &cs).await, 404);
    assert_eq!(m.get_attribute(&m.admin, &id, None, "").await.0, 404);
    assert_eq!(m.get_attribute(&m.admin, &id, Some(&cs), "").await.0, 404);
    let (_, list) = json(
        m.admin
            .get(&m.url("/api/model/attributes"))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["total"], 0);
    // The name is free again.
    let (status, _) = m.post_attribute(&m.admin, &other, &body).await;
    assert_eq!(status, 201);
    assert_eq!(m.commit(&m.admin, &other).await.0, 201);
    // A committed changeset takes no more changes.
    let (status, err) = m
        .post_attribute(
            &m.admin,
            &other,
            &m.attribute_body("Item 2", &table, "LU_ITEM", "ITEM_ID", "ITEM_NAME"),
        )
        .await;
    assert_eq!(status, 400, "{err}");
}
both_backends!(
    changes_are_isolated_until_commit_and_abandon_leaves_no_trace,
    isolation_and_abandon
);

async fn atomic_conflict(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (table, id) = m.subcategory().await;
    let a = m.changeset(&m.admin).await;
    let b = m.changeset(&m.admin).await;
    let (status, _) = m
        .patch_attribute(&m.admin, &id, &a, &json!({"information": {"name": "From A"}}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = m
        .patch_attribute(&m.admin, &id, &b, &json!({"information": {"name": "From B"}}))
        .await;
    assert_eq!(status, 200);
    // B also makes a new attribute: it must not appear when B's commit fails.
    let extra = m.attribute_body("Extra", &table, "LU_SUBCATEG", "CATEGORY_ID", "SUBCAT_DESC");
    let (status, created) = m.post_attribute(&m.admin, &b, &extra).await;
    assert_eq!(status, 201);
    let extra_id = created["information"]["objectId"].as_str().unwrap().to_string();
    assert_eq!(m.commit(&m.admin, &a).await.0, 201);
    let (status, err) = m.commit(&m.admin, &b).await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("changed by another commit"),
        "{err}"
    );
    let (_, now) = m.get_attribute(&m.admin, &id, None, "").await;
    assert_eq!(now["information"]["name"], "From A");
    assert_eq!(
        m.get_attribute(&m.admin, &extra_id, None, "").await.0,
        404,
        "all or nothing"
    );
    assert_eq!(m.delete_changeset(&m.admin, &b).await, 204);
    assert_eq!(m.delete_changeset(&m.admin, &a).await, 204);

    // Two changesets making the same name: the second commit finds it taken.
    let c = m.changeset(&m.admin).await;
    let d = m.changeset(&m.admin).await;
    let same = m.attribute_body("Twin", &table, "LU_SUBCATEG", "SUBCAT_ID", "SUBCAT_DESC");
    assert_eq!(m.post_attribute(&m.admin, &c, &same).await.0, 201);
    assert_eq!(m.post_attribute(&m.admin, &d, &same).await.0, 201);
    assert_eq!(m.commit(&m.admin, &c).await.0, 201);
    let (status, err) = m.commit(&m.admin, &d).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("ERR015")), "{err}");

    // A table deleted directly while a changeset builds on it: the commit is refused.
    let spare = m.table("LU_SPARE", &[("SPARE_ID", "integer")]).await;
    let e = m.changeset(&m.admin).await;
    let on_spare = m.attribute_body("Spare", &spare, "LU_SPARE", "SPARE_ID", "SPARE_ID");
    assert_eq!(m.post_attribute(&m.admin, &e, &on_spare).await.0, 201);
    let resp = m
        .admin
        .delete(&m.url(&format!("/api/objects/{spare}?type=15")))
        .header("X-MSTR-ProjectID", &m.project)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (status, err) = m.commit(&m.admin, &e).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["message"].as_str().unwrap().contains("was deleted"), "{err}");
}
both_backends!(a_commit_is_atomic_and_detects_conflicts, atomic_conflict);

async fn racing(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let (_, id) = m.subcategory().await;
    let mut changesets = Vec::new();
    for i in 0..6 {
        let cs = m.changeset(&m.admin).await;
        let (status, _) = m
            .patch_attribute(
                &m.admin,
                &id,
                &cs,
                &json!({"information": {"name": format!("Racer {i}")}}),
            )
            .await;
        assert_eq!(status, 200);
        changesets.push(cs);
    }
    let results = futures::future::join_all(changesets.iter().map(|cs| m.commit(&m.admin, cs))).await;
    let ok: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.0 == 201)
        .map(|(i, _)| i)
        .collect();
    let conflicts = results.iter().filter(|r| r.0 == 409).count();
    assert_eq!(ok.len(), 1, "exactly one racer wins: {results:?}");
    assert_eq!(conflicts, 5, "{results:?}");
    let (_, now) = m.get_attribute(&m.admin, &id, None, "").await;
    assert_eq!(now["information"]["name"], format!("Racer {}", ok[0]));
}
both_backends!(concurrent_commits_race_and_one_wins, racing);

async fn closed_session(backend: Backend, test: &str) {
    let m = start(backend, test).await;
    let table = m
        .table("LU_ITEM", &[("ITEM_ID", "integer"), ("ITEM_NAME", "n_var_char")])
        .await;
    let s = mstr_login(&m.server, "administrator", ADMIN_PASSWORD).await;
    let cs = m.changeset(&s).await;
    let (status, created) = m
        .post_attribute(
            &s,
            &cs,
            &m.attribute_body("Item", &table, "LU_ITEM", "ITEM_ID", "ITEM_NAME"),
        )
        .await;
    assert_eq!(status, 201);
    let id = created["information"]["objectId"].as_str().unwrap().to_string();
    let resp = s.post(&m.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    // A new changeset drops those of ended sessions; the old one is gone, with its change.
    let fresh = mstr_login(&m.server, "administrator", ADMIN_PASSWORD).await;
    let _ = m.changeset(&fresh).await;
    assert_eq!(m.delete_changeset(&fresh, &cs).await, 404);
    assert_eq!(m.get_attribute(&fresh, &id, None, "").await.0, 404);
    let (status, _) = m.commit(&fresh, &cs).await;
    assert_eq!(status, 404);
}
both_backends!(changesets_of_a_closed_session_are_dropped, closed_session);

async fn kill9(backend: Backend, test: &str) {
    let mut m = start(backend, test).await;
    let (_, id) = m.subcategory().await;
    let cs = m.changeset(&m.admin).await;
    assert_eq!(
        m.patch_attribute(&m.admin, &id, &cs, &json!({"information": {"name": "Durable"}}))
            .await
            .0,
        200
    );
    assert_eq!(m.commit(&m.admin, &cs).await.0, 201);
    let pending = m.changeset(&m.admin).await;
    assert_eq!(
        m.patch_attribute(
            &m.admin,
            &id,
            &pending,
            &json!({"information": {"name": "Never committed"}})
        )
        .await
        .0,
        200
    );
    m.server.kill9_and_restart();
    let admin = mstr_login(&m.server, "administrator", ADMIN_PASSWORD).await;
    let (status, got) = m.get_attribute(&admin, &id, None, "?showExpressionAs=tree").await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["information"]["name"], "Durable");
    assert_eq!(got["forms"].as_array().unwrap().len(), 2);
    let (_, tables) = json(
        admin
            .get(&m.url("/api/model/tables"))
            .header("X-MSTR-ProjectID", &m.project)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(tables["total"], 1);
}
both_backends!(committed_changes_survive_kill_9, kill9);
