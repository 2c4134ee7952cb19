#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End to end: a real `vpd daemon` on a temp home, real sockets, the real
//! demo agent over ACP. One test binary, one module per behaviour.

mod adoption;
mod api;
mod cli;
mod client_side;
mod config;
mod faults;
mod frames;
mod handoff;
mod jobs;
mod lifecycle;
mod observed;
mod prompts;
mod redaction;
mod relay;
mod rewind;
mod search;
mod terminal;
mod terminal_cli;
mod web;

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use viewport_client::Client;
use viewport_protocol::{ServerFrame, SessionState, SessionUpdate};
use viewport_testkit::daemon::{TestDaemon, WAIT};

pub fn vpd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vpd"))
}

/// `vpd ARGS` against the daemon, in its work directory.
pub fn run(daemon: &TestDaemon, args: &[&str]) -> std::process::Output {
    daemon.vpd().args(args).output().expect("vpd runs")
}

/// The JSON a successful `vpd … --json` printed.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

pub async fn daemon() -> TestDaemon {
    TestDaemon::start(vpd()).await.expect("the daemon starts")
}

/// Launch a demo session and wait until it is in `state`.
pub async fn launched(
    daemon: &TestDaemon,
    prompt: &str,
    state: SessionState,
) -> viewport_protocol::SessionId {
    let session = daemon.launch(prompt).await.expect("the session launches");
    daemon
        .wait_for_state(&session, state)
        .await
        .expect("the session reaches the state");
    session
}

/// A frame, or an error when none comes in time.
pub async fn next(client: &mut Client) -> Result<ServerFrame> {
    match tokio::time::timeout(WAIT, client.next_frame()).await {
        Ok(Ok(Some(frame))) => Ok(frame),
        Ok(Ok(None)) => bail!("the daemon closed the connection"),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => bail!("no frame within {WAIT:?}"),
    }
}

/// Read session updates until `stop` says so; returns every `(seq, update)` read.
pub async fn updates_until(
    client: &mut Client,
    mut stop: impl FnMut(u64, &SessionUpdate) -> bool,
) -> Result<Vec<(u64, SessionUpdate)>> {
    let mut seen = Vec::new();
    loop {
        if let ServerFrame::SessionUpdate { seq, update, .. } = next(client).await? {
            let done = stop(seq, &update);
            seen.push((seq, update));
            if done {
                return Ok(seen);
            }
        }
    }
}

/// What the demo agent says it was answered, after an `ask`.
pub fn chosen(update: &SessionUpdate) -> Option<String> {
    match update {
        SessionUpdate::AgentMessage(m) => m.text.strip_prefix("you chose: ").map(str::to_owned),
        _ => None,
    }
}

/// How the subscribed session ends.
pub async fn end_of(client: &mut Client) -> (viewport_protocol::EndReason, Option<String>) {
    loop {
        if let ServerFrame::SessionEnded { reason, detail, .. } = next(client).await.unwrap() {
            return (reason, detail);
        }
    }
}

pub fn is_state(update: &SessionUpdate, state: SessionState) -> bool {
    matches!(update, SessionUpdate::StateChange(change) if change.state == state)
}

/// Assert `seqs` is exactly `first..=last`.
pub fn assert_dense(seqs: &[u64], first: u64, last: u64) {
    let expected: Vec<u64> = (first..=last).collect();
    assert_eq!(
        seqs.len(),
        expected.len(),
        "expected seqs {first}..={last}, got {} seqs",
        seqs.len()
    );
    assert!(
        seqs == expected,
        "seqs are not dense and ordered from {first} to {last}"
    );
}

pub const SHORT: Duration = Duration::from_millis(10);
