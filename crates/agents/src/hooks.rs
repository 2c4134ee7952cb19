//! Hook events of agents run in a terminal (what `vpd hook claude|codex`
//! receives on stdin) to viewport updates. Pure functions: the daemon stores
//! what they return.
//!
//! Claude Code and Codex send the same shape: `session_id`,
//! `transcript_path`, `cwd`, `hook_event_name` and, per event, `source`,
//! `prompt`, `tool_name`/`tool_input`/`tool_use_id`, `tool_response`,
//! `message`, `last_assistant_message`, `reason`.

use serde_json::Value;
use viewport_protocol::SessionState;
use viewport_protocol::update::{
    Attention, AttentionReason, MessageText, StateChange, SystemStatus, ToolCall, ToolCallUpdate,
    ToolKind, ToolStatus,
};
use viewport_protocol::{EndReason, SessionUpdate};

use crate::transcript::{ClaudeTranscript, CodexRollout, TranscriptParser};

/// An agent whose hooks vpd understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookAgent {
    Claude,
    Codex,
}

impl HookAgent {
    /// The agent named on the command line (`vpd hook NAME`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "claude" => Some(Self::Claude),
            "codex" => Some(Self::Codex),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claude => "claude",
            Self::Codex => "codex",
        }
    }

    /// The agent profile its sessions are recorded under.
    pub fn profile(self) -> &'static str {
        match self {
            Self::Claude => "claude-code",
            Self::Codex => "codex",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::Claude => "Claude Code",
            Self::Codex => "Codex",
        }
    }

    /// The event that waits for a permission decision: Claude Code asks
    /// before every tool call, Codex only when it would prompt its user.
    pub fn permission_event(self) -> &'static str {
        match self {
            Self::Claude => "PreToolUse",
            Self::Codex => "PermissionRequest",
        }
    }

    /// What the hook prints to give the agent a decision; `None` leaves the
    /// decision to the agent's own prompt.
    pub fn decision(self, decision: Decision) -> Option<Value> {
        let (verdict, reason) = match decision {
            Decision::Allow => ("allow", "allowed from a vpd viewport"),
            Decision::Deny => ("deny", "denied from a vpd viewport"),
            Decision::Ask => ("ask", "no answer from vpd"),
        };
        match (self, decision) {
            (Self::Claude, _) => Some(serde_json::json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": verdict,
                "permissionDecisionReason": reason,
            }})),
            // Codex asks its user when the hook says nothing.
            (Self::Codex, Decision::Ask) => None,
            (Self::Codex, _) => Some(serde_json::json!({"hookSpecificOutput": {
                "hookEventName": "PermissionRequest",
                "decision": {"behavior": verdict, "message": reason},
            }})),
        }
    }

    /// A parser for the agent's transcript file.
    pub fn transcript_parser(self) -> TranscriptParser {
        match self {
            Self::Claude => TranscriptParser::Claude(ClaudeTranscript::default()),
            Self::Codex => TranscriptParser::Codex(CodexRollout::default()),
        }
    }
}

/// A viewport's answer to a tool call, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Nobody answered: the agent asks in its terminal.
    Ask,
}

/// The fields every hook event has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookContext {
    pub session_id: String,
    pub cwd: Option<String>,
    pub event_name: String,
    /// The agent's own transcript of the session, a JSONL file.
    pub transcript_path: Option<String>,
}

/// The context of a hook event, or what is missing from it.
pub fn context(event: &Value) -> Result<HookContext, String> {
    let text = |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(HookContext {
        session_id: text("session_id").ok_or("the hook event has no `session_id`")?,
        cwd: text("cwd"),
        event_name: text("hook_event_name").ok_or("the hook event has no `hook_event_name`")?,
        transcript_path: text("transcript_path").filter(|p| !p.is_empty()),
    })
}

