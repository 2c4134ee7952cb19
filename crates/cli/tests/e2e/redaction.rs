//! Secrets a launch hands the agent are masked before anything is stored.

use std::collections::BTreeMap;

use viewport_protocol::options::ConfigOverrides;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launch_environment_never_reaches_the_log() {
    let daemon = daemon().await;
    let secret = "SUPER-secret-value-123";
    std::fs::write(
        daemon.work_dir().join("notes.txt"),
        format!("the service key is {secret}\n"),
    )
    .unwrap();
    let directory = daemon.work_directory().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let overrides = ConfigOverrides {
        env: BTreeMap::from([("MY_SERVICE_TOKEN".to_owned(), secret.to_owned())]),
        ..Default::default()
    };
    let notes = daemon.work_dir().join("notes.txt");
    let prompt = format!("fs-read {}", notes.display());
    let session = client
        .launch_with(directory, &prompt, None, overrides)
        .await
        .unwrap();
    daemon
        .wait_for_state(&session, SessionState::Idle)
        .await
        .unwrap();

    let stored = client
        .read_updates(&session, u64::MAX >> 12, None)
        .await
        .unwrap();
    let text = serde_json::to_string(&stored).unwrap();
    assert!(!text.contains(secret), "{text}");
    assert!(text.contains("the service key is [redacted:env]"), "{text}");
    let export = daemon
        .vpd()
        .args(["export", session.as_str()])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&export.stdout).contains(secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_agent_prints_to_stderr_is_masked_in_its_log() {
    let daemon = daemon().await;
    let secret = "SUPER-secret-value-456";
    let overrides = ConfigOverrides {
        agent: Some("custom".to_owned()),
        command: vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "echo \"fatal: token $MY_SERVICE_TOKEN was refused\" >&2; exit 2".to_owned(),
        ],
        env: BTreeMap::from([("MY_SERVICE_TOKEN".to_owned(), secret.to_owned())]),
        ..ConfigOverrides::default()
    };
    let (mut client, session) = daemon.launch_following("hi", overrides).await.unwrap();
    let detail = loop {
        if let ServerFrame::SessionEnded { detail, .. } = next(&mut client).await.unwrap() {
            break detail.unwrap_or_default();
        }
    };
    assert!(
        detail.contains("fatal: token [redacted:env] was refused"),
        "the failure is still explained: {detail}"
    );
    let log = daemon
        .home()
        .join("sessions")
        .join(session.as_str())
        .join("agent.stderr.log");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("[redacted:env]"), "{logged}");
    assert!(!logged.contains(secret), "{logged}");
    assert!(!daemon.log().contains(secret));
}
