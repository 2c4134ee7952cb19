//! The one place that starts agent processes.
//!
//! Agents do not inherit the daemon's environment: only [`ENV_ALLOWLIST`]
//! passes through, plus what the caller sets explicitly.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::AgentError;
use crate::profile::Resolved;

/// Variables an agent inherits from the daemon.
pub const ENV_ALLOWLIST: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR",
    "TZ",
];

/// Everything needed to start one agent process.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// Where the agent's stderr goes (appended); discarded when `None`.
    pub stderr_log: Option<PathBuf>,
    /// What each stderr line becomes before it is written (secrets masked).
    pub stderr_mask: Option<LineMask>,
}

/// A rewrite of each line of a log, such as masking secrets.
#[derive(Clone)]
pub struct LineMask(Arc<dyn Fn(&str) -> String + Send + Sync>);

impl LineMask {
    pub fn new(mask: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(mask))
    }
}

impl std::fmt::Debug for LineMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LineMask")
    }
}

impl SpawnSpec {
    /// The spec that runs `resolved` in `cwd` with nothing but the allowlist.
    pub fn new(resolved: Resolved, cwd: PathBuf) -> Self {
        Self {
            program: resolved.program,
            args: resolved.args,
            cwd,
            env: Vec::new(),
            stderr_log: None,
            stderr_mask: None,
        }
    }
}

/// The running `vpd` executable. On Linux `/proc/self/exe` still runs the
/// daemon's own binary after it was replaced on disk (an upgrade, a rebuild),
/// when the path `current_exe` names is gone or holds a different version.
pub(crate) fn self_exe() -> Result<PathBuf, AgentError> {
    let proc_self = PathBuf::from("/proc/self/exe");
    if proc_self.exists() {
        return Ok(proc_self);
    }
    std::env::current_exe().map_err(|source| AgentError::Spawn {
        program: "vpd (the running executable)".to_owned(),
        source,
    })
}

/// What a supervisor runs for `spec`: the allowlisted variables of the
/// daemon's environment, then the spec's own, in a PTY of `terminal` size
/// (columns, rows) if given.
pub fn launch_of(spec: &SpawnSpec, terminal: Option<(u16, u16)>) -> viewport_supervisor::Launch {
    let mut env: Vec<(String, String)> = ENV_ALLOWLIST
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|v| ((*name).to_owned(), v)))
        .collect();
    // A terminal program needs a terminal type even when the daemon has none.
    if terminal.is_some() && std::env::var_os("TERM").is_none() {
        env.push(("TERM".to_owned(), "xterm-256color".to_owned()));
    }
    env.extend(spec.env.iter().cloned());
    viewport_supervisor::Launch {
        program: spec.program.clone(),
        args: spec.args.clone(),
        cwd: spec.cwd.clone(),
        env,
        terminal,
    }
}

/// Start `spec` under a supervisor of its own in `session_dir` (in a PTY
/// of `terminal` size, columns and rows, if given) and connect to it.
pub async fn supervised(
    spec: &SpawnSpec,
    session_dir: &std::path::Path,
    terminal: Option<(u16, u16)>,
) -> Result<
    (
        viewport_supervisor::Link,
        tokio::sync::mpsc::Receiver<viewport_supervisor::Output>,
    ),
    AgentError,
> {
    let exe = self_exe()?;
    let launch = launch_of(spec, terminal);
    viewport_supervisor::Link::launch(&exe, session_dir, &launch)
        .await
        .map_err(|e| AgentError::Spawn {
            program: spec.program.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })
}

/// Copy an agent's stderr to its log, line by line through the spec's mask;
/// the task ends once the stderr closes.
pub fn log_stderr(spec: &SpawnSpec) -> Option<(tokio::io::DuplexStream, JoinHandle<()>)> {
    let log = spec.stderr_log.clone()?;
    let (writer, reader) = tokio::io::duplex(64 * 1024);
    let copier = tokio::spawn(copy_lines(reader, log, spec.stderr_mask.clone()));
    Some((writer, copier))
}

/// Longest piece of a line masked at once (a longer line is masked in pieces).
const MAX_LINE_BYTES: u64 = 64 * 1024;

async fn copy_lines(
    stderr: impl tokio::io::AsyncRead + Unpin,
    log: PathBuf,
    mask: Option<LineMask>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let opened = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .await;
    let mut file = match opened {
        Ok(file) => Some(file),
        Err(e) => {
            tracing::warn!("cannot write {}: {e}", log.display());
            None
        }
    };
    let mut reader = tokio::io::BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Some(out) = file.as_mut() else { continue };
        let text = String::from_utf8_lossy(&line);
        let masked = match &mask {
            Some(LineMask(mask)) => mask(&text),
            None => text.into_owned(),
        };
        // A tokio file finishes a write only on flush; the tail is read
        // as soon as the agent exits.
        if out.write_all(masked.as_bytes()).await.is_err() || out.flush().await.is_err() {
            file = None;
        }
    }
}

/// Start a command an agent asked to run (an ACP terminal): no stdin,
/// stdout and stderr piped, in a process group of its own so that killing
/// it takes its children too.
pub fn spawn_tool_process(spec: &SpawnSpec) -> Result<Child, AgentError> {
    let mut command = command(spec);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    start(command, spec)
}

fn command(spec: &SpawnSpec) -> Command {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(
            ENV_ALLOWLIST
                .iter()
                .filter_map(|name| std::env::var(name).ok().map(|v| (*name, v))),
        )
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .kill_on_drop(true);
    command
}

fn start(mut command: Command, spec: &SpawnSpec) -> Result<Child, AgentError> {
    command.spawn().map_err(|source| AgentError::Spawn {
        program: spec.program.display().to_string(),
        source,
    })
}

/// The last lines an agent wrote to its stderr log (at most `max_bytes`),
/// to say why it failed.
pub fn stderr_tail(path: &std::path::Path, max_bytes: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let length = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(max_bytes)))
        .ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    // Start at a line boundary unless the whole log fits.
    let text = match (length > max_bytes, text.find('\n')) {
        (true, Some(newline)) => &text[newline + 1..],
        _ => &text[..],
    };
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stderr_tail_starts_at_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("agent.stderr.log");
        assert_eq!(stderr_tail(&log, 100), None);
        std::fs::write(&log, "first line\nsecond line\nthird line\n").unwrap();
        assert_eq!(
            stderr_tail(&log, 1000).as_deref(),
            Some("first line\nsecond line\nthird line")
        );
        assert_eq!(stderr_tail(&log, 20).as_deref(), Some("third line"));
    }
}
