//! `vpd export` and `vpd import`: a session's whole log out as JSONL (or a
//! readable Markdown transcript), and a JSONL export back in as a new session.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use viewport_protocol::state::SessionSummary;
use viewport_protocol::update::{PermissionOutcome, SystemStatus, ToolContent};
use viewport_protocol::{ServerFrame, SessionUpdate};

use super::resolve_session;
use crate::cli::{ExportArgs, ExportFormat};
use crate::connect::connect;

pub async fn export(args: ExportArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let id = resolve_session(&mut client, &args.session).await?;
    let summary = client.subscribe(&id, 0).await?.session;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut writer = ExportWriter::new(args.format, &summary, &mut out)?;
    let progress = progress_bar(summary.last_seq);
    if summary.last_seq > 0 {
        while let Some(frame) = client.next_frame().await? {
            if let ServerFrame::SessionUpdate { seq, update, .. } = frame {
                writer.update(seq, &update, &mut out)?;
                progress.set_position(seq);
                if seq >= summary.last_seq {
                    break;
                }
            }
        }
    }
    progress.finish_and_clear();
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Progress on standard error, when it is a terminal.
fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("exporting {bar:30} {pos}/{len} updates") {
        bar.set_style(style);
    }
    bar
}

struct ExportWriter {
    format: ExportFormat,
    session_id: String,
}

impl ExportWriter {
    fn new(format: ExportFormat, summary: &SessionSummary, out: &mut dyn Write) -> Result<Self> {
        match format {
            ExportFormat::Jsonl => {
                let header = serde_json::json!({"vpdExport": 1, "session": summary});
                writeln!(out, "{header}")?;
            }
            ExportFormat::Acp => {}
            ExportFormat::Markdown => {
                let title = summary.title.as_deref().unwrap_or("Untitled session");
                writeln!(out, "# {title}\n")?;
                writeln!(
                    out,
                    "Session `{}` · {} · {} · {}\n",
                    summary.session_id, summary.agent, summary.cwd, summary.state
                )?;
            }
        }
        Ok(Self {
            format,
            session_id: summary.session_id.to_string(),
        })
    }

    fn update(&mut self, seq: u64, update: &SessionUpdate, out: &mut dyn Write) -> Result<()> {
        match self.format {
            ExportFormat::Jsonl => {
                let line = serde_json::json!({"seq": seq, "update": update});
                writeln!(out, "{line}")?;
            }
            ExportFormat::Markdown => {
                if let Some(text) = markdown(update) {
                    writeln!(out, "{text}\n")?;
                }
            }
            ExportFormat::Acp => {
                if let Some(update) = acp_update(update) {
                    let notification = serde_json::json!({
                        "jsonrpc": "2.0",
                        "method": "session/update",
                        "params": {"sessionId": self.session_id, "update": update},
                    });
                    writeln!(out, "{notification}")?;
                }
            }
        }
        Ok(())
    }
}

/// An update as an ACP `SessionUpdate`, for what ACP has a form for.
/// Whole messages are sent as one chunk each; their streamed chunks are not
/// repeated.
fn acp_update(update: &SessionUpdate) -> Option<serde_json::Value> {
    use serde_json::json;
    let text = |text: &str| json!({"type": "text", "text": text});
    Some(match update {
        SessionUpdate::UserMessage(m) => {
            json!({"sessionUpdate": "user_message_chunk", "content": text(&m.text)})
        }
        SessionUpdate::AgentMessage(m) => {
            json!({"sessionUpdate": "agent_message_chunk", "content": text(&m.text)})
        }
        SessionUpdate::AgentThoughtChunk(c) => {
            json!({"sessionUpdate": "agent_thought_chunk", "content": text(&c.text)})
        }
        SessionUpdate::ToolCall(call) => json!({
            "sessionUpdate": "tool_call",
            "toolCallId": call.tool_call_id,
            "title": call.title,
            "kind": acp_name(&call.kind),
            "status": acp_name(&call.status),
            "rawInput": call.raw_input,
        }),
        SessionUpdate::ToolCallUpdate(update) => {
            let content: Vec<serde_json::Value> = update
                .content
                .iter()
                .flatten()
                .filter_map(|c| match c {
                    ToolContent::Text { text: t } => Some(json!({"type": "content", "content": text(t)})),
                    ToolContent::Diff { path, old_text, new_text } => Some(
                        json!({"type": "diff", "path": path, "oldText": old_text, "newText": new_text}),
                    ),
                    _ => None,
                })
                .collect();
            let mut fields =
                json!({"sessionUpdate": "tool_call_update", "toolCallId": update.tool_call_id});
            if let Some(status) = &update.status {
                fields["status"] = json!(acp_name(status));
            }
            if !content.is_empty() {
                fields["content"] = json!(content);
            }
            fields
        }
        SessionUpdate::SystemStatus(SystemStatus::Plan { entries }) => json!({
            "sessionUpdate": "plan",
            "entries": entries.iter().map(|e| json!({
                "content": e.content,
                "priority": acp_name(&e.priority),
                "status": acp_name(&e.status),
            })).collect::<Vec<_>>(),
        }),
        _ => return None,
    })
}

