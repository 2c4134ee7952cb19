//! Claude Code's transcript (`~/.claude/projects/<dir>/<session>.jsonl`,
//! the `transcript_path` of its hooks) to updates, one record at a time.
//!
//! A record is a JSON object with a `type`: `user` and `assistant` carry an
//! Anthropic Messages API `message`; an assistant message is written one
//! content block per record, each repeating the message's `usage`.
//! `summary` titles the session, `system` is a notice. Every other type
//! (`file-history-snapshot`, `queue-operation`, whatever comes next) is kept
//! as `system-status` `other`.

use serde_json::Value;
use viewport_protocol::SessionUpdate;
use viewport_protocol::update::{
    Cost, MessageText, SystemStatus, TextChunk, TokenUsage, ToolCall, ToolCallUpdate, ToolContent,
    ToolLocation, ToolStatus,
};

use super::{described_title, not_understood};
use crate::hooks::tool_kind;
use crate::pricing;

/// The parser's memory between records: usage is repeated per content
/// block, and cost adds up over the session.
#[derive(Debug, Default)]
pub struct ClaudeTranscript {
    last_message: Option<(String, u64, u64)>,
    last_message_cost: f64,
    cost_usd: f64,
}

impl ClaudeTranscript {
    /// The updates one transcript line makes.
    pub fn parse_line(&mut self, line: &str) -> Vec<SessionUpdate> {
        let record: Value = match serde_json::from_str(line) {
            Ok(record @ Value::Object(_)) => record,
            _ => return vec![not_understood("claude-transcript-line", line)],
        };
        match record.get("type").and_then(Value::as_str) {
            Some("user") => user_record(&record),
            Some("assistant") => self.assistant_record(&record),
            Some("summary") => match record.get("summary").and_then(Value::as_str) {
                Some(title) => vec![SessionUpdate::SystemStatus(SystemStatus::Title {
                    title: title.to_owned(),
                })],
                None => vec![kept(&record)],
            },
            Some("system") => match record.get("content").and_then(Value::as_str) {
                Some(message) if !message.is_empty() => {
                    vec![SessionUpdate::SystemStatus(SystemStatus::Notice {
                        message: message.to_owned(),
                    })]
                }
                _ => vec![kept(&record)],
            },
            _ => vec![kept(&record)],
        }
    }

    fn assistant_record(&mut self, record: &Value) -> Vec<SessionUpdate> {
        let Some(message) = record.get("message") else {
            return vec![kept(record)];
        };
        let mut updates: Vec<SessionUpdate> =
            blocks(message).iter().filter_map(assistant_block).collect();
        updates.extend(self.usage(message));
        updates
    }

    /// Token usage of a message, once per message and again only if it
    /// changed; the cost is the session's so far.
    fn usage(&mut self, message: &Value) -> Option<SessionUpdate> {
        let usage = message.get("usage")?;
        let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
        let input = count("input_tokens")
            + count("cache_creation_input_tokens")
            + count("cache_read_input_tokens");
        let output = count("output_tokens");
        let id = message
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let now = (id.to_owned(), input, output);
        let same_message = self
            .last_message
            .as_ref()
            .is_some_and(|(last, ..)| last == id);
        if self.last_message.as_ref() == Some(&now) {
            return None;
        }
        if same_message {
            self.cost_usd -= self.last_message_cost;
        }
        let model = message.get("model").and_then(Value::as_str).unwrap_or("");
        let cost = pricing::cost_usd(model, input, output).unwrap_or(0.0);
        self.cost_usd += cost;
        self.last_message_cost = cost;
        self.last_message = Some(now);
        Some(SessionUpdate::TokenUsage(TokenUsage {
            input_tokens: Some(input),
            output_tokens: Some(output),
            context_used: Some(input + output),
            context_size: None,
            cost: (self.cost_usd > 0.0).then(|| Cost {
                amount: self.cost_usd,
                currency: "USD".to_owned(),
            }),
        }))
    }
}

fn kept(record: &Value) -> SessionUpdate {
    let kind = record
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("record");
    SessionUpdate::SystemStatus(SystemStatus::Other {
        kind: format!("claude-{kind}"),
        data: record.clone(),
    })
}

