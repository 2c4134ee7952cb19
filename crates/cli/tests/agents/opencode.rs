//! OpenCode's ACP server, with its Anthropic provider pointed at a scripted
//! Anthropic Messages API.

use serde_json::json;
use viewport_protocol::options::ConfigOverrides;
use viewport_protocol::update::StopReason;
use viewport_testkit::model_server::{ModelServer, Script};

use super::*;

fn overrides(model: &ModelServer) -> ConfigOverrides {
    let config = json!({
        "model": "anthropic/claude-sonnet-4-5",
        "autoupdate": false,
        "share": "disabled",
        "provider": {"anthropic": {"options": {"baseURL": format!("{}/v1", model.url()), "apiKey": "not-a-key"}}},
        "permission": {"edit": "ask", "bash": "ask"}
    });
    agent_overrides(
        "opencode",
        &[
            ("OPENCODE_CONFIG_CONTENT", &config.to_string()),
            ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
            ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opencode_writes_a_file_when_a_viewport_allows_it() {
    let daemon = agent_daemon(&[]).await;
    let target = daemon.work_dir().join("opencode.txt");
    let script = Script::tool_then_text(
        "write",
        json!({"filePath": target.to_string_lossy(), "content": "hi from opencode\n"}),
        "OpenCode wrote it.",
    );
    let model = ModelServer::start(script).await.unwrap();
    let (mut client, session) = launch(&daemon, "write opencode.txt", overrides(&model)).await;
    let seen = answer_permission(&mut client, &daemon, &session, true).await;
    assert_eq!(stop_reason(&seen), Some(StopReason::EndTurn), "{seen:#?}");
    assert_eq!(
        std::fs::read_to_string(&target).ok().as_deref(),
        Some("hi from opencode\n")
    );
}