/// Our kebab-case enum values in ACP's snake_case.
fn acp_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('-', "_")))
        .unwrap_or_default()
}

/// An update as Markdown, or nothing for what a reader does not need
/// (chunks: the whole message follows; streaming and config states).
fn markdown(update: &SessionUpdate) -> Option<String> {
    Some(match update {
        SessionUpdate::UserMessage(m) => format!("**User:** {}", m.text),
        SessionUpdate::AgentMessage(m) => format!("**Agent:** {}", m.text),
        SessionUpdate::ToolCall(call) => format!("> ⚙ **{}**", call.title),
        SessionUpdate::ToolCallUpdate(update) => {
            let status = update.status.map(|s| format!("{s:?}").to_lowercase())?;
            let output: Vec<&str> = update
                .content
                .iter()
                .flatten()
                .filter_map(|c| match c {
                    ToolContent::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            if output.is_empty() {
                format!("> {status}")
            } else {
                format!("> {status}\n\n```\n{}\n```", output.join("\n"))
            }
        }
        SessionUpdate::PermissionRequest(r) => format!("> ? permission: {}", r.title),
        SessionUpdate::PermissionResolved(r) => match &r.outcome {
            PermissionOutcome::Selected { option_id } => format!("> ✓ answered {option_id}"),
            PermissionOutcome::Cancelled => "> ✗ cancelled".to_owned(),
        },
        SessionUpdate::SystemStatus(SystemStatus::Plan { entries }) => {
            let items: Vec<String> = entries
                .iter()
                .map(|e| format!("- {} ({:?})", e.content, e.status).to_lowercase())
                .collect();
            format!("Plan:\n\n{}", items.join("\n"))
        }
        SessionUpdate::TokenUsage(usage) => {
            let cost = usage
                .cost
                .as_ref()
                .map(|c| format!(", {:.4} {}", c.amount, c.currency))
                .unwrap_or_default();
            format!(
                "_tokens: {} in, {} out{cost}_",
                usage.input_tokens.unwrap_or(0),
                usage.output_tokens.unwrap_or(0)
            )
        }
        SessionUpdate::StateChange(c) if c.state == viewport_protocol::SessionState::Ended => {
            format!(
                "_session ended{}_",
                c.detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            )
        }
        _ => return None,
    })
}

pub async fn output(session: &str, name: &str) -> Result<ExitCode> {
    let mut client = connect().await?;
    let id = resolve_session(&mut client, session).await?;
    print!("{}", client.read_output(&id, name).await?);
    Ok(ExitCode::SUCCESS)
}

pub async fn fork(session: &str, at: Option<u64>) -> Result<ExitCode> {
    let mut client = connect().await?;
    let parent = resolve_session(&mut client, session).await?;
    let fork = client.fork(&parent, at).await?;
    println!("{fork}");
    Ok(ExitCode::SUCCESS)
}

pub async fn import(file: &Path, dir: &Path) -> Result<ExitCode> {
    let file =
        std::fs::canonicalize(file).with_context(|| format!("cannot read {}", file.display()))?;
    let dir =
        std::fs::canonicalize(dir).with_context(|| format!("cannot use {}", dir.display()))?;
    let mut client = connect().await?;
    let directory = client.add_directory(&dir.to_string_lossy()).await?;
    let session = client
        .import_session(directory.directory_id, &file.to_string_lossy())
        .await?;
    println!("{session}");
    Ok(ExitCode::SUCCESS)
}
