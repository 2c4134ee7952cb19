//! Collects a streaming agent message so that, besides its chunks, one
//! complete `agent-message` is stored (search indexes those, never chunks).

use viewport_protocol::SessionUpdate;
use viewport_protocol::update::{MessageText, StreamingState, TextChunk};

#[derive(Debug, Default)]
pub struct MessageCollector {
    text: String,
    streaming: bool,
}

impl MessageCollector {
    /// A collector in the middle of a message whose chunks so far made `text`.
    pub fn streaming(text: String) -> Self {
        Self {
            text,
            streaming: true,
        }
    }

    /// The updates one chunk produces: `streaming-state` on the first chunk
    /// of a message, then the chunk.
    pub fn push(&mut self, chunk: &str) -> Vec<SessionUpdate> {
        let mut updates = Vec::with_capacity(2);
        if !self.streaming {
            self.streaming = true;
            updates.push(SessionUpdate::StreamingState(StreamingState {
                streaming: true,
            }));
        }
        self.text.push_str(chunk);
        updates.push(SessionUpdate::AgentMessageChunk(TextChunk {
            text: chunk.to_owned(),
        }));
        updates
    }

    /// The updates that close the current message, if one is open.
    pub fn finish(&mut self) -> Vec<SessionUpdate> {
        if !self.streaming {
            return Vec::new();
        }
        self.streaming = false;
        let text = std::mem::take(&mut self.text);
        vec![
            SessionUpdate::AgentMessage(MessageText { text }),
            SessionUpdate::StreamingState(StreamingState { streaming: false }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_make_one_complete_message() {
        let mut c = MessageCollector::default();
        assert_eq!(c.push("a").len(), 2);
        assert_eq!(c.push("b").len(), 1);
        let done = c.finish();
        assert_eq!(
            done[0],
            SessionUpdate::AgentMessage(MessageText { text: "ab".into() })
        );
        assert!(c.finish().is_empty());
    }
}
