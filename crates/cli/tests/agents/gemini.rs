//! The Gemini CLI in its ACP mode, against a scripted Gemini API.

use serde_json::json;
use viewport_protocol::SessionUpdate;
use viewport_protocol::options::ConfigOverrides;
use viewport_protocol::update::StopReason;
use viewport_testkit::model_server::{ModelServer, Script};

use super::*;

fn overrides(model: &ModelServer) -> ConfigOverrides {
    agent_overrides(
        "gemini",
        &[
            ("GEMINI_API_KEY", "not-a-key"),
            ("GOOGLE_GEMINI_BASE_URL", model.url().as_str()),
            ("GEMINI_CLI_NO_RELAUNCH", "1"),
        ],
    )
}

async fn write_turn(allow: bool) {
    let daemon = agent_daemon(&[]).await;
    let target = daemon.work_dir().join("gemini.txt");
    let script = Script::tool_then_text(
        "write_file",
        json!({"file_path": target.to_string_lossy(), "content": "hi from gemini\n"}),
        "Gemini wrote it.",
    );
    let model = ModelServer::start(script).await.unwrap();
    let (mut client, session) = launch(&daemon, "write gemini.txt", overrides(&model)).await;
    let seen = answer_permission(&mut client, &daemon, &session, allow).await;
    let written = std::fs::read_to_string(&target).ok();
    if allow {
        assert_eq!(stop_reason(&seen), Some(StopReason::EndTurn), "{seen:#?}");
        assert_eq!(written.as_deref(), Some("hi from gemini\n"));
    } else {
        assert_eq!(written, None, "a refused write must not happen");
    }
    let stored = stored(&daemon, &session).await;
    assert!(
        stored
            .iter()
            .any(|u| matches!(u, SessionUpdate::PermissionResolved(_)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_writes_a_file_when_a_viewport_allows_it() {
    write_turn(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_does_not_write_when_a_viewport_denies_it() {
    write_turn(false).await;
}
