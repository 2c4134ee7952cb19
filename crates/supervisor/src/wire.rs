//! The daemon ↔ supervisor protocol over the session's unix socket.
//!
//! Every frame is a big-endian `u32` length (of what follows), a tag byte
//! and a payload. The first frame each way is a JSON hello carrying
//! [`PROTOCOL`]; a later protocol may add tags, never change these, so an
//! old supervisor and a new daemon can always read each other's hello and
//! say what they cannot do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::SupervisorError;

/// The protocol this build speaks.
pub const PROTOCOL: u32 = 1;

/// Largest frame either side accepts.
pub const MAX_FRAME: usize = 1 << 20;

/// What the supervisor says first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SupervisorHello {
    pub protocol: u32,
    /// The supervisor's pid.
    pub pid: u32,
    /// The program's pid; it leads its own process group.
    pub child_pid: u32,
    /// The `vpd` version the supervisor runs.
    pub version: String,
    /// Daemons that attached before this one.
    pub attachments: u32,
    /// The first output offset still held (everything before was acknowledged).
    pub spool_start: u64,
    /// The output offset after the last byte read from the program so far.
    pub spool_end: u64,
    /// What earlier daemons asked the supervisor to keep (see [`DaemonFrame::Note`]).
    pub notes: BTreeMap<String, String>,
}

/// What the daemon says first: where its log of this program's output ends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DaemonHello {
    pub protocol: u32,
    pub resume_from: u64,
}

/// How the program ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChildExit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

/// Supervisor → daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisorFrame {
    Hello(SupervisorHello),
    /// Bytes of the program's output (its stdout, or its terminal), at `offset`.
    Output {
        offset: u64,
        bytes: Vec<u8>,
    },
    /// Bytes of the program's stderr (not spooled: best effort).
    Stderr(Vec<u8>),
    /// The program exited and all its output was sent.
    Exited(ChildExit),
    /// The supervisor will not serve this daemon, and why.
    Refused(String),
}

/// Daemon → supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonFrame {
    Hello(DaemonHello),
    /// Bytes for the program's stdin (or its terminal).
    Input(Vec<u8>),
    /// Close the program's stdin.
    CloseInput,
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Send a signal to the program's process group.
    Signal(i32),
    /// Output before this offset is stored: the supervisor may forget it.
    Ack(u64),
    /// Keep (or, with no value, forget) a small note for the next daemon.
    Note {
        key: String,
        value: Option<String>,
    },
    /// The daemon has the exit: the supervisor may go.
    Release,
}

mod tag {
    pub const HELLO: u8 = 1;
    pub const OUTPUT: u8 = 2;
    pub const STDERR: u8 = 3;
    pub const EXITED: u8 = 4;
    pub const REFUSED: u8 = 5;

    pub const INPUT: u8 = 2;
    pub const CLOSE_INPUT: u8 = 3;
    pub const RESIZE: u8 = 4;
    pub const SIGNAL: u8 = 5;
    pub const ACK: u8 = 6;
    pub const NOTE: u8 = 7;
    pub const RELEASE: u8 = 8;
}

#[derive(Serialize, Deserialize)]
struct Note {
    key: String,
    value: Option<String>,
}

/// An output frame of `bytes` at `offset`, encoded from the slice.
pub fn output_frame(offset: u64, bytes: &[u8]) -> Vec<u8> {
    let length = u32::try_from(bytes.len() + 9).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(13 + bytes.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.push(tag::OUTPUT);
    frame.extend_from_slice(&offset.to_be_bytes());
    frame.extend_from_slice(bytes);
    frame
}

impl SupervisorFrame {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Hello(hello) => framed(tag::HELLO, &json(hello)),
            Self::Output { offset, bytes } => output_frame(*offset, bytes),
            Self::Stderr(bytes) => framed(tag::STDERR, bytes),
            Self::Exited(exit) => framed(tag::EXITED, &json(exit)),
            Self::Refused(why) => framed(tag::REFUSED, why.as_bytes()),
        }
    }

    pub fn decode(tag: u8, payload: Vec<u8>) -> Result<Self, SupervisorError> {
        Ok(match tag {
            tag::HELLO => Self::Hello(parse(&payload, "hello")?),
            tag::OUTPUT => {
                let (offset, bytes) = split_u64(payload, "output")?;
                Self::Output { offset, bytes }
            }
            tag::STDERR => Self::Stderr(payload),
            tag::EXITED => Self::Exited(parse(&payload, "exit")?),
            tag::REFUSED => Self::Refused(String::from_utf8_lossy(&payload).into_owned()),
            other => return Err(unknown(other)),
        })
    }
}

