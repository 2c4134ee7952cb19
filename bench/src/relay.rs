//! Viewports through the NATS relay against the same viewports over a
//! direct WebSocket, on one machine: what the relay hop and the Noise
//! records cost. Needs `nats-server` (Debian's package).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use viewport_client::Client;
use viewport_testkit::daemon::TestDaemon;
use viewport_testkit::nats::NatsServer;

use crate::replay::{replay_over, seed};
use crate::{Sizes, rate};

/// Requests timed for the round-trip figure.
const ROUND_TRIPS: usize = 500;

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    let n = sizes.relay_updates;
    println!("\n== through the relay (nats-server on loopback) against a direct WebSocket");
    let nats = NatsServer::start().await?;
    let mut daemon = TestDaemon::unstarted(vpd)?;
    let session = seed(&daemon.home().join("viewport.db"), n)?;
    std::fs::write(
        daemon.home().join("config.yaml"),
        format!("relay:\n  url: {}\n", nats.url()),
    )?;
    daemon.boot_with(&[]).await?;
    let pairing = pair(&daemon).await?;

    let (direct_rtt, relay_rtt) = (
        round_trips(daemon.tcp_client().await?).await?,
        round_trips(Client::connect_relay(&pairing).await?).await?,
    );
    println!(
        "request round trip p50 / p99: direct {} / {} | relay {} / {} | p50 ratio {:.2}x",
        ms(direct_rtt.0),
        ms(direct_rtt.1),
        ms(relay_rtt.0),
        ms(relay_rtt.1),
        relay_rtt.0.as_secs_f64() / direct_rtt.0.as_secs_f64()
    );

    let mut direct = f64::MAX;
    let mut relayed = f64::MAX;
    for _ in 0..3 {
        let (frames, took) = replay_over(daemon.tcp_client().await?, &session).await?;
        check(frames, n)?;
        direct = direct.min(took);
        let (frames, took) = replay_over(Client::connect_relay(&pairing).await?, &session).await?;
        check(frames, n)?;
        relayed = relayed.min(took);
    }
    let frames = n + 1;
    println!(
        "replay of {frames} updates (best of 3): direct {} | relay {} | ratio {:.2}x",
        rate(frames, direct),
        rate(frames, relayed),
        direct / relayed
    );
    Ok(())
}

async fn pair(daemon: &TestDaemon) -> Result<viewport_client::RelayPairing> {
    daemon
        .wait_for_log("serving viewports through the relay")
        .await?;
    let code = daemon.client().await?.create_login_code().await?;
    let link = code.relay_link.context("no relay link")?;
    Ok(Client::pair_relay(&link, "bench").await?.0)
}

/// p50 and p99 of `listSessions` answered.
async fn round_trips(mut client: Client) -> Result<(Duration, Duration)> {
    let mut took = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let started = Instant::now();
        client.list_sessions().await?;
        took.push(started.elapsed());
    }
    took.sort();
    Ok((took[ROUND_TRIPS / 2], took[ROUND_TRIPS * 99 / 100]))
}

fn check(frames: u64, n: u64) -> Result<()> {
    if frames != n + 1 {
        bail!("replay delivered {frames} updates, expected {}", n + 1);
    }
    Ok(())
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}
