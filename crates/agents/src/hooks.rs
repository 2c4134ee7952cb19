//! Claude Code hook events (what a `vpd hook claude` receives on stdin) to
//! viewport updates. Pure functions: the daemon stores what they return.
//!
//! The hook JSON carries `session_id`, `transcript_path`, `cwd`,
//! `hook_event_name` and, per event, `source`, `prompt`,
//! `tool_name`/`tool_input`/`tool_use_id`, `tool_response`, `message`,
//! `last_assistant_message`, `reason`.

use serde_json::Value;
use viewport_protocol::SessionState;
use viewport_protocol::update::{
    Attention, AttentionReason, MessageText, StateChange, SystemStatus, ToolCall, ToolCallUpdate,
    ToolKind, ToolStatus,
};
use viewport_protocol::{EndReason, SessionUpdate};

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

/// What Claude Code's tool names are, in our kinds.
pub(crate) fn tool_kind(name: &str) -> ToolKind {
    match name {
        "Read" | "NotebookRead" => ToolKind::Read,
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => ToolKind::Edit,
        "Bash" | "BashOutput" | "KillShell" => ToolKind::Execute,
        "Grep" | "Glob" | "LS" => ToolKind::Search,
        "WebFetch" | "WebSearch" => ToolKind::Fetch,
        "Task" | "TodoWrite" | "ExitPlanMode" => ToolKind::Think,
        _ => ToolKind::Other,
    }
}

/// The updates one hook event makes.
pub fn claude_updates(event: &Value) -> Vec<SessionUpdate> {
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
                    message: format!("Claude Code session started ({source})"),
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
        "PostToolUse" => vec![SessionUpdate::ToolCallUpdate(ToolCallUpdate {
            tool_call_id: tool_id(),
            status: Some(ToolStatus::Completed),
            title: None,
            kind: None,
            content: None,
            raw_input: None,
            raw_output: event.get("tool_response").cloned(),
        })],
        "Notification" => vec![SessionUpdate::Attention(Attention {
            reason: AttentionReason::AgentNotification,
            message: text_of(event.get("message"))
                .unwrap_or_else(|| "Claude Code needs attention".to_owned()),
        })],
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
            detail: text_of(event.get("reason")).map(|r| format!("Claude Code ended ({r})")),
            exit_code: None,
        })],
        other => vec![SessionUpdate::SystemStatus(SystemStatus::Other {
            kind: other.to_owned(),
            data: event.clone(),
        })],
    }
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
            matches!(claude_updates(&start)[1], SessionUpdate::StateChange(ref c) if c.state == SessionState::Idle)
        );
        let prompt =
            json!({"hook_event_name": "UserPromptSubmit", "session_id": "s", "prompt": "fix it"});
        assert!(
            matches!(&claude_updates(&prompt)[0], SessionUpdate::UserMessage(m) if m.text == "fix it")
        );
        let pre = json!({"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Bash",
                         "tool_use_id": "t1", "tool_input": {"command": "ls"}});
        let SessionUpdate::ToolCall(call) = &claude_updates(&pre)[0] else {
            panic!()
        };
        assert_eq!(
            (call.tool_call_id.as_str(), call.kind),
            ("t1", ToolKind::Execute)
        );
        let end = json!({"hook_event_name": "SessionEnd", "session_id": "s", "reason": "exit"});
        assert!(
            matches!(&claude_updates(&end)[0], SessionUpdate::StateChange(c) if c.reason == Some(EndReason::Completed))
        );
        let future = json!({"hook_event_name": "PreCompact", "session_id": "s"});
        assert!(
            matches!(&claude_updates(&future)[0], SessionUpdate::SystemStatus(SystemStatus::Other { kind, .. }) if kind == "PreCompact")
        );
        assert!(context(&json!({"session_id": "s"})).is_err());
    }
}