impl DaemonFrame {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Hello(hello) => framed(tag::HELLO, &json(hello)),
            Self::Input(bytes) => framed(tag::INPUT, bytes),
            Self::CloseInput => framed(tag::CLOSE_INPUT, &[]),
            Self::Resize { cols, rows } => {
                let mut payload = cols.to_be_bytes().to_vec();
                payload.extend_from_slice(&rows.to_be_bytes());
                framed(tag::RESIZE, &payload)
            }
            Self::Signal(signal) => framed(tag::SIGNAL, &signal.to_be_bytes()),
            Self::Ack(offset) => framed(tag::ACK, &offset.to_be_bytes()),
            Self::Note { key, value } => {
                let note = Note {
                    key: key.clone(),
                    value: value.clone(),
                };
                framed(tag::NOTE, &json(&note))
            }
            Self::Release => framed(tag::RELEASE, &[]),
        }
    }

    pub fn decode(tag: u8, payload: Vec<u8>) -> Result<Self, SupervisorError> {
        Ok(match tag {
            tag::HELLO => Self::Hello(parse(&payload, "hello")?),
            tag::INPUT => Self::Input(payload),
            tag::CLOSE_INPUT => Self::CloseInput,
            tag::RESIZE => match payload[..] {
                [c1, c2, r1, r2] => Self::Resize {
                    cols: u16::from_be_bytes([c1, c2]),
                    rows: u16::from_be_bytes([r1, r2]),
                },
                _ => return Err(malformed("resize")),
            },
            tag::SIGNAL => {
                let bytes: [u8; 4] = payload[..].try_into().map_err(|_| malformed("signal"))?;
                Self::Signal(i32::from_be_bytes(bytes))
            }
            tag::ACK => {
                let (offset, _) = split_u64(payload, "ack")?;
                Self::Ack(offset)
            }
            tag::NOTE => {
                let note: Note = parse(&payload, "note")?;
                Self::Note {
                    key: note.key,
                    value: note.value,
                }
            }
            tag::RELEASE => Self::Release,
            other => return Err(unknown(other)),
        })
    }
}

/// Read one frame's tag and payload; `None` at a clean end of stream.
pub async fn read_frame(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<Option<(u8, Vec<u8>)>, SupervisorError> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(SupervisorError::Io(e)),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length == 0 || length > MAX_FRAME {
        return Err(SupervisorError::Protocol(format!(
            "a frame of {length} bytes (at most {MAX_FRAME})"
        )));
    }
    let tag = reader.read_u8().await?;
    let mut payload = vec![0u8; length - 1];
    reader.read_exact(&mut payload).await?;
    Ok(Some((tag, payload)))
}

pub async fn write_frame(
    writer: &mut (impl AsyncWrite + Unpin),
    frame: &[u8],
) -> Result<(), SupervisorError> {
    writer.write_all(frame).await?;
    writer.flush().await?;
    Ok(())
}

/// Output bytes per frame, well under [`MAX_FRAME`].
pub const OUTPUT_CHUNK: usize = 64 * 1024;

fn framed(tag: u8, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len() + 1).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.push(tag);
    frame.extend_from_slice(payload);
    frame
}

