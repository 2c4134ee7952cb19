//! Terminal sessions from the command line: new, attach, logs, show,
//! artifacts. `attach` puts the terminal in raw mode; Ctrl-b d detaches
//! (Ctrl-b Ctrl-b sends a Ctrl-b), as in tmux.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine;
use tokio::io::AsyncReadExt;
use viewport_client::Client;
use viewport_daemon::DataHome;
use viewport_protocol::state::SessionKind;
use viewport_protocol::{ServerFrame, SessionId, SessionState};

use super::{print_json, resolve_session};
use crate::cli::{JobArgs, ListArgs, LogsArgs, NewArgs, ShowArgs};
use crate::connect::connect;

/// The key that starts a command while attached (Ctrl-b).
const PREFIX: u8 = 0x02;
/// After the prefix: detach.
const DETACH: u8 = b'd';

pub async fn new(args: NewArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let dir = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("cannot use directory {}", args.dir.display()))?;
    let directory = client.add_directory(&dir.to_string_lossy()).await?;
    let size = crossterm::terminal::size().ok();
    let id = client
        .new_terminal(
            directory.directory_id,
            &args.name,
            args.template.as_deref(),
            args.command.as_deref(),
            size,
        )
        .await?;
    if args.detach || !std::io::stdin().is_terminal() {
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    }
    attach_to(client, &id, &args.name).await
}

pub async fn attach(session: &str) -> Result<ExitCode> {
    let mut client = connect().await?;
    let id = resolve_session(&mut client, session).await?;
    attach_to(client, &id, session).await
}

