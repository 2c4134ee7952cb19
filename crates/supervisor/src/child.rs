//! Starting the supervised program, on pipes (an ACP agent) or in a PTY (a
//! terminal program), behind one shape: output chunks that are read only as
//! fast as they are taken, input, the exit.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;

use portable_pty::{CommandBuilder, MasterPty, PtySize};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::SupervisorError;
use crate::wire::{ChildExit, OUTPUT_CHUNK};

/// What the supervisor runs: the whole environment is given, nothing is
/// inherited.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// Run in a PTY of this size (columns, rows) instead of on pipes.
    pub terminal: Option<(u16, u16)>,
}

/// A running program as the supervisor sees it.
pub struct ChildIo {
    pub pid: u32,
    /// What it writes (stdout, or its terminal). Bounded: while nobody takes
    /// a chunk, the program's writes block.
    pub output: mpsc::Receiver<Vec<u8>>,
    /// What it writes to stderr (pipes only).
    pub stderr: Option<mpsc::Receiver<Vec<u8>>>,
    /// Its stdin; dropping the sender closes it.
    pub input: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// Taken by whoever waits for the exit.
    pub exit: Option<oneshot::Receiver<ChildExit>>,
    /// The PTY's master side, to resize it.
    pub master: Option<Box<dyn MasterPty + Send>>,
}

impl ChildIo {
    pub fn start(launch: &Launch) -> Result<Self, SupervisorError> {
        match launch.terminal {
            None => start_piped(launch),
            Some((cols, rows)) => start_pty(launch, cols, rows),
        }
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        if let Some(master) = &self.master {
            let size = PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            };
            if let Err(e) = master.resize(size) {
                tracing::warn!("cannot resize the terminal: {e}");
            }
        }
    }

    /// Signal the program's process group (it leads one).
    pub fn signal(&self, signal: i32) {
        let Ok(signal) = nix::sys::signal::Signal::try_from(signal) else {
            tracing::warn!("ignoring unknown signal {signal}");
            return;
        };
        let Ok(pid) = i32::try_from(self.pid) else {
            return;
        };
        let group = nix::unistd::Pid::from_raw(pid);
        if nix::sys::signal::killpg(group, signal).is_err() {
            let _ = nix::sys::signal::kill(group, signal);
        }
    }
}

fn start_piped(launch: &Launch) -> Result<ChildIo, SupervisorError> {
    let mut command = tokio::process::Command::new(&launch.program);
    command
        .args(&launch.args)
        .current_dir(&launch.cwd)
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().map_err(|source| SupervisorError::Spawn {
        program: launch.program.display().to_string(),
        source,
    })?;
    let pid = child.id().unwrap_or_default();
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(SupervisorError::Protocol("stdio was not piped".to_owned()));
    };
    let (exit_tx, exit) = oneshot::channel();
    tokio::spawn(async move {
        let exit = match child.wait().await {
            Ok(status) => exit_of(status),
            Err(_) => ChildExit {
                code: None,
                signal: None,
            },
        };
        let _ = exit_tx.send(exit);
    });
    let (input, mut inputs) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        let mut stdin = stdin;
        while let Some(bytes) = inputs.recv().await {
            if stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err() {
                break;
            }
        }
    });
    Ok(ChildIo {
        pid,
        output: read_chunks(stdout),
        stderr: Some(read_chunks(stderr)),
        input: Some(input),
        exit: Some(exit),
        master: None,
    })
}

fn exit_of(status: std::process::ExitStatus) -> ChildExit {
    use std::os::unix::process::ExitStatusExt;
    ChildExit {
        code: status.code(),
        signal: status.signal(),
    }
}

/// Chunks of `reader`, read only once the previous one was taken.
fn read_chunks(mut reader: impl AsyncRead + Unpin + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut buffer = vec![0u8; OUTPUT_CHUNK];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buffer[..n].to_vec()).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

fn start_pty(launch: &Launch, cols: u16, rows: u16) -> Result<ChildIo, SupervisorError> {
    let failed = |e: &dyn std::fmt::Display| SupervisorError::Spawn {
        program: launch.program.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let size = PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    };
    let pair = portable_pty::native_pty_system()
        .openpty(size)
        .map_err(|e| failed(&e))?;
    let mut command = CommandBuilder::new(&launch.program);
    command.args(&launch.args);
    command.cwd(&launch.cwd);
    command.env_clear();
    for (name, value) in &launch.env {
        command.env(name, value);
    }
    let mut child = pair.slave.spawn_command(command).map_err(|e| failed(&e))?;
    drop(pair.slave);
    let pid = child.process_id().unwrap_or_default();
    let mut reader = pair.master.try_clone_reader().map_err(|e| failed(&e))?;
    let mut writer = pair.master.take_writer().map_err(|e| failed(&e))?;
    let (output_tx, output) = mpsc::channel(1);
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; OUTPUT_CHUNK];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if output_tx.blocking_send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let (input, mut inputs) = mpsc::unbounded_channel::<Vec<u8>>();
    std::thread::spawn(move || {
        while let Some(bytes) = inputs.blocking_recv() {
            if writer.write_all(&bytes).is_err() || writer.flush().is_err() {
                break;
            }
        }
    });
    let (exit_tx, exit) = oneshot::channel();
    std::thread::spawn(move || {
        let exit = match child.wait() {
            Ok(status) => pty_exit(&status),
            Err(_) => ChildExit {
                code: None,
                signal: None,
            },
        };
        let _ = exit_tx.send(exit);
    });
    Ok(ChildIo {
        pid,
        output,
        stderr: None,
        input: Some(input),
        exit: Some(exit),
        master: Some(pair.master),
    })
}

fn pty_exit(status: &portable_pty::ExitStatus) -> ChildExit {
    match status.signal() {
        Some(name) => ChildExit {
            code: None,
            signal: signal_number(name),
        },
        None => ChildExit {
            code: i32::try_from(status.exit_code()).ok(),
            signal: None,
        },
    }
}

/// portable-pty names the signal ("Killed", "Terminated", …); the number is
/// what travels.
fn signal_number(name: &str) -> Option<i32> {
    use nix::sys::signal::Signal;
    let by_description = [
        ("Killed", Signal::SIGKILL),
        ("Terminated", Signal::SIGTERM),
        ("Hangup", Signal::SIGHUP),
        ("Interrupt", Signal::SIGINT),
        ("Quit", Signal::SIGQUIT),
        ("Aborted", Signal::SIGABRT),
        ("Segmentation fault", Signal::SIGSEGV),
    ];
    by_description
        .iter()
        .find(|(description, _)| name.starts_with(description))
        .map(|(_, signal)| *signal as i32)
}
