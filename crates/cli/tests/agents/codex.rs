//! OpenAI Codex through `@zed-industries/codex-acp`, against a scripted
//! OpenAI Responses API named as a model provider in a temp `CODEX_HOME`.

use serde_json::json;
use viewport_protocol::SessionUpdate;
use viewport_protocol::options::ConfigOverrides;
use viewport_protocol::update::StopReason;
use viewport_testkit::model_server::{ModelServer, Script};

use super::*;

fn overrides(daemon: &TestDaemon, model: &ModelServer) -> ConfigOverrides {
    let home = codex_home(daemon, model, "untrusted");
    agent_overrides(
        "codex",
        &[
            ("CODEX_HOME", &home.to_string_lossy()),
            ("SCRIPTED_API_KEY", "not-a-key"),
        ],
    )
}

async fn shell_turn(allow: bool) {
    let daemon = agent_daemon(&[]).await;
    let target = daemon.work_dir().join("codex.txt");
    let script = Script::tool_then_text(
        "exec_command",
        json!({"cmd": "echo hi from codex > codex.txt", "workdir": daemon.work_dir()}),
        "Shell done.",
    );
    let model = ModelServer::start(script).await.unwrap();
    let (mut client, session) =
        launch(&daemon, "write codex.txt", overrides(&daemon, &model)).await;
    let seen = answer_permission(&mut client, &daemon, &session, allow).await;
    let written = std::fs::read_to_string(&target).ok();
    if allow {
        assert_eq!(stop_reason(&seen), Some(StopReason::EndTurn), "{seen:#?}");
        assert_eq!(written.as_deref(), Some("hi from codex\n"));
    } else {
        // Codex ends a turn whose command was refused as cancelled.
        assert_eq!(stop_reason(&seen), Some(StopReason::Cancelled), "{seen:#?}");
        assert_eq!(written, None, "a refused command must not run");
    }
    let stored = stored(&daemon, &session).await;
    assert!(
        stored
            .iter()
            .any(|u| matches!(u, SessionUpdate::PermissionResolved(_)))
    );
    // Codex asks before it announces the call; a refused call is never announced.
    assert_eq!(
        stored
            .iter()
            .any(|u| matches!(u, SessionUpdate::ToolCall(_))),
        allow
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_runs_a_command_when_a_viewport_allows_it() {
    shell_turn(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_does_not_run_a_command_a_viewport_denies() {
    shell_turn(false).await;
}
