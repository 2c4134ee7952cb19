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
