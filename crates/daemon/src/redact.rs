//! What is stored of a session never holds its secrets: the values of the
//! environment its launch set (keys handed to the agent) are masked in
//! every text, and tool output is searched for the common shapes of keys
//! and tokens. Applied before an update is stored, so neither the log, the
//! search index, an export nor a viewport ever sees them.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};
use serde_json::Value;
use viewport_protocol::SessionUpdate;
use viewport_protocol::update::{MessageText, TextChunk, ToolCall, ToolCallUpdate, ToolContent};

/// Environment values shorter than this are not secrets worth masking (and
/// masking `1` or `true` everywhere would wreck the transcript).
const MIN_SECRET_CHARS: usize = 8;

/// The shapes masked in tool output: (kind, pattern). A pattern with a
/// capture group masks only that group.
const SHAPES: &[(&str, &str)] = &[
    (
        "private-key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    ),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai-key", r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}"),
    (
        "github-token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    ("aws-access-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("slack-token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",
    ),
    (
        "bearer-token",
        r"(?i)\bbearer\s+([A-Za-z0-9._~+/\-]{16,}=*)",
    ),
    (
        "secret",
        r#"(?i)\b[A-Z0-9_]*(?:api[_-]?key|secret|token|password|passwd)[A-Z0-9_]*\s*[:=]\s*["']?([^\s"']{12,})"#,
    ),
];

static SHAPE_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(SHAPES.iter().map(|(_, pattern)| *pattern)).unwrap_or_else(|_| RegexSet::empty())
});
static SHAPE_REGEXES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    SHAPES
        .iter()
        .filter_map(|(kind, pattern)| Regex::new(pattern).ok().map(|r| (*kind, r)))
        .collect()
});

/// The masking of one session.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Values of the launch's environment, longest first (so one that
    /// contains another is masked whole).
    secrets: Vec<String>,
    /// Whether tool output is searched for secret shapes.
    shapes: bool,
    /// The user's own patterns, masked in tool output.
    custom: Vec<Regex>,
}

impl Redactor {
    pub fn new(env_values: impl IntoIterator<Item = String>, shapes: bool) -> Self {
        let mut secrets: Vec<String> = env_values
            .into_iter()
            .filter(|v| v.chars().count() >= MIN_SECRET_CHARS)
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self {
            secrets,
            shapes,
            custom: Vec::new(),
        }
    }

    /// The user's `redaction` settings applied: whether shapes are searched
    /// for, and more patterns (invalid ones were reported by the config
    /// check and are skipped).
    pub fn configured(mut self, config: &viewport_config::model::RedactionConfig) -> Self {
        self.shapes = config.tool_output.unwrap_or(self.shapes);
        self.custom = config
            .patterns
            .iter()
            .filter_map(|p| Regex::new(p).ok())
            .collect();
        self
    }

    /// `update` with its secrets masked.
    pub fn redact(&self, update: SessionUpdate) -> SessionUpdate {
        match update {
            SessionUpdate::AgentMessage(m) => SessionUpdate::AgentMessage(self.message(m)),
            SessionUpdate::UserMessage(m) => SessionUpdate::UserMessage(self.message(m)),
            SessionUpdate::AgentMessageChunk(c) => SessionUpdate::AgentMessageChunk(self.chunk(c)),
            SessionUpdate::AgentThoughtChunk(c) => SessionUpdate::AgentThoughtChunk(self.chunk(c)),
            SessionUpdate::ToolCall(call) => SessionUpdate::ToolCall(ToolCall {
                content: self.contents(call.content),
                raw_input: call.raw_input.map(|input| self.json(input)),
                title: self.output(&call.title),
                ..call
            }),
            SessionUpdate::ToolCallUpdate(update) => {
                SessionUpdate::ToolCallUpdate(ToolCallUpdate {
                    content: update.content.map(|c| self.contents(c)),
                    raw_input: update.raw_input.map(|v| self.json(v)),
                    raw_output: update.raw_output.map(|v| self.json(v)),
                    title: update.title.map(|t| self.output(&t)),
                    ..update
                })
            }
            other => other,
        }
    }

    fn message(&self, message: MessageText) -> MessageText {
        MessageText {
            text: self.text(&message.text),
        }
    }

    fn chunk(&self, chunk: TextChunk) -> TextChunk {
        TextChunk {
            text: self.text(&chunk.text),
        }
    }

    fn contents(&self, contents: Vec<ToolContent>) -> Vec<ToolContent> {
        contents
            .into_iter()
            .map(|content| match content {
                ToolContent::Text { text } => ToolContent::Text {
                    text: self.output(&text),
                },
                ToolContent::Diff {
                    path,
                    old_text,
                    new_text,
                } => ToolContent::Diff {
                    path,
                    old_text: old_text.map(|t| self.output(&t)),
                    new_text: self.output(&new_text),
                },
                other => other,
            })
            .collect()
    }

