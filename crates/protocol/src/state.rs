//! Session lifecycle and the summaries a viewport lists.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{DirectoryId, SessionId};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SessionState {
    /// Work is flowing: the agent is running a turn.
    Active,
    /// Blocked on a permission prompt or an approval.
    Awaiting,
    /// Alive with nothing to do, waiting for a prompt.
    Idle,
    /// Exited; see the end reason.
    Ended,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Awaiting => "awaiting",
            Self::Idle => "idle",
            Self::Ended => "ended",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// The agent exited cleanly.
    Completed,
    /// The agent exited with an error or crashed.
    Failed,
    /// A viewport killed the session.
    Killed,
    /// The session was cancelled before it started its work.
    Cancelled,
    /// The session hit its cost cap.
    CostCap,
    /// The daemon went away while the session ran and could not re-adopt it.
    DaemonLost,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Killed => "killed",
            Self::Cancelled => "cancelled",
            Self::CostCap => "cost-cap",
            Self::DaemonLost => "daemon-lost",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a session is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    /// A structured agent speaking the Agent Client Protocol.
    Acp,
    /// A terminal program in a PTY.
    Terminal,
    /// An agent started out of band and seen through the hook bridge.
    Observed,
}

/// One row of the session list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub session_id: SessionId,
    pub directory_id: DirectoryId,
    pub kind: SessionKind,
    /// The agent profile that runs the session (`demo`, `claude-code`, ...).
    pub agent: String,
    /// The working directory of the session.
    pub cwd: String,
    /// The first prompt, as a title until the session is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub state: SessionState,
    /// The daemon cannot reach the session's process; `state` is the last known.
    #[serde(default)]
    pub disconnected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last stored update.
    pub updated_at: i64,
    /// The seq of the last stored update (0 when there is none yet).
    pub last_seq: u64,
    /// Permission prompts waiting for an answer.
    pub pending_prompts: u32,
    /// The session's unique name (terminal sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What a terminal session runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The terminal template it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The exit status of its program, once it exited on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The agent's own session id, for sessions observed through hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Where a fork's history comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ForkPoint>,
    /// The git repositories it works in, as last recorded (at its start and
    /// after each step).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git: Vec<GitContext>,
    /// What the session cost so far, in US dollars, as its agent last
    /// reported (none when it reported no cost in USD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// A git repository a session works in, at one point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitContext {
    /// The repository's root directory.
    pub root: String,
    /// The branch checked out (none when HEAD is detached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The commit HEAD points at (none before the first commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// The branch's upstream, such as `origin/main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Whether the working tree has changes (tracked or untracked).
    pub dirty: bool,
    /// The URL of its `origin` remote (or its first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// A session and one of its updates: where a fork branches off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForkPoint {
    pub session_id: SessionId,
    /// The last update the fork shares with it.
    pub seq: u64,
}

/// A registered directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryInfo {
    pub directory_id: DirectoryId,
    /// The canonical path.
    pub path: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// The longest session name.
pub const MAX_SESSION_NAME: usize = 64;

/// Check a session name: 1 to 64 of letters, digits, `.`, `_` and `-`,
/// starting with a letter or digit, and not shaped like a session id.
pub fn check_session_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > MAX_SESSION_NAME || !valid_chars || !starts_well {
        return Err(format!(
            "`{name}` is not a valid session name: use 1 to {MAX_SESSION_NAME} letters, digits, `.`, `_` or `-`, starting with a letter or digit"
        ));
    }
    if name.starts_with(crate::SessionId::PREFIX) {
        return Err(format!(
            "`{name}` is not a valid session name: names may not start with `{}`, which session ids use",
            crate::SessionId::PREFIX
        ));
    }
    Ok(())
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["web", "api-2", "build.log_1"] {
            assert!(check_session_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "has space", "ses_123", "ü", &"x".repeat(65)] {
            assert!(check_session_name(bad).is_err(), "{bad}");
        }
    }
}
