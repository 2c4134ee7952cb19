//! One-off jobs: a command queued to run as a terminal session once a slot
//! is free (at most `jobs.maxParallel` at once).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{DirectoryId, JobId, SessionId};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum JobStatus {
    /// Waiting for a free slot.
    Queued,
    Running,
    /// Exited with status 0.
    Completed,
    /// Exited with another status (kept in `exitCode`), or could not start.
    Failed,
    /// Killed, or lost with the daemon that ran it.
    Stopped,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Stopped)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    pub job_id: JobId,
    /// The name its terminal session gets.
    pub name: String,
    /// The shell command line it runs.
    pub command: String,
    pub directory_id: DirectoryId,
    pub status: JobStatus,
    /// Its terminal session, once it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why it failed or stopped, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

/// Result of `listJobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListJobsResult {
    pub jobs: Vec<JobInfo>,
}
