//! `vpd daemon status`: what a running daemon is doing, read from
//! `daemon.json`, `/proc` and the daemon itself (it is never started here).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use viewport_client::Client;
use viewport_daemon::DataHome;
use viewport_protocol::now_ms;

use crate::commands::print_json;
use crate::commands::session::age;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    running: bool,
    data_home: String,
    data_home_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    daemon: Option<Running>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Running {
    pid: u32,
    version: String,
    started_at: i64,
    uptime_ms: i64,
    /// Resident memory, from `/proc/PID/status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rss_bytes: Option<u64>,
    listen: String,
    socket: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_fingerprint: Option<String>,
    /// Sessions by state.
    sessions: BTreeMap<String, usize>,
}

pub async fn show(json: bool) -> Result<ExitCode> {
    let home = DataHome::from_env()?;
    let daemon = running(&home).await;
    let status = Status {
        running: daemon.is_some(),
        data_home: home.root().display().to_string(),
        data_home_bytes: size_of(home.root()),
        daemon,
    };
    if json {
        print_json(&status)?;
    } else {
        print_text(&status);
    }
    Ok(if status.running {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The daemon of `home`, when one answers on its socket.
async fn running(home: &DataHome) -> Option<Running> {
    let info = home.read_info().ok()?;
    let mut client = Client::connect_unix(&home.socket()).await.ok()?;
    let mut sessions = BTreeMap::new();
    for session in client.list_sessions().await.ok()? {
        *sessions.entry(session.state.to_string()).or_insert(0) += 1;
    }
    Some(Running {
        pid: info.pid,
        version: info.version,
        started_at: info.started_at,
        uptime_ms: now_ms() - info.started_at,
        rss_bytes: rss_of(info.pid),
        listen: info.listen,
        socket: info.socket,
        tls_fingerprint: info.tls_fingerprint,
        sessions,
    })
}

fn print_text(status: &Status) {
    let Some(daemon) = &status.daemon else {
        println!("vpd is not running (data home {})", status.data_home);
        return;
    };
    let sessions: Vec<String> = daemon
        .sessions
        .iter()
        .map(|(state, count)| format!("{count} {state}"))
        .collect();
    let total: usize = daemon.sessions.values().sum();
    println!(
        "vpd {} running, pid {}, up {}",
        daemon.version,
        daemon.pid,
        age(daemon.uptime_ms)
    );
    if let Some(rss) = daemon.rss_bytes {
        println!("memory    {}", megabytes(rss));
    }
    let scheme = if daemon.tls_fingerprint.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "listening {scheme}://{}/ and {}",
        daemon.listen, daemon.socket
    );
    if let Some(fingerprint) = &daemon.tls_fingerprint {
        println!("tls       {fingerprint}");
    }
    println!("sessions  {total} ({})", sessions.join(", "));
    println!(
        "data home {} ({})",
        status.data_home,
        megabytes(status.data_home_bytes)
    );
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Resident set size of a process, from Linux's `/proc`.
fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

/// Bytes of every file under `dir` (symlinks are not followed).
fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => size_of(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
