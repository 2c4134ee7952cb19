//! The supervisor process: `vpd supervise DIR`. It starts the program, then
//! serves one daemon at a time on `DIR/supervisor.sock`: output from the
//! offset the daemon asks for, input, resizes, signals, notes. When the
//! daemon goes away the program runs on and its output waits in the spool;
//! the supervisor exits once a daemon has taken the program's exit.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::SupervisorError;
use crate::child::{ChildIo, Launch};
use crate::spool::{SPOOL_LIMIT, Spool};
use crate::wire::{
    self, ChildExit, DaemonFrame, DaemonHello, OUTPUT_CHUNK, PROTOCOL, SupervisorFrame,
    SupervisorHello,
};

/// The socket a supervisor listens on, in the session's directory.
pub const SOCKET: &str = "supervisor.sock";

/// Stderr bytes kept while no daemon is attached; later ones are counted, not kept.
const STDERR_LIMIT: usize = 256 * 1024;

/// How long, once the program exited, its output may take to end (a
/// grandchild may hold the pipe open forever).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// How often the supervisor checks that its session still exists.
const LOOK_AROUND: Duration = Duration::from_secs(5);

/// Frames queued to the daemon before the supervisor waits for it.
const OUTBOX: usize = 16;

/// Run as the supervisor of the session whose directory is `dir`: the launch
/// is read from stdin, `ready PID CHILD_PID` goes to stdout once the program
/// runs and the socket listens.
pub fn run(dir: &Path) -> Result<(), SupervisorError> {
    // Out of the daemon's session and process group: a Ctrl-C or hangup
    // meant for the daemon does not reach us.
    let _ = nix::unistd::setsid();
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let launch: Launch = serde_json::from_str(&input)
        .map_err(|e| SupervisorError::Protocol(format!("a malformed launch on stdin: {e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let socket = dir.join(SOCKET);
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).map_err(|source| SupervisorError::Bind {
            path: socket.clone(),
            source,
        })?;
        let child = ChildIo::start(&launch)?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "ready {} {}", std::process::id(), child.pid)?;
        stdout.flush()?;
        Supervisor::new(child).serve(listener, dir).await
    })
}

struct Attached {
    frames: mpsc::Receiver<Result<DaemonFrame, SupervisorError>>,
    outbox: mpsc::Sender<Vec<u8>>,
    /// Set once the daemon's hello came: the next offset to send.
    sent: Option<u64>,
    exit_sent: bool,
}

struct Supervisor {
    child: ChildIo,
    spool: Spool,
    notes: BTreeMap<String, String>,
    attachments: u32,
    stderr: Vec<u8>,
    stderr_dropped: usize,
    output_done: bool,
    exit: Option<ChildExit>,
    drain_deadline: Option<Instant>,
    daemon: Option<Attached>,
    released: bool,
    terminating: bool,
}

impl Supervisor {
    fn new(child: ChildIo) -> Self {
        Self {
            child,
            spool: Spool::default(),
            notes: BTreeMap::new(),
            attachments: 0,
            stderr: Vec::new(),
            stderr_dropped: 0,
            output_done: false,
            exit: None,
            drain_deadline: None,
            daemon: None,
            released: false,
            terminating: false,
        }
    }

