//! Claude Code through `@zed-industries/claude-agent-acp`, against a
//! scripted Anthropic Messages API.

use serde_json::json;
use viewport_protocol::options::ConfigOverrides;
use viewport_protocol::update::{AttentionReason, StopReason, SystemStatus};
use viewport_protocol::{EndReason, ErrorCode, SessionUpdate};
use viewport_testkit::model_server::{ModelServer, Script};

use super::*;

fn overrides(model: &ModelServer) -> ConfigOverrides {
    agent_overrides(
        "claude-code",
        &[
            ("ANTHROPIC_BASE_URL", model.url().as_str()),
            ("ANTHROPIC_API_KEY", "sk-test-not-a-key"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_TELEMETRY", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
            // Claude Code refuses its permission modes to root without it.
            ("IS_SANDBOX", "1"),
        ],
    )
}

async fn write_turn(allow: bool) {
    let daemon = agent_daemon(&[]).await;
    let target = daemon.work_dir().join("hello.txt");
    let script = Script::tool_then_text(
        "Write",
        json!({"file_path": target.to_string_lossy(), "content": "hi from claude\n"}),
        "All done.",
    );
    let model = ModelServer::start(script).await.unwrap();
    let (mut client, session) = launch(&daemon, "write hello.txt", overrides(&model)).await;
    let seen = answer_permission(&mut client, &daemon, &session, allow).await;
    assert_eq!(stop_reason(&seen), Some(StopReason::EndTurn), "{seen:#?}");
    let written = std::fs::read_to_string(&target).ok();
    if allow {
        assert_eq!(written.as_deref(), Some("hi from claude\n"));
    } else {
        assert_eq!(written, None, "a refused write must not happen");
    }
    let stored = stored(&daemon, &session).await;
    assert!(
        stored
            .iter()
            .any(|u| matches!(u, SessionUpdate::PermissionResolved(_)))
    );
    assert!(
        stored
            .iter()
            .any(|u| matches!(u, SessionUpdate::ToolCall(_)))
    );
    assert!(
        stored
            .iter()
            .any(|u| matches!(u, SessionUpdate::AgentMessage(m) if m.text.contains("All done")))
            || !allow
    );
    assert!(!model.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_writes_a_file_when_a_viewport_allows_it() {
    write_turn(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_does_not_write_when_a_viewport_denies_it() {
    write_turn(false).await;
}

/// A Claude session that answered one text turn, idle.
async fn idle_session(
    daemon: &TestDaemon,
    model: &ModelServer,
    extra: ConfigOverrides,
) -> (Client, SessionId) {
    let mut overrides = overrides(model);
    overrides.cost_cap_usd = extra.cost_cap_usd;
    let (mut client, session) = launch(daemon, "hello", overrides).await;
    until(&mut client, daemon, |u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    (client, session)
}

pub fn is_state(update: &SessionUpdate, state: SessionState) -> bool {
    matches!(update, SessionUpdate::StateChange(c) if c.state == state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_cancelled_mid_turn_stops_with_cancelled_and_stays_usable() {
    let daemon = agent_daemon(&[]).await;
    let (model, mut client, session) = stalled_turn(&daemon, overrides).await;
    client.cancel(&session).await.unwrap();
    let seen = until(&mut client, &daemon, is_step).await.unwrap();
    assert_eq!(stop_reason(&seen), Some(StopReason::Cancelled));
    model.set_script(Script::text("Back again."));
    // claude-agent-acp 0.23 may hand the interrupted query's late result to
    // the next prompt, which then ends at once with nothing said (its own
    // source notes this race). The session must still answer by the turn after.
    let mut answered = false;
    for attempt in 0..2 {
        client
            .prompt(&session, &format!("are you there? ({attempt})"))
            .await
            .unwrap();
        let seen = until(&mut client, &daemon, is_step).await.unwrap();
        assert_eq!(stop_reason(&seen), Some(StopReason::EndTurn), "{seen:#?}");
        if seen
            .iter()
            .any(|u| matches!(u, SessionUpdate::AgentMessage(m) if m.text == "Back again."))
        {
            answered = true;
            break;
        }
    }
    assert!(answered, "the session answers again after a cancel");
    let summary = client.session_state(&session).await.unwrap().session;
    assert_eq!(summary.state, SessionState::Idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_switches_mode_at_runtime() {
    let daemon = agent_daemon(&[]).await;
    let model = ModelServer::start(Script::text("Hello.")).await.unwrap();
    let (mut client, session) = idle_session(&daemon, &model, ConfigOverrides::default()).await;
    let mut control = daemon.client().await.unwrap();
    control
        .set_config(&session, Some("plan".into()), None, None)
        .await
        .unwrap();
    until(&mut client, &daemon, |u| {
        matches!(u,
        SessionUpdate::SystemStatus(SystemStatus::Config { options })
            if options.iter().any(|o| o.category.as_deref() == Some("mode") && o.current == "plan"))
    })
    .await
    .unwrap();
    let wrong = control
        .set_config(&session, Some("warp-speed".into()), None, None)
        .await
        .unwrap_err();
    assert!(
        wrong.to_string().contains("plan"),
        "lists the modes: {wrong}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_crossing_the_cost_cap_warns_then_ends_the_session() {
    let daemon = agent_daemon(&[]).await;
    // A million input tokens on a Sonnet model cost about $3 a turn.
    let mut script = Script::text("Expensive answer.");
    script.input_tokens = 1_000_000;
    script.output_tokens = 10;
    script.model = "claude-sonnet-4-5".to_owned();
    let model = ModelServer::start(script).await.unwrap();
    let cap = ConfigOverrides {
        cost_cap_usd: Some(3.5),
        ..ConfigOverrides::default()
    };
    let (mut client, session) = launch(&daemon, "first", {
        let mut o = overrides(&model);
        o.cost_cap_usd = cap.cost_cap_usd;
        o
    })
    .await;
    let seen = until(&mut client, &daemon, |u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    assert!(
        seen.iter().any(
            |u| matches!(u, SessionUpdate::Attention(a) if a.reason == AttentionReason::CostCapNear)
        ),
        "warned at 80%: {seen:#?}"
    );
    client.prompt(&session, "second").await.unwrap();
    until(&mut client, &daemon, |u| is_state(u, SessionState::Ended))
        .await
        .unwrap();
    let summary = client.session_state(&session).await.unwrap().session;
    assert_eq!(summary.end_reason, Some(EndReason::CostCap));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_crashing_mid_turn_ends_the_session_failed() {
    let daemon = agent_daemon(&[]).await;
    let (_model, mut client, session) = stalled_turn(&daemon, overrides).await;
    let killed = kill_processes("claude-agent-acp", &daemon.work_dir());
    assert!(killed > 0, "found the adapter process");
    let seen = until(&mut client, &daemon, |u| is_state(u, SessionState::Ended))
        .await
        .unwrap();
    assert!(seen.iter().any(
        |u| matches!(u, SessionUpdate::Attention(a) if a.reason == AttentionReason::AgentFailed)
    ));
    let summary = client.session_state(&session).await.unwrap().session;
    assert_eq!(summary.end_reason, Some(EndReason::Failed));
}

/// A second turn of an idle session whose first answer was "First
/// answer.": the model sees the first turn, and nothing is stored twice.
async fn second_turn(
    daemon: &TestDaemon,
    model: &ModelServer,
    client: &mut Client,
    session: &SessionId,
) {
    let head = client
        .session_state(session)
        .await
        .unwrap()
        .session
        .last_seq;
    client.subscribe(session, head).await.unwrap();
    model.set_script(Script::text("Second answer."));
    client.prompt(session, "and again").await.unwrap();
    let seen = until(client, daemon, is_step).await.unwrap();
    assert!(
        seen.iter()
            .any(|u| matches!(u, SessionUpdate::AgentMessage(m) if m.text == "Second answer."))
    );
    let last = model
        .requests()
        .into_iter()
        .rev()
        .find(|(path, body)| path == "/v1/messages" && body["tools"].is_array())
        .unwrap();
    let conversation = last.1["messages"].to_string();
    assert!(
        conversation.contains("First answer.") && conversation.contains("hello"),
        "the model saw the earlier turn: {conversation}"
    );
    let replayed = stored(daemon, session).await;
    let firsts = replayed
        .iter()
        .filter(|u| matches!(u, SessionUpdate::AgentMessage(m) if m.text == "First answer."))
        .count();
    assert_eq!(firsts, 1, "nothing was stored twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_is_taken_over_by_a_restarted_daemon_and_takes_the_next_turn() {
    let mut daemon = agent_daemon(&[]).await;
    let model = ModelServer::start(Script::text("First answer."))
        .await
        .unwrap();
    let (client, session) = idle_session(&daemon, &model, ConfigOverrides::default()).await;
    drop(client);
    daemon.restart().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let summary = client.session_state(&session).await.unwrap().session;
    assert_eq!(
        summary.end_reason, None,
        "the adapter ran on and was taken over"
    );
    second_turn(&daemon, &model, &mut client, &session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_resumes_its_conversation_after_the_session_was_closed() {
    let daemon = agent_daemon(&[]).await;
    let model = ModelServer::start(Script::text("First answer."))
        .await
        .unwrap();
    let (mut client, session) = idle_session(&daemon, &model, ConfigOverrides::default()).await;
    client.close(&session).await.unwrap();
    daemon
        .wait_for_state(&session, SessionState::Ended)
        .await
        .unwrap();
    // A fresh connection: the old one still holds the end it was sent.
    let mut client = daemon.client().await.unwrap();
    client.resume(&session).await.unwrap();
    second_turn(&daemon, &model, &mut client, &session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_adapter_says_how_to_install_it() {
    // PATH without the adapters.
    let daemon = TestDaemon::start(vpd()).await.unwrap();
    let directory = daemon.work_directory().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let overrides = ConfigOverrides {
        agent: Some("claude-code".into()),
        ..ConfigOverrides::default()
    };
    let error = client
        .launch_with(directory, "hi", None, overrides)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::AgentUnavailable));
    assert!(
        error
            .to_string()
            .contains("npm install -g @zed-industries/claude-agent-acp"),
        "{error}"
    );
    let agents = client.list_agents().await.unwrap();
    let claude = agents.iter().find(|a| a.name == "claude-code").unwrap();
    assert!(!claude.installed);
    assert!(agents.iter().find(|a| a.name == "demo").unwrap().installed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_without_a_key_asks_its_user_to_log_in() {
    let daemon = agent_daemon(&[]).await;
    let model = ModelServer::start(Script::text("unreachable"))
        .await
        .unwrap();
    let mut overrides = overrides(&model);
    overrides.env.remove("ANTHROPIC_API_KEY");
    let (mut client, session) = launch(&daemon, "hello", overrides).await;
    let seen = until(
        &mut client,
        &daemon,
        |u| matches!(u, SessionUpdate::Attention(a) if a.reason == AttentionReason::LoginRequired),
    )
    .await
    .unwrap();
    let Some(SessionUpdate::Attention(attention)) = seen.last() else {
        unreachable!()
    };
    assert!(
        attention.message.contains("log in"),
        "{}",
        attention.message
    );
    let summary = client.session_state(&session).await.unwrap().session;
    assert_ne!(
        summary.state,
        SessionState::Ended,
        "the session waits for the login"
    );
}
