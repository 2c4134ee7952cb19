//! Workflow runs: a config workflow's steps launched as sessions, in order,
//! consecutive `parallel` steps together. A step is done when its session's
//! first turn is (the session is then closed), or failed when its session
//! ends otherwise; a failed step skips the steps after it. Every change of a
//! run is stored (`workflow_runs`), so `vpd workflow ls` shows it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use viewport_agents::profile::BUILTIN_NAMES;
use viewport_config::model::{Workflow, WorkflowStep};
use viewport_config::{Manifest, Section};
use viewport_protocol::options::ConfigOverrides;
use viewport_protocol::workflows::{RunStatus, StepRun, WorkflowRun};
use viewport_protocol::{
    DirectoryId, EndReason, ErrorCode, FrameError, SessionId, SessionState, WorkflowRunId, now_ms,
};

use crate::launch;
use crate::manager::Manager;

/// How often a running step's session is looked at.
const STEP_POLL: Duration = Duration::from_millis(200);

fn invalid(message: String) -> FrameError {
    FrameError::new(ErrorCode::InvalidFrame, message)
}

/// The steps in groups that run together: consecutive `parallel` steps
/// form one group, every other step is a group of its own.
pub fn groups(steps: &[WorkflowStep]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let joins = step.parallel && i > 0 && steps[i - 1].parallel && groups.last().is_some();
        match groups.last_mut() {
            Some(last) if joins => last.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups
}

/// What a step launches with: an agent profile of the config, or an agent.
fn step_overrides(
    manifest: &Manifest,
    step: &WorkflowStep,
    cwd: &Option<String>,
) -> Result<ConfigOverrides, String> {
    let mut overrides = ConfigOverrides {
        cwd: cwd.clone(),
        ..ConfigOverrides::default()
    };
    match step.profile.as_deref() {
        None => {}
        Some(name)
            if manifest.agent_profiles.contains_key(name)
                || manifest.conflict(Section::AgentProfiles, name).is_some() =>
        {
            overrides.profile = Some(name.to_owned());
        }
        Some(name) if BUILTIN_NAMES.contains(&name) => overrides.agent = Some(name.to_owned()),
        Some(name) => {
            return Err(format!(
                "step `{}` names `{name}`, which is neither an agent profile of the config nor an agent",
                step.name
            ));
        }
    }
    Ok(overrides)
}

impl Manager {
    /// Start a run of the workflow `name`; it goes on in the background.
    pub async fn run_workflow(
        self: &Arc<Self>,
        directory_id: DirectoryId,
        name: &str,
        cwd: Option<String>,
    ) -> Result<WorkflowRun, FrameError> {
        let directory = self.directory(&directory_id).await?;
        let root = Path::new(&directory.path);
        let cwd_path = launch::session_cwd(root, cwd.as_deref())?;
        let manifest = viewport_config::manifest(self.home_root(), Some(root), &cwd_path)
            .map_err(|errors| invalid(format!("the config has problems:\n{errors}")))?;
        if let Some(conflict) = manifest.conflict(Section::Workflows, name) {
            return Err(invalid(format!("cannot run workflow `{name}`: {conflict}")));
        }
        let Some(workflow) = manifest.workflows.get(name).map(|d| d.definition.clone()) else {
            let known: Vec<&str> = manifest.workflows.keys().map(String::as_str).collect();
            return Err(invalid(format!(
                "no workflow `{name}` in the config for {} (defined: {})",
                cwd_path.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        };
        let launches = workflow
            .steps
            .iter()
            .map(|step| step_overrides(&manifest, step, &cwd))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let run = WorkflowRun {
            run_id: WorkflowRunId::generate(),
            workflow: name.to_owned(),
            directory_id,
            cwd: cwd_path.display().to_string(),
            status: RunStatus::Running,
            steps: workflow
                .steps
                .iter()
                .map(|step| StepRun {
                    name: step.name.clone(),
                    status: RunStatus::Pending,
                    session_id: None,
                    detail: None,
                })
                .collect(),
            created_at: now_ms(),
            ended_at: None,
        };
        self.put_workflow_run(&run).await?;
        let manager = Arc::clone(self);
        let started = run.clone();
        tokio::spawn(async move { manager.drive_workflow(started, workflow, launches).await });
        Ok(run)
    }

    async fn drive_workflow(
        self: Arc<Self>,
        mut run: WorkflowRun,
        workflow: Workflow,
        launches: Vec<ConfigOverrides>,
    ) {
        let mut failed = false;
        for group in groups(&workflow.steps) {
            if failed {
                for i in group {
                    run.steps[i].status = RunStatus::Skipped;
                    run.steps[i].detail = Some("an earlier step failed".to_owned());
                }
                continue;
            }
            let mut running = Vec::new();
            for i in group {
                let step = &workflow.steps[i];
                let launched = self
                    .launch(
                        run.directory_id.clone(),
                        step.prompt.clone(),
                        None,
                        launches[i].clone(),
                    )
                    .await;
                match launched {
                    Ok(session_id) => {
                        run.steps[i].status = RunStatus::Running;
                        run.steps[i].session_id = Some(session_id.clone());
                        running.push((i, session_id));
                    }
                    Err(e) => {
                        run.steps[i].status = RunStatus::Failed;
                        run.steps[i].detail = Some(e.message);
                        failed = true;
                    }
                }
            }
            self.record(&run).await;
            for (i, session_id) in running {
                match self.first_turn(&session_id).await {
                    Ok(()) => run.steps[i].status = RunStatus::Completed,
                    Err(detail) => {
                        run.steps[i].status = RunStatus::Failed;
                        run.steps[i].detail = Some(detail);
                        failed = true;
                    }
                }
                self.record(&run).await;
            }
        }
        run.status = if failed {
            RunStatus::Failed
        } else {
            RunStatus::Completed
        };
        run.ended_at = Some(now_ms());
        self.record(&run).await;
    }

    /// Wait for a step's session to finish its first turn, then close it.
    async fn first_turn(&self, session_id: &SessionId) -> Result<(), String> {
        loop {
            let summary = self.summary(session_id).await.map_err(|e| e.message)?;
            match summary.state {
                SessionState::Idle => {
                    if let Err(e) = self.close(session_id).await {
                        tracing::warn!("closing workflow session {session_id}: {}", e.message);
                    }
                    return Ok(());
                }
                SessionState::Ended => {
                    return match summary.end_reason {
                        Some(EndReason::Completed) => Ok(()),
                        reason => Err(format!(
                            "its session {session_id} ended {}",
                            reason.map_or("without a reason", EndReason::as_str)
                        )),
                    };
                }
                _ => tokio::time::sleep(STEP_POLL).await,
            }
        }
    }

    async fn record(&self, run: &WorkflowRun) {
        if let Err(e) = self.put_workflow_run(run).await {
            tracing::error!("cannot record workflow run {}: {}", run.run_id, e.message);
        }
    }

    async fn put_workflow_run(&self, run: &WorkflowRun) -> Result<(), FrameError> {
        self.ingest()
            .put_workflow_run(run.clone())
            .await
            .map_err(|e| {
                FrameError::new(ErrorCode::Internal, format!("storing a workflow run: {e}"))
            })
    }

    /// Every workflow run, newest first.
    pub async fn workflow_runs(&self) -> Result<Vec<WorkflowRun>, FrameError> {
        self.readers()
            .read(|r| r.workflow_runs())
            .await
            .map_err(|e| {
                FrameError::new(ErrorCode::Internal, format!("reading workflow runs: {e}"))
            })
    }

    /// At start-up: runs the last daemon was driving failed with it.
    pub async fn recover_workflow_runs(&self) {
        let Ok(runs) = self.workflow_runs().await else {
            return;
        };
        for mut run in runs.into_iter().filter(|r| r.status == RunStatus::Running) {
            run.status = RunStatus::Failed;
            for step in run.steps.iter_mut().filter(|s| !s.status.is_done()) {
                step.status = RunStatus::Failed;
                step.detail = Some("the daemon stopped during the run".to_owned());
            }
            run.ended_at = Some(now_ms());
            self.record(&run).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, parallel: bool) -> WorkflowStep {
        WorkflowStep {
            name: name.to_owned(),
            profile: None,
            prompt: String::new(),
            parallel,
        }
    }

    #[test]
    fn consecutive_parallel_steps_run_together() {
        let steps = [
            step("a", true),
            step("b", true),
            step("c", false),
            step("d", true),
            step("e", false),
            step("f", true),
            step("g", true),
        ];
        assert_eq!(
            groups(&steps),
            vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5, 6]]
        );
    }
}
