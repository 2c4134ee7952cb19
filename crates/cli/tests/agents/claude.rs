//! Claude Code through `@zed-industries/claude-agent-acp`, against a
//! scripted Anthropic Messages API.

use serde_json::json;
use viewport_protocol::options::ConfigOverrides;
use viewport_protocol::update::{PermissionOptionKind, StopReason};
use viewport_protocol::SessionUpdate;
use viewport_testkit::model_server::{ModelServer, Script};

use super::*;

fn overrides(model: &ModelServer) -> ConfigOverrides {
    let mut overrides = ConfigOverrides {
        agent: Some("claude-code".to_owned()),
        ..ConfigOverrides::default()
    };
    for (name, value) in [
        ("ANTHROPIC_BASE_URL", model.url().as_str()),
        ("ANTHROPIC_API_KEY", "sk-test-not-a-key"),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
        ("DISABLE_TELEMETRY", "1"),
        ("DISABLE_AUTOUPDATER", "1"),
        // Claude Code refuses its permission modes to root without it.
        ("IS_SANDBOX", "1"),
    ] {
        overrides.env.insert(name.to_owned(), value.to_owned());
    }
    overrides
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
    let seen = until(&mut client, &daemon, |u| matches!(u, SessionUpdate::PermissionRequest(_)))
        .await
        .unwrap();
    let request = permission(&seen).unwrap();
    let kind = if allow {
        PermissionOptionKind::AllowOnce
    } else {
        PermissionOptionKind::RejectOnce
    };
    client
        .respond(&session, &request.prompt_id, Some(&option_of(&request, kind)))
        .await
        .unwrap();
    let seen = until(&mut client, &daemon, is_step).await.unwrap();
    assert_eq!(stop_reason(&seen), Some(StopReason::EndTurn), "{seen:#?}");
    let written = std::fs::read_to_string(&target).ok();
    if allow {
        assert_eq!(written.as_deref(), Some("hi from claude\n"));
    } else {
        assert_eq!(written, None, "a refused write must not happen");
    }
    let stored = stored(&daemon, &session).await;
    assert!(stored.iter().any(|u| matches!(u, SessionUpdate::PermissionResolved(_))));
    assert!(stored.iter().any(|u| matches!(u, SessionUpdate::ToolCall(_))));
    assert!(stored.iter().any(|u| matches!(u, SessionUpdate::AgentMessage(m) if m.text.contains("All done"))) || !allow);
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
