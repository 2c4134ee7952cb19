//! Sessions end with a reason; a daemon killed mid-ingest loses nothing any
//! viewport saw.

use viewport_protocol::{EndReason, ServerFrame, SessionState, SessionUpdate};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_crash_ends_the_session_failed_with_its_status() {
    let daemon = daemon().await;
    let session = daemon.launch("crash").await.unwrap();
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    let (reason, detail) = end_of(&mut client).await;
    assert_eq!(reason, EndReason::Failed);
    assert!(detail.unwrap_or_default().contains("status 3"));
    let err = client.prompt(&session, "hello").await.unwrap_err();
    assert_eq!(err.code(), Some(viewport_protocol::ErrorCode::SessionEnded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_ends_a_session_as_killed() {
    let daemon = daemon().await;
    let session = daemon.launch("hang").await.unwrap();
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    daemon.client().await.unwrap().kill(&session).await.unwrap();
    assert_eq!(end_of(&mut client).await.0, EndReason::Killed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewport_leaving_changes_nothing_for_the_session() {
    let daemon = daemon().await;
    let session = daemon.launch("burst 2000").await.unwrap();
    for _ in 0..5 {
        let mut client = daemon.tcp_client().await.unwrap();
        client.subscribe(&session, 0).await.unwrap();
        let _ = next(&mut client).await.unwrap();
    }
    daemon
        .wait_for_state(&session, SessionState::Idle)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_ingest_loses_nothing_a_viewport_received() {
    let mut daemon = daemon().await;
    let session = daemon.launch("burst 100000").await.unwrap();
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    let seen = updates_until(&mut client, |seq, _| seq >= 20_000)
        .await
        .unwrap();
    daemon.kill_hard();
    // Whatever else was in flight to this viewport came after a commit too.
    let mut received = seen.last().unwrap().0;
    while let Ok(Ok(Some(ServerFrame::SessionUpdate { seq, .. }))) =
        tokio::time::timeout(Duration::from_secs(2), client.next_frame()).await
    {
        received = seq;
    }
    daemon.restart().await.unwrap();
    let mut after = daemon.client().await.unwrap();
    let state = after.subscribe(&session, 0).await.unwrap();
    assert_eq!(state.session.end_reason, None, "taken over, not ended");
    let replay = updates_until(&mut after, |_, u| {
        matches!(u, SessionUpdate::StepCommitted(_))
    })
    .await
    .unwrap();
    let seqs: Vec<u64> = replay.iter().map(|(seq, _)| *seq).collect();
    assert_dense(&seqs, 1, *seqs.last().unwrap());
    assert!(*seqs.last().unwrap() > received);
    let chunks = replay
        .iter()
        .filter(|(_, u)| matches!(u, SessionUpdate::AgentMessageChunk(_)))
        .count();
    assert_eq!(chunks, 100_000, "every chunk of the burst, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_rebuilds_the_session_list_from_events() {
    let daemon = daemon().await;
    launched(&daemon, "ask", SessionState::Awaiting).await;
    let mut client = daemon.client().await.unwrap();
    let before = client.list_sessions().await.unwrap();
    let done = client.reindex().await.unwrap();
    assert_eq!(done.sessions, 1);
    assert!(done.events >= 4);
    assert_eq!(client.list_sessions().await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_stop_ends_live_sessions_and_the_next_command_starts_it_again() {
    let daemon = daemon().await;
    launched(&daemon, "hang", SessionState::Active).await;
    let stop = daemon.vpd().args(["daemon", "stop"]).output().unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let listed = daemon.vpd().args(["ls", "--json"]).output().unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let sessions: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(sessions[0]["state"], "ended");
    assert_eq!(sessions[0]["endReason"], "daemon-lost");
    let stop = daemon.vpd().args(["daemon", "stop"]).output().unwrap();
    assert!(stop.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_replays_an_ended_session_and_exits_with_its_outcome() {
    let daemon = daemon().await;
    let session = launched(&daemon, "crash", SessionState::Ended).await;
    let watched = daemon
        .vpd()
        .args(["watch", session.as_str()])
        .output()
        .unwrap();
    assert_eq!(watched.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&watched.stdout).contains("session ended (failed)"));
}
