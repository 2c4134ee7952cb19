//! Sessions started out of band: `claude` in a terminal, reporting through
//! `vpd hook claude` as Claude Code invokes it (the event JSON on stdin).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;
use viewport_protocol::state::SessionKind;
use viewport_protocol::update::SystemStatus;
use viewport_protocol::{EndReason, SessionState, SessionUpdate};

use super::*;

/// Run `vpd hook claude` as Claude Code does; its exit status and stdout.
fn run_hook(
    home: &std::path::Path,
    event: &serde_json::Value,
) -> (std::process::ExitStatus, String) {
    run_agent_hook(home, "claude", event)
}

/// Run `vpd hook AGENT` as the agent does: the event on stdin.
fn run_agent_hook(
    home: &std::path::Path,
    agent: &str,
    event: &serde_json::Value,
) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(vpd())
        .args(["hook", agent])
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
    let mut event = json!({"session_id": session, "cwd": daemon.work_dir().display().to_string()});
    for (k, v) in fields.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_transcript_a_claude_session_is_recorded_from_its_hooks() {
    let daemon = daemon().await;
    daemon.work_directory().await.unwrap();
    let cwd = daemon.work_dir().display().to_string();
    let base = json!({"session_id": "claude-abc", "cwd": cwd});
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

/// A Claude Code transcript as version 2.0 writes it: a prompt, thinking, a
/// Bash call and its result, a reply, a title.
const TRANSCRIPT: &str = include_str!("../../../agents/tests/data/claude-transcript.jsonl");

/// Append `text` to `path` in pieces of 1 to 40 bytes, as a writer flushing
/// at odd places would.
fn append_in_pieces(path: &std::path::Path, text: &str, seed: &mut u64) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let size = ((*seed >> 33) % 40 + 1) as usize;
        let end = (at + size).min(bytes.len());
        file.write_all(&bytes[at..end]).unwrap();
        file.flush().unwrap();
        at = end;
    }
}

