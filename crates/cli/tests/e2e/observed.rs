//! Sessions started out of band: `claude` in a terminal, reporting through
//! `vpd hook claude` as Claude Code invokes it (the event JSON on stdin).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use viewport_protocol::state::SessionKind;
use viewport_protocol::{EndReason, SessionState, SessionUpdate};

use super::*;

/// Run `vpd hook claude` as Claude Code does; its exit status and stdout.
fn run_hook(
    home: &std::path::Path,
    event: &serde_json::Value,
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(vpd())
        .args(["hook", "claude"])
        .env("VIEWPORT_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn hook(daemon: &TestDaemon, event: &serde_json::Value) -> std::process::ExitStatus {
    run_hook(&daemon.home(), event).0
}

fn event(daemon: &TestDaemon, session: &str, fields: serde_json::Value) -> serde_json::Value {
    let mut event = json!({"session_id": session, "transcript_path": "/dev/null",
                           "cwd": daemon.work_dir().display().to_string()});
    for (k, v) in fields.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_session_in_a_registered_directory_is_recorded_from_its_hooks() {
    let daemon = daemon().await;
    daemon.work_directory().await.unwrap();
    let cwd = daemon.work_dir().display().to_string();
    let base = json!({"session_id": "claude-abc", "transcript_path": "/dev/null", "cwd": cwd});
    let with = |fields: serde_json::Value| {
        let mut event = base.clone();
        for (k, v) in fields.as_object().unwrap() {
            event[k] = v.clone();
        }
        event
    };
    let events = [
        with(json!({"hook_event_name": "SessionStart", "source": "startup"})),
        with(json!({"hook_event_name": "UserPromptSubmit", "prompt": "list the files"})),
        with(
            json!({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "toolu_1",
                    "tool_input": {"command": "ls"}}),
        ),
        with(
            json!({"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "toolu_1",
                    "tool_response": {"stdout": "a.txt"}}),
        ),
        with(json!({"hook_event_name": "Stop", "last_assistant_message": "There is a.txt."})),
        with(json!({"hook_event_name": "SessionEnd", "reason": "exit"})),
    ];
    for event in &events {
        assert!(hook(&daemon, event).success());
    }
    let mut client = daemon.client().await.unwrap();
    let sessions = client.list_sessions().await.unwrap();
    assert_eq!(
        sessions.len(),
        1,
        "one session for all its events: {sessions:?}"
    );
    let session = &sessions[0];
    assert_eq!(session.kind, SessionKind::Observed);
    assert_eq!(session.external_id.as_deref(), Some("claude:claude-abc"));
    assert_eq!(
        (session.state, session.end_reason),
        (SessionState::Ended, Some(EndReason::Completed))
    );
    client.subscribe(&session.session_id, 0).await.unwrap();
    let seen = updates_until(&mut client, |_, u| is_state(u, SessionState::Ended))
        .await
        .unwrap();
    let kinds: Vec<&str> = seen.iter().map(|(_, u)| u.update_type()).collect();
    assert_eq!(
        kinds,
        [
            "system-status",
            "state-change",
            "user-message",
            "state-change",
            // Nobody followed the session: no prompt, Claude Code decides.
            "tool-call",
            "tool-call-update",
            "agent-message",
            "state-change",
            "state-change"
        ]
    );
    assert!(
        seen.iter()
            .any(|(_, u)| matches!(u, SessionUpdate::UserMessage(m) if m.text == "list the files"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_outside_registered_directories_and_with_no_daemon_change_nothing() {
    let mut daemon = daemon().await;
    let event = json!({"hook_event_name": "SessionStart", "session_id": "elsewhere",
                       "cwd": daemon.root().display().to_string()});
    assert!(hook(&daemon, &event).success());
    let mut client = daemon.client().await.unwrap();
    assert!(client.list_sessions().await.unwrap().is_empty());
    daemon.kill_hard();
    assert!(
        hook(&daemon, &event).success(),
        "the agent is never failed by vpd"
    );
    let socket = daemon.home().join("daemon.sock");
    assert!(
        Client::connect_unix(&socket).await.is_err(),
        "the hook does not start a daemon"
    );
}

/// Start an observed session and follow it from a viewport.
async fn followed_session(
    daemon: &TestDaemon,
    key: &str,
) -> (Client, viewport_protocol::SessionId) {
    daemon.work_directory().await.unwrap();
    let start = event(daemon, key, json!({"hook_event_name": "SessionStart"}));
    assert!(hook(daemon, &start).success());
    let mut client = daemon.client().await.unwrap();
    let id = client.list_sessions().await.unwrap()[0].session_id.clone();
    client.subscribe(&id, 0).await.unwrap();
    (client, id)
}

async fn answered_tool_call(answer: &'static str) -> String {
    let daemon = daemon().await;
    let (mut client, id) = followed_session(&daemon, "approve-me").await;
    let pre = event(
        &daemon,
        "approve-me",
        json!({"hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_use_id": "toolu_9", "tool_input": {"command": "rm -rf build"}}),
    );
    let home = daemon.home();
    let waiting = std::thread::spawn(move || run_hook(&home, &pre));
    let seen = updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::PermissionRequest(_))
    })
    .await
    .unwrap();
    let Some((_, SessionUpdate::PermissionRequest(request))) = seen.last() else {
        unreachable!()
    };
    client
        .respond(&id, &request.prompt_id, Some(answer))
        .await
        .unwrap();
    let (status, stdout) = waiting.join().unwrap();
    assert!(status.success());
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewport_allows_a_tool_call_of_a_terminal_claude() {
    let stdout = answered_tool_call("allow").await;
    let decision: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        decision["hookSpecificOutput"]["hookEventName"],
        "PreToolUse"
    );
    assert_eq!(
        decision["hookSpecificOutput"]["permissionDecision"],
        "allow"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewport_denies_a_tool_call_of_a_terminal_claude() {
    let stdout = answered_tool_call("deny").await;
    let decision: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(decision["hookSpecificOutput"]["permissionDecision"], "deny");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_tool_call_is_left_to_the_terminal() {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    daemon
        .boot_with(&["--hook-answer-secs", "1"])
        .await
        .unwrap();
    let (mut client, _) = followed_session(&daemon, "alone").await;
    let pre = event(
        &daemon,
        "alone",
        json!({"hook_event_name": "PreToolUse",
        "tool_name": "Write", "tool_use_id": "toolu_1", "tool_input": {}}),
    );
    let (status, stdout) = run_hook(&daemon.home(), &pre);
    assert!(status.success());
    let decision: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(decision["hookSpecificOutput"]["permissionDecision"], "ask");
    let seen = updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::PermissionResolved(_))
    })
    .await
    .unwrap();
    let Some((_, SessionUpdate::PermissionResolved(resolved))) = seen.last() else {
        unreachable!()
    };
    assert!(
        resolved
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("asks in its terminal")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_following_a_tool_call_is_not_held() {
    let daemon = daemon().await;
    daemon.work_directory().await.unwrap();
    let pre = event(
        &daemon,
        "unwatched",
        json!({"hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_use_id": "toolu_2", "tool_input": {"command": "ls"}}),
    );
    let (status, stdout) = run_hook(&daemon.home(), &pre);
    assert!(status.success());
    assert_eq!(
        stdout.trim(),
        "",
        "no decision: Claude Code goes on as usual"
    );
}