/// A message's content as blocks; a bare string is one text block.
fn blocks(message: &Value) -> Vec<Value> {
    match message.get("content") {
        Some(Value::String(text)) => vec![serde_json::json!({"type": "text", "text": text})],
        Some(Value::Array(blocks)) => blocks.clone(),
        _ => Vec::new(),
    }
}

fn block_text(block: &Value, key: &str) -> Option<String> {
    block
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

fn assistant_block(block: &Value) -> Option<SessionUpdate> {
    match block.get("type").and_then(Value::as_str)? {
        "text" => Some(SessionUpdate::AgentMessage(MessageText {
            text: block_text(block, "text")?,
        })),
        "thinking" => Some(SessionUpdate::AgentThoughtChunk(TextChunk {
            text: block_text(block, "thinking")?,
        })),
        // Redacted thinking is encrypted: there is nothing to show.
        "redacted_thinking" => None,
        "tool_use" | "server_tool_use" => Some(tool_call(block)),
        other => Some(SessionUpdate::SystemStatus(SystemStatus::Other {
            kind: format!("claude-{other}"),
            data: block.clone(),
        })),
    }
}

fn tool_call(block: &Value) -> SessionUpdate {
    let name = block.get("name").and_then(Value::as_str).unwrap_or("tool");
    let input = block.get("input").cloned().unwrap_or(Value::Null);
    let locations = ["file_path", "notebook_path", "path"]
        .iter()
        .find_map(|key| input.get(*key).and_then(Value::as_str))
        .map(|path| {
            vec![ToolLocation {
                path: path.to_owned(),
                line: None,
            }]
        })
        .unwrap_or_default();
    SessionUpdate::ToolCall(ToolCall {
        tool_call_id: block
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        title: described_title(name, &input),
        kind: tool_kind(name),
        status: ToolStatus::InProgress,
        locations,
        content: Vec::new(),
        raw_input: Some(input),
    })
}

fn user_record(record: &Value) -> Vec<SessionUpdate> {
    let Some(message) = record.get("message") else {
        return vec![kept(record)];
    };
    // Meta messages (command caveats, injected context) are Claude Code's
    // own words to the model, not the user's.
    if record.get("isMeta").and_then(Value::as_bool) == Some(true) {
        return vec![kept(record)];
    }
    let mut updates = Vec::new();
    let mut text = Vec::new();
    for block in blocks(message) {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.extend(block_text(&block, "text")),
            Some("tool_result") => updates.push(tool_result(&block, record)),
            Some("image") => text.push("[image]".to_owned()),
            _ => updates.push(SessionUpdate::SystemStatus(SystemStatus::Other {
                kind: "claude-user-content".to_owned(),
                data: block,
            })),
        }
    }
    if !text.is_empty() {
        updates.insert(
            0,
            SessionUpdate::UserMessage(MessageText {
                text: text.join("\n"),
            }),
        );
    }
    updates
}

