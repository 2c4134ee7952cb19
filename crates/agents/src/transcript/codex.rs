//! Codex's rollout files (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-…jsonl`,
//! the `transcript_path` of its hooks) to updates, one record at a time.
//!
//! A record is `{"timestamp", "type", "payload"}`. `response_item` carries
//! what the model saw and said (messages, reasoning, tool calls and their
//! output); `event_msg` what Codex reported (token counts, turn boundaries,
//! and again the messages and commands). Where both tell the same thing,
//! the response item is taken: older versions report the user's message as
//! `user_message`, newer ones as `item_completed`, and every version has it
//! as a response item (beside the context Codex adds, which is told apart).
//! Everything else is kept as `system-status` `other`.

use serde_json::Value;
use viewport_protocol::SessionUpdate;
use viewport_protocol::update::{
    Cost, MessageText, SystemStatus, TextChunk, TokenUsage, ToolCall, ToolCallUpdate, ToolContent,
    ToolKind, ToolStatus,
};

use super::{described_title, not_understood};
use crate::pricing;

/// The parser's memory between records: the model prices the tokens.
#[derive(Debug, Default)]
pub struct CodexRollout {
    model: Option<String>,
}

impl CodexRollout {
    /// The updates one rollout line makes.
    pub fn parse_line(&mut self, line: &str) -> Vec<SessionUpdate> {
        let record: Value = match serde_json::from_str(line) {
            Ok(record @ Value::Object(_)) => record,
            _ => return vec![not_understood("codex-rollout-line", line)],
        };
        let payload = record.get("payload").cloned().unwrap_or(Value::Null);
        let kind = record.get("type").and_then(Value::as_str).unwrap_or("");
        let updates = match kind {
            "session_meta" => session_meta(&payload),
            "turn_context" => {
                self.model = text(&payload, "model").or(self.model.take());
                None
            }
            "response_item" => response_item(&payload),
            "event_msg" => self.event(&payload),
            "compacted" => Some(vec![notice("the conversation was compacted")]),
            _ => None,
        };
        updates.unwrap_or_else(|| vec![kept(kind, &payload)])
    }

    /// `None` keeps the record as it is.
    fn event(&self, payload: &Value) -> Option<Vec<SessionUpdate>> {
        match payload.get("type").and_then(Value::as_str)? {
            "token_count" => Some(self.usage(payload.get("info")?).into_iter().collect()),
            // Told again by the response items.
            "user_message"
            | "agent_message"
            | "agent_reasoning"
            | "agent_reasoning_raw_content" => Some(Vec::new()),
            "item_completed" => {
                let item = payload.get("item")?.get("type").and_then(Value::as_str)?;
                matches!(
                    item,
                    "UserMessage" | "AgentMessage" | "Reasoning" | "CommandExecution"
                )
                .then(Vec::new)
            }
            _ => None,
        }
    }

