//! End-to-end publish latency: the demo agent stamps each chunk with the time
//! it sent it; each viewport records when the frame arrived.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use serde::Deserialize;
use viewport_client::Client;
use viewport_testkit::daemon::TestDaemon;

use crate::Sizes;

/// Updates per second the agent emits.
const RATE: u64 = 1_000;
/// Chunks at the start not counted (process start-up, connection warm-up).
const WARM_UP: u64 = 200;

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    update: Option<Update>,
}

#[derive(Deserialize)]
struct Update {
    #[serde(rename = "updateType")]
    update_type: String,
    #[serde(default)]
    text: String,
}

pub struct Seen {
    pub latencies_us: Vec<u64>,
    pub chunks: u64,
    pub seqs: Vec<u64>,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    let n = sizes.latency_updates;
    println!(
        "\n== publish latency, agent at {RATE} updates/s, {n} updates, TCP WebSocket viewports"
    );
    let mut baseline_p50 = None;
    for &viewports in sizes.viewports {
        let daemon = TestDaemon::start(vpd).await?;
        let directory = daemon.work_directory().await?;
        let mut clients = Vec::new();
        for _ in 0..viewports {
            clients.push(daemon.tcp_client().await?);
        }
        let session = daemon
            .client()
            .await?
            .launch(directory, &format!("stream {n} {RATE}"), Some("demo"))
            .await?;
        let mut tasks = Vec::new();
        for mut client in clients {
            let session = session.clone();
            tasks.push(tokio::spawn(async move {
                client.subscribe(&session, 0).await?;
                watch(&mut client).await
            }));
        }
        let mut latencies = Vec::new();
        let (mut lost, mut duplicated) = (0u64, 0u64);
        for task in tasks {
            let seen = task.await??;
            let distinct: BTreeSet<u64> = seen.seqs.iter().copied().collect();
            duplicated += seen.seqs.len() as u64 - distinct.len() as u64;
            let last = distinct.last().copied().unwrap_or(0);
            lost += last - distinct.len() as u64;
            lost += n - seen.chunks.min(n);
            latencies.extend(seen.latencies_us);
        }
        latencies.sort_unstable();
        let percentile =
            |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
        let (p50, p99) = (percentile(0.50), percentile(0.99));
        let relative = baseline_p50
            .map(|b: f64| format!(" | p50 {:.2}x of 1 viewport", p50 / b))
            .unwrap_or_default();
        baseline_p50.get_or_insert(p50);
        println!(
            "{viewports:>3} viewports: p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms ({} samples), lost {lost}, duplicated {duplicated}{relative}",
            latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
            latencies.len()
        );
        if lost > 0 || duplicated > 0 {
            bail!("viewports lost or duplicated updates");
        }
    }
    Ok(())
}

/// Read until the turn ends (state idle), timing every chunk.
pub async fn watch(client: &mut Client) -> Result<Seen> {
    let mut seen = Seen {
        latencies_us: Vec::new(),
        chunks: 0,
        seqs: Vec::new(),
    };
    loop {
        let Some(text) = client.next_text().await? else {
            bail!("the daemon closed the connection")
        };
        let arrived = now_us();
        let frame: Frame = serde_json::from_str(&text)?;
        if frame.kind != "session-update" {
            continue;
        }
        seen.seqs.push(frame.seq);
        let Some(update) = frame.update else { continue };
        match update.update_type.as_str() {
            "agent-message-chunk" => {
                seen.chunks += 1;
                if seen.chunks > WARM_UP
                    && let Ok(sent) = update.text.parse::<u64>()
                {
                    seen.latencies_us.push(arrived.saturating_sub(sent));
                }
            }
            "state-change" if text.contains(r#""state":"idle""#) => return Ok(seen),
            _ => {}
        }
    }
}
