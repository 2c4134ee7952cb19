//! The session updates: everything that happens inside a session, in the
//! order it happened. Each is stored with a dense per-session `seq` before any
//! viewport sees it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::PromptId;
use crate::state::{EndReason, SessionState};

/// One update, tagged by `updateType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "updateType", rename_all = "kebab-case")]
pub enum SessionUpdate {
    /// A complete agent message; search indexes these, never the chunks.
    AgentMessage(MessageText),
    /// A piece of an agent message as it streams.
    AgentMessageChunk(TextChunk),
    /// A piece of the agent's reasoning as it streams.
    AgentThoughtChunk(TextChunk),
    /// A message from the user (a launch prompt or a follow-up).
    UserMessage(MessageText),
    /// The agent started a tool call.
    ToolCall(ToolCall),
    /// Progress, output or the result of a tool call.
    ToolCallUpdate(ToolCallUpdate),
    /// The agent asks for permission; it waits until a viewport answers.
    PermissionRequest(PermissionRequest),
    /// A permission prompt was answered (the first answer wins).
    PermissionResolved(PermissionResolved),
    /// The session changed state.
    StateChange(StateChange),
    /// The agent finished a turn.
    StepCommitted(StepCommitted),
    /// Tokens and cost reported by the agent.
    TokenUsage(TokenUsage),
    /// Plan, mode, available commands and other status the agent reports.
    SystemStatus(SystemStatus),
    /// Something needs a person's attention.
    Attention(Attention),
    /// Whether the agent is streaming output right now.
    StreamingState(StreamingState),
}

