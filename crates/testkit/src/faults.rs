//! Faults on purpose. A daemon killed with SIGKILL in the middle of a burst,
//! with a viewport attached: the agent runs on under its supervisor, the
//! restarted daemon takes it over, the turn completes, and the viewport,
//! coming back for what it missed, sees every update exactly once; every
//! update it saw before the kill is stored unchanged, seqs are dense and the
//! burst's text is whole. The fault harness (`viewport-bench faults`) and
//! its short form in the e2e tests share this.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use viewport_client::Client;
use viewport_protocol::{ServerFrame, SessionId, SessionUpdate};

use crate::daemon::{TestDaemon, WAIT};

/// What one kill showed.
#[derive(Debug, Clone, Copy)]
pub struct KillReport {
    /// Updates the viewport had received when the daemon died.
    pub received: usize,
    /// Updates it received from the restarted daemon, to the turn's end.
    pub after_restart: usize,
    /// Updates stored once the turn ended.
    pub stored: usize,
}

/// How long a taken-over burst may take to finish.
const FINISH: Duration = Duration::from_secs(120);

/// Launch `burst N` with a viewport following it, kill the daemon `after`
/// the viewport saw the burst's first chunk, start it again, let the
/// viewport catch up and follow the turn to its end, and check all of it
/// against the log; then destroy the session.
pub async fn kill_during_burst(
    daemon: &mut TestDaemon,
    burst: u64,
    after: Duration,
) -> Result<KillReport> {
    let session = daemon.launch(&format!("burst {burst}")).await?;
    let mut viewport = daemon.tcp_client().await?;
    viewport.subscribe(&session, 0).await?;
    let (started, burst_started) = tokio::sync::oneshot::channel();
    let watcher = tokio::spawn(async move { updates_until_closed(&mut viewport, started).await });
    tokio::time::timeout(WAIT, burst_started)
        .await
        .context("the burst did not start")?
        .context("the viewport lost the daemon before the burst")?;
    tokio::time::sleep(after).await;
    daemon.kill_hard();
    let received = watcher.await.context("the viewport task failed")?;
    daemon.restart().await?;

    let last_seen = received.last().map_or(0, |(seq, _)| *seq);
    let mut back = daemon.tcp_client().await?;
    back.subscribe(&session, last_seen).await?;
    let rest = until_the_turn_ends(&mut back)
        .await
        .context("coming back")?;
    let mut replay = daemon.client().await?;
    replay.subscribe(&session, 0).await?;
    let stored = until_the_turn_ends(&mut replay)
        .await
        .context("replaying")?;

    check_dense(&session, &stored)?;
    let seen: Vec<_> = received.iter().chain(&rest).cloned().collect();
    if seen != stored {
        let first_difference = seen
            .iter()
            .zip(&stored)
            .position(|(a, b)| a != b)
            .unwrap_or(seen.len().min(stored.len()));
        bail!(
            "the viewport saw {} updates ({} before the kill, {} after), the log has {}; they differ from position {}",
            seen.len(),
            received.len(),
            rest.len(),
            stored.len(),
            first_difference + 1
        );
    }
    check_burst_text(&stored, burst)?;
    // Checked: the session goes, so many cycles do not fill the disk.
    daemon.client().await?.destroy(&session, true).await?;
    Ok(KillReport {
        received: received.len(),
        after_restart: rest.len(),
        stored: stored.len(),
    })
}

fn check_dense(session: &SessionId, stored: &[(u64, SessionUpdate)]) -> Result<()> {
    for (index, (seq, _)) in stored.iter().enumerate() {
        if *seq != index as u64 + 1 {
            bail!(
                "after the restart, {session} has seq {seq} at position {}: seqs are not dense",
                index + 1
            );
        }
    }
    Ok(())
}

/// The chunks make the burst's text exactly once, and so does the one
/// complete message.
fn check_burst_text(stored: &[(u64, SessionUpdate)], burst: u64) -> Result<()> {
    let expected: String = (1..=burst).map(|i| format!("chunk {i} ")).collect();
    let chunks: String = stored
        .iter()
        .filter_map(|(_, update)| match update {
            SessionUpdate::AgentMessageChunk(chunk) => Some(chunk.text.as_str()),
            _ => None,
        })
        .collect();
    if chunks != expected {
        bail!(
            "the stored chunks make {} bytes of text, the burst {}: something was lost or repeated",
            chunks.len(),
            expected.len()
        );
    }
    let messages: Vec<&str> = stored
        .iter()
        .filter_map(|(_, update)| match update {
            SessionUpdate::AgentMessage(message) => Some(message.text.as_str()),
            _ => None,
        })
        .collect();
    if messages != [expected.as_str()] {
        bail!(
            "expected one complete message of the whole burst, found {} (of {:?} bytes)",
            messages.len(),
            messages.iter().map(|m| m.len()).collect::<Vec<_>>()
        );
    }
    Ok(())
}

/// Every update a viewport reads until its connection ends; `started`
/// hears of the first message chunk.
async fn updates_until_closed(
    client: &mut Client,
    started: tokio::sync::oneshot::Sender<()>,
) -> Vec<(u64, SessionUpdate)> {
    let mut started = Some(started);
    let mut seen = Vec::new();
    while let Ok(Some(frame)) = client.next_frame().await {
        if let ServerFrame::SessionUpdate { seq, update, .. } = frame {
            if matches!(update, SessionUpdate::AgentMessageChunk(_))
                && let Some(started) = started.take()
            {
                let _ = started.send(());
            }
            seen.push((seq, update));
        }
    }
    seen
}

/// A subscribed session's updates (replay, then live) up to the end of
/// its turn and the state that follows it.
async fn until_the_turn_ends(client: &mut Client) -> Result<Vec<(u64, SessionUpdate)>> {
    let mut updates = Vec::new();
    let mut stepped = false;
    loop {
        let frame = tokio::time::timeout(FINISH, client.next_frame())
            .await
            .context("the turn did not finish")??
            .context("the daemon closed the connection")?;
        match frame {
            ServerFrame::SessionUpdate { seq, update, .. } => {
                let settled = stepped && matches!(update, SessionUpdate::StateChange(_));
                stepped |= matches!(update, SessionUpdate::StepCommitted(_));
                updates.push((seq, update));
                if settled {
                    return Ok(updates);
                }
            }
            ServerFrame::SessionEnded { .. } => bail!("the session ended instead of going on"),
            _ => {}
        }
    }
}
