//! `.viewport/config.yaml` in use: checked from the command line, resolved
//! at launch (profiles, contexts), kept per session.

use viewport_protocol::update::SystemStatus;

use super::*;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_config(daemon: &TestDaemon, yaml: &str) {
    let dir = daemon.work_dir().join(".viewport");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.yaml"), yaml).unwrap();
}

const CONFIG: &str = "version: 1
contexts:
  rules:
    text: Answer in French.
agentProfiles:
  quick:
    agent: demo
    costCapUsd: 2
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reports_every_problem_with_its_place_and_exits_one() {
    let daemon = daemon().await;
    write_config(
        &daemon,
        "version: 1\nagentProfiles:\n  quick:\n    agnt: demo\njobs:\n  maxParallel: many\n",
    );
    let output = run(&daemon, &["config", "validate"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("config.yaml:4:5: in `agentProfiles.quick.agnt`: unknown field `agnt`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("config.yaml:6:16: in `jobs.maxParallel`: invalid type"),
        "{stdout}"
    );
    write_config(&daemon, CONFIG);
    let ok = run(&daemon, &["config", "validate"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    let schema = run(&daemon, &["config", "schema"]);
    let schema: serde_json::Value = serde_json::from_slice(&schema.stdout).unwrap();
    assert!(schema["properties"]["agentProfiles"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_launch_carries_the_contexts_and_keeps_its_manifest() {
    let daemon = daemon().await;
    write_config(&daemon, CONFIG);
    let launched = run(&daemon, &["run", "--detach", "--profile", "quick", "hello"]);
    assert!(launched.status.success(), "{}", text(&launched.stderr));
    let session = text(&launched.stdout).trim().to_owned();

    let mut client = daemon.client().await.unwrap();
    let id: viewport_protocol::SessionId = session.parse().unwrap();
    client.subscribe(&id, 0).await.unwrap();
    let seen = updates_until(&mut client, |_, u| {
        matches!(u, SessionUpdate::PermissionRequest(_))
    })
    .await
    .unwrap();
    assert!(seen.iter().any(|(_, u)| matches!(u,
        SessionUpdate::SystemStatus(SystemStatus::Notice { message }) if message.contains("vpd-context:rules"))));
    // The demo agent says which context its prompt carried.
    assert!(
        seen.iter().any(|(_, u)| matches!(u,
        SessionUpdate::AgentThoughtChunk(c) if c.text.contains("vpd-context:rules"))),
        "{seen:#?}"
    );

    // A later edit changes what new sessions see, not what this one started with.
    write_config(&daemon, &CONFIG.replace("costCapUsd: 2", "costCapUsd: 3"));
    let manifest = run(&daemon, &["session", "manifest", "--session", &session]);
    assert!(manifest.status.success(), "{}", text(&manifest.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(
        manifest["agentProfiles"]["quick"]["definition"]["costCapUsd"],
        2.0
    );
    assert_eq!(manifest["contexts"]["rules"]["applies"], true);
    let resolved = run(&daemon, &["config", "resolve", "--json"]);
    let resolved: serde_json::Value = serde_json::from_slice(&resolved.stdout).unwrap();
    assert_eq!(
        resolved["agentProfiles"]["quick"]["definition"]["costCapUsd"],
        3.0
    );
    // The running daemon sees the edit for the next launch: no restart.
    let again = run(&daemon, &["run", "--detach", "--profile", "quick", "again"]);
    let again = text(&again.stdout).trim().to_owned();
    let manifest = run(&daemon, &["session", "manifest", "--session", &again]);
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(
        manifest["agentProfiles"]["quick"]["definition"]["costCapUsd"],
        3.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicted_or_unknown_profile_refuses_the_launch() {
    let daemon = daemon().await;
    write_config(&daemon, CONFIG);
    std::fs::write(
        daemon.home().join("config.yaml"),
        "agentProfiles:\n  quick:\n    agent: codex\n",
    )
    .unwrap();
    let conflicted = run(&daemon, &["run", "--detach", "--profile", "quick", "hi"]);
    assert_eq!(conflicted.status.code(), Some(1));
    let stderr = text(&conflicted.stderr);
    assert!(
        stderr.contains("defined differently") && stderr.contains(".viewport/config.yaml:6"),
        "{stderr}"
    );
    let unknown = run(&daemon, &["run", "--detach", "--profile", "nope", "hi"]);
    assert!(
        text(&unknown.stderr).contains("no agent profile `nope`"),
        "{}",
        text(&unknown.stderr)
    );
    let resolved = run(&daemon, &["config", "resolve"]);
    assert!(
        text(&resolved.stdout).contains("conflicts"),
        "{}",
        text(&resolved.stdout)
    );
    let mut client = daemon.client().await.unwrap();
    assert!(client.list_sessions().await.unwrap().is_empty());
}

const WORKFLOWS: &str = "agentProfiles:
  auto:
    agent: demo
    permissionPolicy: allow-all
  broken:
    agent: custom
    command: [\"false\"]
workflows:
  ship:
    steps:
      - {name: test, profile: auto, prompt: run the tests, parallel: true}
      - {name: lint, profile: auto, prompt: run the linter, parallel: true}
      - {name: release, profile: auto, prompt: cut the release}
  doomed:
    steps:
      - {name: first, profile: broken, prompt: go}
      - {name: second, profile: auto, prompt: never}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_runs_parallel_steps_together_then_the_next_and_records_them() {
    let daemon = daemon().await;
    write_config(&daemon, WORKFLOWS);
    let output = run(&daemon, &["workflow", "run", "ship", "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let run_record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(run_record["status"], "completed");
    let steps = run_record["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    let mut client = daemon.client().await.unwrap();
    let sessions = client.list_sessions().await.unwrap();
    let session_of = |i: usize| {
        let id = steps[i]["sessionId"].as_str().unwrap();
        sessions
            .iter()
            .find(|s| s.session_id.as_str() == id)
            .unwrap_or_else(|| panic!("no session {id}"))
            .clone()
    };
    let (test, lint, release) = (session_of(0), session_of(1), session_of(2));
    assert!(
        steps.iter().all(|s| s["status"] == "completed"),
        "{steps:?}"
    );
    // The parallel steps both started before either ended; the last one
    // started once both were done.
    assert!(test.created_at <= lint.updated_at && lint.created_at <= test.updated_at);
    assert!(release.created_at >= test.created_at.max(lint.created_at));
    for session in [&test, &lint, &release] {
        assert_eq!(session.state, SessionState::Ended, "{session:?}");
    }
    let listed = run(&daemon, &["workflow", "ls", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(runs[0]["runId"], run_record["runId"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_fails_the_run_and_skips_the_rest() {
    let daemon = daemon().await;
    write_config(&daemon, WORKFLOWS);
    let output = run(&daemon, &["workflow", "run", "doomed", "--json"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(record["status"], "failed");
    assert_eq!(record["steps"][0]["status"], "failed");
    assert_eq!(record["steps"][1]["status"], "skipped");
    let unknown = run(&daemon, &["workflow", "run", "nope"]);
    assert!(
        text(&unknown.stderr).contains("no workflow `nope`"),
        "{}",
        text(&unknown.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessions_plan_is_kept_and_listed() {
    let daemon = daemon().await;
    write_config(&daemon, WORKFLOWS);
    let launched = run(&daemon, &["run", "--profile", "auto", "make a plan"]);
    assert!(launched.status.success(), "{}", text(&launched.stderr));
    let listed = run(&daemon, &["plans", "--json"]);
    let plans: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let plan = &plans[0];
    let session = plan["sessionId"].as_str().unwrap();
    // The demo agent's plan: answer, then write a file; both done by now.
    assert_eq!(plan["entries"][0]["status"], "completed", "{plans}");
    let kept =
        std::fs::read_to_string(daemon.home().join("sessions").join(session).join("plan.md"))
            .unwrap();
    assert!(kept.starts_with("# Plan\n\n- [x] "), "{kept}");
    assert!(text(&run(&daemon, &["plans"]).stdout).contains("[x]"));
}