impl SessionUpdate {
    /// The `updateType` tag, as on the wire.
    pub fn update_type(&self) -> &'static str {
        match self {
            Self::AgentMessage(_) => "agent-message",
            Self::AgentMessageChunk(_) => "agent-message-chunk",
            Self::AgentThoughtChunk(_) => "agent-thought-chunk",
            Self::UserMessage(_) => "user-message",
            Self::ToolCall(_) => "tool-call",
            Self::ToolCallUpdate(_) => "tool-call-update",
            Self::PermissionRequest(_) => "permission-request",
            Self::PermissionResolved(_) => "permission-resolved",
            Self::StateChange(_) => "state-change",
            Self::StepCommitted(_) => "step-committed",
            Self::TokenUsage(_) => "token-usage",
            Self::SystemStatus(_) => "system-status",
            Self::Attention(_) => "attention",
            Self::StreamingState(_) => "streaming-state",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageText {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TextChunk {
    pub text: String,
}

/// What kind of work a tool call does, as ACP names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ToolKind {
    Read,
    Edit,
    Delete,
    Move,
    Search,
    Execute,
    Think,
    Fetch,
    SwitchMode,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ToolStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
}

/// A file a tool call touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolLocation {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// Output of a tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToolContent {
    /// Text output.
    Text { text: String },
    /// A change to a file.
    #[serde(rename_all = "camelCase")]
    Diff {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_text: Option<String>,
        new_text: String,
    },
    /// Output of a terminal the agent runs.
    #[serde(rename_all = "camelCase")]
    Terminal { terminal_id: String },
    /// Text too large to carry in an update, kept beside the session
    /// (`readOutput` fetches it).
    #[serde(rename_all = "camelCase")]
    File {
        /// The file's name, which `readOutput` takes.
        name: String,
        /// Its size in bytes.
        size: u64,
        /// Its SHA-256, hex.
        sha256: String,
        /// Its first few kilobytes.
        preview: String,
    },
    /// Content the driver could not represent more precisely (an image, a
    /// resource), described in words.
    Other { description: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolCall {
    pub tool_call_id: String,
    pub title: String,
    pub kind: ToolKind,
    pub status: ToolStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<ToolLocation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<ToolContent>,
    /// The tool's input exactly as the agent sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_input: Option<serde_json::Value>,
}

/// Changes to a tool call; absent fields are unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallUpdate {
    pub tool_call_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ToolStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ToolKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ToolContent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_input: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_output: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionOptionKind {
    AllowOnce,
    AllowAlways,
    RejectOnce,
    RejectAlways,
}

impl PermissionOptionKind {
    pub fn allows(self) -> bool {
        matches!(self, Self::AllowOnce | Self::AllowAlways)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionOption {
    pub option_id: String,
    pub name: String,
    pub kind: PermissionOptionKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    pub prompt_id: PromptId,
    /// The tool call the permission is for, when the agent named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// What the agent wants to do, in words.
    pub title: String,
    pub options: Vec<PermissionOption>,
}

impl PermissionRequest {
    /// The first option of the given disposition, as `approve`/`deny` pick it.
    pub fn first_option(&self, allow: bool) -> Option<&PermissionOption> {
        self.options.iter().find(|o| o.kind.allows() == allow)
    }
}

/// How a permission prompt was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum PermissionOutcome {
    #[serde(rename_all = "camelCase")]
    Selected {
        option_id: String,
    },
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionResolved {
    pub prompt_id: PromptId,
    #[serde(flatten)]
    pub outcome: PermissionOutcome,
    /// Why the prompt was resolved without an answer (turn cancelled, agent exited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateChange {
    pub state: SessionState,
    /// The process is unreachable; `state` is the last known.
    #[serde(default)]
    pub disconnected: bool,
    /// Set when `state` is `ended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EndReason>,
    /// Details of the end, such as an exit status or an error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The program's exit status, when it ended by exiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// Why an agent stopped a turn, as ACP names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    MaxTurnRequests,
    Refusal,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepCommitted {
    pub stop_reason: StopReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub amount: f64,
    /// ISO 4217 code, such as `USD`.
    pub currency: String,
}

/// Token counts; agents report different subsets, absent means not reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Tokens in the context window now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_used: Option<u64>,
    /// Size of the context window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_size: Option<u64>,
    /// Cumulative cost of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlanEntryStatus {
    Pending,
    InProgress,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PlanEntryPriority {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanEntry {
    pub content: String,
    pub priority: PlanEntryPriority,
    pub status: PlanEntryStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailableCommand {
    pub name: String,
    pub description: String,
}

/// Status the agent reports, tagged by `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum SystemStatus {
    /// The agent's plan; each report replaces the previous one whole.
    Plan { entries: Vec<PlanEntry> },
    /// The agent switched mode.
    #[serde(rename_all = "camelCase")]
    Mode { mode_id: String },
    /// Slash commands the agent offers.
    Commands { commands: Vec<AvailableCommand> },
    /// The agent titled the session.
    Title { title: String },
    /// Anything else worth showing, in words.
    Notice { message: String },
    /// The agent's own session behind this one, reported once it is up.
    #[serde(rename_all = "camelCase")]
    Agent {
        /// The agent's session id (what `session/load` takes to resume).
        agent_session_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        /// Whether the agent can load this conversation again (`vpd resume`).
        can_resume: bool,
    },
    /// The git repositories the session works in, as they are now (at its
    /// start and after each step).
    Git {
        repos: Vec<crate::state::GitContext>,
    },
    /// The settings a viewport can switch with `setConfig`, with their
    /// current values; each report replaces the previous one whole.
    Config { options: Vec<ConfigOption> },
    /// An update kind this version of vpd does not know, kept as the agent
    /// sent it rather than dropped.
    Other {
        kind: String,
        data: serde_json::Value,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionReason {
    /// A permission prompt waits for a person.
    PermissionPending,
    /// The agent failed or crashed.
    AgentFailed,
    /// The agent asked for attention.
    AgentNotification,
    /// A turn failed with an error; the session stays.
    TurnFailed,
    /// A turn that ran a long time finished.
    TurnFinished,
    /// The session's cost passed 80% of its cap.
    CostCapNear,
    /// The agent needs its user to log in before it can work.
    LoginRequired,
}

/// One switchable setting of a session (a mode, a model, a thought level…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigOption {
    pub id: String,
    pub name: String,
    /// `mode`, `model`, `thought_level` or the agent's own category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub current: String,
    pub choices: Vec<ConfigChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigChoice {
    pub value: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attention {
    pub reason: AttentionReason,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamingState {
    pub streaming: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_tagged_by_update_type_with_camel_case_fields() {
        let update = SessionUpdate::ToolCallUpdate(ToolCallUpdate {
            tool_call_id: "t1".into(),
            status: Some(ToolStatus::InProgress),
            title: None,
            kind: None,
            content: None,
            raw_input: None,
            raw_output: None,
        });
        let json = serde_json::to_value(&update).unwrap();
        assert_eq!(json["updateType"], "tool-call-update");
        assert_eq!(json["toolCallId"], "t1");
        assert_eq!(json["status"], "in-progress");
        let back: SessionUpdate = serde_json::from_value(json).unwrap();
        assert_eq!(back, update);
    }

    #[test]
    fn permission_outcomes_are_flat() {
        let resolved = SessionUpdate::PermissionResolved(PermissionResolved {
            prompt_id: "prm_1".parse().unwrap(),
            outcome: PermissionOutcome::Selected {
                option_id: "allow".into(),
            },
            reason: None,
        });
        let json = serde_json::to_value(&resolved).unwrap();
        assert_eq!(json["outcome"], "selected");
        assert_eq!(json["optionId"], "allow");
        assert_eq!(
            serde_json::from_value::<SessionUpdate>(json).unwrap(),
            resolved
        );
    }
}
