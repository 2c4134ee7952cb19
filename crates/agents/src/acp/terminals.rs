//! The client terminal methods: commands an agent runs through us
//! (`terminal/create`, `output`, `wait_for_exit`, `kill`, `release`). Each runs
//! in its own process group with stdout and stderr merged into one output
//! buffer that keeps only its newest `outputByteLimit` bytes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use crate::spawn::{SpawnSpec, spawn_tool_process};

/// Output kept per terminal when the agent names no limit.
pub const DEFAULT_OUTPUT_LIMIT: usize = 1024 * 1024;

/// Terminals open at once per session; a runaway agent cannot fork-bomb us.
pub const MAX_TERMINALS: usize = 64;

/// How a terminal's command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitStatus {
    pub code: Option<u32>,
    pub signal: Option<String>,
}

/// What `terminal/output` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub text: String,
    pub truncated: bool,
    pub exit: Option<ExitStatus>,
}

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("no terminal `{0}` (it was released, or never created)")]
    Unknown(String),
    #[error("{MAX_TERMINALS} terminals are open; release one first")]
    TooMany,
    #[error(transparent)]
    Spawn(#[from] crate::AgentError),
}

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Buffer {
    fn push(&mut self, chunk: &[u8], limit: usize) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > limit {
            let mut cut = self.bytes.len() - limit;
            // Never start the kept text inside a UTF-8 sequence.
            while cut < self.bytes.len() && (self.bytes[cut] & 0xC0) == 0x80 {
                cut += 1;
            }
            self.bytes.drain(..cut);
            self.truncated = true;
        }
    }
}

struct Terminal {
    output: Arc<Mutex<Buffer>>,
    exit: watch::Receiver<Option<ExitStatus>>,
    pid: Option<u32>,
}

/// The terminals of one session, by id.
#[derive(Default)]
pub struct Terminals {
    open: Mutex<HashMap<String, Terminal>>,
    next: std::sync::atomic::AtomicU64,
}

/// A command to run, as the agent asked for it.
pub struct TerminalRequest {
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub output_limit: Option<usize>,
}

impl Terminals {
    /// Start the command; returns the terminal's id.
    pub fn create(&self, request: TerminalRequest) -> Result<String, TerminalError> {
        if self.lock().len() >= MAX_TERMINALS {
            return Err(TerminalError::TooMany);
        }
        // A bare command line with no arguments is run by the shell, as an
        // agent that sends `npm test && echo ok` means it.
        let (program, args) = if request.args.is_empty() && request.command.contains(' ') {
            ("sh".to_owned(), vec!["-c".to_owned(), request.command])
        } else {
            (request.command, request.args)
        };
        let spec = SpawnSpec {
            program: program.into(),
            args,
            cwd: request.cwd,
            env: request.env,
            stderr_log: None,
            stderr_mask: None,
        };
        let mut child = spawn_tool_process(&spec)?;
        let limit = request.output_limit.unwrap_or(DEFAULT_OUTPUT_LIMIT);
        let output = Arc::new(Mutex::new(Buffer::default()));
        let readers = [
            child
                .stdout
                .take()
                .map(|s| collect(s, output.clone(), limit)),
            child
                .stderr
                .take()
                .map(|s| collect(s, output.clone(), limit)),
        ];
        let (exit_tx, exit) = watch::channel(None);
        let pid = child.id();
        tokio::spawn(async move {
            let status = child.wait().await;
            for reader in readers.into_iter().flatten() {
                let _ = reader.await;
            }
            let _ = exit_tx.send(Some(exit_status(status)));
        });
        let id = format!(
            "term_{}",
            self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        self.lock()
            .insert(id.clone(), Terminal { output, exit, pid });
        Ok(id)
    }

    pub fn output(&self, id: &str) -> Result<Output, TerminalError> {
        let open = self.lock();
        let terminal = open.get(id).ok_or_else(|| unknown(id))?;
        let buffer = terminal.output.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Output {
            text: String::from_utf8_lossy(&buffer.bytes).into_owned(),
            truncated: buffer.truncated,
            exit: terminal.exit.borrow().clone(),
        })
    }