    async fn serve(mut self, listener: UnixListener, dir: &Path) -> Result<(), SupervisorError> {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut look_around = tokio::time::interval(LOOK_AROUND);
        let mut stderr = self.child.stderr.take();
        let mut exit = self.child.exit.take();
        loop {
            let can_read = !self.output_done && !self.is_full();
            let deadline = self.drain_deadline.unwrap_or_else(Instant::now);
            let wants_to_send = self.has_something_to_send();
            let outbox = self.daemon.as_ref().map(|d| d.outbox.clone());
            tokio::select! {
                chunk = self.child.output.recv(), if can_read => match chunk {
                    Some(bytes) => self.spool.push(bytes),
                    None => self.output_done = true,
                },
                chunk = recv_some(&mut stderr) => match chunk {
                    Some(bytes) => self.keep_stderr(&bytes),
                    None => stderr = None,
                },
                status = recv_exit(&mut exit) => {
                    exit = None;
                    self.exit = Some(status);
                    self.drain_deadline = Some(Instant::now() + DRAIN_AFTER_EXIT);
                }
                () = tokio::time::sleep_until(deadline), if self.drain_deadline.is_some() && !self.output_done => {
                    self.output_done = true;
                }
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        self.attach(stream).await;
                    }
                }
                frame = recv_frame(&mut self.daemon) => match frame {
                    Some(Ok(frame)) => self.on_frame(frame),
                    Some(Err(e)) => {
                        tracing::warn!("the daemon's connection failed: {e}");
                        self.daemon = None;
                    }
                    None => self.daemon = None,
                },
                permit = reserve(outbox), if wants_to_send => {
                    if let Some(permit) = permit {
                        self.send_next(permit);
                    }
                }
                _ = terminate.recv() => {
                    self.terminating = true;
                    self.child.signal(nix::sys::signal::Signal::SIGTERM as i32);
                }
                // A session deleted with its data home (or a temp home gone)
                // has nobody left to come back for it.
                _ = look_around.tick(), if !self.terminating => {
                    if !dir.exists() {
                        self.terminating = true;
                        self.child.signal(nix::sys::signal::Signal::SIGKILL as i32);
                    }
                }
            }
            if self.released || (self.terminating && self.exit.is_some()) {
                let _ = std::fs::remove_file(dir.join(SOCKET));
                return Ok(());
            }
        }
    }

    /// Whether to stop reading the program. With a daemon attached, what it
    /// has not been sent yet counts (what it was sent waits for the end of
    /// a line, which may be longer than the spool); without, all held does.
    fn is_full(&self) -> bool {
        let unsent_from = self
            .daemon
            .as_ref()
            .and_then(|d| d.sent)
            .unwrap_or(self.spool.start());
        self.spool.end() - unsent_from >= SPOOL_LIMIT
    }

    fn keep_stderr(&mut self, bytes: &[u8]) {
        let room = STDERR_LIMIT.saturating_sub(self.stderr.len());
        let kept = bytes.len().min(room);
        self.stderr.extend_from_slice(&bytes[..kept]);
        self.stderr_dropped += bytes.len() - kept;
    }

    async fn attach(&mut self, stream: UnixStream) {
        let (mut reader, mut writer) = stream.into_split();
        let hello = SupervisorHello {
            protocol: PROTOCOL,
            pid: std::process::id(),
            child_pid: self.child.pid,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            attachments: self.attachments,
            spool_start: self.spool.start(),
            spool_end: self.spool.end(),
            notes: self.notes.clone(),
        };
        let (outbox, mut outgoing) = mpsc::channel::<Vec<u8>>(OUTBOX);
        let _ = outbox.try_send(SupervisorFrame::Hello(hello).encode());
        tokio::spawn(async move {
            while let Some(frame) = outgoing.recv().await {
                if wire::write_frame(&mut writer, &frame).await.is_err() {
                    break;
                }
            }
        });
        let (incoming, frames) = mpsc::channel(OUTBOX);
        tokio::spawn(async move {
            loop {
                let frame = match wire::read_frame(&mut reader).await {
                    Ok(Some((tag, payload))) => DaemonFrame::decode(tag, payload),
                    Ok(None) => break,
                    Err(e) => Err(e),
                };
                let failed = frame.is_err();
                if incoming.send(frame).await.is_err() || failed {
                    break;
                }
            }
        });
        // A new daemon replaces the old one, which is gone or going.
        self.daemon = Some(Attached {
            frames,
            outbox,
            sent: None,
            exit_sent: false,
        });
        self.attachments += 1;
    }

    fn on_frame(&mut self, frame: DaemonFrame) {
        match frame {
            DaemonFrame::Hello(hello) => self.greet(&hello),
            DaemonFrame::Input(bytes) => {
                if let Some(input) = &self.child.input {
                    let _ = input.send(bytes);
                }
            }
            DaemonFrame::CloseInput => self.child.input = None,
            DaemonFrame::Resize { cols, rows } => self.child.resize(cols, rows),
            DaemonFrame::Signal(signal) => self.child.signal(signal),
            DaemonFrame::Ack(offset) => self.spool.release(offset.min(self.spool.end())),
            DaemonFrame::Note { key, value } => match value {
                Some(value) => {
                    self.notes.insert(key, value);
                }
                None => {
                    self.notes.remove(&key);
                }
            },
            DaemonFrame::Release => self.released = self.exit.is_some(),
        }
    }

    fn greet(&mut self, hello: &DaemonHello) {
        let Some(daemon) = self.daemon.as_mut() else {
            return;
        };
        let (start, end) = (self.spool.start(), self.spool.end());
        if hello.resume_from < start || hello.resume_from > end {
            let why = format!(
                "cannot resume from output offset {}: this supervisor holds {start}..{end}",
                hello.resume_from
            );
            let _ = daemon
                .outbox
                .try_send(SupervisorFrame::Refused(why).encode());
            return;
        }
        self.spool.release(hello.resume_from);
        daemon.sent = Some(hello.resume_from);
    }

    fn has_something_to_send(&self) -> bool {
        let Some(daemon) = &self.daemon else {
            return false;
        };
        let Some(sent) = daemon.sent else {
            return false;
        };
        sent < self.spool.end()
            || !self.stderr.is_empty()
            || self.stderr_dropped > 0
            || (self.exit_ready() && !daemon.exit_sent)
    }

    fn exit_ready(&self) -> bool {
        self.exit.is_some() && self.output_done
    }

    fn send_next(&mut self, permit: mpsc::OwnedPermit<Vec<u8>>) {
        let exit_ready = self.exit_ready();
        let Some(daemon) = self.daemon.as_mut() else {
            return;
        };
        let Some(sent) = daemon.sent else {
            return;
        };
        if self.stderr_dropped > 0 && self.stderr.len() < STDERR_LIMIT {
            let note = format!(
                "[vpd: {} bytes of stderr were not kept while no daemon was attached]\n",
                self.stderr_dropped
            );
            self.stderr_dropped = 0;
            permit.send(SupervisorFrame::Stderr(note.into_bytes()).encode());
        } else if !self.stderr.is_empty() {
            let bytes = std::mem::take(&mut self.stderr);
            permit.send(SupervisorFrame::Stderr(bytes).encode());
        } else if let Some(bytes) = self.spool.read_at(sent, OUTPUT_CHUNK) {
            daemon.sent = Some(sent + bytes.len() as u64);
            permit.send(wire::output_frame(sent, bytes));
        } else if exit_ready && !daemon.exit_sent {
            daemon.exit_sent = true;
            if let Some(exit) = &self.exit {
                permit.send(SupervisorFrame::Exited(exit.clone()).encode());
            }
        }
    }
}

