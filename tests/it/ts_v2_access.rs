//! Attribute-based access control through the ThoughtSpot v2 token endpoints, against the real
//! binary: `token/custom` rules (`filter_rules`, `parameter_values`, `variable_values`, `objects`)
//! carried in the token and shown by `token/validate`, persisted on the user by every
//! `persist_option` and shown on `session/user`; `user_parameters` of `token/full` and
//! `token/object` likewise; type errors named by field; persisted rules surviving a restart and
//! seen from another node on PostgreSQL.

use serde_json::{json as j, Value};

use crate::both_backends;
use crate::common::model::Backend;
use crate::common::pg::FreshDb;
use crate::common::ts::*;
use crate::common::{backend_url, send, TestServer, ADMIN_PASSWORD};

/// `token/custom` for `user` with the secret key and `extra` fields; the token.
async fn custom(server: &TestServer, key: &str, user: &str, extra: Value) -> Value {
    let mut body = j!({"username": user, "secret_key": key});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, t) = v2_post(server, "/auth/token/custom", body).await;
    assert_eq!(status, 200, "{t}");
    t
}

/// What `token/validate` shows of `token`.
async fn validate(server: &TestServer, token: &str) -> Value {
    let resp = send(
        v2_request(server, "/auth/token/validate")
            .bearer_auth(token)
            .json(&j!({"token": token})),
    )
    .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// `session/user` as `user` sees it (through a fresh password token).
async fn user_details(server: &TestServer, user: &str, password: &str) -> Value {
    let token = v2_token(server, user, password).await;
    let (status, u) = bearer_get(server, &format!("{V2}/auth/session/user"), &token).await;
    assert_eq!(status, 200, "{u}");
    u
}

fn rule(column: &str, values: Value) -> Value {
    j!({"column_name": column, "operator": "IN", "values": values})
}

#[tokio::test]
async fn ts_v2_custom_token_carries_and_persists_rules() {
    let server = TestServer::start();
    let key = trusted_auth(&server, "enable");
    server.add_user("analyst", "analyst-pass");
    let table = "9b751df2-d344-4850-9756-18535797378c";

    // NONE: the token carries the rules, the user holds nothing.
    let t = custom(
        &server,
        &key,
        "analyst",
        j!({"persist_option": "NONE",
            "filter_rules": [rule("Region", j!(["West", "Southwest"])), {"column_name": "Revenue", "operator": "BW_INC", "values": [10, 20.5]}],
            "parameter_values": [{"name": "Secured", "values": [true]}],
            "objects": [{"type": "LOGICAL_TABLE", "identifier": table}]}),
    )
    .await;
    let v = validate(&server, t["token"].as_str().unwrap()).await;
    assert_eq!(
        v["access_control_properties"],
        j!({"0": {table: {
            "filter_rules": [rule("Region", j!(["West", "Southwest"])), {"column_name": "Revenue", "operator": "BW_INC", "values": [10, 20.5]}],
            "parameter_values": [{"name": "Secured", "values": [true]}]}}}),
        "{v}"
    );
    assert_eq!(v["variable_values"], j!({}));
    let u = user_details(&server, "analyst", "analyst-pass").await;
    assert_eq!(u["access_control_properties"], j!({}), "{u}");

    // APPEND, twice: the user holds both requests' rules; each token carries its own.
    custom(
        &server,
        &key,
        "analyst",
        j!({"persist_option": "APPEND", "filter_rules": [rule("Region", j!(["West"]))]}),
    )
    .await;
    let t2 = custom(
        &server,
        &key,
        "analyst",
        j!({"persist_option": "APPEND", "filter_rules": [rule("Country", j!(["Germany"]))],
            "variable_values": [{"name": "country_var", "values": ["Japan", "Chile"]}]}),
    )
    .await;
    let u = user_details(&server, "analyst", "analyst-pass").await;
    assert_eq!(
        u["access_control_properties"],
        j!({"0": {"ALL": {"filter_rules": [rule("Region", j!(["West"])), rule("Country", j!(["Germany"]))], "parameter_values": []}}}),
        "{u}"
    );
    assert_eq!(
        u["variable_values"],
        j!({"0": {"ALL": {"variable_values": [{"name": "country_var", "values": ["Japan", "Chile"]}]}}})
    );
    let v = validate(&server, t2["token"].as_str().unwrap()).await;
    assert_eq!(
        v["access_control_properties"]["0"]["ALL"]["filter_rules"],
        j!([rule("Country", j!(["Germany"]))])
    );

    // REPLACE: the request's rules in place of the user's; variables kept (none asked).
    custom(
        &server,
        &key,
        "analyst",
        j!({"persist_option": "REPLACE", "parameter_values": [{"name": "Secured", "values": ["k"]}]}),
    )
    .await;
    let u = user_details(&server, "analyst", "analyst-pass").await;
    assert_eq!(
        u["access_control_properties"],
        j!({"0": {"ALL": {"filter_rules": [], "parameter_values": [{"name": "Secured", "values": ["k"]}]}}}),
        "{u}"
    );
    assert_eq!(
        u["variable_values"]["0"]["ALL"]["variable_values"][0]["name"],
        "country_var"
    );

    // RESET: rules and parameters cleared, variables kept; the token still carries the request's.
    let t3 = custom(
        &server,
        &key,
        "analyst",
        j!({"persist_option": "RESET", "filter_rules": [rule("Region", j!(["East"]))]}),
    )
    .await;
    let u = user_details(&server, "analyst", "analyst-pass").await;
    assert_eq!(u["access_control_properties"], j!({}), "{u}");
    assert_eq!(
        u["variable_values"]["0"]["ALL"]["variable_values"][0]["name"],
        "country_var"
    );
    let v = validate(&server, t3["token"].as_str().unwrap()).await;
    assert_eq!(
        v["access_control_properties"]["0"]["ALL"]["filter_rules"],
        j!([rule("Region", j!(["East"]))])
    );

    // In lower case too; and a password instead of the secret key.
    let (status, t4) = v2_post(
        &server,
        "/auth/token/custom",
        j!({"username": "analyst", "password": "analyst-pass", "persist_option": "append",
            "filter_rules": [rule("Region", j!(["North"]))]}),
    )
    .await;
    assert_eq!(status, 200, "{t4}");
    let u = user_details(&server, "analyst", "analyst-pass").await;
    assert_eq!(
        u["access_control_properties"]["0"]["ALL"]["filter_rules"],
        j!([rule("Region", j!(["North"]))])
    );

    // A token made from a cookie session or by token/full carries nothing.
    let plain = v2_token(&server, "analyst", "analyst-pass").await;
    let v = validate(&server, &plain).await;
    assert_eq!(
        (&v["access_control_properties"], &v["user_parameters"]),
        (&j!({}), &j!({}))
    );
}

#[tokio::test]
async fn ts_v2_custom_token_refuses_what_the_spec_does_not_allow() {
    let server = TestServer::start();
    let key = trusted_auth(&server, "enable");
    let post = |body: Value| {
        let mut b = j!({"username": "someone", "secret_key": key});
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        send(v2_request(&server, "/auth/token/custom").json(&b))
    };
    for (body, names) in [
        (
            j!({"variable_values": [{"name": "v", "values": ["x"]}]}),
            "variable_values",
        ),
        (
            j!({"persist_option": "RESET", "variable_values": [{"name": "v", "values": ["x"]}]}),
            "variable_values",
        ),
        (j!({"persist_option": "FOREVER"}), "persist_option"),
        (j!({"filter_rules": [{"column_name": "x"}]}), "filter_rules[0]"),
        (
            j!({"filter_rules": [{"column_name": "x", "operator": "ABOUT", "values": []}]}),
            "filter_rules[0].operator",
        ),
        (
            j!({"filter_rules": [{"column_name": "x", "operator": "EQ", "values": [null]}]}),
            "filter_rules[0].values",
        ),
        (
            j!({"filter_rules": [{"column_name": "", "operator": "EQ", "values": ["a"]}]}),
            "filter_rules[0].column_name",
        ),
        (j!({"parameter_values": "Secured"}), "parameter_values"),
        (
            j!({"objects": [{"type": "LIVEBOARD", "identifier": "x"}]}),
            "objects[0].type",
        ),
        (j!({"objects": [{"identifier": " "}]}), "objects[0].identifier"),
        (j!({"groups": [{"identifier": 3}]}), "groups[0].identifier"),
    ] {
        let messages = v2_error(post(body.clone()).await, 400, 10002).await;
        assert!(
            messages.iter().any(|m| m.contains(&format!("'{names}"))),
            "{body}: {messages:?}"
        );
    }
    // None of the refused requests made the user (nor would a refused one persist anything).
    let (status, _) = v2_post(
        &server,
        "/auth/token/full",
        j!({"username": "someone", "secret_key": key}),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn ts_v2_user_parameters_are_carried_and_persisted() {
    let server = TestServer::start();
    let key = trusted_auth(&server, "enable");
    server.add_user("viewer", "viewer-pass");
    let board = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
    let (status, t) = v2_post(
        &server,
        "/auth/token/object",
        j!({"username": "viewer", "secret_key": key, "object_id": board,
            "user_parameters": {
                "runtime_filters": [
                    {"column_name": "Region", "operator": "IN", "values": ["West"], "persist": false},
                    {"column_name": "Product Type", "operator": "IN", "values": ["Shirts"], "persist": true}],
                "parameters": [{"name": "Secured", "values": ["abc"], "persist": true,
                                "objects": [{"type": "LOGICAL_TABLE", "identifier": board}]}],
                "runtime_sorts": [{"column_name": "Region", "order": "ASC"}]}}),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    let v = validate(&server, t["token"].as_str().unwrap()).await;
    assert_eq!(
        v["user_parameters"],
        j!({
            "runtime_filters": [
                {"column_name": "Region", "operator": "IN", "values": ["West"]},
                {"column_name": "Product Type", "operator": "IN", "values": ["Shirts"]}],
            "parameters": [{"name": "Secured", "values": ["abc"], "objects": [{"identifier": board}]}],
            "runtime_sorts": [{"column_name": "Region", "order": "ASC"}]}),
        "{v}"
    );
    let u = user_details(&server, "viewer", "viewer-pass").await;
    assert_eq!(
        u["user_parameters"],
        j!({
            "runtime_filters": [{"column_name": "Product Type", "operator": "IN", "values": ["Shirts"]}],
            "parameters": [{"name": "Secured", "values": ["abc"], "objects": [{"identifier": board}]}]}),
        "{u}"
    );

    // An empty list clears what the user holds of that kind; the other kinds stay.
    let (status, _) = v2_post(
        &server,
        "/auth/token/full",
        j!({"username": "viewer", "password": "viewer-pass", "user_parameters": {"runtime_filters": []}}),
    )
    .await;
    assert_eq!(status, 200);
    let u = user_details(&server, "viewer", "viewer-pass").await;
    assert_eq!(u["user_parameters"]["runtime_filters"], Value::Null, "{u}");
    assert_eq!(u["user_parameters"]["parameters"][0]["name"], "Secured");

    // Type errors name their field.
    for (body, field) in [
        (j!({"user_parameters": "runtime_filters"}), "user_parameters"),
        (
            j!({"user_parameters": {"runtime_filters": [{"column_name": "c", "operator": "EQ", "values": [1]}]}}),
            "user_parameters.runtime_filters[0].values[0]",
        ),
        (
            j!({"user_parameters": {"runtime_sorts": [{"order": "SIDEWAYS"}]}}),
            "user_parameters.runtime_sorts[0].order",
        ),
        (j!({"group_identifiers": "analysts"}), "group_identifiers"),
    ] {
        let mut b = body.clone();
        b["username"] = j!("viewer");
        b["password"] = j!("viewer-pass");
        let messages = v2_error(
            send(v2_request(&server, "/auth/token/full").json(&b)).await,
            400,
            10002,
        )
        .await;
        assert!(
            messages.iter().any(|m| m.contains(&format!("'{field}"))),
            "{body}: {messages:?}"
        );
    }
}

#[tokio::test]
async fn ts_v2_revoke_of_an_unknown_user_is_a_bad_request() {
    let server = TestServer::start();
    let t = v2_token(&server, "administrator", ADMIN_PASSWORD).await;
    let resp = send(
        v2_request(&server, "/auth/token/revoke")
            .bearer_auth(&t)
            .json(&j!({"user_identifier": "nobody"})),
    )
    .await;
    v2_error(resp, 400, 10002).await;
    let resp = send(
        v2_request(&server, "/auth/token/revoke")
            .bearer_auth(&t)
            .json(&j!({"user_identifier": "00000000-0000-4000-8000-000000000000"})),
    )
    .await;
    v2_error(resp, 400, 10002).await;
}

both_backends!(
    ts_v2_persisted_rules_survive_a_restart,
    persisted_rules_survive_a_restart
);

/// Rules persisted through one node survive its restart, and (PostgreSQL) are seen by another node.
async fn persisted_rules_survive_a_restart(backend: Backend, test: &str) {
    let db = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(FreshDb::create(&backend_url("VESTIBULE_TEST_POSTGRES_URL", test)).await),
    };
    let env: Vec<(&str, &str)> = db
        .iter()
        .map(|d| ("VESTIBULE_STORE_METADATA", d.url.as_str()))
        .collect();
    let mut server = TestServer::start_with(&env);
    let key = trusted_auth(&server, "enable");
    server.add_user("kept", "kept-pass");
    custom(
        &server,
        &key,
        "kept",
        j!({"persist_option": "APPEND", "filter_rules": [rule("Region", j!(["West"]))],
            "variable_values": [{"name": "region_var", "values": ["West"]}]}),
    )
    .await;
    let expected =
        j!({"0": {"ALL": {"filter_rules": [rule("Region", j!(["West"]))], "parameter_values": []}}});
    server.restart();
    let u = user_details(&server, "kept", "kept-pass").await;
    assert_eq!(u["access_control_properties"], expected, "{u}");
    assert_eq!(
        u["variable_values"]["0"]["ALL"]["variable_values"][0]["name"],
        "region_var"
    );
    if db.is_some() {
        let other = TestServer::start_with(&env);
        let u = user_details(&other, "kept", "kept-pass").await;
        assert_eq!(u["access_control_properties"], expected, "{u}");
        // A change made on the other node is seen on the first.
        custom(&other, &key, "kept", j!({"persist_option": "RESET"})).await;
        let u = user_details(&server, "kept", "kept-pass").await;
        assert_eq!(u["access_control_properties"], j!({}), "{u}");
    }
}
