//! Human-readable rendering of frames, with color only on a terminal.

use std::io::{IsTerminal, Write};

use viewport_protocol::update::{
    PermissionOutcome, PermissionRequest, SystemStatus, ToolContent, ToolStatus,
};
use viewport_protocol::{ServerFrame, SessionUpdate};

#[derive(Clone, Copy)]
enum Style {
    Dim,
    Bold,
    Yellow,
    Green,
    Red,
    Cyan,
}

pub struct Printer {
    color: bool,
    /// Inside a streamed line (chunks), so the next block starts on a new line.
    streaming: Option<&'static str>,
    /// The agent's current message came in chunks (already printed); a
    /// message that did not (an observed session's) is printed whole.
    message_streamed: bool,
}

impl Printer {
    pub fn stdout() -> Self {
        Self {
            color: std::io::stdout().is_terminal(),
            streaming: None,
            message_streamed: false,
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match style {
            Style::Dim => "2",
            Style::Bold => "1",
            Style::Yellow => "33",
            Style::Green => "32",
            Style::Red => "31",
            Style::Cyan => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn stream(&mut self, kind: &'static str, text: &str, style: Option<Style>) {
        let mut out = std::io::stdout().lock();
        if self.streaming != Some(kind) {
            if self.streaming.is_some() {
                let _ = writeln!(out);
            }
            self.streaming = Some(kind);
        }
        let text = match style {
            Some(style) => self.paint(style, text),
            None => text.to_owned(),
        };
        let _ = write!(out, "{text}");
        let _ = out.flush();
    }

    fn line(&mut self, text: String) {
        let mut out = std::io::stdout().lock();
        if self.streaming.take().is_some() {
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{text}");
    }

    pub fn frame(&mut self, frame: &ServerFrame) {
        match frame {
            ServerFrame::SessionUpdate { update, .. } => self.update(update),
            ServerFrame::SessionEnded { reason, detail, .. } => {
                let detail = detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                let text = self.paint(Style::Bold, &format!("■ session ended ({reason}){detail}"));
                self.line(text);
            }
            ServerFrame::Error { code, message, .. } => {
                let text = self.paint(Style::Red, &format!("error ({}): {message}", code.as_str()));
                self.line(text);
            }
            ServerFrame::SessionStarted { .. }
            | ServerFrame::Response { .. }
            | ServerFrame::TerminalOutput { .. } => {}
        }
    }

    pub fn update(&mut self, update: &SessionUpdate) {
        match update {
            SessionUpdate::AgentMessageChunk(chunk) => {
                self.message_streamed = true;
                self.stream("message", &chunk.text, None)
            }
            SessionUpdate::AgentMessage(message) => {
                if !std::mem::take(&mut self.message_streamed) {
                    self.line(message.text.clone());
                }
            }
            SessionUpdate::AgentThoughtChunk(chunk) => {
                self.stream("thought", &chunk.text, Some(Style::Dim))
            }
            SessionUpdate::StreamingState(_) => {}
            SessionUpdate::UserMessage(message) => {
                let text = self.paint(Style::Cyan, &format!("› {}", message.text));
                self.line(text);
            }
            SessionUpdate::ToolCall(call) => {
                let text = format!("⚙ {} [{}]", call.title, status_name(call.status));
                let text = self.paint(Style::Bold, &text);
                self.line(text);
            }
            SessionUpdate::ToolCallUpdate(update) => {
                if let Some(status) = update.status {
                    let mut text = format!("  ↳ {}", status_name(status));
                    for content in update.content.iter().flatten() {
                        text.push_str(&format!(" — {}", describe_content(content)));
                    }
                    let style = if status == ToolStatus::Failed {
                        Style::Red
                    } else {
                        Style::Dim
                    };
                    let text = self.paint(style, &text);
                    self.line(text);
                }
            }
            SessionUpdate::PermissionRequest(request) => {
                let text = self.paint(Style::Yellow, &describe_request(request));
                self.line(text);
            }
            SessionUpdate::PermissionResolved(resolved) => {
                let answer = match &resolved.outcome {
                    PermissionOutcome::Selected { option_id } => format!("answered {option_id}"),
                    PermissionOutcome::Cancelled => "cancelled".to_owned(),
                };
                let reason = resolved
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                let text = self.paint(
                    Style::Green,
                    &format!("  ✓ {} {answer}{reason}", resolved.prompt_id),
                );
                self.line(text);
            }
            SessionUpdate::StateChange(change) => {
                let text = self.paint(Style::Dim, &format!("· {}", change.state));
                self.line(text);
            }
            SessionUpdate::StepCommitted(step) => {
                let reason = serde_json::to_value(step.stop_reason).ok();
                let reason = reason.as_ref().and_then(|r| r.as_str()).unwrap_or("done");
                let text = self.paint(Style::Dim, &format!("· turn ended ({reason})"));
                self.line(text);
            }
            SessionUpdate::TokenUsage(usage) => {
                let mut parts = Vec::new();
                if let (Some(used), Some(size)) = (usage.context_used, usage.context_size) {
                    parts.push(format!("context {used}/{size} tokens"));
                }
                if let Some(input) = usage.input_tokens {
                    parts.push(format!("{input} in"));
                }
                if let Some(output) = usage.output_tokens {
                    parts.push(format!("{output} out"));
                }
                if let Some(cost) = &usage.cost {
                    parts.push(format!("{:.4} {}", cost.amount, cost.currency));
                }
                let text = self.paint(Style::Dim, &format!("· usage: {}", parts.join(", ")));
                self.line(text);
            }
            SessionUpdate::SystemStatus(status) => {
                let text = describe_status(status);
                let text = self.paint(Style::Dim, &text);
                self.line(text);
            }
            SessionUpdate::Attention(attention) => {
                let text = self.paint(Style::Yellow, &format!("! {}", attention.message));
                self.line(text);
            }
        }
    }

    /// End a streamed line, if one is open.
    pub fn finish(&mut self) {
        if self.streaming.take().is_some() {
            println!();
        }
    }
}

fn status_name(status: ToolStatus) -> &'static str {
    match status {
        ToolStatus::Pending => "pending",
        ToolStatus::InProgress => "in progress",
        ToolStatus::Completed => "completed",
        ToolStatus::Failed => "failed",
    }
}

fn describe_content(content: &ToolContent) -> String {
    match content {
        ToolContent::Text { text } => text.lines().next().unwrap_or("").to_owned(),
        ToolContent::Diff { path, new_text, .. } => {
            format!("wrote {path} ({} lines)", new_text.lines().count())
        }
        ToolContent::Terminal { terminal_id } => format!("terminal {terminal_id}"),
        ToolContent::Other { description } => description.clone(),
        ToolContent::File { name, size, .. } => {
            format!("{size} bytes of output, kept as {name} (`vpd output SESSION {name}`)")
        }
    }
}

fn describe_request(request: &PermissionRequest) -> String {
    let options: Vec<String> = request
        .options
        .iter()
        .map(|o| format!("{} ({})", o.option_id, o.name))
        .collect();
    format!(
        "? permission: {} [{}] options: {}",
        request.title,
        request.prompt_id,
        options.join(", ")
    )
}

fn describe_status(status: &SystemStatus) -> String {
    match status {
        SystemStatus::Plan { entries } => {
            let mut text = "· plan:".to_owned();
            for entry in entries {
                let mark = match entry.status {
                    viewport_protocol::update::PlanEntryStatus::Completed => "[x]",
                    viewport_protocol::update::PlanEntryStatus::InProgress => "[~]",
                    viewport_protocol::update::PlanEntryStatus::Pending => "[ ]",
                };
                text.push_str(&format!("\n    {mark} {}", entry.content));
            }
            text
        }
        SystemStatus::Mode { mode_id } => format!("· mode: {mode_id}"),
        SystemStatus::Commands { commands } => format!("· {} commands available", commands.len()),
        SystemStatus::Title { title } => format!("· title: {title}"),
        SystemStatus::Notice { message } => format!("· {message}"),
        SystemStatus::Other { kind, .. } => format!("· {kind}"),
        SystemStatus::Agent { name, version, .. } => match (name, version) {
            (Some(name), Some(version)) => format!("· agent: {name} {version}"),
            (Some(name), None) => format!("· agent: {name}"),
            _ => "· agent started".to_owned(),
        },
        SystemStatus::Git { repos } => {
            let shown: Vec<String> = repos.iter().map(describe_repo).collect();
            format!("· git: {}", shown.join("; "))
        }
        SystemStatus::Config { options } => {
            let shown: Vec<String> = options
                .iter()
                .map(|o| format!("{}={}", o.category.as_deref().unwrap_or(&o.id), o.current))
                .collect();
            format!("· settings: {}", shown.join(", "))
        }
    }
}

/// A repository in one line: `root (branch @ abc1234, dirty)`.
pub fn describe_repo(repo: &viewport_protocol::state::GitContext) -> String {
    let branch = repo.branch.as_deref().unwrap_or("detached");
    let head = repo
        .head
        .as_deref()
        .map(|h| &h[..h.len().min(7)])
        .unwrap_or("no commit");
    let dirty = if repo.dirty { ", dirty" } else { "" };
    format!("{} ({branch} @ {head}{dirty})", repo.root)
}
