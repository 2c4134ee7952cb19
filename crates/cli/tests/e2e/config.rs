//! `.viewport/config.yaml` in use: checked from the command line, resolved
//! at launch (profiles, contexts), kept per session.

use std::process::Output;

use viewport_protocol::update::SystemStatus;

use super::*;

fn run(daemon: &TestDaemon, args: &[&str]) -> Output {
    daemon.vpd().args(args).output().expect("vpd runs")
}

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
