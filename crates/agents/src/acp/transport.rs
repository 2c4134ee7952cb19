//! The agent's stdio as the driver sees it: through the session's
//! supervisor. Output arrives as offset-addressed chunks and leaves here as
//! lines, each with the offset after it (what a stored event covers); input
//! goes out as lines, and every answer written forgets the request note it
//! settles.

use tokio::io::{AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use viewport_supervisor::{ChildExit, Link, Output};

use super::raw;

/// A line of the agent's output and the offset just after it.
pub type Line = (String, u64);

/// How the agent's run ended, as the supervisor tells it.
#[derive(Debug)]
pub enum Ended {
    Exited(ChildExit),
    /// The supervisor went without a word on the agent.
    Lost(String),
}

/// Longest line taken from an agent (a bigger one ends the session).
const MAX_LINE: usize = 64 * 1024 * 1024;

/// Split the supervisor's output into lines from `offset` on, copy stderr,
/// and say how the run ended. Lines nobody takes any more are read and
/// dropped, so the end is always heard.
pub async fn pump(
    mut outputs: mpsc::Receiver<Output>,
    mut offset: u64,
    lines: mpsc::Sender<Line>,
    mut stderr: Option<DuplexStream>,
    ended: oneshot::Sender<Ended>,
) {
    let mut pending: Vec<u8> = Vec::new();
    let end = loop {
        let Some(output) = outputs.recv().await else {
            break Ended::Lost("the connection to the session's supervisor closed".to_owned());
        };
        match output {
            Output::Bytes { offset: at, bytes } => {
                let expected = offset + pending.len() as u64;
                if at != expected {
                    break Ended::Lost(format!(
                        "the supervisor sent output at {at}, expected {expected}"
                    ));
                }
                // Only the new bytes are searched: a long line arrives in
                // many chunks.
                let mut searched = pending.len();
                pending.extend_from_slice(&bytes);
                let mut start = 0;
                while let Some(newline) = pending[searched..].iter().position(|b| *b == b'\n') {
                    let line_end = searched + newline;
                    let line = String::from_utf8_lossy(&pending[start..line_end]).into_owned();
                    start = line_end + 1;
                    searched = start;
                    let _ = lines.send((line, offset + start as u64)).await;
                }
                pending.drain(..start);
                offset += start as u64;
                if pending.len() > MAX_LINE {
                    break Ended::Lost(format!(
                        "the agent wrote a line longer than {} MiB",
                        MAX_LINE >> 20
                    ));
                }
            }
            Output::Stderr(bytes) => {
                if let Some(pipe) = stderr.as_mut()
                    && pipe.write_all(&bytes).await.is_err()
                {
                    stderr = None;
                }
            }
            Output::Exited(exit) => break Ended::Exited(exit),
            Output::Lost(why) => break Ended::Lost(why),
        }
    };
    drop(lines);
    drop(stderr);
    let _ = ended.send(end);
}

/// Lines to the agent, one per message; answers forget their request notes.
#[derive(Clone)]
pub struct Outgoing {
    link: Link,
}

/// The note that keeps an agent's unanswered request: `request:<id>`.
pub fn request_note(id: &str) -> String {
    format!("{REQUEST_NOTE}{id}")
}

pub const REQUEST_NOTE: &str = "request:";

impl Outgoing {
    pub fn new(link: Link) -> Self {
        Self { link }
    }

    pub fn link(&self) -> &Link {
        &self.link
    }

    pub fn write(&self, mut line: String) {
        if let Some(id) = raw::answered_id(&line) {
            self.link.note(request_note(&id), None);
        }
        line.push('\n');
        self.link.input(line.into_bytes());
    }

    /// Remember an agent's request until it is answered.
    pub fn remember_request(&self, id: &str, what: &serde_json::Value) {
        self.link.note(request_note(id), Some(what.to_string()));
    }
}

/// The SDK's outgoing lines.
pub fn line_sink(
    outgoing: Outgoing,
) -> impl futures_util::Sink<String, Error = std::io::Error> + Send + 'static {
    futures_util::sink::unfold(outgoing, async |outgoing, line: String| {
        outgoing.write(line);
        Ok(outgoing)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines_of(chunks: Vec<&[u8]>, from: u64) -> (Vec<Line>, Ended) {
        let (outputs_tx, outputs) = mpsc::channel(chunks.len() + 1);
        let mut offset = from;
        for chunk in chunks {
            let bytes = chunk.to_vec();
            let at = offset;
            offset += bytes.len() as u64;
            outputs_tx
                .try_send(Output::Bytes { offset: at, bytes })
                .unwrap();
        }
        let exit = ChildExit {
            code: Some(0),
            signal: None,
        };
        outputs_tx.try_send(Output::Exited(exit)).unwrap();
        let (lines_tx, mut lines) = mpsc::channel(1000);
        let (ended_tx, ended) = oneshot::channel();
        pump(outputs, from, lines_tx, None, ended_tx).await;
        let mut got = Vec::new();
        while let Ok(line) = lines.try_recv() {
            got.push(line);
        }
        (got, ended.await.unwrap())
    }

    #[tokio::test]
    async fn lines_carry_the_offset_after_them_however_the_bytes_arrive() {
        let (lines, ended) = lines_of(vec![b"ab\ncd", b"e\n\nf", b"g\n"], 100).await;
        let expected = [("ab", 103), ("cde", 107), ("", 108), ("fg", 111)];
        let lines: Vec<(&str, u64)> = lines.iter().map(|(l, o)| (l.as_str(), *o)).collect();
        assert_eq!(lines, expected);
        assert!(matches!(ended, Ended::Exited(_)));
    }

    #[tokio::test]
    async fn a_long_line_in_many_chunks_comes_out_whole() {
        let chunk = [b'x'; 1000];
        let mut chunks: Vec<&[u8]> = vec![&chunk; 500];
        chunks.push(b"\n");
        let (lines, _) = lines_of(chunks, 0).await;
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].0.len(), 500_000);
        assert_eq!(lines[0].1, 500_001);
    }

    #[tokio::test]
    async fn output_out_of_place_ends_the_run_with_the_reason() {
        let (outputs_tx, outputs) = mpsc::channel(2);
        outputs_tx
            .try_send(Output::Bytes {
                offset: 5,
                bytes: b"x\n".to_vec(),
            })
            .unwrap();
        let (lines_tx, _lines) = mpsc::channel(10);
        let (ended_tx, ended) = oneshot::channel();
        pump(outputs, 0, lines_tx, None, ended_tx).await;
        let Ended::Lost(why) = ended.await.unwrap() else {
            panic!("not lost")
        };
        assert!(why.contains("at 5, expected 0"), "{why}");
    }
}