fn tool_result(block: &Value, record: &Value) -> SessionUpdate {
    let failed = block.get("is_error").and_then(Value::as_bool) == Some(true);
    let text = match block.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    SessionUpdate::ToolCallUpdate(ToolCallUpdate {
        tool_call_id: block
            .get("tool_use_id")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        status: Some(if failed {
            ToolStatus::Failed
        } else {
            ToolStatus::Completed
        }),
        title: None,
        kind: None,
        content: (!text.is_empty()).then(|| vec![ToolContent::Text { text }]),
        raw_input: None,
        raw_output: record.get("toolUseResult").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session recorded from Claude Code 2.0: a prompt, thinking, a Bash
    /// call and its result, a reply, a title, a snapshot record.
    const SESSION: &str = include_str!("../../tests/data/claude-transcript.jsonl");

    fn parse_all(text: &str) -> Vec<SessionUpdate> {
        let mut parser = ClaudeTranscript::default();
        text.lines().flat_map(|l| parser.parse_line(l)).collect()
    }

    fn types(updates: &[SessionUpdate]) -> Vec<&'static str> {
        updates.iter().map(SessionUpdate::update_type).collect()
    }

    #[test]
    fn a_recorded_session_becomes_messages_tools_and_usage() {
        let updates = parse_all(SESSION);
        assert_eq!(
            types(&updates),
            [
                "system-status",
                "user-message",
                "agent-thought-chunk",
                "token-usage",
                "agent-message",
                "tool-call",
                "token-usage",
                "tool-call-update",
                "agent-message",
                "token-usage",
                "system-status",
            ]
        );
        let SessionUpdate::ToolCall(call) = &updates[5] else {
            panic!()
        };
        assert_eq!(call.title, "Bash: ls");
        let SessionUpdate::ToolCallUpdate(result) = &updates[7] else {
            panic!()
        };
        assert_eq!(result.status, Some(ToolStatus::Completed));
        assert_eq!(
            result.content,
            Some(vec![ToolContent::Text {
                text: "Cargo.toml\nsrc".to_owned()
            }])
        );
        let SessionUpdate::TokenUsage(last) = &updates[9] else {
            panic!()
        };
        // Priced from the table: the model is a Sonnet 4.5.
        assert!(last.cost.as_ref().is_some_and(|c| c.amount > 0.0));
    }

    /// Written by Claude Code 2.1.83 (`claude -p`, the CLI in the Claude
    /// Agent SDK) in an end-to-end run; paths made neutral.
    const SESSION_2_1: &str = include_str!("../../tests/data/claude-2.1.83-transcript.jsonl");

    #[test]
    fn a_transcript_of_claude_code_2_1_parses_with_its_new_records_kept() {
        let updates = parse_all(SESSION_2_1);
        let kept: Vec<&str> = updates
            .iter()
            .filter_map(|u| match u {
                SessionUpdate::SystemStatus(SystemStatus::Other { kind, .. }) => {
                    Some(kind.as_str())
                }
                _ => None,
            })
            .collect();
        assert!(kept.contains(&"claude-queue-operation"), "{kept:?}");
        assert!(kept.contains(&"claude-progress"), "{kept:?}");
        let said: Vec<&str> = updates
            .iter()
            .filter(|u| !matches!(u, SessionUpdate::SystemStatus(_)))
            .map(SessionUpdate::update_type)
            .collect();
        assert_eq!(
            said,
            [
                "user-message",
                "agent-message",
                "token-usage",
                "tool-call",
                "token-usage",
                "tool-call-update",
                "agent-message",
                "token-usage",
            ]
        );
    }

    #[test]
    fn usage_repeated_per_block_is_counted_once() {
        let mut parser = ClaudeTranscript::default();
        let block = |text: &str, out: u64| {
            serde_json::json!({"type": "assistant", "message": {"id": "msg_1", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": text}],
                "usage": {"input_tokens": 1000000, "output_tokens": out}}})
            .to_string()
        };
        let first = parser.parse_line(&block("a", 10));
        let repeated = parser.parse_line(&block("b", 10));
        let grown = parser.parse_line(&block("c", 20));
        assert_eq!(types(&first), ["agent-message", "token-usage"]);
        assert_eq!(types(&repeated), ["agent-message"]);
        let SessionUpdate::TokenUsage(usage) = &grown[1] else {
            panic!()
        };
        // One message of a million input tokens: $3, not $6 or $9.
        let cost = usage.cost.as_ref().unwrap().amount;
        assert!((cost - 3.0003).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn unknown_and_broken_records_are_kept() {
        let updates = parse_all("{\"type\":\"brand-new\",\"x\":1}\nnot json\n[1,2]\n");
        assert_eq!(updates.len(), 3);
        assert!(
            updates
                .iter()
                .all(|u| matches!(u, SessionUpdate::SystemStatus(SystemStatus::Other { .. })))
        );
    }

    #[test]
    fn meta_messages_and_failed_tools_are_told_apart() {
        let meta =
            r#"{"type":"user","isMeta":true,"message":{"role":"user","content":"Caveat: ..."}}"#;
        let failed = r#"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":true,"content":"no such file"}]}}"#;
        let updates = parse_all(&format!("{meta}\n{failed}\n"));
        assert!(
            matches!(&updates[0], SessionUpdate::SystemStatus(SystemStatus::Other { kind, .. }) if kind == "claude-user")
        );
        assert!(
            matches!(&updates[1], SessionUpdate::ToolCallUpdate(u) if u.status == Some(ToolStatus::Failed))
        );
    }
}
