//! The fault harness: the daemon killed with SIGKILL at random moments of a
//! burst, a viewport attached, many times over; a session's supervisor
//! killed; and a disk that fills. After each restart the agent is taken
//! over and its turn completes; the viewport sees every update exactly
//! once, all stored with dense seqs (the check is `viewport_testkit::faults`). The moments come from a
//! seeded generator; the seed is printed, and `VIEWPORT_FAULT_SEED` replays
//! a run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use viewport_protocol::{EndReason, ServerFrame, SessionId, SessionState};
use viewport_testkit::daemon::TestDaemon;
use viewport_testkit::faults::kill_during_burst;

use crate::Sizes;

/// Chunks in each burst (about a second of agent output in a release build).
const BURST: u64 = 200_000;
/// Kills fall up to this long after the burst's first chunk.
const LATEST_KILL_MS: u64 = 1_000;

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    let cycles = sizes.fault_cycles;
    let seed = std::env::var("VIEWPORT_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| viewport_protocol::now_ms() as u64);
    println!(
        "\n== {cycles} kill -9 of the daemon during `burst {BURST}` with a viewport attached (seed {seed})"
    );
    let mut random = XorShift(seed | 1);
    let mut daemon = TestDaemon::start(vpd).await?;
    let started = Instant::now();
    let (mut received, mut after_restart, mut stored, mut mid_burst) = (0, 0, 0, 0);
    for cycle in 1..=cycles {
        let after = Duration::from_millis(random.next() % LATEST_KILL_MS);
        let report = kill_during_burst(&mut daemon, BURST, after)
            .await
            .with_context(|| {
                format!("cycle {cycle}, killed {after:?} into the burst (seed {seed})")
            })?;
        received += report.received;
        after_restart += report.after_restart;
        stored += report.stored;
        if report.received as u64 > 10 && (report.received as u64) < BURST {
            mid_burst += 1;
        }
    }
    println!(
        "{cycles} cycles in {:.1}s ({mid_burst} killed mid-burst): every run was taken over and completed; viewports saw {received} updates before the kills and {after_restart} after, each exactly once; {stored} stored, seqs dense, every burst's text whole. Lost 0, repeated 0.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Supervisors killed (`kill -9`) while their agents stream: each session
/// ends `failed` saying its supervisor is gone, no agent is left running,
/// and the daemon serves on.
pub async fn supervisor_kills(vpd: &Path, sizes: &Sizes) -> Result<()> {
    let kills = sizes.fault_cycles.min(20);
    println!(
        "
== {kills} kill -9 of a session's supervisor while its agent streams"
    );
    let daemon = TestDaemon::start(vpd).await?;
    let mut random = XorShift(viewport_protocol::now_ms() as u64 | 1);
    let started = Instant::now();
    for kill in 1..=kills {
        let session = daemon.launch("stream 1000000 2000").await?;
        daemon
            .wait_for_state(&session, SessionState::Active)
            .await?;
        tokio::time::sleep(Duration::from_millis(random.next() % 500)).await;
        let supervisor = daemon
            .supervisor_pid(&session)
            .with_context(|| format!("kill {kill}: {session} has no supervisor"))?;
        let agent = crate::load::children_of(supervisor);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(supervisor)?),
            nix::sys::signal::Signal::SIGKILL,
        )?;
        daemon.wait_for_state(&session, SessionState::Ended).await?;
        let (reason, detail) = how_it_ended(&daemon, &session).await?;
        if reason != EndReason::Failed {
            bail!("kill {kill}: {session} ended {reason:?}, not failed");
        }
        if !detail.contains(&format!("supervisor (pid {supervisor}) is gone")) {
            bail!("kill {kill}: {session} ended saying {detail:?}");
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while agent.iter().any(|pid| runs(*pid)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(alive) = agent.iter().find(|pid| runs(**pid)) {
            bail!("kill {kill}: the agent (pid {alive}) of {session} still runs");
        }
    }
    daemon.client().await?.list_sessions().await?;
    println!(
        "{kills} kills in {:.1}s: every session ended failed with \"the session's supervisor (pid N) is gone; its agent was stopped\", no agent left running, the daemon served throughout",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether `pid` runs (a zombie waiting to be reaped does not).
fn runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

/// How a session ended, from its log.
async fn how_it_ended(daemon: &TestDaemon, session: &SessionId) -> Result<(EndReason, String)> {
    let mut client = daemon.client().await?;
    client.subscribe(session, 0).await?;
    loop {
        match client.next_frame().await? {
            Some(ServerFrame::SessionEnded { reason, detail, .. }) => {
                return Ok((reason, detail.unwrap_or_default()));
            }
            Some(_) => {}
            None => bail!("the daemon closed the connection before {session} ended"),
        }
    }
}

/// A small, seeded generator: runs are reproducible from their seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The data home on a small tmpfs that fills during a burst: ingest waits
/// (the log says why), the session waits with it, and when the tmpfs grows
/// the burst completes with dense seqs and an intact database. Needs root
/// (to mount); says so and goes on without it.
pub async fn disk_full(vpd: &Path) -> Result<()> {
    const SMALL: &str = "size=12m,mode=700";
    const ROOMY: &str = "size=512m";
    const BURST: u64 = 100_000;
    println!("\n== the data home's disk fills during `burst {BURST}`, then gets room again");
    let mut daemon = TestDaemon::unstarted(vpd)?;
    let home = daemon.home();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", SMALL, "tmpfs"])
        .arg(&home)
        .output();
    match mounted {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            println!(
                "skipped: cannot mount a small tmpfs (needs root): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return Ok(());
        }
        Err(e) => {
            println!("skipped: cannot run mount: {e}");
            return Ok(());
        }
    }
    let outcome = fill_and_free(&mut daemon, BURST, ROOMY).await;
    daemon.kill_hard();
    daemon.kill_supervisors();
    // Killed processes let go of their files a moment later.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = std::process::Command::new("umount").arg(&home).status();
    outcome
}

async fn fill_and_free(daemon: &mut TestDaemon, burst: u64, roomy: &str) -> Result<()> {
    daemon.boot_with(&[]).await?;
    let session = daemon.launch(&format!("burst {burst}")).await?;
    daemon.wait_for_log("the disk is full").await?;
    let stalled = summary(daemon, &session).await?;
    println!(
        "the disk filled at seq {}; ingest waits, the session waits ({})",
        stalled.last_seq, stalled.state
    );
    let remounted = std::process::Command::new("mount")
        .args(["-o", &format!("remount,{roomy}")])
        .arg(daemon.home())
        .status()?;
    anyhow::ensure!(remounted.success(), "cannot give the tmpfs room");
    let freed = Instant::now();
    daemon
        .wait_for_state(&session, viewport_protocol::SessionState::Idle)
        .await?;
    println!(
        "room again: the burst finished {:.1}s later at seq {}",
        freed.elapsed().as_secs_f64(),
        summary(daemon, &session).await?.last_seq
    );
    daemon.kill_hard();
    let database = rusqlite::Connection::open(daemon.home().join("viewport.db"))?;
    let check: String = database.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    // The genesis is seq 0; updates count from 1.
    let (count, max): (u64, u64) = database.query_row(
        "SELECT COUNT(*) - 1, MAX(seq) FROM events WHERE session_id = ?1",
        [session.as_str()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    anyhow::ensure!(check == "ok", "integrity_check: {check}");
    anyhow::ensure!(
        count == max,
        "seqs are not dense: {count} events up to seq {max}"
    );
    println!("integrity_check ok; {count} events, seqs 1..={max} dense; nothing lost");
    Ok(())
}

async fn summary(
    daemon: &TestDaemon,
    session: &viewport_protocol::SessionId,
) -> Result<viewport_protocol::state::SessionSummary> {
    Ok(daemon.client().await?.session_state(session).await?.session)
}
