//! Sessions outlive the daemon: each agent runs under a supervisor of its
//! own, and a restarted daemon takes it over from where the log ends.

use viewport_protocol::update::PermissionOutcome;
use viewport_protocol::{EndReason, SessionState, SessionUpdate};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_pending_across_a_daemon_kill_can_still_be_answered() {
    let mut daemon = daemon().await;
    let session = launched(&daemon, "ask", SessionState::Awaiting).await;
    let mut before = daemon.client().await.unwrap();
    let asked = before.subscribe(&session, 0).await.unwrap();
    let prompt_id = asked.pending_prompts[0].request.prompt_id.clone();

    daemon.restart().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let state = client.subscribe(&session, 0).await.unwrap();
    assert_eq!(state.session.state, SessionState::Awaiting, "{state:?}");
    assert_eq!(state.pending_prompts.len(), 1);
    assert_eq!(state.pending_prompts[0].request.prompt_id, prompt_id);
    let replay = updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::StateChange(c) if !c.disconnected && c.detail.as_deref() == Some("taken over by the restarted daemon"))
    })
    .await
    .unwrap();
    assert!(
        replay.iter().any(
            |(_, u)| matches!(u, SessionUpdate::StateChange(c) if c.disconnected && c.state == SessionState::Awaiting)
        ),
        "the log says the session was out of reach: {replay:?}"
    );

    client
        .respond(&session, &prompt_id, Some("allow"))
        .await
        .unwrap();
    let answered = updates_until(&mut client, |_, u| chosen(u).is_some())
        .await
        .unwrap();
    let said = answered.iter().find_map(|(_, u)| chosen(u));
    assert_eq!(said.as_deref(), Some("allow"), "the agent got the answer");
    assert!(answered.iter().any(|(_, u)| matches!(u,
        SessionUpdate::PermissionResolved(r) if r.prompt_id == prompt_id
            && r.outcome == PermissionOutcome::Selected { option_id: "allow".into() })));
    updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_goes_on_after_the_daemon_is_killed_between_turns() {
    let mut daemon = daemon().await;
    let session = launched(&daemon, "burst 2", SessionState::Idle).await;
    daemon.restart().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let state = client.subscribe(&session, 0).await.unwrap();
    assert_eq!(state.session.end_reason, None, "{state:?}");
    client.prompt(&session, "burst 3").await.unwrap();
    let mut steps = 0;
    let seen = updates_until(&mut client, |_, u| {
        steps += usize::from(matches!(u, SessionUpdate::StepCommitted(_)));
        steps == 2
    })
    .await
    .unwrap();
    let second_turn: String = seen
        .iter()
        .filter_map(|(_, u)| match u {
            SessionUpdate::AgentMessage(m) => Some(m.text.clone()),
            _ => None,
        })
        .collect();
    assert!(
        second_turn.ends_with("chunk 1 chunk 2 chunk 3 "),
        "{second_turn:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_supervisor_ends_its_session_with_the_reason_and_the_daemon_goes_on() {
    let daemon = daemon().await;
    let session = launched(&daemon, "hang", SessionState::Active).await;
    let supervisor = daemon
        .supervisor_pid(&session)
        .expect("the session has a supervisor");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(supervisor).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    let (reason, detail) = end_of(&mut client).await;
    assert_eq!(reason, EndReason::Failed);
    let detail = detail.unwrap_or_default();
    assert!(
        detail.contains(&format!("supervisor (pid {supervisor}) is gone")),
        "{detail}"
    );
    // The daemon is fine: a new session runs a turn.
    launched(&daemon, "burst 1", SessionState::Idle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_restart_after_replacing_vpd_keeps_the_sessions_running() {
    // The daemon runs a copy of vpd that is then replaced, as an upgrade does.
    let bin = tempfile::tempdir().unwrap();
    let installed = bin.path().join("vpd");
    std::fs::copy(vpd(), &installed).unwrap();
    let daemon = TestDaemon::start(&installed).await.unwrap();
    let session = launched(&daemon, "ask", SessionState::Awaiting).await;
    let address = daemon.address.clone();
    std::fs::remove_file(&installed).unwrap();
    std::fs::copy(vpd(), &installed).unwrap();

    let restarted = daemon.vpd().args(["daemon", "restart"]).output().unwrap();
    let said = String::from_utf8_lossy(&restarted.stderr);
    assert!(restarted.status.success(), "{said}");
    assert!(said.contains("restarted the daemon"), "{said}");
    assert!(said.contains("1 sessions run on"), "{said}");

    let mut client = daemon.tcp_client().await.unwrap();
    assert_eq!(
        daemon.address, address,
        "the new daemon listens where the old one did"
    );
    let state = client.subscribe(&session, 0).await.unwrap();
    assert_eq!(state.pending_prompts.len(), 1, "{state:?}");
    let prompt_id = state.pending_prompts[0].request.prompt_id.clone();
    client
        .respond(&session, &prompt_id, Some("allow"))
        .await
        .unwrap();
    let seen = updates_until(&mut client, |_, u| chosen(u).is_some())
        .await
        .unwrap();
    assert!(seen.iter().any(|(_, u)| matches!(u,
        SessionUpdate::StateChange(c) if c.disconnected && c.detail.as_deref() == Some("the daemon is restarting"))));
    assert_eq!(
        seen.iter().find_map(|(_, u)| chosen(u)).as_deref(),
        Some("allow")
    );

    let stopped = daemon.vpd().args(["daemon", "stop"]).output().unwrap();
    assert!(stopped.status.success());
}

/// Resident memory of a process, from `/proc`.
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_writing_while_no_daemon_runs_waits_at_the_spool_limit() {
    // The spool's limit; the supervisor's memory also has what the daemon
    // had not stored when it died, and what the allocator keeps.
    const SPOOL: u64 = 16 * 1024 * 1024;
    let mut daemon = daemon().await;
    // About 60 MB of output, far more than the spool holds.
    let session = daemon.launch("burst 400000").await.unwrap();
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&session, 0).await.unwrap();
    let seen = updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::AgentMessageChunk(_))
    })
    .await
    .unwrap();
    let supervisor = daemon.supervisor_pid(&session).unwrap();
    daemon.kill_hard();
    // The supervisor reads until its spool is full, then the agent waits:
    // its memory stops growing far below the 60 MB the agent has to write.
    let mut held = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss_of(supervisor);
        if now == held && now > SPOOL {
            break;
        }
        held = now;
    }
    assert!(
        held > SPOOL && held < 3 * SPOOL,
        "the supervisor holds {held} bytes: it should stop reading once it holds {SPOOL}"
    );

    daemon.restart().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let last = seen.last().unwrap().0;
    client.subscribe(&session, last).await.unwrap();
    let mut next = last + 1;
    updates_until(&mut client, |seq, _| {
        assert_eq!(seq, next, "the session goes on with no gap");
        next += 1;
        seq > last + 20_000
    })
    .await
    .unwrap();
    client.kill(&session).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_cli_reconnects_to_the_restarted_daemon_and_misses_nothing() {
    let mut daemon = daemon().await;
    // 400 chunks at 200 a second: the daemon is killed in the middle.
    let run = daemon
        .vpd()
        .args(["run", "--json", "stream 400 200"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    daemon.restart().await.unwrap();
    let output = tokio::task::spawn_blocking(move || run.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("reconnecting"), "{said}");
    assert!(said.contains("reconnected"), "{said}");

    let seqs: Vec<u64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|frame| frame["seq"].as_u64())
        .collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every update once, in order");
    let chunks = String::from_utf8_lossy(&output.stdout)
        .matches("agent-message-chunk")
        .count();
    assert_eq!(chunks, 400, "the whole stream arrived");
}