async fn attach_to(mut reader: Client, id: &SessionId, shown: &str) -> Result<ExitCode> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!(
            "`vpd attach` needs a terminal; `vpd logs {shown} --follow` shows the output anywhere"
        );
    }
    let size = crossterm::terminal::size().ok();
    let attached = reader.attach(id, None, size).await?;
    let head = reader.session_state(id).await?.session.last_seq;
    reader.subscribe(id, head).await?;
    let writer = connect().await?;
    let mut stdout = std::io::stdout();
    crossterm::terminal::enable_raw_mode().context("cannot put the terminal in raw mode")?;
    let _restore = RawMode;
    let screen = attached.snapshot.map(|s| s.screen).unwrap_or_default();
    write!(stdout, "\x1b[H\x1b[2J{screen}")?;
    stdout.flush()?;
    let mut keys = tokio::spawn(forward_keys(writer, id.clone()));
    let ended = loop {
        tokio::select! {
            frame = reader.next_frame() => match frame? {
                Some(ServerFrame::TerminalOutput { data, .. }) => {
                    let bytes = base64::engine::general_purpose::STANDARD.decode(data)?;
                    stdout.write_all(&bytes)?;
                    stdout.flush()?;
                }
                Some(ServerFrame::SessionEnded { reason, .. }) => break Some(reason),
                Some(_) => {}
                None => bail!("the daemon closed the connection"),
            },
            done = &mut keys => {
                done??;
                break None;
            }
        }
    };
    drop(_restore);
    match ended {
        Some(reason) => eprintln!("\r\n[{shown} ended: {reason}]"),
        None => eprintln!("\r\n[detached from {shown}; `vpd attach {shown}` to return]"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Keys to the program, window size changes to the terminal, until the
/// detach key.
async fn forward_keys(mut writer: Client, id: SessionId) -> Result<()> {
    let mut stdin = tokio::io::stdin();
    let mut resized =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())?;
    let mut buffer = [0u8; 4096];
    let mut after_prefix = false;
    loop {
        tokio::select! {
            read = stdin.read(&mut buffer) => {
                let read = read?;
                if read == 0 {
                    return Ok(());
                }
                let mut typed = Vec::with_capacity(read);
                for &byte in &buffer[..read] {
                    match (after_prefix, byte) {
                        (false, PREFIX) => after_prefix = true,
                        (true, DETACH) => return Ok(()),
                        (true, other) => {
                            after_prefix = false;
                            // Ctrl-b Ctrl-b types one Ctrl-b; other keys pass with it.
                            typed.push(PREFIX);
                            if other != PREFIX {
                                typed.push(other);
                            }
                        }
                        (false, other) => typed.push(other),
                    }
                }
                if !typed.is_empty() {
                    writer.terminal_input(&id, &String::from_utf8_lossy(&typed)).await?;
                }
            }
            _ = resized.recv() => {
                if let Ok((cols, rows)) = crossterm::terminal::size() {
                    writer.resize(&id, cols, rows).await?;
                }
            }
        }
    }
}

/// Leaves raw mode when dropped, however `attach` ends.
struct RawMode;

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

fn session_dir(id: &SessionId) -> Result<PathBuf> {
    Ok(DataHome::from_env()?.session_dir(id))
}

pub async fn logs(args: LogsArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let id = resolve_session(&mut client, &args.session).await?;
    let log = session_dir(&id)?.join("console.log");
    let bytes = std::fs::read(&log).with_context(|| {
        format!(
            "{} has no terminal output ({})",
            args.session,
            log.display()
        )
    })?;
    let mut stdout = std::io::stdout();
    let shown = tail_lines(&bytes, args.lines);
    write_output(&mut stdout, shown, args.raw)?;
    if args.follow {
        let state = client.session_state(&id).await?.session;
        if state.state == SessionState::Ended {
            return Ok(ExitCode::SUCCESS);
        }
        client.attach(&id, Some(bytes.len() as u64), None).await?;
        loop {
            // A program that exits quietly sends nothing more: look again each second.
            let next = tokio::time::timeout(Duration::from_secs(1), client.next_frame()).await;
            match next {
                Ok(Ok(Some(ServerFrame::TerminalOutput { data, .. }))) => {
                    let bytes = base64::engine::general_purpose::STANDARD.decode(data)?;
                    write_output(&mut stdout, &bytes, args.raw)?;
                }
                Ok(Ok(Some(_))) | Err(_) => {}
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(e.into()),
            }
            if client
                .session_state(&id)
                .await
                .is_ok_and(|s| s.session.state == SessionState::Ended)
            {
                break;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The last `lines` lines of `bytes` (all of it without a count).
fn tail_lines(bytes: &[u8], lines: Option<usize>) -> &[u8] {
    let Some(wanted) = lines else {
        return bytes;
    };
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let start = body
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .nth(wanted.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    if wanted == 0 {
        &bytes[bytes.len()..]
    } else {
        &bytes[start..]
    }
}

fn write_output(out: &mut impl Write, bytes: &[u8], raw: bool) -> Result<()> {
    if raw {
        out.write_all(bytes)?;
    } else {
        let plain = strip_ansi_escapes::strip(bytes);
        out.write_all(
            &plain
                .into_iter()
                .filter(|b| *b != b'\r')
                .collect::<Vec<u8>>(),
        )?;
    }
    out.flush()?;
    Ok(())
}

pub async fn show(args: ShowArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let id = resolve_session(&mut client, &args.session).await?;
    let summary = client.session_state(&id).await?.session;
    let job = client
        .list_jobs()
        .await?
        .into_iter()
        .find(|j| j.session_id.as_ref() == Some(&id))
        .map(|j| j.job_id.to_string());
    let dir = session_dir(&id)?;
    let log = dir.join("console.log");
    let artifacts = dir.join("artifacts");
    if args.json {
        let mut value = serde_json::to_value(&summary)?;
        value["jobId"] = serde_json::json!(job);
        value["consoleLog"] = serde_json::json!(log.exists().then(|| log.display().to_string()));
        value["artifacts"] = serde_json::json!(artifacts.display().to_string());
        print_json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        ("session", summary.session_id.to_string()),
        ("name", summary.name.clone().unwrap_or_default()),
        ("type", format!("{:?}", summary.kind).to_lowercase()),
        ("template", summary.template.clone().unwrap_or_default()),
        ("command", summary.command.join(" ")),
        ("agent", summary.agent.clone()),
        ("directory", summary.cwd.clone()),
        ("status", status_of(&summary)),
        (
            "exit code",
            summary.exit_code.map(|c| c.to_string()).unwrap_or_default(),
        ),
        ("created", format_time(summary.created_at)),
        ("updated", format_time(summary.updated_at)),
        ("artifacts", artifacts.display().to_string()),
        ("job", job.unwrap_or_default()),
    ];
    if log.exists() {
        rows.push(("log", log.display().to_string()));
    }
    for repo in &summary.git {
        rows.push(("git", crate::render::describe_repo(repo)));
    }
    for (label, value) in rows.into_iter().filter(|(_, v)| !v.is_empty()) {
        println!("{label:<10} {value}");
    }
    if summary.kind != SessionKind::Terminal {
        println!();
        print_transcript(&mut client, &id, summary.last_seq).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A session's log from its start to `last_seq`, readably: messages, tool
/// calls with their results, permission decisions, token usage and cost.
async fn print_transcript(
    client: &mut viewport_client::Client,
    id: &viewport_protocol::SessionId,
    last_seq: u64,
) -> Result<()> {
    if last_seq == 0 {
        return Ok(());
    }
    client.subscribe(id, 0).await?;
    let mut printer = crate::render::Printer::stdout();
    while let Some(frame) = client.next_frame().await? {
        if let viewport_protocol::ServerFrame::SessionUpdate { seq, .. } = &frame {
            let seq = *seq;
            printer.frame(&frame);
            if seq >= last_seq {
                break;
            }
        }
    }
    printer.finish();
    Ok(())
}

fn status_of(summary: &viewport_protocol::SessionSummary) -> String {
    match (summary.state, summary.end_reason) {
        (SessionState::Ended, Some(viewport_protocol::EndReason::Killed)) => "stopped".to_owned(),
        (SessionState::Ended, Some(reason)) => reason.to_string(),
        (state, _) => state.to_string(),
    }
}

/// Unix milliseconds as an RFC 3339 UTC time.
fn format_time(ms: i64) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(at).to_string()
}

pub async fn job(args: JobArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let dir = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("cannot use directory {}", args.dir.display()))?;
    let directory = client.add_directory(&dir.to_string_lossy()).await?;
    let job = client
        .enqueue_job(directory.directory_id, &args.command, args.name.as_deref())
        .await?;
    if args.json {
        print_json(&job)?;
    } else {
        println!("{}", job.job_id);
        eprintln!(
            "vpd: job {} is {} (session name `{}`)",
            job.job_id, job.status, job.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn jobs(args: ListArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let jobs = client.list_jobs().await?;
    if args.json {
        print_json(&jobs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if jobs.is_empty() {
        eprintln!("no jobs yet; queue one with `vpd job \"make test\"`");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<40} {:<16} {:<10} {:>4}  {:<20}  COMMAND",
        "JOB", "NAME", "STATUS", "EXIT", "CREATED"
    );
    for job in jobs {
        let exit = job.exit_code.map(|c| c.to_string()).unwrap_or_default();
        println!(
            "{:<40} {:<16} {:<10} {exit:>4}  {:<20}  {}",
            job.job_id,
            job.name,
            job.status.as_str(),
            format_time(job.created_at),
            job.command
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn artifacts(args: ShowArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let id = resolve_session(&mut client, &args.session).await?;
    let dir = session_dir(&id)?.join("artifacts");
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            files.push((entry.file_name().to_string_lossy().into_owned(), size));
        }
    }
    files.sort();
    if args.json {
        let listed: Vec<_> = files
            .iter()
            .map(|(name, size)| serde_json::json!({"name": name, "bytes": size, "path": dir.join(name)}))
            .collect();
        print_json(&listed)?;
    } else if files.is_empty() {
        eprintln!("no artifacts in {}", dir.display());
    } else {
        for (name, size) in files {
            println!("{size:>10}  {}", dir.join(name).display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_takes_the_last_lines() {
        assert_eq!(tail_lines(b"a\nb\nc\n", Some(2)), b"b\nc\n");
        assert_eq!(tail_lines(b"a\nb\nc", Some(2)), b"b\nc");
        assert_eq!(tail_lines(b"a\nb\n", Some(5)), b"a\nb\n");
        assert_eq!(tail_lines(b"a\nb\n", None), b"a\nb\n");
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_795_000_000_000), "2026-11-18T11:06:40Z");
    }
}
