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

/// The supervisor's output as lines from an offset on, with stderr copied
/// to its log on the way and the end told through a channel. Dropped before
/// the end (the SDK gone), it reads on in a task of its own so the end is
/// always heard.
pub struct OutputLines {
    outputs: mpsc::Receiver<Output>,
    /// Bytes from `offset` on; lines before `start` were handed out.
    pending: Vec<u8>,
    offset: u64,
    start: usize,
    /// Where to look for the next newline.
    searched: usize,
    stderr: Option<DuplexStream>,
    ended: Option<oneshot::Sender<Ended>>,
}

impl OutputLines {
    pub fn new(
        outputs: mpsc::Receiver<Output>,
        offset: u64,
        stderr: Option<DuplexStream>,
        ended: oneshot::Sender<Ended>,
    ) -> Self {
        Self {
            outputs,
            pending: Vec::new(),
            offset,
            start: 0,
            searched: 0,
            stderr,
            ended: Some(ended),
        }
    }

    /// The next line and the offset just after it; `None` once the run
    /// ended (the end went to the channel).
    pub async fn next_line(&mut self) -> Option<Line> {
        loop {
            if let Some(newline) = self.pending[self.searched..]
                .iter()
                .position(|b| *b == b'\n')
            {
                let end = self.searched + newline;
                let line = String::from_utf8_lossy(&self.pending[self.start..end]).into_owned();
                self.start = end + 1;
                self.searched = self.start;
                return Some((line, self.offset + self.start as u64));
            }
            self.searched = self.pending.len();
            if let Err(end) = self.take_more().await {
                if let Some(ended) = self.ended.take() {
                    let _ = ended.send(end);
                }
                return None;
            }
        }
    }

    /// Wait for more output (copying stderr as it comes), or the end.
    async fn take_more(&mut self) -> Result<(), Ended> {
        // Lines handed out are forgotten, once per chunk: a long line
        // arriving in many chunks costs no more than its length.
        self.pending.drain(..self.start);
        self.offset += self.start as u64;
        self.searched -= self.start;
        self.start = 0;
        loop {
            let Some(output) = self.outputs.recv().await else {
                return Err(Ended::Lost(
                    "the connection to the session's supervisor closed".to_owned(),
                ));
            };
            match output {
                Output::Bytes { offset, bytes } => {
                    let expected = self.offset + self.pending.len() as u64;
                    if offset != expected {
                        return Err(Ended::Lost(format!(
                            "the supervisor sent output at {offset}, expected {expected}"
                        )));
                    }
                    if self.pending.len() + bytes.len() > MAX_LINE {
                        return Err(Ended::Lost(format!(
                            "the agent wrote a line longer than {} MiB",
                            MAX_LINE >> 20
                        )));
                    }
                    self.pending.extend_from_slice(&bytes);
                    return Ok(());
                }
                Output::Stderr(bytes) => {
                    if let Some(pipe) = self.stderr.as_mut()
                        && pipe.write_all(&bytes).await.is_err()
                    {
                        self.stderr = None;
                    }
                }
                Output::Exited(exit) => return Err(Ended::Exited(exit)),
                Output::Lost(why) => return Err(Ended::Lost(why)),
            }
        }
    }
}

impl Drop for OutputLines {
    fn drop(&mut self) {
        let Some(ended) = self.ended.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (_, idle) = mpsc::channel(1);
        let rest = OutputLines {
            outputs: std::mem::replace(&mut self.outputs, idle),
            pending: Vec::new(),
            offset: 0,
            start: 0,
            searched: 0,
            stderr: self.stderr.take(),
            ended: Some(ended),
        };
        // Lines nobody takes are dropped; the end is what matters.
        runtime.spawn(async move {
            let mut rest = rest;
            rest.drain_to_end().await;
        });
    }
}

impl OutputLines {
    /// Read (and drop) output until the end, and tell it.
    async fn drain_to_end(&mut self) {
        let end = loop {
            match self.outputs.recv().await {
                Some(Output::Bytes { .. }) => {}
                Some(Output::Stderr(bytes)) => {
                    if let Some(pipe) = self.stderr.as_mut()
                        && pipe.write_all(&bytes).await.is_err()
                    {
                        self.stderr = None;
                    }
                }
                Some(Output::Exited(exit)) => break Ended::Exited(exit),
                Some(Output::Lost(why)) => break Ended::Lost(why),
                None => {
                    break Ended::Lost(
                        "the connection to the session's supervisor closed".to_owned(),
                    );
                }
            }
        };
        if let Some(ended) = self.ended.take() {
            let _ = ended.send(end);
        }
    }
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

    fn output_of(chunks: Vec<&[u8]>, from: u64) -> mpsc::Receiver<Output> {
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
        outputs
    }

    async fn lines_of(chunks: Vec<&[u8]>, from: u64) -> (Vec<Line>, Ended) {
        let (ended_tx, ended) = oneshot::channel();
        let mut lines = OutputLines::new(output_of(chunks, from), from, None, ended_tx);
        let mut got = Vec::new();
        while let Some(line) = lines.next_line().await {
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
        let (ended_tx, ended) = oneshot::channel();
        let mut lines = OutputLines::new(outputs, 0, None, ended_tx);
        assert!(lines.next_line().await.is_none());
        let Ended::Lost(why) = ended.await.unwrap() else {
            panic!("not lost")
        };
        assert!(why.contains("at 5, expected 0"), "{why}");
    }

    #[tokio::test]
    async fn dropped_early_it_still_tells_the_end() {
        let (ended_tx, ended) = oneshot::channel();
        let mut lines = OutputLines::new(output_of(vec![b"a\nb\nc\n"], 0), 0, None, ended_tx);
        assert_eq!(lines.next_line().await.unwrap().0, "a");
        drop(lines);
        assert!(matches!(ended.await.unwrap(), Ended::Exited(_)));
    }
}