    pub async fn wait_for_exit(&self, id: &str) -> Result<ExitStatus, TerminalError> {
        let mut exit = self.lock().get(id).ok_or_else(|| unknown(id))?.exit.clone();
        loop {
            if let Some(status) = exit.borrow_and_update().clone() {
                return Ok(status);
            }
            if exit.changed().await.is_err() {
                return Ok(ExitStatus {
                    code: None,
                    signal: None,
                });
            }
        }
    }

    /// Kill the command; its output stays readable until release.
    pub fn kill(&self, id: &str) -> Result<(), TerminalError> {
        let open = self.lock();
        let terminal = open.get(id).ok_or_else(|| unknown(id))?;
        if terminal.exit.borrow().is_none() {
            kill_group(terminal.pid);
        }
        Ok(())
    }

    /// Kill the command if it runs and forget the terminal.
    pub fn release(&self, id: &str) -> Result<(), TerminalError> {
        let terminal = self.lock().remove(id).ok_or_else(|| unknown(id))?;
        if terminal.exit.borrow().is_none() {
            kill_group(terminal.pid);
        }
        Ok(())
    }

    /// Kill every command still running (the session is going away).
    pub fn kill_all(&self) {
        for terminal in self.lock().values() {
            if terminal.exit.borrow().is_none() {
                kill_group(terminal.pid);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Terminal>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Terminals {
    fn drop(&mut self) {
        self.kill_all();
    }
}

fn unknown(id: &str) -> TerminalError {
    TerminalError::Unknown(id.to_owned())
}

fn collect(
    mut stream: impl AsyncRead + Unpin + Send + 'static,
    output: Arc<Mutex<Buffer>>,
    limit: usize,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut chunk = vec![0u8; 16 * 1024];
        while let Ok(read) = stream.read(&mut chunk).await {
            if read == 0 {
                break;
            }
            output
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(&chunk[..read], limit);
        }
    })
}

fn exit_status(status: std::io::Result<std::process::ExitStatus>) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => ExitStatus {
            code: status.code().and_then(|c| u32::try_from(c).ok()),
            signal: status.signal().map(signal_name),
        },
        Err(_) => ExitStatus {
            code: None,
            signal: None,
        },
    }
}

fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| signal.to_string())
}

fn kill_group(pid: Option<u32>) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(command: &str, args: &[&str], limit: Option<usize>) -> TerminalRequest {
        TerminalRequest {
            command: command.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: vec![("GREETING".into(), "hello".into())],
            cwd: std::env::temp_dir(),
            output_limit: limit,
        }
    }

    #[tokio::test]
    async fn a_command_runs_and_its_output_and_status_are_kept() {
        let terminals = Terminals::default();
        let id = terminals
            .create(request("echo $GREETING; echo oops >&2; exit 3", &[], None))
            .unwrap();
        let status = terminals.wait_for_exit(&id).await.unwrap();
        assert_eq!(status.code, Some(3));
        let output = terminals.output(&id).unwrap();
        assert!(output.text.contains("hello") && output.text.contains("oops"));
        assert!(!output.truncated);
        terminals.release(&id).unwrap();
        assert!(matches!(
            terminals.output(&id),
            Err(TerminalError::Unknown(_))
        ));
    }

    #[tokio::test]
    async fn output_keeps_only_the_newest_bytes() {
        let terminals = Terminals::default();
        let id = terminals
            .create(request("seq", &["1", "1000"], Some(10)))
            .unwrap();
        terminals.wait_for_exit(&id).await.unwrap();
        let output = terminals.output(&id).unwrap();
        assert!(output.truncated);
        assert!(
            output.text.len() <= 10 && output.text.ends_with("1000\n"),
            "{:?}",
            output.text
        );
    }

    #[tokio::test]
    async fn kill_stops_a_running_command() {
        let terminals = Terminals::default();
        let id = terminals.create(request("sleep", &["30"], None)).unwrap();
        terminals.kill(&id).unwrap();
        let status = terminals.wait_for_exit(&id).await.unwrap();
        assert_eq!(status.signal.as_deref(), Some("SIGKILL"));
    }
}
