//! Workflow runs: a config workflow's steps run as sessions, in order,
//! consecutive `parallel` steps together; each run is recorded. And the
//! plans sessions produce.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{DirectoryId, SessionId, WorkflowRunId};
use crate::update::PlanEntry;

/// Where a workflow run, or one of its steps, is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Not started: an earlier step is still running.
    Pending,
    Running,
    /// Its session's turn finished.
    Completed,
    /// Its session failed, or could not start.
    Failed,
    /// Not run, because an earlier step failed.
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Skipped)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepRun {
    pub name: String,
    pub status: RunStatus,
    /// Its session, once it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
    /// Why it failed or was skipped, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One run of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRun {
    pub run_id: WorkflowRunId,
    /// The workflow's name in the config.
    pub workflow: String,
    pub directory_id: DirectoryId,
    /// The working directory its sessions run in.
    pub cwd: String,
    pub status: RunStatus,
    pub steps: Vec<StepRun>,
    /// Unix milliseconds.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

/// Result of `runWorkflow`: the run as it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunWorkflowResult {
    pub run: WorkflowRun,
}

/// Result of `listWorkflowRuns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListWorkflowRunsResult {
    /// Newest first.
    pub runs: Vec<WorkflowRun>,
}

/// The latest plan a session's agent reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionPlan {
    pub session_id: SessionId,
    /// The update that reported it.
    pub seq: u64,
    pub entries: Vec<PlanEntry>,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// Result of `listPlans`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListPlansResult {
    /// One per session that has a plan, latest first.
    pub plans: Vec<SessionPlan>,
}
