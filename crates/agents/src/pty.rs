//! Terminal sessions: a program in a PTY. Every byte it writes is appended
//! to the session's `console.log` and fed to an in-memory VT parser (the
//! current screen and its scrollback), then broadcast to attached viewports,
//! all under one lock, so a snapshot and the live bytes after it meet at an
//! exact byte offset: no gap, no duplicate.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use portable_pty::{ChildKiller, MasterPty, PtySize};
use tokio::sync::{broadcast, watch};

use crate::AgentError;
use crate::spawn::{SpawnSpec, spawn_pty};

/// The built-in terminal templates.
pub const TEMPLATES: &[&str] = &["bash", "claude", "codex", "script"];

/// The program a template runs; `script` runs the given command line, as
/// does any template when a command is given.
pub fn template_command(template: &str, command: Option<&str>) -> Result<Vec<String>, String> {
    if let Some(line) = command {
        return Ok(vec!["sh".to_owned(), "-c".to_owned(), line.to_owned()]);
    }
    match template {
        "bash" => Ok(vec!["bash".to_owned()]),
        "claude" => Ok(vec!["claude".to_owned()]),
        "codex" => Ok(vec!["codex".to_owned()]),
        "script" => Err("the `script` template runs a command: give it with --cmd".to_owned()),
        other => Err(format!(
            "unknown template `{other}`; the templates are: {}",
            TEMPLATES.join(", ")
        )),
    }
}

/// Lines of scrollback the parser keeps.
pub const SCROLLBACK_LINES: usize = 10_000;

/// Chunks an attached viewport may fall behind before it re-reads from
/// `console.log`.
const LIVE_BUFFER: usize = 1024;

/// How long, once the program exited, its last output may take to drain.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermSize {
    pub cols: u16,
    pub rows: u16,
}

impl Default for TermSize {
    fn default() -> Self {
        Self { cols: 80, rows: 24 }
    }
}

/// Bytes the program wrote, starting at `offset` of its console log.
#[derive(Debug, Clone)]
pub struct OutputChunk {
    pub offset: u64,
    pub bytes: Arc<[u8]>,
}

/// The screen as it is, and the byte offset of the log it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub size: TermSize,
    /// Escape sequences that draw the screen (contents, cursor, modes) on an
    /// empty terminal of `size`.
    pub screen: String,
    /// The screen as plain text, a line per row.
    pub text: String,
    /// Every byte before this offset is in the screen; live bytes follow it.
    pub offset: u64,
}

/// How the program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtyExit {
    pub code: Option<i32>,
    pub signal: Option<String>,
}

struct Screen {
    parser: vt100::Parser,
    offset: u64,
    log: File,
    live: broadcast::Sender<OutputChunk>,
    last_output: Instant,
}

struct Inner {
    screen: Mutex<Screen>,
    input: Mutex<Box<dyn Write + Send>>,
    master: Mutex<Box<dyn MasterPty + Send>>,
    killer: Mutex<Box<dyn ChildKiller + Send + Sync>>,
    console_log: PathBuf,
    exit: watch::Receiver<Option<PtyExit>>,
}

/// A running (or exited) terminal program. Cloning shares it.
#[derive(Clone)]
pub struct Terminal {
    inner: Arc<Inner>,
}

fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn cells(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

impl Terminal {
    /// Start `spec` in a PTY of `size`, appending its output to `console_log`.
    pub fn start(spec: &SpawnSpec, size: TermSize, console_log: &Path) -> Result<Self, AgentError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(console_log)
            .map_err(|source| AgentError::Spawn {
                program: format!("the console log {}", console_log.display()),
                source,
            })?;
        let offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let (master, mut child) = spawn_pty(spec, pty_size(size))?;
        let reader = master
            .try_clone_reader()
            .map_err(|e| pty_failure(spec, &e))?;
        let input = master.take_writer().map_err(|e| pty_failure(spec, &e))?;
        let (exit_tx, exit) = watch::channel(None);
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let inner = Arc::new(Inner {
            screen: Mutex::new(Screen {
                parser: vt100::Parser::new(cells(size.rows), cells(size.cols), SCROLLBACK_LINES),
                offset,
                log,
                live,
                last_output: Instant::now(),
            }),
            input: Mutex::new(input),
            master: Mutex::new(master),
            killer: Mutex::new(child.clone_killer()),
            console_log: console_log.to_owned(),
            exit,
        });
        let reading = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("vpd-pty-read".to_owned())
                .spawn(move || read_output(&inner, reader))
                .map_err(|source| AgentError::Spawn {
                    program: "the terminal reader thread".to_owned(),
                    source,
                })?
        };
        std::thread::Builder::new()
            .name("vpd-pty-wait".to_owned())
            .spawn(move || {
                let status = child.wait();
                // The last output is read before the exit is told.
                let deadline = Instant::now() + DRAIN_AFTER_EXIT;
                while !reading.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let exit = match status {
                    Ok(status) => PtyExit {
                        code: status
                            .signal()
                            .is_none()
                            .then(|| i32::try_from(status.exit_code()).unwrap_or(i32::MAX)),
                        signal: status.signal().map(str::to_owned),
                    },
                    Err(_) => PtyExit {
                        code: None,
                        signal: None,
                    },
                };
                let _ = exit_tx.send(Some(exit));
            })
            .map_err(|source| AgentError::Spawn {
                program: "the terminal wait thread".to_owned(),
                source,
            })?;
        Ok(Self { inner })
    }

    /// The screen now, and live output from exactly where it ends.
    pub fn attach(&self) -> (Snapshot, broadcast::Receiver<OutputChunk>) {
        let screen = lock(&self.inner.screen);
        let (rows, cols) = screen.parser.screen().size();
        let snapshot = Snapshot {
            size: TermSize {
                cols: cols.get(),
                rows: rows.get(),
            },
            screen: screen.parser.screen().state_formatted(),
            text: screen.parser.screen().contents(),
            offset: screen.offset,
        };
        (snapshot, screen.live.subscribe())
    }

    /// Live output from now on, and the offset where "now" is.
    pub fn follow(&self) -> (u64, broadcast::Receiver<OutputChunk>) {
        let screen = lock(&self.inner.screen);
        (screen.offset, screen.live.subscribe())
    }

    /// Bytes written so far (the console log's length).
    pub fn offset(&self) -> u64 {
        lock(&self.inner.screen).offset
    }

    /// When the program last wrote anything.
    pub fn last_output(&self) -> Instant {
        lock(&self.inner.screen).last_output
    }

    /// Type into the program.
    pub fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut input = lock(&self.inner.input);
        input.write_all(bytes)?;
        input.flush()
    }

    /// Resize the PTY (the program gets SIGWINCH) and the parser's screen.
    pub fn resize(&self, size: TermSize) -> std::io::Result<()> {
        lock(&self.inner.master)
            .resize(pty_size(size))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        lock(&self.inner.screen)
            .parser
            .screen_mut()
            .set_size(cells(size.rows), cells(size.cols));
        Ok(())
    }

    pub fn kill(&self) {
        let _ = lock(&self.inner.killer).kill();
    }

    /// Resolves when the program has exited (and its output drained).
    pub async fn exited(&self) -> PtyExit {
        let mut exit = self.inner.exit.clone();
        loop {
            if let Some(done) = exit.borrow_and_update().clone() {
                return done;
            }
            if exit.changed().await.is_err() {
                return PtyExit {
                    code: None,
                    signal: None,
                };
            }
        }
    }

    pub fn console_log(&self) -> &Path {
        &self.inner.console_log
    }
}

fn pty_size(size: TermSize) -> PtySize {
    PtySize {
        rows: size.rows.max(1),
        cols: size.cols.max(1),
        pixel_width: 0,
        pixel_height: 0,
    }
}

fn read_output(inner: &Inner, mut reader: Box<dyn Read + Send>) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => record(inner, &buffer[..read]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // EIO: every holder of the PTY's other side has closed it.
            Err(_) => break,
        }
    }
}

/// Log, parse and publish one chunk, in that order, under the screen lock.
fn record(inner: &Inner, bytes: &[u8]) {
    let mut screen = lock(&inner.screen);
    if let Err(e) = screen.log.write_all(bytes) {
        tracing::error!(log = %inner.console_log.display(), "cannot append terminal output: {e}");
    }
    screen.parser.process(bytes);
    let chunk = OutputChunk {
        offset: screen.offset,
        bytes: Arc::from(bytes),
    };
    screen.offset += bytes.len() as u64;
    screen.last_output = Instant::now();
    let _ = screen.live.send(chunk);
}

/// Bytes `from..to` of a console log (for a viewport that fell behind or
/// reconnects with an offset).
pub fn read_log(path: &Path, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::with_capacity(usize::try_from(to.saturating_sub(from)).unwrap_or(0));
    file.take(to.saturating_sub(from)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// portable-pty reports its errors as `anyhow` values: kept as words.
pub(crate) fn pty_failure(spec: &SpawnSpec, error: &dyn std::fmt::Display) -> AgentError {
    AgentError::Spawn {
        program: spec.program.display().to_string(),
        source: std::io::Error::other(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(script: &str, dir: &Path) -> SpawnSpec {
        SpawnSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: dir.to_owned(),
            env: Vec::new(),
            stderr_log: None,
            stderr_mask: None,
        }
    }

    #[tokio::test]
    async fn output_is_logged_parsed_and_the_exit_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("console.log");
        let size = TermSize { cols: 40, rows: 5 };
        let terminal = Terminal::start(
            &spec("printf 'hello\\r\\nworld'; exit 7", dir.path()),
            size,
            &log,
        )
        .unwrap();
        let exit = terminal.exited().await;
        assert_eq!(exit.code, Some(7));
        let (snapshot, _) = terminal.attach();
        assert!(
            snapshot.text.starts_with("hello\nworld"),
            "{:?}",
            snapshot.text
        );
        assert_eq!(snapshot.offset, std::fs::metadata(&log).unwrap().len());
        assert_eq!(read_log(&log, 0, 5).unwrap(), b"hello");
    }

    #[tokio::test]
    async fn input_reaches_the_program_and_resize_reaches_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("console.log");
        let terminal = Terminal::start(
            &spec("read line; echo got:$line; stty size", dir.path()),
            TermSize::default(),
            &log,
        )
        .unwrap();
        terminal
            .resize(TermSize {
                cols: 100,
                rows: 30,
            })
            .unwrap();
        terminal.write(b"abc\r").unwrap();
        terminal.exited().await;
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("got:abc"), "{text}");
        assert!(text.contains("30 100"), "{text}");
    }
}
