//! The schema operations a handler calls — lock, unlock, reload, and reading locks and tasks —
//! over the modeling service (`model/schema_lock.rs`, `model/reload.rs`), with the audit
//! records they leave and the background run of an asynchronous reload.

use std::net::IpAddr;
use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind};
use crate::core::{Core, Principal};
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::reload::{SchemaTask, TaskStatus, UpdateType};
use crate::model::schema_lock::{LockType, SchemaLock};

impl Core {
    fn model_arc(&self) -> Result<Arc<crate::model::ModelService>> {
        self.model
            .clone()
            .ok_or_else(|| CoreError::Unavailable("the modeling service is not configured".into()))
    }

    /// `project`'s schema lock, if a live session holds one.
    pub async fn schema_lock(&self, caller: &Principal, project: Guid) -> Result<Option<SchemaLock>> {
        let model = self.model()?;
        model.require_schema_project(caller, project).await?;
        model.schema_lock(project).await
    }

    /// Locks `project`'s schema for the caller's session (audited); `addr` is where the request
    /// came from, kept as the lock's machine.
    pub async fn lock_schema(
        &self,
        caller: &Principal,
        project: Guid,
        kind: LockType,
        comment: String,
        addr: Option<IpAddr>,
    ) -> Result<SchemaLock> {
        let machine = addr.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        let lock = self
            .model()?
            .lock_schema(caller, project, kind, machine, comment)
            .await?;
        self.audit(
            AuditEvent::new(AuditKind::SchemaLocked)
                .user(&caller.user.user.username)
                .user_id(caller.user.user.id)
                .project(project)
                .address(addr)
                .reason(lock.kind.as_str()),
        );
        Ok(lock)
    }

    /// Removes `project`'s schema lock (audited: `released` by its holder, `forced` by an
    /// administrator for another session); nothing to remove is no error.
    pub async fn unlock_schema(
        &self,
        caller: &Principal,
        project: Guid,
        kind: Option<LockType>,
        addr: Option<IpAddr>,
    ) -> Result<()> {
        let removed = self.model()?.unlock_schema(caller, project, kind).await?;
        if let Some((lock, forced)) = removed {
            let mut event = AuditEvent::new(AuditKind::SchemaUnlocked)
                .user(&caller.user.user.username)
                .user_id(caller.user.user.id)
                .project(project)
                .address(addr)
                .reason(if forced { "forced" } else { "released" });
            if forced {
                // Whose lock it was.
                event = event.object(lock.user);
            }
            self.audit(event);
        }
        Ok(())
    }

    /// Reloads `project`'s schema. With `wait`, the reload has run when this returns (the task
    /// completed or failed); without, it runs in the background and the task is returned
    /// running. Each outcome is audited.
    pub async fn reload_schema(
        self: &Arc<Self>,
        caller: &Principal,
        project: Guid,
        update_types: Vec<UpdateType>,
        wait: bool,
    ) -> Result<SchemaTask> {
        let model = self.model_arc()?;
        let task = model.start_reload(caller, project, update_types).await?;
        let (username, user_id) = (caller.user.user.username.clone(), caller.user.user.id);
        if wait {
            let done = model.run_reload(task).await?;
            self.audit_reload(&username, user_id, &done);
            return Ok(done);
        }
        let core = Arc::clone(self);
        let running = task.clone();
        tokio::spawn(async move {
            match model.run_reload(task).await {
                Ok(done) => core.audit_reload(&username, user_id, &done),
                Err(e) => tracing::warn!(error = %e, task = %running.id, "a schema reload could not finish"),
            }
        });
        Ok(running)
    }

    fn audit_reload(&self, username: &str, user_id: Guid, task: &SchemaTask) {
        self.audit(
            AuditEvent::new(AuditKind::SchemaReloaded)
                .user(username)
                .user_id(user_id)
                .project(task.project)
                .object(task.id)
                .reason(match task.status {
                    TaskStatus::Completed => "completed",
                    TaskStatus::Failed => "failed",
                    TaskStatus::Running => "running",
                }),
        );
    }

    /// The schema task `id` of `project`.
    pub async fn schema_task(&self, caller: &Principal, project: Guid, id: Guid) -> Result<SchemaTask> {
        self.model()?.task(caller, project, id).await
    }

    /// `project`'s newest reload.
    pub async fn last_schema_reload(&self, caller: &Principal, project: Guid) -> Result<Option<SchemaTask>> {
        self.model()?.last_reload(caller, project).await
    }
}
