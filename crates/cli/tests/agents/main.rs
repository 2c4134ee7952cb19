#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End to end with real agents: the ACP adapters published on npm (pinned in
//! `tests/agents/package.json`, installed by `scripts/test`), each pointed at
//! a scripted model server on 127.0.0.1. No network, no real key.

mod claude;
mod claude_terminal;
mod codex;
mod codex_terminal;
mod gemini;
mod opencode;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use viewport_client::Client;
use viewport_protocol::options::ConfigOverrides;
use viewport_protocol::update::{PermissionOptionKind, PermissionRequest};
use viewport_protocol::{ServerFrame, SessionId, SessionState, SessionUpdate};
use viewport_testkit::daemon::TestDaemon;
use viewport_testkit::model_server::{ModelServer, Script};

/// Real agents start slower than the demo agent; a turn may take a while
/// on a loaded 2-core machine.
pub const AGENT_WAIT: Duration = Duration::from_secs(30);

pub fn vpd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vpd"))
}

/// Where `npm ci` put the adapters' executables.
pub fn adapters_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/agents/node_modules/.bin");
    assert!(
        bin.is_dir(),
        "the agent adapters are not installed: run `npm ci --prefix tests/agents` (./scripts/test does)"
    );
    bin
}

/// A daemon whose agents find the adapters on PATH and live in a temp HOME.
pub async fn agent_daemon(env: &[(&str, &str)]) -> TestDaemon {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    let path = format!(
        "{}:{}",
        adapters_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let agent_home = daemon.root().join("agent-home");
    std::fs::create_dir_all(&agent_home).unwrap();
    daemon.set_env("PATH", &path);
    daemon.set_env("HOME", &agent_home.to_string_lossy());
    for (name, value) in env {
        daemon.set_env(name, value);
    }
    daemon.boot_with(&[]).await.unwrap();
    daemon
}

/// A `CODEX_HOME` under the daemon's root whose only provider is the
/// scripted server, with this approval policy, trusting the work directory.
pub fn codex_home(daemon: &TestDaemon, model: &ModelServer, approval_policy: &str) -> PathBuf {
    let home = daemon.root().join("codex-home");
    std::fs::create_dir_all(&home).unwrap();
    let config = format!(
        r#"model = "gpt-5-codex"
model_provider = "scripted"
approval_policy = "{approval_policy}"
sandbox_mode = "danger-full-access"

[model_providers.scripted]
name = "scripted"
base_url = "{}/v1"
env_key = "SCRIPTED_API_KEY"
wire_api = "responses"

[projects."{}"]
trust_level = "trusted"
"#,
        model.url(),
        daemon.work_dir().display()
    );
    std::fs::write(home.join("config.toml"), config).unwrap();
    home
}

/// Launch in the daemon's work directory and follow the session from its start.
pub async fn launch(
    daemon: &TestDaemon,
    prompt: &str,
    overrides: ConfigOverrides,
) -> (Client, SessionId) {
    daemon.launch_following(prompt, overrides).await.unwrap()
}

/// Options that run `agent` with these variables set.
pub fn agent_overrides(agent: &str, env: &[(&str, &str)]) -> ConfigOverrides {
    let mut overrides = ConfigOverrides {
        agent: Some(agent.to_owned()),
        ..ConfigOverrides::default()
    };
    for (name, value) in env {
        overrides
            .env
            .insert((*name).to_owned(), (*value).to_owned());
    }
    overrides
}

/// Read updates until `stop` says so; fails with what was seen when the
/// session ends first or nothing comes in time.
pub async fn until(
    client: &mut Client,
    daemon: &TestDaemon,
    mut stop: impl FnMut(&SessionUpdate) -> bool,
) -> Result<Vec<SessionUpdate>> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + AGENT_WAIT;
    loop {
        let frame = tokio::time::timeout_at(deadline, client.next_frame()).await;
        let frame = match frame {
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => bail!("the connection closed; seen: {seen:#?}"),
            Ok(Err(e)) => bail!("{e}; seen: {seen:#?}"),
            Err(_) => bail!(
                "nothing more within {AGENT_WAIT:?}; seen: {seen:#?}\nagent stderr:\n{}",
                agent_stderr(daemon)
            ),
        };
        match frame {
            ServerFrame::SessionUpdate { update, .. } => {
                let done = stop(&update);
                seen.push(update);
                if done {
                    return Ok(seen);
                }
            }
            ServerFrame::SessionEnded { reason, detail, .. } => {
                if !stop(&SessionUpdate::StateChange(
                    viewport_protocol::update::StateChange {
                        state: SessionState::Ended,
                        disconnected: false,
                        reason: Some(reason),
                        detail: detail.clone(),
                        exit_code: None,
                    },
                )) {
                    bail!(
                        "the session ended ({reason}: {detail:?}); seen: {seen:#?}\nagent stderr:\n{}",
                        agent_stderr(daemon)
                    );
                }
                return Ok(seen);
            }
            _ => {}
        }
    }
}

