//! The client side of ACP, driven by the demo agent over a real connection:
//! terminals, files confined to the session's directory, session options
//! (env, cwd, instructions, custom command), modes, close, destroy, resume.

use std::collections::BTreeMap;

use viewport_protocol::options::{ConfigOverrides, ContextItem, McpServer, PermissionPolicy};
use viewport_protocol::update::SystemStatus;
use viewport_protocol::{
    EndReason, ErrorCode, ServerFrame, SessionId, SessionState, SessionUpdate,
};

use super::*;

/// Launch with `overrides` and read until the first turn is done.
async fn turn(
    daemon: &TestDaemon,
    prompt: &str,
    overrides: ConfigOverrides,
) -> (Client, SessionId, Vec<SessionUpdate>) {
    let (mut client, session) = daemon.launch_following(prompt, overrides).await.unwrap();
    let seen = updates_until(&mut client, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    (client, session, seen.into_iter().map(|(_, u)| u).collect())
}

async fn next_turn(client: &mut Client, session: &SessionId, prompt: &str) -> Vec<SessionUpdate> {
    client.prompt(session, prompt).await.unwrap();
    let seen = updates_until(client, |_, u| matches!(u, SessionUpdate::StepCommitted(_)))
        .await
        .unwrap();
    seen.into_iter().map(|(_, u)| u).collect()
}

fn said(seen: &[SessionUpdate]) -> String {
    seen.iter()
        .rev()
        .find_map(|u| match u {
            SessionUpdate::AgentMessage(m) => Some(m.text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_run_commands_with_only_the_env_the_session_was_given() {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    daemon.set_env("VIEWPORT_TEST_SECRET", "leaked");
    daemon.boot_with(&[]).await.unwrap();
    let mut env = BTreeMap::new();
    env.insert("GREETING".to_owned(), "hello there".to_owned());
    let overrides = ConfigOverrides {
        env,
        ..ConfigOverrides::default()
    };
    let (_, _, seen) = turn(
        &daemon,
        "term echo [$GREETING] [$VIEWPORT_TEST_SECRET]",
        overrides,
    )
    .await;
    assert_eq!(said(&seen), "exit 0: [hello there] []");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_read_and_written_inside_the_session_directory_only() {
    let daemon = daemon().await;
    let inside = daemon.work_dir().join("notes/a.txt");
    let outside = daemon.root().join("outside.txt");
    std::fs::write(&outside, "private").unwrap();
    let prompt = format!("fs-write {} written by the agent", inside.display());
    let (mut client, session, seen) = turn(&daemon, &prompt, ConfigOverrides::default()).await;
    assert_eq!(said(&seen), "wrote it");
    assert_eq!(
        std::fs::read_to_string(&inside).unwrap(),
        "written by the agent"
    );
    let seen = next_turn(
        &mut client,
        &session,
        &format!("fs-read {}", inside.display()),
    )
    .await;
    assert_eq!(said(&seen), "read: written by the agent");
    let seen = next_turn(
        &mut client,
        &session,
        &format!("fs-read {}", outside.display()),
    )
    .await;
    assert!(
        said(&seen).contains("outside the session's working directory"),
        "{}",
        said(&seen)
    );
    let seen = next_turn(
        &mut client,
        &session,
        &format!("fs-write {} x", outside.display()),
    )
    .await;
    assert!(said(&seen).starts_with("write failed"), "{}", said(&seen));
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "private");
    let missing = daemon.work_dir().join("missing.txt");
    let seen = next_turn(
        &mut client,
        &session,
        &format!("fs-read {}", missing.display()),
    )
    .await;
    assert!(
        said(&seen).contains("Resource not found"),
        "{}",
        said(&seen)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cwd_and_instructions_reach_the_agent() {
    let daemon = daemon().await;
    std::fs::create_dir(daemon.work_dir().join("sub")).unwrap();
    let overrides = ConfigOverrides {
        cwd: Some("sub".to_owned()),
        additional_instructions: Some("answer briefly".to_owned()),
        ..ConfigOverrides::default()
    };
    let (_, _, seen) = turn(&daemon, "term pwd", overrides).await;
    assert!(said(&seen).ends_with("/sub"), "{}", said(&seen));
    assert!(seen.iter().any(|u| matches!(u,
        SessionUpdate::AgentThoughtChunk(t) if t.text == "instructions: answer briefly")));
    let outside = ConfigOverrides {
        cwd: Some("..".to_owned()),
        ..ConfigOverrides::default()
    };
    let directory = daemon.work_directory().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let error = client
        .launch_with(directory, "hi", None, outside)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::InvalidFrame), "{error}");
    assert!(error.to_string().contains("cwd"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_command_runs_any_acp_agent() {
    let daemon = daemon().await;
    let overrides = ConfigOverrides {
        agent: Some("custom".to_owned()),
        command: vec![vpd().display().to_string(), "__demo-agent".to_owned()],
        ..ConfigOverrides::default()
    };
    let (_, _, seen) = turn(&daemon, "burst 3", overrides).await;
    let chunks = seen
        .iter()
        .filter(|u| matches!(u, SessionUpdate::AgentMessageChunk(_)))
        .count();
    assert_eq!(chunks, 3);
    let directory = daemon.work_directory().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let no_command = ConfigOverrides {
        agent: Some("custom".to_owned()),
        ..ConfigOverrides::default()
    };
    let error = client
        .launch_with(directory, "hi", None, no_command)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::AgentUnavailable));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_switch_at_runtime_and_bad_values_are_explained() {
    let daemon = daemon().await;
    let (mut client, session, seen) = turn(&daemon, "burst 1", ConfigOverrides::default()).await;
    assert!(seen.iter().any(|u| matches!(u,
        SessionUpdate::SystemStatus(SystemStatus::Config { options }) if options[0].current == "default")));
    let mut control = daemon.client().await.unwrap();
    control
        .set_config(&session, Some("plan".into()), None, None)
        .await
        .unwrap();
    updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::SystemStatus(SystemStatus::Mode { mode_id }) if mode_id == "plan")
    })
    .await
    .unwrap();
    let error = control
        .set_config(&session, None, Some("gpt-9".into()), None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no model setting"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_session_resumes_without_storing_the_replay_twice() {
    let daemon = daemon().await;
    let (mut client, session, _) = turn(&daemon, "burst 1", ConfigOverrides::default()).await;
    client.close(&session).await.unwrap();
    let summary = client.session_state(&session).await.unwrap().session;
    assert_eq!(
        (summary.state, summary.end_reason),
        (SessionState::Ended, Some(EndReason::Completed))
    );
    client.resume(&session).await.unwrap();
    let summary = client.session_state(&session).await.unwrap().session;
    assert_eq!(summary.state, SessionState::Idle);
    let mut follower = daemon.client().await.unwrap();
    follower
        .subscribe(&session, summary.last_seq)
        .await
        .unwrap();
    let seen = next_turn(&mut follower, &session, "burst 2").await;
    let chunks = seen
        .iter()
        .filter(|u| matches!(u, SessionUpdate::AgentMessageChunk(_)))
        .count();
    assert_eq!(chunks, 2);
    let mut replay = daemon.client().await.unwrap();
    replay.subscribe(&session, 0).await.unwrap();
    let all = updates_until(&mut replay, |_, u| {
        matches!(u, SessionUpdate::StepCommitted(_))
    })
    .await
    .unwrap();
    assert!(
        !all.iter().any(
            |(_, u)| matches!(u, SessionUpdate::UserMessage(m) if m.text.contains("replayed"))
        ),
        "what session/load replays is already stored"
    );
    let again = client.resume(&session).await.unwrap_err();
    assert!(again.to_string().contains("running"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_a_session_and_its_files() {
    let daemon = daemon().await;
    let (mut client, session, _) = turn(&daemon, "burst 1", ConfigOverrides::default()).await;
    let files = daemon.home().join("sessions").join(session.as_str());
    assert!(files.is_dir());
    client.destroy(&session, true).await.unwrap();
    assert!(!files.exists());
    let sessions = client.list_sessions().await.unwrap();
    assert!(sessions.iter().all(|s| s.session_id != session));
    let gone = client.destroy(&session, true).await.unwrap_err();
    assert_eq!(gone.code(), Some(ErrorCode::UnknownSession));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_servers_and_prompt_context_reach_the_agent() {
    let daemon = daemon().await;
    let overrides = ConfigOverrides {
        mcp_servers: vec![
            McpServer::Stdio {
                name: "fs".into(),
                command: "mcp-fs".into(),
                args: vec!["/srv".into()],
                env: BTreeMap::new(),
            },
            McpServer::Http {
                name: "docs".into(),
                url: "http://127.0.0.1:9/mcp".into(),
                headers: BTreeMap::new(),
            },
        ],
        permission_policy: Some(PermissionPolicy::DenyAll),
        ..ConfigOverrides::default()
    };
    let (mut client, session, seen) = turn(&daemon, "mcp", overrides).await;
    assert!(
        seen.iter()
            .any(|u| matches!(u, SessionUpdate::AgentThoughtChunk(t)
            if t.text == "mcp servers: fs (stdio: mcp-fs), docs (http: http://127.0.0.1:9/mcp)")),
        "{seen:#?}"
    );
    let context = vec![ContextItem {
        uri: "file:///srv/notes.md".into(),
        text: Some("# notes".into()),
        mime_type: Some("text/markdown".into()),
    }];
    client
        .prompt_with(&session, "burst 1", context)
        .await
        .unwrap();
    let seen = updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::StepCommitted(_))
    })
    .await
    .unwrap();
    assert!(seen.iter().any(|(_, u)| matches!(u,
        SessionUpdate::AgentThoughtChunk(t) if t.text == "context: file:///srv/notes.md")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_fails_to_start_is_explained_by_its_stderr() {
    let daemon = daemon().await;
    let overrides = ConfigOverrides {
        agent: Some("custom".to_owned()),
        command: vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "echo 'fatal: no API key configured' >&2; exit 2".to_owned(),
        ],
        ..ConfigOverrides::default()
    };
    let (mut client, session) = daemon.launch_following("hi", overrides).await.unwrap();
    let ended = loop {
        match next(&mut client).await.unwrap() {
            ServerFrame::SessionEnded { reason, detail, .. } => break (reason, detail),
            _ => continue,
        }
    };
    assert_eq!(ended.0, EndReason::Failed);
    let detail = ended.1.unwrap_or_default();
    assert!(detail.contains("status 2"), "{detail}");
    assert!(detail.contains("fatal: no API key configured"), "{detail}");
    let summary = client.session_state(&session).await.unwrap().session;
    assert_eq!(summary.exit_code, Some(2));
}

/// An ACP agent that answers `initialize`, refuses `session/new`, and then
/// lingers with its stdin closed.
const LINGERING_AGENT: &str = r#"
id() { printf '%s' "$1" | sed 's/.*"id":\([^,}]*\).*/\1/'; }
read -r line
printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":1,"agentCapabilities":{}}}\n' "$(id "$line")"
read -r line
printf '{"jsonrpc":"2.0","id":%s,"error":{"code":-32603,"message":"no sessions today"}}\n' "$(id "$line")"
exec sleep 300 < /dev/null
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_lingers_after_a_failed_handshake_is_stopped() {
    let daemon = daemon().await;
    let overrides = ConfigOverrides {
        agent: Some("custom".to_owned()),
        command: vec!["sh".into(), "-c".into(), LINGERING_AGENT.into()],
        ..ConfigOverrides::default()
    };
    let (mut client, _) = daemon.launch_following("hi", overrides).await.unwrap();
    let detail = loop {
        match next(&mut client).await.unwrap() {
            ServerFrame::SessionEnded { reason, detail, .. } => {
                assert_eq!(reason, EndReason::Failed);
                break detail.unwrap_or_default();
            }
            _ => continue,
        }
    };
    assert!(detail.contains("no sessions today"), "{detail}");
}
