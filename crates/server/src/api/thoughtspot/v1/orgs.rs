//! v1 `session/orgs` and `session/orgs/users/{userid}`. vestibule has one org, Primary (id 0): the
//! listing shows it and switching to it succeeds; any other org id is refused.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::directory::{ADMIN_GROUP, EVERYONE_GROUP};
use vestibule_core::ids::Guid;
use vestibule_core::privilege::Privilege;
use vestibule_core::CoreError;

use super::super::error::{CallosumError, TsError, V1Result};
use super::super::extract::V1Caller;
use super::super::extract::{V1Body, V1Path};
use crate::api::body;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    org_id: i64,
    org_name: &'static str,
    description: &'static str,
    all_user_group_id: String,
    default_admin_user_group_id: String,
    is_active: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgList {
    orgs: Vec<Org>,
    can_administer_all_orgs: bool,
    current_org_id: i64,
}

async fn primary(state: &AppState) -> V1Result<Org> {
    let store = state.core.directory().store();
    let id = |g: Option<vestibule_core::directory::Group>| g.map(|g| g.id.to_uuid()).unwrap_or_default();
    Ok(Org {
        org_id: 0,
        org_name: "Primary",
        description: "Primary Org",
        all_user_group_id: id(store
            .group_by_name(EVERYONE_GROUP)
            .await
            .map_err(CoreError::from)?),
        default_admin_user_group_id: id(store.group_by_name(ADMIN_GROUP).await.map_err(CoreError::from)?),
        is_active: true,
    })
}

/// The orgs the caller can use (the Primary org).
#[utoipa::path(get, path = "/callosum/v1/tspublic/v1/session/orgs", tag = "ThoughtSpot v1",
    params(("batchsize" = Option<String>, Query, description = "Accepted and not read (-1 = all)"),
           ("offset" = Option<String>, Query, description = "Accepted and not read (-1 = from the start)")),
    responses(
        (status = 200, description = "Orgs", body = OrgList),
        (status = 401, description = "Not logged in (10003)", body = CallosumError),
        (status = 403, description = "Session limited to one object (10023)", body = CallosumError),
    ))]
pub async fn list(State(state): State<AppState>, V1Caller(caller): V1Caller) -> V1Result<Json<OrgList>> {
    caller.principal.require_full_scope()?;
    Ok(Json(OrgList {
        orgs: vec![primary(&state).await?],
        can_administer_all_orgs: caller.principal.user.has(Privilege::ADMINISTRATION),
        current_org_id: 0,
    }))
}

/// The org switch form.
#[derive(Deserialize, ToSchema)]
pub struct SwitchOrgForm {
    /// 0 (Primary) is the only org.
    #[serde(default, deserialize_with = "body::int")]
    #[schema(schema_with = super::token::required_org_zero_schema, required = true)]
    orgid: Option<i64>,
}

/// Switch the session's org: only the Primary org (0) exists.
#[utoipa::path(put, path = "/callosum/v1/tspublic/v1/session/orgs", tag = "ThoughtSpot v1",
    request_body(content = SwitchOrgForm, content_type = "application/x-www-form-urlencoded"),
    params(("X-Requested-By" = String, Header, description = "Required (any value): CSRF protection")),
    responses(
        (status = 204, description = "Switched"),
        (status = 400, description = "No such org, or a malformed form (10002)", body = CallosumError),
        (status = 401, description = "Not logged in (10003)", body = CallosumError),
    ))]
pub async fn switch(
    V1Caller(caller): V1Caller,
    headers: HeaderMap,
    V1Body(body): V1Body,
) -> V1Result<StatusCode> {
    caller.principal.require_full_scope()?;
    let body: SwitchOrgForm = body::read(&headers, &body)?;
    match body.orgid {
        Some(0) => Ok(StatusCode::NO_CONTENT),
        Some(other) => {
            Err(TsError::bad_request(format!("Org {other} does not exist or is not accessible")).into())
        }
        None => Err(TsError::bad_request("The field 'orgid' is required").into()),
    }
}

/// The orgs of a user: the caller's own, or anyone's for an administrator.
#[utoipa::path(get, path = "/callosum/v1/tspublic/v1/session/orgs/users/{userid}", tag = "ThoughtSpot v1",
    params(("userid" = String, Path, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "The user's id"),
           ("orgScope" = Option<String>, Query, description = "Accepted; ALL")),
    responses(
        (status = 200, description = "Orgs", body = OrgList),
        (status = 400, description = "Not a user id (10002)", body = CallosumError),
        (status = 401, description = "Not logged in (10003)", body = CallosumError),
        (status = 403, description = "Another user's orgs without the administration privilege (10023)", body = CallosumError),
        (status = 404, description = "No such user (10004)", body = CallosumError),
    ))]
pub async fn of_user(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    V1Path(userid): V1Path<String>,
) -> V1Result<Json<OrgList>> {
    let p = &caller.principal;
    p.require_full_scope()?;
    let id: Guid = userid
        .parse()
        .map_err(|_| TsError::bad_request(format!("'{userid}' is not a valid user id")))?;
    if id != p.user.user.id {
        p.require(Privilege::ADMINISTRATION)?;
        state.core.directory().user_info(id).await?;
    }
    Ok(Json(OrgList {
        orgs: vec![primary(&state).await?],
        can_administer_all_orgs: p.user.has(Privilege::ADMINISTRATION),
        current_org_id: 0,
    }))
}