fn state(state: SessionState) -> SessionUpdate {
    SessionUpdate::StateChange(StateChange {
        state,
        disconnected: false,
        reason: None,
        detail: None,
        exit_code: None,
    })
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// What Claude Code's and Codex's tool names are, in our kinds.
pub(crate) fn tool_kind(name: &str) -> ToolKind {
    match name {
        "Read" | "NotebookRead" => ToolKind::Read,
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" | "apply_patch" => ToolKind::Edit,
        "Bash" | "BashOutput" | "KillShell" => ToolKind::Execute,
        "Grep" | "Glob" | "LS" => ToolKind::Search,
        "WebFetch" | "WebSearch" => ToolKind::Fetch,
        "Task" | "TodoWrite" | "ExitPlanMode" => ToolKind::Think,
        _ => ToolKind::Other,
    }
}

/// The updates one hook event of `agent` makes.
pub fn hook_updates(agent: HookAgent, event: &Value) -> Vec<SessionUpdate> {
    let agent_name = agent.display_name();
    let field = |key: &str, default: &str| {
        event
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let name = field("hook_event_name", "");
    let tool_id = || field("tool_use_id", "unknown");
    let tool_name = || field("tool_name", "tool");
    match name.as_str() {
        "SessionStart" => {
            let source = text_of(event.get("source")).unwrap_or_else(|| "startup".to_owned());
            vec![
                SessionUpdate::SystemStatus(SystemStatus::Notice {
                    message: format!("{agent_name} session started ({source})"),
                }),
                state(SessionState::Idle),
            ]
        }
        "UserPromptSubmit" => vec![
            SessionUpdate::UserMessage(MessageText {
                text: text_of(event.get("prompt")).unwrap_or_default(),
            }),
            state(SessionState::Active),
        ],
        "PreToolUse" => vec![
            SessionUpdate::ToolCall(ToolCall {
                tool_call_id: tool_id(),
                title: tool_name(),
                kind: tool_kind(&tool_name()),
                status: ToolStatus::InProgress,
                locations: Vec::new(),
                content: Vec::new(),
                raw_input: event.get("tool_input").cloned(),
            }),
            state(SessionState::Active),
        ],
        "PermissionRequest" => vec![
            state(SessionState::Awaiting),
            SessionUpdate::Attention(Attention {
                reason: AttentionReason::PermissionPending,
                message: format!("{agent_name} asks to use {}", tool_name()),
            }),
        ],
        "PostToolUse" => vec![
            SessionUpdate::ToolCallUpdate(ToolCallUpdate {
                tool_call_id: tool_id(),
                status: Some(ToolStatus::Completed),
                title: None,
                kind: None,
                content: None,
                raw_input: None,
                raw_output: event.get("tool_response").cloned(),
            }),
            // A permission prompt answered in the terminal ends here.
            state(SessionState::Active),
        ],
        "Notification" => notification(agent_name, event),
        "Stop" => {
            let mut updates = Vec::new();
            if let Some(text) = text_of(event.get("last_assistant_message")) {
                updates.push(SessionUpdate::AgentMessage(MessageText { text }));
            }
            updates.push(state(SessionState::Idle));
            updates
        }
        "SubagentStop" => vec![SessionUpdate::SystemStatus(SystemStatus::Notice {
            message: "a subagent finished".to_owned(),
        })],
        "SessionEnd" => vec![SessionUpdate::StateChange(StateChange {
            state: SessionState::Ended,
            disconnected: false,
            reason: Some(EndReason::Completed),
            detail: text_of(event.get("reason")).map(|r| format!("{agent_name} ended ({r})")),
            exit_code: None,
        })],
        other => vec![SessionUpdate::SystemStatus(SystemStatus::Other {
            kind: other.to_owned(),
            data: event.clone(),
        })],
    }
}

/// A notification calls for attention; what it is about (Claude Code's
/// `notification_type`) may also say the agent waits: for a permission, or
/// for the user's next prompt.
fn notification(agent_name: &str, event: &Value) -> Vec<SessionUpdate> {
    let kind = event.get("notification_type").and_then(Value::as_str);
    let (reason, waits_in) = match kind {
        Some("permission_prompt") => (
            AttentionReason::PermissionPending,
            Some(SessionState::Awaiting),
        ),
        Some("idle_prompt") => (AttentionReason::AgentNotification, Some(SessionState::Idle)),
        _ => (AttentionReason::AgentNotification, None),
    };
    let attention = SessionUpdate::Attention(Attention {
        reason,
        message: text_of(event.get("message"))
            .unwrap_or_else(|| format!("{agent_name} needs attention")),
    });
    waits_in.map(state).into_iter().chain([attention]).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_session_maps_event_by_event() {
        let start = json!({"hook_event_name": "SessionStart", "session_id": "s", "cwd": "/w", "source": "startup"});
        assert_eq!(context(&start).unwrap().session_id, "s");
        assert!(
            matches!(hook_updates(HookAgent::Claude, &start)[1], SessionUpdate::StateChange(ref c) if c.state == SessionState::Idle)
        );
        let prompt =
            json!({"hook_event_name": "UserPromptSubmit", "session_id": "s", "prompt": "fix it"});
        assert!(
            matches!(&hook_updates(HookAgent::Claude, &prompt)[0], SessionUpdate::UserMessage(m) if m.text == "fix it")
        );
        let pre = json!({"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Bash",
                         "tool_use_id": "t1", "tool_input": {"command": "ls"}});
        let SessionUpdate::ToolCall(call) = &hook_updates(HookAgent::Claude, &pre)[0] else {
            panic!()
        };
        assert_eq!(
            (call.tool_call_id.as_str(), call.kind),
            ("t1", ToolKind::Execute)
        );
        let end = json!({"hook_event_name": "SessionEnd", "session_id": "s", "reason": "exit"});
        assert!(
            matches!(&hook_updates(HookAgent::Claude, &end)[0], SessionUpdate::StateChange(c) if c.reason == Some(EndReason::Completed))
        );
        let waiting = json!({"hook_event_name": "Notification", "session_id": "s",
            "notification_type": "permission_prompt", "message": "Claude needs your permission to use Bash"});
        assert!(
            matches!(&hook_updates(HookAgent::Claude, &waiting)[..], [SessionUpdate::StateChange(c), SessionUpdate::Attention(a)]
                if c.state == SessionState::Awaiting && a.reason == AttentionReason::PermissionPending)
        );
        let future = json!({"hook_event_name": "PreCompact", "session_id": "s"});
        assert!(
            matches!(&hook_updates(HookAgent::Claude, &future)[0], SessionUpdate::SystemStatus(SystemStatus::Other { kind, .. }) if kind == "PreCompact")
        );
        assert!(context(&json!({"session_id": "s"})).is_err());
    }
}
