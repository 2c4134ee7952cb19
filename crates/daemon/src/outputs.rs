//! Large tool outputs: text above a threshold (64 KiB unless the daemon is
//! told otherwise) is kept as a file beside the session,
//! `sessions/<id>/files/<sha256>.txt`, and the update holds a reference with
//! its size, hash and a preview; `readOutput` fetches it. The log stays
//! small, and replaying a session stays fast.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use viewport_protocol::update::{ToolCall, ToolCallUpdate, ToolContent};
use viewport_protocol::{ErrorCode, FrameError, SessionUpdate};

/// Text kept in the update itself, by default.
pub const DEFAULT_THRESHOLD: usize = 64 * 1024;
/// How much of a kept output its reference shows.
const PREVIEW_BYTES: usize = 2048;

/// Where a session's large outputs go, and from what size.
#[derive(Debug, Clone)]
pub struct LargeOutputs {
    pub dir: PathBuf,
    pub threshold: usize,
}

impl LargeOutputs {
    /// The directory for `session_dir`'s outputs.
    pub fn new(session_dir: &Path, threshold: usize) -> Self {
        Self {
            dir: session_dir.join("files"),
            threshold,
        }
    }

    /// `update` with its large text kept as files; an output that cannot be
    /// written stays in the update.
    pub fn offload(&self, update: SessionUpdate) -> SessionUpdate {
        match update {
            SessionUpdate::ToolCall(call) => SessionUpdate::ToolCall(ToolCall {
                content: self.contents(call.content),
                raw_input: call.raw_input.map(|v| self.raw(v)),
                ..call
            }),
            SessionUpdate::ToolCallUpdate(update) => {
                SessionUpdate::ToolCallUpdate(ToolCallUpdate {
                    content: update.content.map(|c| self.contents(c)),
                    raw_output: update.raw_output.map(|v| self.raw(v)),
                    ..update
                })
            }
            other => other,
        }
    }

    fn contents(&self, contents: Vec<ToolContent>) -> Vec<ToolContent> {
        contents
            .into_iter()
            .map(|content| match content {
                ToolContent::Text { text } if text.len() > self.threshold => self
                    .keep(text.as_bytes(), "txt")
                    .map(|(name, size, sha256)| ToolContent::File {
                        preview: preview(&text),
                        name,
                        size,
                        sha256,
                    })
                    .unwrap_or(ToolContent::Text { text }),
                other => other,
            })
            .collect()
    }

    /// Raw JSON too large is kept as a file and referred to.
    fn raw(&self, value: serde_json::Value) -> serde_json::Value {
        let text = value.to_string();
        if text.len() <= self.threshold {
            return value;
        }
        match self.keep(text.as_bytes(), "json") {
            Some((name, size, sha256)) => {
                serde_json::json!({"vpdOutput": {"name": name, "size": size, "sha256": sha256}})
            }
            None => value,
        }
    }

    /// Write `bytes` under its hash; its name, size and hash.
    fn keep(&self, bytes: &[u8], extension: &str) -> Option<(String, u64, String)> {
        let sha256 = hex(&Sha256::digest(bytes));
        let name = format!("{sha256}.{extension}");
        let path = self.dir.join(&name);
        let written = std::fs::create_dir_all(&self.dir).and_then(|()| {
            if path.exists() {
                Ok(())
            } else {
                std::fs::write(&path, bytes)
            }
        });
        match written {
            Ok(()) => Some((name, bytes.len() as u64, sha256)),
            Err(e) => {
                tracing::warn!("cannot keep a large output in {}: {e}", path.display());
                None
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn preview(text: &str) -> String {
    let mut end = PREVIEW_BYTES.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// A kept output of a session, by the name its reference gives.
pub fn read(session_dir: &Path, name: &str) -> Result<String, FrameError> {
    let valid = name.split_once('.').is_some_and(|(hash, ext)| {
        hash.len() == 64
            && hash.chars().all(|c| c.is_ascii_hexdigit())
            && (ext == "txt" || ext == "json")
    });
    if !valid {
        return Err(FrameError::new(
            ErrorCode::InvalidFrame,
            format!("`{name}` is not the name of a kept output (SHA256.txt or SHA256.json)"),
        ));
    }
    let path = session_dir.join("files").join(name);
    std::fs::read(&path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| {
            FrameError::new(
                ErrorCode::InvalidFrame,
                format!("no output {name} in this session: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_text_becomes_a_reference_and_small_text_stays() {
        let dir = tempfile::tempdir().unwrap();
        let outputs = LargeOutputs::new(dir.path(), 100);
        let update = SessionUpdate::ToolCallUpdate(ToolCallUpdate {
            tool_call_id: "t".into(),
            status: None,
            title: None,
            kind: None,
            content: Some(vec![
                ToolContent::Text {
                    text: "é".repeat(200),
                },
                ToolContent::Text {
                    text: "small".into(),
                },
            ]),
            raw_input: None,
            raw_output: Some(serde_json::json!({"stdout": "x".repeat(500)})),
        });
        let SessionUpdate::ToolCallUpdate(kept) = outputs.offload(update) else {
            panic!()
        };
        let content = kept.content.unwrap();
        let ToolContent::File { name, size, .. } = &content[0] else {
            panic!("{content:?}")
        };
        assert_eq!(*size, 400);
        assert_eq!(read(dir.path(), name).unwrap(), "é".repeat(200));
        assert_eq!(
            content[1],
            ToolContent::Text {
                text: "small".into()
            }
        );
        assert!(
            kept.raw_output.unwrap()["vpdOutput"]["size"]
                .as_u64()
                .unwrap()
                > 500
        );
        assert!(read(dir.path(), "../../etc/passwd").is_err());
    }
}
