//! Agents' own transcript files, followed as they grow, to updates. A
//! session started in a terminal reports little through its hooks; its
//! transcript has every message, thought, tool call and token count.
//!
//! - [`tail`]: reading only what was appended, line by line.
//! - [`claude`]: Claude Code's transcript records.
//! - [`codex`]: Codex's rollout records.

pub mod claude;
pub mod codex;
pub mod tail;

use serde_json::Value;
use viewport_protocol::SessionUpdate;
use viewport_protocol::update::SystemStatus;

pub use claude::ClaudeTranscript;
pub use codex::CodexRollout;
pub use tail::{NewLines, Tail};

/// The transcript parser of one agent.
#[derive(Debug)]
pub enum TranscriptParser {
    Claude(ClaudeTranscript),
    Codex(CodexRollout),
}

impl TranscriptParser {
    /// The updates one transcript line makes.
    pub fn parse_line(&mut self, line: &str) -> Vec<SessionUpdate> {
        match self {
            Self::Claude(parser) => parser.parse_line(line),
            Self::Codex(parser) => parser.parse_line(line),
        }
    }

    /// A parser for the same agent, starting over.
    pub fn fresh(&self) -> Self {
        match self {
            Self::Claude(_) => Self::Claude(ClaudeTranscript::default()),
            Self::Codex(_) => Self::Codex(CodexRollout::default()),
        }
    }
}

/// Longest tool call title; the full input is in `rawInput`.
const TITLE_LIMIT: usize = 100;

/// A tool call's title: its name and what it acts on (`Bash: ls`).
fn described_title(name: &str, input: &Value) -> String {
    let subject = [
        "command",
        "file_path",
        "notebook_path",
        "path",
        "pattern",
        "url",
        "query",
        "description",
    ]
    .iter()
    .find_map(|key| input.get(*key).and_then(Value::as_str))
    .and_then(|subject| subject.lines().next())
    .filter(|subject| !subject.is_empty());
    let Some(subject) = subject else {
        return name.to_owned();
    };
    let mut title = format!("{name}: {subject}");
    if title.chars().count() > TITLE_LIMIT {
        title = title.chars().take(TITLE_LIMIT - 1).collect::<String>() + "…";
    }
    title
}

/// A line no parser understood, kept as it was.
fn not_understood(kind: &str, line: &str) -> SessionUpdate {
    SessionUpdate::SystemStatus(SystemStatus::Other {
        kind: kind.to_owned(),
        data: Value::String(line.to_owned()),
    })
}
