//! Checkpoints after each step, and rewinding the working tree to one.

use std::path::Path;
use std::process::{Command, Output};

use super::*;

fn vpd_in(daemon: &TestDaemon, dir: &Path, args: &[&str]) -> Output {
    daemon
        .vpd()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("vpd runs")
}

fn sh(dir: &Path, script: &str) -> String {
    let output = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A demo session in `dir` that wrote its file, and its first checkpoint.
async fn session_with_a_checkpoint(daemon: &TestDaemon, dir: &Path) -> (String, serde_json::Value) {
    let run = vpd_in(daemon, dir, &["run", "--yes", "first"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let sessions = json(&vpd_in(daemon, dir, &["ls", "--json"]));
    let session = sessions[0]["sessionId"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let checkpoints = json(&vpd_in(daemon, dir, &["checkpoints", &session, "--json"]));
        if let Some(first) = checkpoints.as_array().and_then(|c| c.first()) {
            return (session, first.clone());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint after the step"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewind_in_a_git_repository_restores_bytes_and_leaves_git_as_the_user_had_it() {
    let daemon = daemon().await;
    let repo = daemon.root().join("repo");
    std::fs::create_dir(&repo).unwrap();
    sh(
        &repo,
        "git init -q && git config user.email t@t && git config user.name t \
               && printf 'readme\\n' > README.md && git add . && git commit -qm init \
               && printf 'wip\\n' >> README.md && git add README.md && printf 'scratch\\n' > notes.txt \
               && printf 'keep\\n' > k.txt && git stash push -q -u k.txt",
    );
    let (session, checkpoint) = session_with_a_checkpoint(&daemon, &repo).await;
    assert_eq!(checkpoint["kind"], "git");
    // The session knows its repository: at its start and after the step.
    let branch = sh(&repo, "git symbolic-ref --short HEAD").trim().to_owned();
    let listed = json(&vpd_in(
        &daemon,
        &repo,
        &["ls", "--branch", &branch, "--repo", "repo", "--json"],
    ));
    assert_eq!(listed[0]["git"][0]["branch"], branch.as_str(), "{listed}");
    assert_eq!(listed[0]["git"][0]["dirty"], true);
    let other = json(&vpd_in(
        &daemon,
        &repo,
        &["ls", "--branch", "no-such-branch", "--json"],
    ));
    assert_eq!(other, serde_json::json!([]));
    assert!(
        checkpoint["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "A viewport-demo.txt"),
        "{checkpoint}"
    );
    let demo = std::fs::read(repo.join("viewport-demo.txt")).unwrap();
    let status = sh(&repo, "git status --porcelain");
    let index = sh(&repo, "git ls-files -s");
    let head = sh(&repo, "git rev-parse HEAD");
    let stash = sh(&repo, "git stash list");

    // What the agent (or anyone) did afterwards.
    sh(
        &repo,
        "rm README.md && printf 'other\\n' > viewport-demo.txt && mkdir -p gen && printf 'x\\n' > gen/made.txt",
    );
    let seq = checkpoint["seq"].as_u64().unwrap().to_string();
    let unasked = vpd_in(&daemon, &repo, &["rewind", &session, "--to", &seq]);
    assert_eq!(unasked.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&unasked.stdout);
    assert!(
        shown.contains("bring back") && shown.contains("README.md"),
        "{shown}"
    );
    assert!(
        shown.contains("remove") && shown.contains("gen/made.txt"),
        "{shown}"
    );
    assert!(
        repo.join("gen/made.txt").exists(),
        "nothing changes without a yes"
    );

    let rewound = vpd_in(&daemon, &repo, &["rewind", &session, "--to", &seq, "--yes"]);
    assert!(
        rewound.status.success(),
        "{}",
        String::from_utf8_lossy(&rewound.stderr)
    );
    assert_eq!(std::fs::read(repo.join("viewport-demo.txt")).unwrap(), demo);
    assert_eq!(
        std::fs::read_to_string(repo.join("README.md")).unwrap(),
        "readme\nwip\n"
    );
    assert!(!repo.join("gen").exists());
    assert_eq!(sh(&repo, "git status --porcelain"), status);
    assert_eq!(sh(&repo, "git ls-files -s"), index);
    assert_eq!(sh(&repo, "git rev-parse HEAD"), head);
    assert_eq!(sh(&repo, "git stash list"), stash);

    // The rewind saved the tree first: it can be undone.
    let checkpoints = json(&vpd_in(
        &daemon,
        &repo,
        &["checkpoints", &session, "--json"],
    ));
    let saved = checkpoints.as_array().unwrap().last().unwrap().clone();
    assert!(
        saved["note"].as_str().unwrap().contains("before rewinding"),
        "{saved}"
    );
    let undo = vpd_in(
        &daemon,
        &repo,
        &[
            "rewind",
            &session,
            "--to",
            &saved["seq"].as_u64().unwrap().to_string(),
            "--yes",
        ],
    );
    assert!(
        undo.status.success(),
        "{}",
        String::from_utf8_lossy(&undo.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("gen/made.txt")).unwrap(),
        "x\n"
    );
    assert!(!repo.join("README.md").exists());

    // Destroying the session drops its refs too.
    let removed = vpd_in(&daemon, &repo, &["rm", "--force", &session]);
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    assert_eq!(sh(&repo, "git for-each-ref refs/viewport"), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewind_outside_git_uses_copies() {
    let daemon = daemon().await;
    let dir = daemon.work_dir();
    std::fs::write(dir.join("plain.txt"), "plain\n").unwrap();
    let (session, checkpoint) = session_with_a_checkpoint(&daemon, &dir).await;
    assert_eq!(checkpoint["kind"], "copy");
    std::fs::write(dir.join("plain.txt"), "edited\n").unwrap();
    std::fs::write(dir.join("extra.txt"), "extra\n").unwrap();
    let seq = checkpoint["seq"].as_u64().unwrap().to_string();
    let rewound = vpd_in(&daemon, &dir, &["rewind", &session, "--to", &seq, "--yes"]);
    assert!(
        rewound.status.success(),
        "{}",
        String::from_utf8_lossy(&rewound.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("plain.txt")).unwrap(),
        "plain\n"
    );
    assert!(!dir.join("extra.txt").exists());
    let wrong = vpd_in(
        &daemon,
        &dir,
        &["rewind", &session, "--to", "99999", "--yes"],
    );
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("no checkpoint at update 99999"));
}
