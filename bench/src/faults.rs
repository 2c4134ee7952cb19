//! The fault harness: the daemon killed with SIGKILL at random moments of a
//! burst, a viewport attached, many times over. After each restart every
//! update the viewport had received must be stored, unchanged, with dense
//! seqs (the check is `viewport_testkit::faults`). The moments come from a
//! seeded generator; the seed is printed, and `VIEWPORT_FAULT_SEED` replays
//! a run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
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
    let (mut received, mut stored, mut mid_burst) = (0, 0, 0);
    for cycle in 1..=cycles {
        let after = Duration::from_millis(random.next() % LATEST_KILL_MS);
        let report = kill_during_burst(&mut daemon, BURST, after)
            .await
            .with_context(|| {
                format!("cycle {cycle}, killed {after:?} into the burst (seed {seed})")
            })?;
        received += report.received;
        stored += report.stored;
        if report.received as u64 > 10 && (report.received as u64) < BURST {
            mid_burst += 1;
        }
    }
    println!(
        "{cycles} cycles in {:.1}s ({mid_burst} killed mid-burst): {received} updates seen by viewports, all stored unchanged; {stored} stored, seqs dense every time. Lost 0, changed 0.",
        started.elapsed().as_secs_f64()
    );
    println!(
        "(each burst's agent dies with the daemon and its session ends as daemon-lost: agents do not outlive the daemon yet)"
    );
    Ok(())
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
