//! The `vpd` command line against a real daemon.

use std::process::Output;

use super::*;

fn run(daemon: &TestDaemon, args: &[&str]) -> Output {
    daemon.vpd().args(args).output().expect("vpd runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_follows_a_turn_writes_the_file_when_allowed_and_exits_zero() {
    let daemon = daemon().await;
    let output = run(&daemon, &["run", "--yes", "hello from the test"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = stdout(&output);
    assert!(text.contains("You said: hello from the test"), "{text}");
    let written = std::fs::read_to_string(daemon.work_dir().join("viewport-demo.txt")).unwrap();
    assert!(written.contains("hello from the test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_agent_makes_run_exit_3() {
    let daemon = daemon().await;
    let output = run(&daemon, &["run", "crash"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_answers_the_only_pending_prompt() {
    let daemon = daemon().await;
    let output = run(&daemon, &["run", "--detach", "ask"]);
    let session = stdout(&output).trim().to_owned();
    daemon
        .wait_for_state(
            &session.parse().unwrap(),
            viewport_protocol::SessionState::Awaiting,
        )
        .await
        .unwrap();
    let output = run(&daemon, &["deny", &session[..12]]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run(&daemon, &["approve", &session]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no pending permission prompt"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_get_stable_ids_and_listings_have_json() {
    let daemon = daemon().await;
    let dir = daemon.work_dir();
    let first = stdout(&run(&daemon, &["dir", "add", &dir.to_string_lossy()]));
    let again = stdout(&run(&daemon, &["dir", "add", "."]));
    assert_eq!(first, again);
    assert!(first.starts_with("dir_"));
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&run(&daemon, &["dir", "ls", "--json"]))).unwrap();
    assert_eq!(listed[0]["directoryId"].as_str(), Some(first.trim()));
    let missing = run(&daemon, &["dir", "add", "/no/such/dir"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such/dir"));
    let sessions: serde_json::Value =
        serde_json::from_str(&stdout(&run(&daemon, &["ls", "--json"]))).unwrap();
    assert_eq!(sessions, serde_json::json!([]));
}