    fn json_map(&self, map: serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
        map.into_iter().map(|(k, v)| (k, self.json(v))).collect()
    }

    /// Every string inside a JSON value, as tool output.
    fn json(&self, value: Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.output(&text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(self.json_map(map)),
            other => other,
        }
    }

    /// Text anywhere: the launch's secrets are masked.
    fn text(&self, text: &str) -> String {
        let mut text = Cow::Borrowed(text);
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), "[redacted:env]"));
            }
        }
        text.into_owned()
    }

    /// A line of the agent's own log (its stderr), masked as tool output is.
    pub fn log_line(&self, line: &str) -> String {
        self.output(line)
    }

    /// Tool output: the launch's secrets, then the shapes of keys and tokens.
    fn output(&self, text: &str) -> String {
        let mut text = self.text(text);
        if self.shapes {
            text = mask_shapes(&text).into_owned();
        }
        for pattern in &self.custom {
            text = pattern.replace_all(&text, "[redacted:custom]").into_owned();
        }
        text
    }
}

/// `text` with every known secret shape replaced by `[redacted:KIND]`.
pub fn mask_shapes(text: &str) -> Cow<'_, str> {
    let matched = SHAPE_SET.matches(text);
    if !matched.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut text = text.to_owned();
    for index in matched.iter() {
        let Some((kind, regex)) = SHAPE_REGEXES.get(index) else {
            continue;
        };
        let replacement = format!("[redacted:{kind}]");
        text = regex
            .replace_all(&text, |captures: &regex::Captures<'_>| {
                let whole = captures.get(0).map_or("", |m| m.as_str());
                match captures.get(1) {
                    // Keep what names the secret; mask the secret itself.
                    Some(secret) => {
                        let start = secret.start() - captures.get(0).map_or(0, |m| m.start());
                        format!("{}{replacement}", &whole[..start])
                    }
                    None => replacement.clone(),
                }
            })
            .into_owned();
    }
    Cow::Owned(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/data/redaction.txt`: pairs of lines, what a tool printed and
    /// what is stored of it, separated by blank lines.
    #[test]
    fn the_corpus_is_masked_as_written() {
        let corpus = include_str!("../tests/data/redaction.txt");
        let mut checked = 0;
        for case in corpus.split("\n\n").filter(|c| !c.trim().is_empty()) {
            let lines: Vec<&str> = case.lines().filter(|l| !l.starts_with('#')).collect();
            if lines.is_empty() {
                continue;
            }
            let [input, expected] = lines.as_slice() else {
                panic!("a case is two lines, input then expected: {case:?}");
            };
            assert_eq!(mask_shapes(input), *expected, "input: {input}");
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} cases");
    }

    #[test]
    fn a_private_key_block_is_masked_whole() {
        let text = "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAAbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\ndone";
        assert_eq!(mask_shapes(text), "key:\n[redacted:private-key]\ndone");
    }

    #[test]
    fn the_launch_environment_is_masked_in_every_text() {
        let redactor = Redactor::new(["hunter2-but-longer".to_owned(), "short".to_owned()], false);
        let update = SessionUpdate::AgentMessage(MessageText {
            text: "the key is hunter2-but-longer, short stays".into(),
        });
        let SessionUpdate::AgentMessage(m) = redactor.redact(update) else {
            panic!()
        };
        assert_eq!(m.text, "the key is [redacted:env], short stays");
    }

    #[test]
    fn the_users_settings_turn_shapes_off_and_add_patterns() {
        let config = viewport_config::model::RedactionConfig {
            tool_output: Some(false),
            patterns: vec![r"ACME-[0-9]{6}".to_owned()],
        };
        let redactor = Redactor::new([], true).configured(&config);
        let text = "AKIAIOSFODNN7EXAMPLE and ACME-123456";
        assert_eq!(
            redactor.output(text),
            "AKIAIOSFODNN7EXAMPLE and [redacted:custom]"
        );
    }

    #[test]
    fn tool_output_and_raw_json_are_masked() {
        let redactor = Redactor::new([], true);
        let update = SessionUpdate::ToolCallUpdate(ToolCallUpdate {
            tool_call_id: "t1".into(),
            content: Some(vec![ToolContent::Text {
                text: "export GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345".into(),
            }]),
            raw_output: Some(serde_json::json!({"stdout": ["AKIAIOSFODNN7EXAMPLE"]})),
            raw_input: None,
            status: None,
            title: None,
            kind: None,
        });
        let stored = serde_json::to_string(&redactor.redact(update)).unwrap();
        assert!(!stored.contains("ghp_0123"), "{stored}");
        assert!(!stored.contains("AKIAIOSFODNN7EXAMPLE"), "{stored}");
        assert!(
            stored.contains("GITHUB_TOKEN=[redacted:secret]"),
            "{stored}"
        );
    }
}
