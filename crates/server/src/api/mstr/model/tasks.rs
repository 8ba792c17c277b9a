//! `/api/model/tasks/{id}`: a schema task (a reload) of the project, as any node sees it; a
//! running task whose server stopped reads as failed.

use axum::extract::State;
use axum::Json;

use super::schema_wire::TaskJson;
use crate::api::mstr::error::{MstrErrorBody, MstrResult};
use crate::api::mstr::extract::{Caller, MstrPath, ProjectId};
use crate::api::mstr::folders::required_project;
use crate::api::mstr::params::path_id;
use crate::state::AppState;

/// A schema task: running, or completed or failed with its end time (and its errors).
#[utoipa::path(get, path = "/api/model/tasks/{id}", tag = "Schema",
    params(("X-MSTR-AuthToken" = String, Header, description = "Auth token"),
           ("X-MSTR-ProjectID" = String, Header, pattern = "^-*([0-9A-Fa-f]-*){32}$", description = "Project id"),
           ("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskJson),
        (status = 400, description = "No project header (ERR007)", body = MstrErrorBody),
        (status = 403, description = "No schema privilege (ERR014)", body = MstrErrorBody),
        (status = 404, description = "Unknown project, or no such task in it (ERR004)", body = MstrErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ProjectId(project): ProjectId,
    MstrPath(id): MstrPath<String>,
) -> MstrResult<Json<TaskJson>> {
    let project = required_project(project, "tasks belong to a project")?;
    let id = path_id(&id, "task")?;
    let task = state.core.schema_task(&caller, project, id).await?;
    Ok(Json(TaskJson::of(&task)))
}