async fn recv_some(receiver: &mut Option<mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match receiver {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_exit(exit: &mut Option<oneshot::Receiver<ChildExit>>) -> ChildExit {
    match exit {
        Some(exit) => exit.await.unwrap_or(ChildExit {
            code: None,
            signal: None,
        }),
        None => std::future::pending().await,
    }
}

async fn recv_frame(daemon: &mut Option<Attached>) -> Option<Result<DaemonFrame, SupervisorError>> {
    match daemon {
        Some(daemon) => daemon.frames.recv().await,
        None => std::future::pending().await,
    }
}

async fn reserve(outbox: Option<mpsc::Sender<Vec<u8>>>) -> Option<mpsc::OwnedPermit<Vec<u8>>> {
    outbox?.reserve_owned().await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{Link, Output};

    /// A supervisor for `script` served from this process, in `dir`.
    fn supervise(dir: &Path, script: &str) -> tokio::task::JoinHandle<Result<(), SupervisorError>> {
        let launch = Launch {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: dir.to_owned(),
            env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
            terminal: None,
        };
        let listener = UnixListener::bind(dir.join(SOCKET)).unwrap();
        let child = ChildIo::start(&launch).unwrap();
        let dir = dir.to_owned();
        tokio::spawn(async move { Supervisor::new(child).serve(listener, &dir).await })
    }

    async fn output_until(outputs: &mut mpsc::Receiver<Output>, text: &str) -> (String, u64) {
        let mut seen = String::new();
        let mut end = 0;
        while !seen.contains(text) {
            match tokio::time::timeout(Duration::from_secs(10), outputs.recv()).await {
                Ok(Some(Output::Bytes { offset, bytes })) => {
                    end = offset + bytes.len() as u64;
                    seen.push_str(&String::from_utf8_lossy(&bytes));
                }
                Ok(Some(Output::Stderr(_))) => {}
                other => panic!("{other:?} before {text:?}; seen {seen:?}"),
            }
        }
        (seen, end)
    }

    #[tokio::test]
    async fn a_daemon_that_comes_back_gets_what_it_had_not_stored_and_the_exit() {
        let dir = tempfile::tempdir().unwrap();
        let served = supervise(dir.path(), "echo one; read x; echo got-$x; read y; exit 3");
        let (link, mut outputs) = Link::connect(dir.path(), 0).await.unwrap();
        assert_eq!(link.hello().attachments, 0);
        let (_, stored) = output_until(&mut outputs, "one\n").await;
        link.ack(stored);
        link.note("kept", Some("for the next".into()));
        link.input(b"hi\n".to_vec());
        output_until(&mut outputs, "got-hi\n").await;
        // The daemon dies having stored only "one\n".
        drop((link, outputs));

        let (link, mut outputs) = Link::connect(dir.path(), stored).await.unwrap();
        let hello = link.hello();
        assert_eq!((hello.attachments, hello.spool_start), (1, stored));
        assert_eq!(
            hello.notes.get("kept").map(String::as_str),
            Some("for the next")
        );
        let (again, _) = output_until(&mut outputs, "got-hi\n").await;
        assert_eq!(again, "got-hi\n", "exactly what was not stored");
        link.input(b"\n".to_vec());
        match tokio::time::timeout(Duration::from_secs(10), outputs.recv()).await {
            Ok(Some(Output::Exited(exit))) => assert_eq!(exit.code, Some(3)),
            other => panic!("expected the exit, got {other:?}"),
        }
        link.release();
        served.await.unwrap().unwrap();
        assert!(!dir.path().join(SOCKET).exists(), "the socket goes with it");
    }

    #[tokio::test]
    async fn a_resume_outside_what_is_held_is_refused_with_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let _served = supervise(dir.path(), "echo hello; sleep 30");
        let (_link, mut outputs) = Link::connect(dir.path(), 1000).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(10), outputs.recv()).await {
            Ok(Some(Output::Lost(why))) => {
                assert!(
                    why.contains("cannot resume from output offset 1000"),
                    "{why}"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_supervisor_of_a_newer_protocol_is_named_not_misread() {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join(SOCKET)).unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let hello = SupervisorHello {
                protocol: PROTOCOL + 1,
                pid: 1,
                child_pid: 2,
                version: "9.9.9".into(),
                attachments: 0,
                spool_start: 0,
                spool_end: 0,
                notes: BTreeMap::new(),
            };
            wire::write_frame(&mut stream, &SupervisorFrame::Hello(hello).encode())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let error = Link::connect(dir.path(), 0).await.unwrap_err();
        let said = error.to_string();
        assert!(said.contains("vpd 9.9.9"), "{said}");
        assert!(
            said.contains(&format!("protocol {}", PROTOCOL + 1)),
            "{said}"
        );
    }
}