    /// Codex counts tokens for the whole session; the cost follows them.
    fn usage(&self, info: &Value) -> Option<SessionUpdate> {
        let total = info.get("total_token_usage")?;
        let count = |usage: &Value, key: &str| usage.get(key).and_then(Value::as_u64);
        let input = count(total, "input_tokens")?;
        let output = count(total, "output_tokens")?;
        let cost = self
            .model
            .as_deref()
            .and_then(|model| pricing::cost_usd(model, input, output));
        Some(SessionUpdate::TokenUsage(TokenUsage {
            input_tokens: Some(input),
            output_tokens: Some(output),
            context_used: info
                .get("last_token_usage")
                .and_then(|last| count(last, "total_tokens")),
            context_size: info.get("model_context_window").and_then(Value::as_u64),
            cost: cost.map(|amount| Cost {
                amount,
                currency: "USD".to_owned(),
            }),
        }))
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn notice(message: &str) -> SessionUpdate {
    SessionUpdate::SystemStatus(SystemStatus::Notice {
        message: message.to_owned(),
    })
}

fn kept(kind: &str, payload: &Value) -> SessionUpdate {
    let inner = payload.get("type").and_then(Value::as_str);
    SessionUpdate::SystemStatus(SystemStatus::Other {
        kind: match inner {
            Some(inner) => format!("codex-{kind}-{inner}"),
            None => format!("codex-{kind}"),
        },
        data: payload.clone(),
    })
}

fn session_meta(payload: &Value) -> Option<Vec<SessionUpdate>> {
    let version = text(payload, "cli_version").unwrap_or_else(|| "?".to_owned());
    Some(vec![notice(&format!("Codex {version} session"))])
}

fn response_item(payload: &Value) -> Option<Vec<SessionUpdate>> {
    let update = match payload.get("type").and_then(Value::as_str)? {
        "message" => return message(payload),
        "reasoning" => {
            let summary = joined_text(payload.get("summary")?);
            return Some(
                summary
                    .map(|text| SessionUpdate::AgentThoughtChunk(TextChunk { text }))
                    .into_iter()
                    .collect(),
            );
        }
        "function_call" => {
            let arguments = text(payload, "arguments").unwrap_or_default();
            let input = serde_json::from_str(&arguments).unwrap_or(Value::String(arguments));
            tool_call(payload, input)
        }
        "custom_tool_call" => tool_call(payload, payload.get("input").cloned()?),
        "local_shell_call" => tool_call(payload, payload.get("action").cloned()?),
        "function_call_output" | "custom_tool_call_output" => tool_output(payload)?,
        _ => return None,
    };
    Some(vec![update])
}

/// The text parts of a content list, joined; none when there is no text.
fn joined_text(parts: &Value) -> Option<String> {
    let texts: Vec<&str> = parts
        .as_array()?
        .iter()
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .filter(|t| !t.is_empty())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

fn message(payload: &Value) -> Option<Vec<SessionUpdate>> {
    match payload.get("role").and_then(Value::as_str)? {
        "assistant" => Some(
            joined_text(payload.get("content")?)
                .map(|text| SessionUpdate::AgentMessage(MessageText { text }))
                .into_iter()
                .collect(),
        ),
        "user" => Some(
            joined_text(payload.get("content")?)
                .filter(|text| !is_added_context(text))
                .map(|text| SessionUpdate::UserMessage(MessageText { text }))
                .into_iter()
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a user message is context Codex adds (`<environment_context>…`,
/// the AGENTS.md instructions), not the user's words.
fn is_added_context(text: &str) -> bool {
    let text = text.trim();
    (text.starts_with('<') && text.ends_with('>')) || text.starts_with("# AGENTS.md instructions")
}

fn tool_kind(name: &str) -> ToolKind {
    match name {
        "shell" | "exec_command" | "local_shell" | "unified_exec" | "write_stdin" => {
            ToolKind::Execute
        }
        "apply_patch" => ToolKind::Edit,
        "view_image" => ToolKind::Read,
        "web_search" => ToolKind::Fetch,
        "update_plan" => ToolKind::Think,
        _ => ToolKind::Other,
    }
}

fn tool_call(payload: &Value, input: Value) -> SessionUpdate {
    let name = text(payload, "name").unwrap_or_else(|| "shell".to_owned());
    // Shell commands come as `cmd`, or as an argument list.
    let subject = match input.get("command").or_else(|| input.get("cmd")) {
        Some(Value::Array(words)) => {
            let words: Vec<&str> = words.iter().filter_map(Value::as_str).collect();
            serde_json::json!({"command": words.join(" ")})
        }
        Some(Value::String(command)) => serde_json::json!({"command": command}),
        _ => input.clone(),
    };
    let title = match &input {
        Value::String(patch) if name == "apply_patch" => {
            format!("apply_patch: {}", patched_files(patch).join(", "))
        }
        _ => described_title(&name, &subject),
    };
    SessionUpdate::ToolCall(ToolCall {
        tool_call_id: text(payload, "call_id").unwrap_or_else(|| "unknown".to_owned()),
        title,
        kind: tool_kind(&name),
        status: ToolStatus::InProgress,
        locations: Vec::new(),
        content: Vec::new(),
        raw_input: Some(input),
    })
}

/// The files an `apply_patch` input names.
fn patched_files(patch: &str) -> Vec<&str> {
    patch
        .lines()
        .filter_map(|line| {
            ["*** Add File: ", "*** Update File: ", "*** Delete File: "]
                .iter()
                .find_map(|marker| line.strip_prefix(marker))
        })
        .collect()
}

fn tool_output(payload: &Value) -> Option<SessionUpdate> {
    let output = match payload.get("output")? {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    Some(SessionUpdate::ToolCallUpdate(ToolCallUpdate {
        tool_call_id: text(payload, "call_id")?,
        status: Some(if failed(&output) {
            ToolStatus::Failed
        } else {
            ToolStatus::Completed
        }),
        title: None,
        kind: None,
        content: (!output.is_empty()).then(|| vec![ToolContent::Text { text: output }]),
        raw_input: None,
        raw_output: None,
    }))
}

/// Whether a tool's output says it failed: a non-zero exit or an abort.
fn failed(output: &str) -> bool {
    let exit = output.lines().find_map(|line| {
        line.strip_prefix("Process exited with code ")
            .and_then(|code| code.trim().parse::<i64>().ok())
    });
    match exit {
        Some(code) => code != 0,
        None => output.starts_with("aborted"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Codex 0.137 (inside codex-acp 0.16) in end-to-end runs: a
    /// command the user allowed, and one the user refused.
    const ALLOWED: &str = include_str!("../../tests/data/codex-rollout-allowed.jsonl");
    /// Written by the Codex 0.169 CLI (`codex exec`) running a command.
    const CLI_0_169: &str = include_str!("../../tests/data/codex-0.169-rollout.jsonl");
    const DENIED: &str = include_str!("../../tests/data/codex-rollout-denied.jsonl");

    fn parse_all(text: &str) -> Vec<SessionUpdate> {
        let mut parser = CodexRollout::default();
        text.lines().flat_map(|l| parser.parse_line(l)).collect()
    }

    fn said(updates: &[SessionUpdate]) -> Vec<&'static str> {
        updates
            .iter()
            .filter(|u| !matches!(u, SessionUpdate::SystemStatus(_)))
            .map(SessionUpdate::update_type)
            .collect()
    }

    #[test]
    fn an_allowed_command_becomes_a_call_its_result_and_the_reply() {
        let updates = parse_all(ALLOWED);
        assert_eq!(
            said(&updates),
            [
                "user-message",
                "tool-call",
                "tool-call-update",
                "token-usage",
                "agent-message",
                "token-usage"
            ]
        );
        assert!(updates.iter().any(|u| matches!(u,
            SessionUpdate::ToolCall(c) if c.title == "exec_command: echo hi from codex > codex.txt"
                && c.kind == ToolKind::Execute)));
        assert!(updates.iter().any(|u| matches!(u,
            SessionUpdate::ToolCallUpdate(r) if r.status == Some(ToolStatus::Completed))));
        let Some(SessionUpdate::TokenUsage(last)) = updates
            .iter()
            .rfind(|u| matches!(u, SessionUpdate::TokenUsage(_)))
        else {
            panic!()
        };
        assert_eq!(
            (last.input_tokens, last.output_tokens),
            (Some(200), Some(40))
        );
        assert_eq!(last.context_size, Some(258_400));
        assert!(last.cost.is_some(), "gpt-5-codex has a price");
        assert!(matches!(&updates[0],
            SessionUpdate::SystemStatus(SystemStatus::Notice { message }) if message.contains("0.137.0")));
    }

    #[test]
    fn a_rollout_of_codex_0_169_tells_the_same_story_once() {
        let updates = parse_all(CLI_0_169);
        assert_eq!(
            said(&updates),
            [
                "user-message",
                "tool-call",
                "tool-call-update",
                "token-usage",
                "agent-message",
                "token-usage"
            ]
        );
        assert!(updates.iter().any(|u| matches!(u,
            SessionUpdate::UserMessage(m) if m.text == "write codex.txt")));
    }

    #[test]
    fn a_refused_command_fails_and_the_abort_is_kept() {
        let updates = parse_all(DENIED);
        assert!(updates.iter().any(|u| matches!(u,
            SessionUpdate::ToolCallUpdate(r) if r.status == Some(ToolStatus::Failed))));
        assert!(updates.iter().any(|u| matches!(u,
            SessionUpdate::SystemStatus(SystemStatus::Other { kind, .. }) if kind == "codex-event_msg-turn_aborted")));
    }

    #[test]
    fn patches_reasoning_and_unknown_records() {
        let lines = [
            r#"{"type":"response_item","payload":{"type":"reasoning","summary":[{"type":"summary_text","text":"Plan the edit"}],"encrypted_content":"x"}}"#,
            r#"{"type":"response_item","payload":{"type":"custom_tool_call","name":"apply_patch","call_id":"c1","input":"*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"}}"#,
            r#"{"type":"response_item","payload":{"type":"custom_tool_call_output","call_id":"c1","output":"Success"}}"#,
            r#"{"type":"something_new","payload":{"x":1}}"#,
            "half a line",
        ];
        let updates = parse_all(&lines.join("\n"));
        assert!(
            matches!(&updates[0], SessionUpdate::AgentThoughtChunk(t) if t.text == "Plan the edit")
        );
        assert!(matches!(&updates[1],
            SessionUpdate::ToolCall(c) if c.title == "apply_patch: a.txt" && c.kind == ToolKind::Edit));
        assert!(matches!(&updates[2],
            SessionUpdate::ToolCallUpdate(r) if r.status == Some(ToolStatus::Completed)));
        assert!(matches!(&updates[3],
            SessionUpdate::SystemStatus(SystemStatus::Other { kind, .. }) if kind == "codex-something_new"));
        assert!(matches!(&updates[4],
            SessionUpdate::SystemStatus(SystemStatus::Other { kind, .. }) if kind == "codex-rollout-line"));
    }
}
