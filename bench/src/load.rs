//! Load and resources. Many viewports on many sessions at a steady total
//! rate for a while: gaps, duplicates, latency and the daemon's memory.
//! Then what the daemon costs: its memory idle with many stored sessions,
//! and per live session.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use viewport_protocol::SessionState;
use viewport_store::{Durability, Writer};
use viewport_testkit::daemon::TestDaemon;

use crate::Sizes;
use crate::latency::watch;

const SESSIONS: usize = 10;
const VIEWPORTS_PER_SESSION: usize = 10;
/// Updates per second each session's agent sends (1,000/s in all).
const RATE_PER_SESSION: u64 = 100;
/// Sessions stored for the idle-memory figure.
const STORED_SESSIONS: u64 = 1_000;
/// Live sessions started for the per-session figure.
const LIVE_SESSIONS: usize = 20;

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    sustained(vpd, sizes.load_seconds).await?;
    resources(vpd).await
}

async fn sustained(vpd: &Path, seconds: u64) -> Result<()> {
    let per_session = RATE_PER_SESSION * seconds;
    println!(
        "\n== {} viewports on {SESSIONS} sessions for {seconds}s, {} updates/s in all",
        SESSIONS * VIEWPORTS_PER_SESSION,
        RATE_PER_SESSION * SESSIONS as u64
    );
    let daemon = TestDaemon::start(vpd).await?;
    let directory = daemon.work_directory().await?;
    let mut watchers = Vec::new();
    for _ in 0..SESSIONS {
        let session = daemon
            .client()
            .await?
            .launch(
                directory.clone(),
                &format!("stream {per_session} {RATE_PER_SESSION}"),
                Some("demo"),
            )
            .await?;
        for _ in 0..VIEWPORTS_PER_SESSION {
            let mut client = daemon.tcp_client().await?;
            let session = session.clone();
            watchers.push(tokio::spawn(async move {
                client.subscribe(&session, 0).await?;
                watch(&mut client).await
            }));
        }
    }
    let pid = daemon.pid().unwrap_or(0);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(
                    rss_of(pid).unwrap_or(0),
                    std::sync::atomic::Ordering::Relaxed,
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let started = Instant::now();
    let (mut lost, mut duplicated, mut delivered, mut latencies) = (0u64, 0u64, 0u64, Vec::new());
    for watcher in watchers {
        let seen = watcher.await??;
        let distinct: BTreeSet<u64> = seen.seqs.iter().copied().collect();
        duplicated += seen.seqs.len() as u64 - distinct.len() as u64;
        lost += distinct.last().copied().unwrap_or(0) - distinct.len() as u64;
        lost += per_session - seen.chunks.min(per_session);
        delivered += seen.chunks;
        latencies.extend(seen.latencies_us);
    }
    let took = started.elapsed().as_secs_f64();
    sampler.abort();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    println!(
        "{delivered} chunks delivered in {took:.1}s: lost {lost}, duplicated {duplicated}; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples after each viewport's warm-up); daemon RSS at most {}",
        at(0.5),
        at(0.99),
        at(1.0),
        latencies.len(),
        mb(peak)
    );
    if lost > 0 || duplicated > 0 {
        bail!("viewports lost or duplicated updates");
    }
    Ok(())
}

async fn resources(vpd: &Path) -> Result<()> {
    println!("\n== what the daemon costs");
    let mut daemon = TestDaemon::unstarted(vpd)?;
    {
        let mut writer = Writer::open(&daemon.home().join("viewport.db"), Durability::Normal)?;
        for _ in 0..STORED_SESSIONS {
            let session = crate::fixtures::start_session(&mut writer)?;
            crate::fixtures::append_chunks(&mut writer, &session, 20, 20)?;
        }
    }
    daemon.boot_with(&[]).await?;
    let pid = daemon.pid().unwrap_or(0);
    daemon.client().await?.list_sessions().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_of(pid).unwrap_or(0);
    let mut sessions = Vec::new();
    for _ in 0..LIVE_SESSIONS {
        sessions.push(daemon.launch("hang").await?);
    }
    for session in &sessions {
        daemon.wait_for_state(session, SessionState::Active).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy = rss_of(pid).unwrap_or(0);
    // The daemon's children are the supervisors; theirs, the agents.
    let supervisors = children_of(pid);
    let agents: Vec<u32> = supervisors.iter().flat_map(|s| children_of(*s)).collect();
    let average = |pids: &[u32]| {
        let sizes: Vec<u64> = pids.iter().filter_map(|p| rss_of(*p)).collect();
        sizes.iter().sum::<u64>() / sizes.len().max(1) as u64
    };
    println!(
        "daemon RSS idle with {STORED_SESSIONS} stored sessions: {}; with {LIVE_SESSIONS} live sessions {} (+{} per session); each supervisor {} ({} processes); each demo agent {} ({} processes)",
        mb(idle),
        mb(busy),
        mb(busy.saturating_sub(idle) / LIVE_SESSIONS as u64),
        mb(average(&supervisors)),
        supervisors.len(),
        mb(average(&agents)),
        agents.len()
    );
    Ok(())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Resident memory of a process, from Linux's `/proc`.
fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// Processes whose parent is `pid`.
pub(crate) fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/status"))
                .ok()
                .and_then(|status| {
                    let line = status.lines().find(|l| l.starts_with("PPid:"))?;
                    line.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}
