//! Faults on purpose. A daemon killed with SIGKILL in the middle of a burst,
//! with a viewport attached, must afterwards hold every update that viewport
//! saw, unchanged, with dense seqs: updates are committed before anyone
//! sees them. The fault harness (`viewport-bench faults`) and its short
//! form in the e2e tests share this.

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
    /// Updates stored after the restart (the received ones, what was
    /// committed but not yet delivered, and the session's end).
    pub stored: usize,
}

/// Launch `burst N` with a viewport following it, kill the daemon `after`
/// the viewport saw the burst's first chunk, start it again and check what
/// is stored against what the viewport saw; then destroy the session.
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
    let stored = replay(daemon.client().await?, &session).await?;

    for (index, (seq, _)) in stored.iter().enumerate() {
        if *seq != index as u64 + 1 {
            bail!(
                "after the restart, {session} has seq {seq} at position {}: seqs are not dense",
                index + 1
            );
        }
    }
    for (seq, update) in &received {
        let kept = usize::try_from(*seq)
            .ok()
            .and_then(|seq| stored.get(seq.wrapping_sub(1)));
        if kept.map(|(_, stored)| stored) != Some(update) {
            bail!(
                "update {seq} of {session}, which a viewport saw, is missing or different after the restart"
            );
        }
    }
    // Checked: the session goes, so many cycles do not fill the disk.
    daemon.client().await?.destroy(&session, true).await?;
    Ok(KillReport {
        received: received.len(),
        stored: stored.len(),
    })
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

/// A session's stored updates, replayed from the start until its end
/// (the restarted daemon ended it: its agent died with the old one).
async fn replay(mut client: Client, session: &SessionId) -> Result<Vec<(u64, SessionUpdate)>> {
    client.subscribe(session, 0).await?;
    let mut stored = Vec::new();
    loop {
        let frame = tokio::time::timeout(WAIT, client.next_frame())
            .await
            .context("the replay stalled")??
            .context("the daemon closed the connection during the replay")?;
        match frame {
            ServerFrame::SessionUpdate { seq, update, .. } => stored.push((seq, update)),
            ServerFrame::SessionEnded { .. } => return Ok(stored),
            _ => {}
        }
    }
}
