//! Terminal sessions against tmux, on the same machine in the same run:
//!
//! - capture throughput: `cat` of a large file in a vpd terminal session
//!   (console.log + VT parser) against the same in tmux with `pipe-pane` to a
//!   file; each side is timed until its log holds every byte;
//! - attach time: `vpd attach` against `tmux attach`, each run in a real PTY,
//!   on a session that printed 100k lines, timed until its screen shows the
//!   last line.
//!
//! tmux comes from the system (`apt install tmux`); without it the tmux
//! figures are skipped and said so.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use viewport_testkit::daemon::TestDaemon;

use crate::Sizes;

/// A session's program waits this long before its output starts, so that
/// tmux's `pipe-pane` is in place; both sides wait the same.
const HEAD_START: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_secs(600);

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    println!("\nterminal sessions (vpd against tmux)");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("big.txt");
    let lines = write_text(&file, sizes.terminal_bytes)?;
    let bytes = std::fs::metadata(&file)?.len();
    // The PTY turns each \n into \r\n.
    let expected = bytes + lines;
    let tmux = which_tmux();

    let daemon = TestDaemon::start(vpd).await?;
    let vpd_time = vpd_capture(&daemon, &file, expected).await?;
    println!(
        "  capture: vpd  {:>7.2} s for {} MB  {:>7.1} MB/s",
        vpd_time.as_secs_f64(),
        bytes / 1_000_000,
        bytes as f64 / 1e6 / vpd_time.as_secs_f64()
    );
    match &tmux {
        Some(tmux) => {
            let tmux_time = tmux_capture(tmux, dir.path(), &file, expected)?;
            println!(
                "  capture: tmux {:>7.2} s (pipe-pane)      {:>7.1} MB/s   vpd/tmux throughput {:.2}x",
                tmux_time.as_secs_f64(),
                bytes as f64 / 1e6 / tmux_time.as_secs_f64(),
                tmux_time.as_secs_f64() / vpd_time.as_secs_f64()
            );
        }
        None => println!("  capture: tmux not found (apt install tmux): no baseline"),
    }

    let scrollback = sizes.attach_lines;
    let vpd_attach = vpd_attach_time(vpd, &daemon, scrollback).await?;
    println!(
        "  attach with {scrollback} lines of scrollback: vpd  {:>7.1} ms",
        vpd_attach.as_secs_f64() * 1e3
    );
    if let Some(tmux) = &tmux {
        let tmux_attach = tmux_attach_time(tmux, dir.path(), scrollback)?;
        println!(
            "  attach with {scrollback} lines of scrollback: tmux {:>7.1} ms   vpd/tmux time {:.2}x",
            tmux_attach.as_secs_f64() * 1e3,
            vpd_attach.as_secs_f64() / tmux_attach.as_secs_f64()
        );
    }
    Ok(())
}

/// Lines of text up to about `size` bytes; returns how many lines.
fn write_text(path: &Path, size: u64) -> Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let (mut written, mut lines) = (0u64, 0u64);
    while written < size {
        let line = format!("{lines:>10} the quick brown fox jumps over the lazy dog {lines:x}\n");
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        lines += 1;
    }
    out.flush()?;
    Ok(lines)
}

