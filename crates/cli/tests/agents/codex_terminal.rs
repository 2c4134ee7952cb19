//! The Codex CLI itself (`@openai/codex`), run the way a person runs it in a
//! terminal (here headless, `codex exec`), with vpd's hooks installed in the
//! project: the daemon picks the session up from its hooks and its rollout
//! file. Codex talks to a scripted OpenAI Responses API.

use std::process::Stdio;

use serde_json::json;
use viewport_protocol::state::SessionKind;
use viewport_protocol::{SessionState, SessionUpdate};
use viewport_testkit::model_server::{ModelServer, Script};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_run_in_a_terminal_is_recorded_from_its_hooks_and_rollout() {
    let daemon = agent_daemon(&[]).await;
    daemon.work_directory().await.unwrap();
    let work = daemon.work_dir();
    let installed = daemon
        .vpd()
        .args(["hooks", "install", "--codex", "--project"])
        .output()
        .unwrap();
    assert!(installed.status.success(), "{installed:?}");

    let script = Script::tool_then_text(
        "exec_command",
        json!({"cmd": "echo hi from codex > codex.txt", "workdir": work}),
        "Shell done.",
    );
    let model = ModelServer::start(script).await.unwrap();
    let codex = tokio::process::Command::new(adapters_bin().join("codex"))
        // A person trusts new hooks once in Codex's `/hooks`; `exec` cannot ask.
        .args([
            "exec",
            "--skip-git-repo-check",
            "--dangerously-bypass-hook-trust",
            "write codex.txt",
        ])
        .current_dir(&work)
        .env("HOME", daemon.root().join("agent-home"))
        // `never`: nothing to approve; the project is trusted, so its
        // `.codex/hooks.json` is read.
        .env("CODEX_HOME", codex_home(&daemon, &model, "never"))
        .env("SCRIPTED_API_KEY", "not-a-key")
        .env("VIEWPORT_HOME", daemon.home())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), codex)
        .await
        .expect("codex exec did not finish within 90 s")
        .unwrap();
    assert!(
        output.status.success(),
        "codex failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(work.join("codex.txt"))
            .ok()
            .as_deref(),
        Some("hi from codex\n")
    );

    let mut client = daemon.client().await.unwrap();
    let sessions = client.list_sessions().await.unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:#?}\n{}", daemon.log());
    let session = &sessions[0];
    assert_eq!(session.kind, SessionKind::Observed);
    assert_eq!(session.agent, "codex");
    client.subscribe(&session.session_id, 0).await.unwrap();
    // `codex exec` leaves no SessionEnd: its process going away ends it.
    let seen = until(
        &mut client,
        &daemon,
        |u| matches!(u, SessionUpdate::StateChange(c) if c.state == SessionState::Ended),
    )
    .await
    .unwrap();
    let count = |kind: &str| seen.iter().filter(|u| u.update_type() == kind).count();
    assert_eq!(count("user-message"), 1, "{seen:#?}");
    assert_eq!(count("tool-call"), 1, "{seen:#?}");
    assert!(
        seen.iter()
            .any(|u| matches!(u, SessionUpdate::AgentMessage(m) if m.text == "Shell done.")),
        "{seen:#?}"
    );
    assert!(count("token-usage") >= 1, "{seen:#?}");
}
