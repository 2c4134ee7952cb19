//! The daemon's side: start a supervisor for a new session, or connect to
//! one that outlived an earlier daemon, and talk to it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use crate::SupervisorError;
use crate::child::Launch;
use crate::server::SOCKET;
use crate::wire::{
    self, ChildExit, DaemonFrame, DaemonHello, PROTOCOL, SupervisorFrame, SupervisorHello,
};

/// Where a supervisor writes about itself (its own failures, not the program's).
pub const LOG: &str = "supervisor.log";

/// How long a new supervisor may take to start its program.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a supervisor may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes read from a supervisor's socket at once.
const READ_BUFFER: usize = 128 * 1024;

/// Output chunks buffered in the daemon before it stops reading the socket.
const INBOX: usize = 8;

/// What the supervisor sends, in order.
#[derive(Debug)]
pub enum Output {
    /// The program's output at `offset` (each offset arrives once, in order).
    Bytes {
        offset: u64,
        bytes: Vec<u8>,
    },
    Stderr(Vec<u8>),
    /// The program exited; nothing follows.
    Exited(ChildExit),
    /// The supervisor is gone (or refused us) without a word on the program.
    Lost(String),
}

/// A connection to one session's supervisor. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Link {
    control: mpsc::UnboundedSender<DaemonFrame>,
    hello: SupervisorHello,
}