fn transcript_lines(from: usize, to: usize) -> String {
    TRANSCRIPT
        .lines()
        .skip(from)
        .take(to - from)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Stored updates of the only session, once `done` holds for one of them.
async fn stored_until(
    daemon: &TestDaemon,
    done: impl Fn(&SessionUpdate) -> bool,
) -> Vec<SessionUpdate> {
    let mut client = daemon.client().await.unwrap();
    let id = client.list_sessions().await.unwrap()[0].session_id.clone();
    client.subscribe(&id, 0).await.unwrap();
    updates_until(&mut client, |_, u| done(u))
        .await
        .unwrap()
        .into_iter()
        .map(|(_, u)| u)
        .collect()
}

fn count(updates: &[SessionUpdate], kind: &str) -> usize {
    updates.iter().filter(|u| u.update_type() == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transcript_tells_what_hooks_do_not_and_nothing_twice() {
    let daemon = daemon().await;
    daemon.work_directory().await.unwrap();
    let transcript = daemon.root().join("transcript.jsonl");
    let path = transcript.display().to_string();
    let with = |fields: serde_json::Value| {
        let mut all = json!({"transcript_path": path});
        for (k, v) in fields.as_object().unwrap() {
            all[k] = v.clone();
        }
        event(&daemon, "with-transcript", all)
    };
    let mut seed = 7;
    assert!(hook(&daemon, &with(json!({"hook_event_name": "SessionStart"}))).success());
    let prompt = json!({"hook_event_name": "UserPromptSubmit", "prompt": "list the files"});
    assert!(hook(&daemon, &with(prompt)).success());
    append_in_pieces(&transcript, &transcript_lines(0, 5), &mut seed);
    let pre = json!({"hook_event_name": "PreToolUse", "tool_name": "Bash",
                     "tool_use_id": "toolu_01B", "tool_input": {"command": "ls"}});
    assert!(hook(&daemon, &with(pre)).success());
    append_in_pieces(&transcript, &transcript_lines(5, 6), &mut seed);
    let post = json!({"hook_event_name": "PostToolUse", "tool_name": "Bash",
                      "tool_use_id": "toolu_01B", "tool_response": {"stdout": "Cargo.toml\nsrc"}});
    assert!(hook(&daemon, &with(post)).success());
    // The reply is written between hooks: the daemon picks it up by itself.
    append_in_pieces(&transcript, &transcript_lines(6, 8), &mut seed);
    let seen = stored_until(&daemon, |u| {
        matches!(u, SessionUpdate::SystemStatus(SystemStatus::Title { .. }))
    })
    .await;
    let stop =
        json!({"hook_event_name": "Stop", "last_assistant_message": "There are two entries"});
    assert!(hook(&daemon, &with(stop)).success());
    let end = json!({"hook_event_name": "SessionEnd", "reason": "exit"});
    assert!(hook(&daemon, &with(end)).success());
    let all = stored_until(&daemon, |u| is_state(u, SessionState::Ended)).await;

    assert_eq!(count(&seen, "user-message"), 1, "{seen:#?}");
    assert_eq!(count(&all, "tool-call"), 1, "from the transcript only");
    assert_eq!(count(&all, "tool-call-update"), 1);
    assert_eq!(count(&all, "agent-message"), 2, "{all:#?}");
    assert_eq!(count(&all, "agent-thought-chunk"), 1);
    assert_eq!(count(&all, "token-usage"), 3);
    assert!(all.iter().any(|u| matches!(u,
        SessionUpdate::ToolCall(call) if call.title == "Bash: ls" && call.tool_call_id == "toolu_01B")));
    let last_states: Vec<SessionState> = all
        .iter()
        .filter_map(|u| match u {
            SessionUpdate::StateChange(c) => Some(c.state),
            _ => None,
        })
        .collect();
    assert_eq!(last_states.last(), Some(&SessionState::Ended));
    assert!(last_states.contains(&SessionState::Idle));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_daemon_goes_on_reading_the_transcript_where_it_stopped() {
    let mut daemon = daemon().await;
    daemon.work_directory().await.unwrap();
    let transcript = daemon.root().join("transcript.jsonl");
    let start = event(
        &daemon,
        "survivor",
        json!({"hook_event_name": "SessionStart", "transcript_path": transcript.display().to_string()}),
    );
    let mut seed = 11;
    append_in_pieces(&transcript, &transcript_lines(0, 4), &mut seed);
    assert!(hook(&daemon, &start).success());
    stored_until(&daemon, |u| matches!(u, SessionUpdate::AgentMessage(_))).await;

    daemon.kill_hard();
    // Written while no daemon ran, the last line half written.
    append_in_pieces(&transcript, &transcript_lines(4, 7), &mut seed);
    let summary = transcript_lines(7, 8);
    let (head, tail) = summary.split_at(20);
    append_in_pieces(&transcript, head, &mut seed);
    daemon.restart().await.unwrap();
    stored_until(
        &daemon,
        |u| matches!(u, SessionUpdate::AgentMessage(m) if m.text.contains("two entries")),
    )
    .await;
    append_in_pieces(&transcript, tail, &mut seed);
    let all = stored_until(&daemon, |u| {
        matches!(u, SessionUpdate::SystemStatus(SystemStatus::Title { .. }))
    })
    .await;
    assert_eq!(count(&all, "user-message"), 1, "{all:#?}");
    assert_eq!(count(&all, "agent-message"), 2, "{all:#?}");
    assert_eq!(count(&all, "tool-call"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_whose_agent_process_vanished_ends() {
    let daemon = daemon().await;
    daemon.work_directory().await.unwrap();
    let start = event(
        &daemon,
        "vanishing",
        json!({"hook_event_name": "SessionStart"}),
    );
    // `timeout` stands for the agent: the hook's parent, gone once it returns.
    let mut child = Command::new("timeout")
        .args(["60", vpd().to_str().unwrap(), "hook", "claude"])
        .env("VIEWPORT_HOME", daemon.home())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(start.to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let all = stored_until(&daemon, |u| is_state(u, SessionState::Ended)).await;
    let Some(SessionUpdate::StateChange(end)) = all.last() else {
        unreachable!()
    };
    assert!(
        end.detail.as_deref().unwrap_or("").contains("process"),
        "{end:?}"
    );
}

/// Rollouts Codex 0.137 wrote: a command allowed, then its reply.
const ROLLOUT: &str = include_str!("../../../agents/tests/data/codex-rollout-allowed.jsonl");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_codex_is_recorded_and_a_viewport_answers_its_permission_request() {
    let daemon = daemon().await;
    daemon.work_directory().await.unwrap();
    let rollout = daemon.root().join("rollout.jsonl");
    let home = daemon.home();
    let codex_event = |fields: serde_json::Value| {
        let mut all = json!({"transcript_path": rollout.display().to_string(),
                             "model": "gpt-5-codex", "permission_mode": "default"});
        for (k, v) in fields.as_object().unwrap() {
            all[k] = v.clone();
        }
        event(&daemon, "019a-codex-thread", all)
    };
    let lines: Vec<&str> = ROLLOUT.lines().collect();
    let call = lines
        .iter()
        .position(|l| l.contains("\"function_call\""))
        .unwrap();
    let mut seed = 5;
    let start = codex_event(json!({"hook_event_name": "SessionStart", "source": "startup"}));
    assert!(run_agent_hook(&home, "codex", &start).0.success());
    let mut client = daemon.client().await.unwrap();
    let session = client.list_sessions().await.unwrap().remove(0);
    assert_eq!(session.agent, "codex");
    assert_eq!(
        session.external_id.as_deref(),
        Some("codex:019a-codex-thread")
    );
    client.subscribe(&session.session_id, 0).await.unwrap();

    append_in_pieces(&rollout, &(lines[..=call].join("\n") + "\n"), &mut seed);
    let ask = codex_event(
        json!({"hook_event_name": "PermissionRequest", "turn_id": "t1",
        "tool_name": "Bash", "tool_input": {"command": "echo hi from codex > codex.txt"}}),
    );
    let asking_home = home.clone();
    let waiting = std::thread::spawn(move || run_agent_hook(&asking_home, "codex", &ask));
    let seen = updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::PermissionRequest(_))
    })
    .await
    .unwrap();
    assert!(seen.iter().any(|(_, u)| matches!(u,
        SessionUpdate::ToolCall(c) if c.title.contains("echo hi from codex"))));
    let Some((_, SessionUpdate::PermissionRequest(request))) = seen.last() else {
        unreachable!()
    };
    client
        .respond(&session.session_id, &request.prompt_id, Some("allow"))
        .await
        .unwrap();
    let (status, stdout) = waiting.join().unwrap();
    assert!(status.success());
    let decision: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        decision["hookSpecificOutput"],
        json!({"hookEventName": "PermissionRequest",
               "decision": {"behavior": "allow", "message": "allowed from a vpd viewport"}})
    );

    append_in_pieces(&rollout, &(lines[call + 1..].join("\n") + "\n"), &mut seed);
    let stop =
        codex_event(json!({"hook_event_name": "Stop", "last_assistant_message": "Shell done."}));
    assert!(run_agent_hook(&home, "codex", &stop).0.success());
    let rest = updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    let all: Vec<SessionUpdate> = seen.into_iter().chain(rest).map(|(_, u)| u).collect();
    assert_eq!(count(&all, "user-message"), 1, "{all:#?}");
    assert_eq!(count(&all, "agent-message"), 1, "{all:#?}");
    assert_eq!(count(&all, "tool-call"), 1, "{all:#?}");
    assert_eq!(
        count(&all, "attention"),
        1,
        "one prompt, one call for attention: {all:#?}"
    );
    assert!(
        all.iter()
            .any(|u| matches!(u, SessionUpdate::TokenUsage(t) if t.input_tokens == Some(200)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_codex_permission_request_is_left_to_its_terminal() {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    daemon
        .boot_with(&["--hook-answer-secs", "1"])
        .await
        .unwrap();
    daemon.work_directory().await.unwrap();
    let home = daemon.home();
    let start = event(
        &daemon,
        "codex-alone",
        json!({"hook_event_name": "SessionStart"}),
    );
    assert!(run_agent_hook(&home, "codex", &start).0.success());
    let mut client = daemon.client().await.unwrap();
    let id = client.list_sessions().await.unwrap()[0].session_id.clone();
    client.subscribe(&id, 0).await.unwrap();
    let ask = event(
        &daemon,
        "codex-alone",
        json!({"hook_event_name": "PermissionRequest",
        "tool_name": "Bash", "tool_input": {"command": "rm -rf build"}}),
    );
    let (status, stdout) = run_agent_hook(&home, "codex", &ask);
    assert!(status.success());
    assert_eq!(stdout.trim(), "", "no decision: Codex asks its user");
}
