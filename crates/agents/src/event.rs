//! What drivers emit.

use std::fmt;

use tokio::sync::oneshot;
use viewport_protocol::update::{
    AttentionReason, PermissionOption, PermissionOutcome, StopReason, ToolKind,
};
use viewport_protocol::{PromptId, SessionUpdate};

/// One thing that happened in an agent, in the order it happened.
#[derive(Debug)]
pub enum DriverEvent {
    /// An update to store and publish as it is.
    Update(SessionUpdate),
    /// The agent asks permission and waits for `reply`.
    Permission(PermissionAsk),
    /// The agent finished a turn, or the turn failed.
    TurnEnded(Result<StopReason, TurnFailure>),
    /// The agent process is gone; nothing follows.
    Exited(AgentExit),
    /// Output was read that makes no update (an answer, a request): only
    /// the offset it reached counts.
    Consumed,
}

/// A driver event and how far the agent's output had been read when it was
/// made: stored with the event, it is where a restarted daemon resumes.
#[derive(Debug)]
pub struct Sourced {
    pub event: DriverEvent,
    pub through: u64,
}

/// A permission question from the agent. Dropping `reply` answers `cancelled`.
#[derive(Debug)]
pub struct PermissionAsk {
    /// Chosen by the driver, which keeps it with the agent's request id so
    /// that a later daemon can still answer.
    pub prompt_id: PromptId,
    pub tool_call_id: Option<String>,
    pub title: String,
    /// The kind of tool, when the request says (else the session may know
    /// it from the tool call announced earlier).
    pub tool_kind: Option<ToolKind>,
    pub options: Vec<PermissionOption>,
    pub reply: oneshot::Sender<PermissionOutcome>,
}

/// Why a turn failed, and what a person should be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnFailure {
    pub message: String,
    /// `login-required` when the agent wants its user to log in, else `turn-failed`.
    pub attention: AttentionReason,
}

/// How an agent process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentExit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// A transport or protocol failure seen before the exit, if any.
    pub error: Option<String>,
}

impl AgentExit {
    pub fn success(&self) -> bool {
        self.code == Some(0) && self.error.is_none()
    }
}

impl fmt::Display for AgentExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(code), _) => write!(f, "exited with status {code}")?,
            (None, Some(signal)) => write!(f, "killed by signal {signal}")?,
            (None, None) => write!(f, "exited")?,
        }
        if let Some(error) = &self.error {
            write!(f, " ({error})")?;
        }
        Ok(())
    }
}