impl Link {
    /// Start `exe supervise DIR` for `launch`, then connect to it.
    pub async fn launch(
        exe: &Path,
        dir: &Path,
        launch: &Launch,
    ) -> Result<(Self, mpsc::Receiver<Output>), SupervisorError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(LOG))?;
        let mut child = tokio::process::Command::new(exe)
            .arg("supervise")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            // No process group here: the supervisor calls setsid itself,
            // which a group leader cannot.
            .spawn()
            .map_err(|source| SupervisorError::Spawn {
                program: format!("the supervisor ({})", exe.display()),
                source,
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            let spec = serde_json::to_vec(launch).unwrap_or_default();
            stdin.write_all(&spec).await?;
        }
        let ready = match child.stdout.take() {
            Some(stdout) => {
                let mut line = String::new();
                let mut stdout = BufReader::new(stdout);
                let read = stdout.read_line(&mut line);
                tokio::time::timeout(START_TIMEOUT, read)
                    .await
                    .is_ok_and(|r| r.is_ok())
                    && line.starts_with("ready ")
            }
            None => false,
        };
        // The supervisor outlives us; reaping it while we live is all we owe.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        if !ready {
            return Err(SupervisorError::Unavailable(failure_from_log(dir)));
        }
        Self::connect(dir, 0).await
    }

    /// Connect to the supervisor in `dir` and ask for its output from `resume_from`.
    pub async fn connect(
        dir: &Path,
        resume_from: u64,
    ) -> Result<(Self, mpsc::Receiver<Output>), SupervisorError> {
        let stream = UnixStream::connect(socket(dir)).await.map_err(|e| {
            SupervisorError::Unavailable(format!(
                "its supervisor is gone: nothing answers on {SOCKET} ({e})"
            ))
        })?;
        let (mut reader, mut writer) = stream.into_split();
        let first = tokio::time::timeout(HELLO_TIMEOUT, wire::read_frame(&mut reader))
            .await
            .map_err(|_| {
                SupervisorError::Unavailable("the supervisor did not say hello".into())
            })??;
        let hello = match first {
            Some((tag, payload)) => match SupervisorFrame::decode(tag, payload) {
                Ok(SupervisorFrame::Hello(hello)) => hello,
                Ok(other) => {
                    return Err(SupervisorError::Protocol(format!(
                        "expected a hello, got {other:?}"
                    )));
                }
                Err(e) => {
                    return Err(SupervisorError::Protocol(format!(
                        "cannot read the supervisor's hello: {e}"
                    )));
                }
            },
            None => {
                return Err(SupervisorError::Unavailable(
                    "the supervisor hung up".into(),
                ));
            }
        };
        if hello.protocol > PROTOCOL {
            return Err(SupervisorError::Incompatible {
                theirs: hello.protocol,
                version: hello.version,
            });
        }
        let greeting = DaemonFrame::Hello(DaemonHello {
            protocol: PROTOCOL,
            resume_from,
        });
        wire::write_frame(&mut writer, &greeting.encode()).await?;
        let (control, mut frames) = mpsc::unbounded_channel::<DaemonFrame>();
        tokio::spawn(async move {
            while let Some(frame) = frames.recv().await {
                if wire::write_frame(&mut writer, &frame.encode())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        let (outputs, inbox) = mpsc::channel(INBOX);
        tokio::spawn(read_outputs(reader, outputs, hello.pid));
        Ok((Self { control, hello }, inbox))
    }

    pub fn hello(&self) -> &SupervisorHello {
        &self.hello
    }

    pub fn input(&self, bytes: Vec<u8>) {
        self.send(DaemonFrame::Input(bytes));
    }

    pub fn close_input(&self) {
        self.send(DaemonFrame::CloseInput);
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        self.send(DaemonFrame::Resize { cols, rows });
    }

    pub fn signal(&self, signal: i32) {
        self.send(DaemonFrame::Signal(signal));
    }

    /// Output before `offset` is stored for good.
    pub fn ack(&self, offset: u64) {
        self.send(DaemonFrame::Ack(offset));
    }

    /// Keep `value` under `key` for the next daemon (none forgets it).
    pub fn note(&self, key: impl Into<String>, value: Option<String>) {
        self.send(DaemonFrame::Note {
            key: key.into(),
            value,
        });
    }

    /// The exit is stored: the supervisor may go.
    pub fn release(&self) {
        self.send(DaemonFrame::Release);
    }

    /// Kill the program's process group directly, for when the supervisor
    /// itself is gone and cannot be asked.
    pub fn kill_orphaned_program(&self) {
        if let Ok(pid) = i32::try_from(self.hello.child_pid) {
            let group = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
    }

    fn send(&self, frame: DaemonFrame) {
        let _ = self.control.send(frame);
    }
}

async fn read_outputs(
    reader: tokio::net::unix::OwnedReadHalf,
    outputs: mpsc::Sender<Output>,
    pid: u32,
) {
    // A frame is a header and a payload: buffered, that is one read.
    let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
    let gone = loop {
        let frame = match wire::read_frame(&mut reader).await {
            Ok(Some((tag, payload))) => SupervisorFrame::decode(tag, payload),
            Ok(None) => break format!("the session's supervisor (pid {pid}) is gone"),
            Err(e) => Err(e),
        };
        let output = match frame {
            Ok(SupervisorFrame::Output { offset, bytes }) => Output::Bytes { offset, bytes },
            Ok(SupervisorFrame::Stderr(bytes)) => Output::Stderr(bytes),
            Ok(SupervisorFrame::Exited(exit)) => {
                let _ = outputs.send(Output::Exited(exit)).await;
                return;
            }
            Ok(SupervisorFrame::Refused(why)) => break format!("the supervisor refused: {why}"),
            Ok(SupervisorFrame::Hello(_)) => continue,
            // A supervisor killed mid-conversation resets the connection.
            Err(SupervisorError::Io(e)) => {
                break format!("the session's supervisor (pid {pid}) is gone ({e})");
            }
            Err(e) => break format!("the session's supervisor (pid {pid}) failed: {e}"),
        };
        if outputs.send(output).await.is_err() {
            return;
        }
    };
    let _ = outputs.send(Output::Lost(gone)).await;
}

/// Stop the program of a supervisor no daemon will take over (it speaks a
/// newer protocol, or what the session needs to go on is missing), and
/// the supervisor with it. Best effort: the pids come from its hello.
pub async fn abandon(dir: &Path) {
    let Ok(stream) = UnixStream::connect(socket(dir)).await else {
        return;
    };
    let (mut reader, _writer) = stream.into_split();
    let first = tokio::time::timeout(HELLO_TIMEOUT, wire::read_frame(&mut reader)).await;
    let Ok(Ok(Some((tag, payload)))) = first else {
        return;
    };
    let Ok(SupervisorFrame::Hello(hello)) = SupervisorFrame::decode(tag, payload) else {
        return;
    };
    use nix::sys::signal::{Signal, kill, killpg};
    let pid = |pid: u32| nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
    let _ = killpg(pid(hello.child_pid), Signal::SIGKILL);
    // Told to terminate, it goes once it has the program's exit.
    let _ = kill(pid(hello.pid), Signal::SIGTERM);
}

pub fn socket(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

/// Why a supervisor did not start, from the last line of its log.
fn failure_from_log(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join(LOG)).unwrap_or_default();
    match log.lines().rev().find(|line| !line.trim().is_empty()) {
        Some(line) => line.trim().to_owned(),
        None => "the supervisor exited before it was ready".to_owned(),
    }
}
