//! Checkpoints of a session's working tree, and rewinding to one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a checkpoint is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CheckpointKind {
    /// A commit under `refs/viewport/checkpoints/…` of the repository.
    Git,
    /// A copy of the files under the session's directory.
    Copy,
}

impl CheckpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Git => "git",
            Self::Copy => "copy",
        }
    }
}

/// The working tree as it was at one point of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// 1, 2, 3… within the session.
    pub number: u32,
    /// The session's update it was taken after (a `step-committed`, or the
    /// last update before a rewind).
    pub seq: u64,
    pub kind: CheckpointKind,
    /// The directory snapshotted (the repository's root for git).
    pub root: String,
    /// The commit, or the snapshot's directory.
    pub reference: String,
    /// What changed since the checkpoint before: `M path`, `A path`, `D path`.
    pub files: Vec<String>,
    /// Why it was taken, when not after a step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Result of `listCheckpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListCheckpointsResult {
    /// Oldest first.
    pub checkpoints: Vec<Checkpoint>,
}

/// Result of `rewind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RewindResult {
    /// What the rewind changes (or would, with `dryRun`): `M path`
    /// (restored), `A path` (brought back), `D path` (removed).
    pub changes: Vec<String>,
    /// The checkpoint of the tree as it was just before, so the rewind can
    /// itself be undone (none with `dryRun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<Checkpoint>,
}
