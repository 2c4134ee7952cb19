//! Terminal sessions through the `vpd` command line, `vpd attach` included
//! (run in a real PTY, detached with Ctrl-b d).

use std::io::{Read, Write};
use std::process::Output;
use std::sync::mpsc;

use viewport_protocol::SessionState;

use super::*;

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_send_logs_show_kill_and_rm_by_name() {
    let daemon = daemon().await;
    let id = ok(&run(&daemon, &["new", "-d", "web"])).trim().to_owned();
    assert!(id.starts_with("ses_"), "{id}");
    ok(&run(
        &daemon,
        &["send", "web", "printf 'part-'", "--no-enter"],
    ));
    ok(&run(
        &daemon,
        &[
            "send",
            "web",
            "; echo \"$VIEWPORT_ARTIFACTS\" > /dev/null; echo done-$((40+2)); touch \"$VIEWPORT_ARTIFACTS/report.txt\"",
        ],
    ));
    let deadline = std::time::Instant::now() + WAIT;
    let logs = loop {
        let logs = ok(&run(&daemon, &["logs", "web"]));
        if logs.contains("part-done-42") || std::time::Instant::now() > deadline {
            break logs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(logs.contains("part-done-42"), "{logs}");
    assert!(
        !logs.contains('\x1b') && !logs.contains('\r'),
        "plain text: {logs:?}"
    );
    let last = ok(&run(&daemon, &["logs", "web", "--lines", "1"]));
    assert!(last.lines().count() <= 1, "{last:?}");
    let artifacts = ok(&run(&daemon, &["artifacts", "web"]));
    assert!(artifacts.contains("report.txt"), "{artifacts}");
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&run(&daemon, &["show", "web", "--json"]))).unwrap();
    assert_eq!(shown["name"], "web");
    assert_eq!(shown["kind"], "terminal");
    assert_eq!(shown["template"], "bash");
    assert!(
        shown["consoleLog"]
            .as_str()
            .unwrap()
            .ends_with("console.log")
    );
    let refused = run(&daemon, &["rm", "web"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    ok(&run(&daemon, &["kill", "web"]));
    let text = ok(&run(&daemon, &["show", "web"]));
    assert!(text.contains("stopped"), "{text}");
    ok(&run(&daemon, &["rm", "web"]));
    let gone = run(&daemon, &["show", "web"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no session matches `web`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_shows_the_screen_takes_keys_and_detaches_with_ctrl_b_d() {
    let daemon = daemon().await;
    ok(&run(&daemon, &["new", "-d", "shell"]));
    let id = daemon
        .client()
        .await
        .unwrap()
        .list_sessions()
        .await
        .unwrap()[0]
        .session_id
        .clone();
    let mut client = daemon.client().await.unwrap();
    client
        .terminal_input(&id, "echo before-attach\r")
        .await
        .unwrap();
    // A real terminal for `vpd attach`.
    let pty = portable_pty::native_pty_system()
        .openpty(portable_pty::PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = portable_pty::CommandBuilder::new(vpd());
    command.args(["attach", "shell"]);
    command.env("VIEWPORT_HOME", daemon.home());
    command.cwd(daemon.work_dir());
    let mut child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut keys = pty.master.take_writer().unwrap();
    let (tx, screen) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 || tx.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + WAIT;
        while !String::from_utf8_lossy(&seen).contains(needle) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match screen.recv_timeout(left) {
                Ok(bytes) => seen.extend(bytes),
                Err(_) => panic!("never saw {needle:?}: {:?}", String::from_utf8_lossy(&seen)),
            }
        }
    };
    wait_for("before-attach");
    keys.write_all(b"echo typed-$((1+1))\r").unwrap();
    wait_for("typed-2");
    keys.write_all(b"\x02d").unwrap();
    wait_for("detached from shell");
    let status = child.wait().unwrap();
    assert!(status.success());
    let summary = client.session_state(&id).await.unwrap().session;
    assert_ne!(
        summary.state,
        SessionState::Ended,
        "detaching leaves it running"
    );
}