/// Every agent's stderr in this daemon's home.
pub fn agent_stderr(daemon: &TestDaemon) -> String {
    let mut all = String::new();
    if let Ok(sessions) = std::fs::read_dir(daemon.home().join("sessions")) {
        for entry in sessions.flatten() {
            let log = entry.path().join("agent.stderr.log");
            if let Ok(text) = std::fs::read_to_string(&log) {
                let tail: String = text
                    .chars()
                    .rev()
                    .take(4000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                all.push_str(&tail);
            }
        }
    }
    all
}

pub fn permission(seen: &[SessionUpdate]) -> Option<PermissionRequest> {
    seen.iter().rev().find_map(|u| match u {
        SessionUpdate::PermissionRequest(r) => Some(r.clone()),
        _ => None,
    })
}

/// The option of `kind` a permission request offers.
pub fn option_of(request: &PermissionRequest, kind: PermissionOptionKind) -> String {
    request
        .options
        .iter()
        .find(|o| o.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} option in {:?}", request.options))
        .option_id
        .clone()
}

pub fn is_step(update: &SessionUpdate) -> bool {
    matches!(update, SessionUpdate::StepCommitted(_))
}

pub fn stop_reason(seen: &[SessionUpdate]) -> Option<viewport_protocol::update::StopReason> {
    seen.iter().rev().find_map(|u| match u {
        SessionUpdate::StepCommitted(s) => Some(s.stop_reason),
        _ => None,
    })
}

/// Every update stored for the session, read back from a fresh connection.
pub async fn stored(daemon: &TestDaemon, session: &SessionId) -> Vec<SessionUpdate> {
    let mut client = daemon.client().await.unwrap();
    let head = client
        .session_state(session)
        .await
        .unwrap()
        .session
        .last_seq;
    client.subscribe(session, 0).await.unwrap();
    let mut updates = Vec::new();
    while (updates.len() as u64) < head {
        match tokio::time::timeout(AGENT_WAIT, client.next_frame()).await {
            Ok(Ok(Some(ServerFrame::SessionUpdate { update, .. }))) => updates.push(update),
            Ok(Ok(Some(_))) => {}
            other => panic!("replay stopped early: {other:?}"),
        }
    }
    updates
}

/// SIGKILL every process whose command line mentions `name` and whose
/// working directory is `cwd` (this test's own agents, no one else's).
pub fn kill_processes(name: &str, cwd: &Path) -> usize {
    let cwd = std::fs::canonicalize(cwd).unwrap();
    let mut killed = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let runs_in = std::fs::read_link(entry.path().join("cwd")).ok();
        if String::from_utf8_lossy(&cmdline).contains(name)
            && runs_in.as_deref() == Some(cwd.as_path())
        {
            let pid = nix::unistd::Pid::from_raw(pid);
            if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
    }
    killed
}

/// Wait for the agent's permission request, allow it once (or reject it
/// once), and read until the turn ends.
pub async fn answer_permission(
    client: &mut Client,
    daemon: &TestDaemon,
    session: &SessionId,
    allow: bool,
) -> Vec<SessionUpdate> {
    let seen = until(client, daemon, |u| {
        matches!(u, SessionUpdate::PermissionRequest(_))
    })
    .await
    .unwrap();
    let request = permission(&seen).unwrap();
    let kind = if allow {
        PermissionOptionKind::AllowOnce
    } else {
        PermissionOptionKind::RejectOnce
    };
    let option = option_of(&request, kind);
    client
        .respond(session, &request.prompt_id, Some(&option))
        .await
        .unwrap();
    until(client, daemon, is_step).await.unwrap()
}

/// A turn whose model starts to answer and never finishes, under way.
pub async fn stalled_turn(
    daemon: &TestDaemon,
    overrides: impl FnOnce(&ModelServer) -> ConfigOverrides,
) -> (ModelServer, Client, SessionId) {
    let mut script = Script::text("this answer never finishes");
    script.stall = true;
    let model = ModelServer::start(script).await.unwrap();
    let (mut client, session) = launch(daemon, "start something long", overrides(&model)).await;
    until(
        &mut client,
        daemon,
        |u| matches!(u, SessionUpdate::AgentMessageChunk(c) if !c.text.is_empty()),
    )
    .await
    .unwrap();
    (model, client, session)
}
