//! Terminal sessions: a program in a PTY, owned by the session's
//! supervisor (which outlives the daemon). Every byte it writes is appended
//! to the session's `console.log` and fed to an in-memory VT parser (the
//! current screen and its scrollback), then broadcast to attached viewports,
//! all under one lock, so a snapshot and the live bytes after it meet at an
//! exact byte offset: no gap, no duplicate. The console log's length is the
//! supervisor's output offset, so a daemon that takes a running terminal
//! over resumes exactly where the log ends.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, watch};
use viewport_supervisor::{Link, Output};

use crate::AgentError;
use crate::spawn::SpawnSpec;

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
    /// Why nothing is known of the exit: the supervisor went without a word.
    pub lost: Option<String>,
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
    link: Link,
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

/// The note that keeps a terminal's size for the next daemon.
const SIZE_NOTE: &str = "terminal-size";

/// How long a program has to go after SIGHUP before it is killed.
const KILL_GRACE: Duration = Duration::from_secs(2);

impl Terminal {
    /// Start `spec` in a PTY of `size` under a supervisor in `session_dir`,
    /// appending its output to `console_log`.
    pub async fn start(
        spec: &SpawnSpec,
        size: TermSize,
        session_dir: &Path,
        console_log: &Path,
    ) -> Result<Self, AgentError> {
        let cells = (size.cols.max(1), size.rows.max(1));
        let (link, outputs) = crate::spawn::supervised(spec, session_dir, Some(cells)).await?;
        let terminal = Self::follow_link(link, outputs, size, console_log, false)?;
        terminal.keep_size(size);
        Ok(terminal)
    }

    /// Take over the terminal program an earlier daemon started in
    /// `session_dir`: its screen is rebuilt from `console_log`, and its
    /// output goes on from where that log ends.
    pub async fn adopt(session_dir: &Path, console_log: &Path) -> Result<Self, AgentError> {
        let logged = std::fs::metadata(console_log).map(|m| m.len()).unwrap_or(0);
        let (link, outputs) = Link::connect(session_dir, logged)
            .await
            .map_err(|e| AgentError::Adoption(e.to_string()))?;
        let size = link
            .hello()
            .notes
            .get(SIZE_NOTE)
            .and_then(|size| size.split_once('x'))
            .and_then(|(cols, rows)| {
                Some(TermSize {
                    cols: cols.parse().ok()?,
                    rows: rows.parse().ok()?,
                })
            })
            .unwrap_or_default();
        Self::follow_link(link, outputs, size, console_log, true)
    }

    fn follow_link(
        link: Link,
        outputs: mpsc::Receiver<Output>,
        size: TermSize,
        console_log: &Path,
        replay: bool,
    ) -> Result<Self, AgentError> {
        let log_failure = |source| AgentError::Spawn {
            program: format!("the console log {}", console_log.display()),
            source,
        };
        let mut parser = vt100::Parser::new(cells(size.rows), cells(size.cols), SCROLLBACK_LINES);
        if replay {
            parser.process(&std::fs::read(console_log).map_err(log_failure)?);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(console_log)
            .map_err(log_failure)?;
        let offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let (exit_tx, exit) = watch::channel(None);
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let inner = Arc::new(Inner {
            screen: Mutex::new(Screen {
                parser,
                offset,
                log,
                live,
                last_output: Instant::now(),
            }),
            link,
            console_log: console_log.to_owned(),
            exit,
        });
        tokio::spawn(read_output(inner.clone(), outputs, exit_tx));
        Ok(Self { inner })
    }

    fn keep_size(&self, size: TermSize) {
        let size = format!("{}x{}", size.cols, size.rows);
        self.inner.link.note(SIZE_NOTE, Some(size));
    }

    /// The program's exit is stored: its supervisor may go.
    pub fn release(&self) {
        self.inner.link.release();
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
        if self.inner.exit.borrow().is_some() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the program has exited",
            ));
        }
        self.inner.link.input(bytes.to_vec());
        Ok(())
    }

    /// Resize the PTY (the program gets SIGWINCH) and the parser's screen.
    pub fn resize(&self, size: TermSize) -> std::io::Result<()> {
        let (cols, rows) = (size.cols.max(1), size.rows.max(1));
        self.inner.link.resize(cols, rows);
        self.keep_size(size);
        lock(&self.inner.screen)
            .parser
            .screen_mut()
            .set_size(cells(rows), cells(cols));
        Ok(())
    }

    /// Hang up on the program, as closing a terminal does; kill it if it
    /// is still there a moment later.
    pub fn kill(&self) {
        use nix::sys::signal::Signal;
        self.inner.link.signal(Signal::SIGHUP as i32);
        let terminal = self.clone();
        tokio::spawn(async move {
            if tokio::time::timeout(KILL_GRACE, terminal.exited())
                .await
                .is_err()
            {
                terminal.inner.link.signal(Signal::SIGKILL as i32);
            }
        });
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
                    lost: Some("the terminal's reader stopped".to_owned()),
                };
            }
        }
    }

    pub fn console_log(&self) -> &Path {
        &self.inner.console_log
    }
}

/// Record the supervisor's output from the console log's end on (output
/// sent again after a takeover is skipped), then tell the exit.
async fn read_output(
    inner: Arc<Inner>,
    mut outputs: mpsc::Receiver<Output>,
    exit: watch::Sender<Option<PtyExit>>,
) {
    let ended = loop {
        match outputs.recv().await {
            Some(Output::Bytes { offset, bytes }) => {
                let logged = lock(&inner.screen).offset;
                let skip = usize::try_from(logged.saturating_sub(offset)).unwrap_or(usize::MAX);
                if offset > logged {
                    tracing::error!(log = %inner.console_log.display(), "terminal output from {offset}, the log ends at {logged}");
                }
                if skip < bytes.len() {
                    record(&inner, &bytes[skip..]);
                }
                // In the console log now: the supervisor may forget it.
                inner.link.ack(offset + bytes.len() as u64);
            }
            Some(Output::Stderr(_)) => {}
            Some(Output::Exited(status)) => {
                break PtyExit {
                    code: status.code,
                    signal: status.signal.map(signal_name),
                    lost: None,
                };
            }
            Some(Output::Lost(why)) => {
                inner.link.kill_orphaned_program();
                break PtyExit {
                    code: None,
                    signal: None,
                    lost: Some(why),
                };
            }
            None => {
                break PtyExit {
                    code: None,
                    signal: None,
                    lost: Some("the connection to the session's supervisor closed".to_owned()),
                };
            }
        }
    };
    let _ = exit.send(Some(ended));
}

fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("signal {signal}"))
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