fn which_tmux() -> Option<PathBuf> {
    let found = Command::new("sh")
        .args(["-c", "command -v tmux"])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_owned();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// Wait until `path` holds `expected` bytes; the time since `start`.
fn wait_for_size(path: &Path, expected: u64, start: Instant) -> Result<Duration> {
    loop {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size >= expected {
            return Ok(start.elapsed());
        }
        if start.elapsed() > TIMEOUT {
            bail!(
                "{} has {size} of {expected} bytes after {TIMEOUT:?}",
                path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

async fn vpd_capture(daemon: &TestDaemon, file: &Path, expected: u64) -> Result<Duration> {
    let directory = daemon.work_directory().await?;
    let mut client = daemon.client().await?;
    let command = format!(
        "sleep {}; cat '{}'; sleep 3600",
        HEAD_START.as_secs_f64(),
        file.display()
    );
    let start = Instant::now();
    let id = client
        .new_terminal(directory, "capture", None, Some(&command), Some((200, 50)))
        .await?;
    let log = daemon
        .home()
        .join("sessions")
        .join(id.as_str())
        .join("console.log");
    let took = tokio::task::spawn_blocking(move || wait_for_size(&log, expected, start)).await??;
    client.kill(&id).await?;
    Ok(took.saturating_sub(HEAD_START))
}

fn tmux_capture(tmux: &Path, dir: &Path, file: &Path, expected: u64) -> Result<Duration> {
    let socket = dir.join("tmux.sock");
    let log = dir.join("tmux-capture.log");
    let command = format!(
        "sleep {}; cat '{}'; sleep 3600",
        HEAD_START.as_secs_f64(),
        file.display()
    );
    let start = Instant::now();
    tmux_new_session(tmux, &socket, "capture", Some(&command))?;
    let pipe = format!("cat >> '{}'", log.display());
    tmux_run(tmux, &socket, &["pipe-pane", "-t", "capture", "-o", &pipe])?;
    let took = wait_for_size(&log, expected, start);
    let _ = tmux_run(tmux, &socket, &["kill-server"]);
    Ok(took?.saturating_sub(HEAD_START))
}

/// A detached 200x50 tmux session running `command` (or a shell).
fn tmux_new_session(tmux: &Path, socket: &Path, name: &str, command: Option<&str>) -> Result<()> {
    let mut args = vec!["new-session", "-d", "-s", name, "-x", "200", "-y", "50"];
    args.extend(command);
    tmux_run(tmux, socket, &args).map(drop)
}

fn tmux_run(tmux: &Path, socket: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(tmux)
        .arg("-S")
        .arg(socket)
        .args(args)
        .env_remove("TMUX")
        .output()
        .with_context(|| format!("cannot run {}", tmux.display()))?;
    if !output.status.success() {
        bail!(
            "tmux {args:?} failed: {} {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Run `command` in a fresh PTY and time until its output contains `needle`.
fn time_until_shown(mut command: portable_pty::CommandBuilder, needle: &str) -> Result<Duration> {
    let pty = portable_pty::native_pty_system()
        .openpty(portable_pty::PtySize {
            rows: 50,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    command.env("TERM", "xterm-256color");
    let start = Instant::now();
    let mut child = pty
        .slave
        .spawn_command(command)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(pty.slave);
    let mut reader = pty
        .master
        .try_clone_reader()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 65536];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 || tx.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let took = loop {
        match rx.recv_timeout(TIMEOUT) {
            Ok(bytes) => {
                seen.extend(bytes);
                if String::from_utf8_lossy(&seen).contains(needle) {
                    break start.elapsed();
                }
            }
            Err(_) => bail!("never saw {needle:?}"),
        }
    };
    let _ = child.kill();
    Ok(took)
}

async fn vpd_attach_time(vpd: &Path, daemon: &TestDaemon, lines: u64) -> Result<Duration> {
    let directory = daemon.work_directory().await?;
    let mut client = daemon.client().await?;
    let command = format!("seq 1 {lines}; echo scroll-done; sleep 3600");
    let id = client
        .new_terminal(directory, "scrolled", None, Some(&command), Some((200, 50)))
        .await?;
    // Wait until the program has written everything.
    loop {
        let attached = client.attach(&id, None, None).await?;
        if attached
            .snapshot
            .is_some_and(|s| s.text.contains("scroll-done"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut command = portable_pty::CommandBuilder::new(vpd);
    command.args(["attach", "scrolled"]);
    command.env("VIEWPORT_HOME", daemon.home());
    let took =
        tokio::task::spawn_blocking(move || time_until_shown(command, "scroll-done")).await??;
    client.kill(&id).await?;
    Ok(took)
}

fn tmux_attach_time(tmux: &Path, dir: &Path, lines: u64) -> Result<Duration> {
    let socket = dir.join("tmux-attach.sock");
    let command = format!("seq 1 {lines}; echo scroll-done; sleep 3600");
    tmux_new_session(tmux, &socket, "scrolled", None)?;
    tmux_run(
        tmux,
        &socket,
        &[
            "set-option",
            "-g",
            "history-limit",
            &(lines + 100).to_string(),
        ],
    )?;
    tmux_run(
        tmux,
        &socket,
        &["respawn-pane", "-k", "-t", "scrolled", &command],
    )?;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let shown = tmux_run(tmux, &socket, &["capture-pane", "-p", "-t", "scrolled"])?;
        if shown.contains("scroll-done") {
            break;
        }
        if Instant::now() > deadline {
            bail!("tmux never finished printing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut command = portable_pty::CommandBuilder::new(tmux);
    command.arg("-S");
    command.arg(&socket);
    command.args(["attach", "-t", "scrolled"]);
    command.env_remove("TMUX");
    let took = time_until_shown(command, "scroll-done");
    let _ = tmux_run(tmux, &socket, &["kill-server"]);
    took
}
