//! Claude Code itself, run the way a person runs `claude` in a terminal (here
//! headless, `claude -p`), with vpd's hooks installed in the project: the
//! daemon picks the session up from its hooks and transcript. The CLI is the
//! one inside the Claude Agent SDK the ACP adapter brings, pointed at a
//! scripted Anthropic Messages API.

use std::process::Stdio;

use serde_json::json;
use viewport_protocol::state::SessionKind;
use viewport_protocol::{SessionState, SessionUpdate};
use viewport_testkit::model_server::{ModelServer, Script};

use super::*;

/// Claude Code's CLI as the Claude Agent SDK ships it.
fn claude_cli() -> PathBuf {
    let cli = adapters_bin().join("../@anthropic-ai/claude-agent-sdk/cli.js");
    assert!(cli.is_file(), "no Claude Code CLI at {}", cli.display());
    cli
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_run_in_a_terminal_is_recorded_from_its_hooks_and_transcript() {
    let daemon = agent_daemon(&[]).await;
    daemon.work_directory().await.unwrap();
    let work = daemon.work_dir();
    std::fs::write(work.join("notes.txt"), "remember the milk\n").unwrap();
    let installed = daemon
        .vpd()
        .args(["hooks", "install", "--project"])
        .output()
        .unwrap();
    assert!(installed.status.success(), "{installed:?}");

    let script = Script::tool_then_text(
        "Read",
        json!({"file_path": work.join("notes.txt").to_string_lossy()}),
        "The note says to remember the milk.",
    );
    let model = ModelServer::start(script).await.unwrap();
    let agent_home = daemon.root().join("agent-home");
    let claude = tokio::process::Command::new("node")
        .arg(claude_cli())
        .args(["-p", "what does notes.txt say?", "--output-format", "json"])
        .current_dir(&work)
        .env("HOME", &agent_home)
        .env("VIEWPORT_HOME", daemon.home())
        .env("ANTHROPIC_BASE_URL", model.url())
        .env("ANTHROPIC_API_KEY", "sk-test-not-a-key")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("IS_SANDBOX", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), claude)
        .await
        .expect("claude -p did not finish within 90 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "claude failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut client = daemon.client().await.unwrap();
    let sessions = client.list_sessions().await.unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:#?}\n{}", daemon.log());
    let session = &sessions[0];
    assert_eq!(session.kind, SessionKind::Observed);
    assert!(
        session
            .external_id
            .as_deref()
            .is_some_and(|id| id.starts_with("claude:"))
    );
    client.subscribe(&session.session_id, 0).await.unwrap();
    let seen = until(
        &mut client,
        &daemon,
        |u| matches!(u, SessionUpdate::StateChange(c) if c.state == SessionState::Ended),
    )
    .await
    .unwrap();
    let count = |kind: &str| seen.iter().filter(|u| u.update_type() == kind).count();
    assert!(
        seen.iter().any(
            |u| matches!(u, SessionUpdate::UserMessage(m) if m.text.contains("notes.txt say"))
        ),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|u| matches!(u, SessionUpdate::ToolCall(c) if c.title.starts_with("Read"))),
        "{seen:#?}"
    );
    assert!(
        seen.iter().any(
            |u| matches!(u, SessionUpdate::AgentMessage(m) if m.text.contains("remember the milk"))
        ),
        "{seen:#?}"
    );
    assert_eq!(count("user-message"), 1, "{seen:#?}");
    // The turn's end waits for the transcript: the reply comes before it.
    let reply = seen.iter().position(
        |u| matches!(u, SessionUpdate::AgentMessage(m) if m.text.contains("remember the milk")),
    );
    let idle = seen
        .iter()
        .rposition(|u| matches!(u, SessionUpdate::StateChange(c) if c.state == SessionState::Idle));
    assert!(reply < idle, "{seen:#?}");
    assert_eq!(count("tool-call"), 1, "{seen:#?}");
    assert!(count("token-usage") >= 1, "{seen:#?}");
}
