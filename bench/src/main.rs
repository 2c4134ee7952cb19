//! `viewport-bench`: the figures that matter for the event log, each beside a
//! baseline measured in the same run on the same machine.
//!
//! - durable ingest through the daemon (the demo agent's `burst 100000`)
//!   against raw rusqlite batched inserts of the same rows;
//! - subscribe-from-zero replay of a 1M-update session against a plain
//!   ordered scan of the same rows;
//! - publish latency p50/p99 to 1, 10 and 100 WebSocket viewports at
//!   1,000 updates/s, with lost and duplicated updates counted;
//! - terminal sessions: `cat` of 200 MB through a vpd terminal against tmux
//!   with `pipe-pane`, and `vpd attach` against `tmux attach` on a session
//!   with 100k lines of scrollback;
//! - the hook bridge: `vpd hook claude` with the daemon up and down, against
//!   the same binary starting and exiting;
//! - history: search over 1M indexed messages, reindex, fork of a 100k-update
//!   session, a checkpoint of a 10k-file repository against `git stash create`;
//! - the relay: request round trips and replay through a nats-server on
//!   loopback against a direct WebSocket;
//! - faults: 100 kill -9 of the daemon at random moments of a burst, a
//!   viewport attached, checking that everything it saw is stored;
//! - load: 100 viewports on 10 sessions at 1,000 updates/s in all for 10
//!   minutes (gaps, duplicates, latency, memory), then the daemon's memory
//!   idle with 1,000 stored sessions and per live session.
//!
//! Run: `cargo build --release --bin vpd --bin viewport-bench && target/release/viewport-bench`
//! (`--quick` uses smaller sizes for a smoke run; name `ingest`, `replay`,
//! `latency`, `terminal`, `hooks`, `history`, `relay`, `faults` or `load` to
//! run only those).

mod faults;
mod fixtures;
mod history;
mod hooks;
mod ingest;
mod latency;
mod load;
mod relay;
mod replay;
mod terminal;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

pub struct Sizes {
    pub ingest_updates: u64,
    pub replay_updates: u64,
    pub latency_updates: u64,
    pub viewports: &'static [usize],
    /// Bytes `cat` writes through a terminal session.
    pub terminal_bytes: u64,
    /// Lines of scrollback the attach benchmark's session holds.
    pub attach_lines: u64,
    /// Times each hook command is run.
    pub hook_runs: u64,
    /// Messages in the search index.
    pub search_messages: u64,
    /// Updates of the session forked.
    pub fork_updates: u64,
    /// Files of the repository checkpointed.
    pub checkpoint_files: u64,
    /// Updates replayed through the relay.
    pub relay_updates: u64,
    /// Times the daemon is killed in the fault harness.
    pub fault_cycles: u64,
    /// How long the sustained load runs.
    pub load_seconds: u64,
}

fn vpd_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("VIEWPORT_VPD") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let vpd = exe
        .parent()
        .context("the bench binary has no directory")?
        .join("vpd");
    if !vpd.exists() {
        bail!(
            "{} not found: build it first (`cargo build --release --bin vpd`) or set VIEWPORT_VPD",
            vpd.display()
        );
    }
    Ok(vpd)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes {
            ingest_updates: 10_000,
            replay_updates: 100_000,
            latency_updates: 1_000,
            viewports: &[1, 10],
            terminal_bytes: 20_000_000,
            attach_lines: 10_000,
            hook_runs: 50,
            search_messages: 100_000,
            fork_updates: 10_000,
            checkpoint_files: 1_000,
            relay_updates: 10_000,
            fault_cycles: 10,
            load_seconds: 20,
        }
    } else {
        Sizes {
            ingest_updates: 100_000,
            replay_updates: 1_000_000,
            latency_updates: 3_000,
            viewports: &[1, 10, 100],
            terminal_bytes: 200_000_000,
            attach_lines: 100_000,
            hook_runs: 500,
            search_messages: 1_000_000,
            fork_updates: 100_000,
            checkpoint_files: 10_000,
            relay_updates: 100_000,
            fault_cycles: 100,
            load_seconds: 600,
        }
    };
    let vpd = vpd_binary()?;
    println!(
        "viewport-bench (vpd: {}, {} cores)",
        vpd.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| chosen.is_empty() || chosen.iter().any(|c| c == name);
    if wanted("ingest") {
        ingest::run(&vpd, &sizes).await?;
    }
    if wanted("replay") {
        replay::run(&vpd, &sizes).await?;
    }
    if wanted("latency") {
        latency::run(&vpd, &sizes).await?;
    }
    if wanted("terminal") {
        terminal::run(&vpd, &sizes).await?;
    }
    if wanted("hooks") {
        hooks::run(&vpd, &sizes).await?;
    }
    if wanted("history") {
        history::run(&vpd, &sizes).await?;
    }
    if wanted("relay") {
        relay::run(&vpd, &sizes).await?;
    }
    if wanted("faults") {
        faults::run(&vpd, &sizes).await?;
        faults::supervisor_kills(&vpd, &sizes).await?;
        faults::disk_full(&vpd).await?;
    }
    if wanted("load") {
        load::run(&vpd, &sizes).await?;
    }
    Ok(())
}

/// Rows per second, readable.
pub fn rate(count: u64, seconds: f64) -> String {
    format!("{:>9.0}/s", count as f64 / seconds)
}