fn json(value: &impl Serialize) -> Vec<u8> {
    // Plain data with string keys: serializing cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(payload: &[u8], what: &str) -> Result<T, SupervisorError> {
    serde_json::from_slice(payload)
        .map_err(|e| SupervisorError::Protocol(format!("a malformed {what}: {e}")))
}

fn split_u64(mut payload: Vec<u8>, what: &str) -> Result<(u64, Vec<u8>), SupervisorError> {
    let offset: [u8; 8] = payload
        .get(..8)
        .and_then(|head| head.try_into().ok())
        .ok_or_else(|| malformed(what))?;
    payload.drain(..8);
    Ok((u64::from_be_bytes(offset), payload))
}

fn malformed(what: &str) -> SupervisorError {
    SupervisorError::Protocol(format!("a malformed {what} frame"))
}

fn unknown(tag: u8) -> SupervisorError {
    SupervisorError::Protocol(format!("an unknown frame tag {tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn round_trip_daemon(frame: DaemonFrame) -> DaemonFrame {
        let bytes = frame.encode();
        let (tag, payload) = read_frame(&mut &bytes[..]).await.unwrap().unwrap();
        DaemonFrame::decode(tag, payload).unwrap()
    }

    async fn round_trip_supervisor(frame: SupervisorFrame) -> SupervisorFrame {
        let bytes = frame.encode();
        let (tag, payload) = read_frame(&mut &bytes[..]).await.unwrap().unwrap();
        SupervisorFrame::decode(tag, payload).unwrap()
    }

    #[tokio::test]
    async fn every_frame_reads_back_as_written() {
        let daemon = [
            DaemonFrame::Hello(DaemonHello {
                protocol: PROTOCOL,
                resume_from: 7,
            }),
            DaemonFrame::Input(b"{\"x\":1}\n".to_vec()),
            DaemonFrame::CloseInput,
            DaemonFrame::Resize {
                cols: 120,
                rows: 40,
            },
            DaemonFrame::Signal(9),
            DaemonFrame::Ack(u64::MAX - 1),
            DaemonFrame::Note {
                key: "k".to_owned(),
                value: Some("v".to_owned()),
            },
            DaemonFrame::Note {
                key: "k".to_owned(),
                value: None,
            },
            DaemonFrame::Release,
        ];
        for frame in daemon {
            assert_eq!(round_trip_daemon(frame.clone()).await, frame);
        }
        let supervisor = [
            SupervisorFrame::Hello(SupervisorHello {
                protocol: PROTOCOL,
                pid: 1,
                child_pid: 2,
                version: "0.1.0".to_owned(),
                attachments: 3,
                spool_start: 4,
                spool_end: 5,
                notes: BTreeMap::from([("a".to_owned(), "b".to_owned())]),
            }),
            SupervisorFrame::Output {
                offset: 1 << 40,
                bytes: b"out".to_vec(),
            },
            SupervisorFrame::Stderr(b"err".to_vec()),
            SupervisorFrame::Exited(ChildExit {
                code: None,
                signal: Some(9),
            }),
            SupervisorFrame::Refused("no".to_owned()),
        ];
        for frame in supervisor {
            assert_eq!(round_trip_supervisor(frame.clone()).await, frame);
        }
    }

    #[tokio::test]
    async fn a_bad_frame_is_an_error_that_says_what() {
        let oversized = (u32::try_from(MAX_FRAME).unwrap() + 1).to_be_bytes();
        let error = read_frame(&mut &oversized[..]).await.unwrap_err();
        assert!(error.to_string().contains("at most"), "{error}");
        let error = DaemonFrame::decode(99, Vec::new()).unwrap_err();
        assert!(
            error.to_string().contains("unknown frame tag 99"),
            "{error}"
        );
        let error = DaemonFrame::decode(tag::SIGNAL, vec![1]).unwrap_err();
        assert!(error.to_string().contains("signal"), "{error}");
        assert!(read_frame(&mut &[][..]).await.unwrap().is_none());
    }
}
