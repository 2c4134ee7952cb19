//! Terminal sessions: real PTYs, real programs (bash, less), watched through
//! the console log and through attached WebSocket viewports.

use base64::Engine;
use viewport_protocol::frames::AttachResult;
use viewport_protocol::{EndReason, ErrorCode, ServerFrame, SessionId, SessionState};

use super::*;

async fn new_terminal(
    daemon: &TestDaemon,
    name: &str,
    template: Option<&str>,
    command: Option<&str>,
) -> (Client, SessionId) {
    let directory = daemon.work_directory().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let id = client
        .new_terminal(directory, name, template, command, Some((80, 24)))
        .await
        .unwrap();
    (client, id)
}

/// Read `terminal-output` until the bytes so far satisfy `done`; checks
/// that offsets follow each other with no gap and no overlap.
async fn output_until(
    client: &mut Client,
    mut offset: u64,
    mut done: impl FnMut(&str) -> bool,
) -> (String, u64) {
    let mut text = Vec::new();
    loop {
        let frame = next(client)
            .await
            .unwrap_or_else(|e| panic!("{e}; output so far: {:?}", String::from_utf8_lossy(&text)));
        if let ServerFrame::TerminalOutput {
            offset: at, data, ..
        } = frame
        {
            assert_eq!(at, offset, "output continues exactly where it left off");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap();
            offset += bytes.len() as u64;
            text.extend(bytes);
            if done(&String::from_utf8_lossy(&text)) {
                return (String::from_utf8_lossy(&text).into_owned(), offset);
            }
        }
    }
}

/// Attach again until the screen satisfies `done`.
async fn screen_until(client: &mut Client, id: &SessionId, mut done: impl FnMut(&str) -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = client
            .attach(id, None, Some((80, 24)))
            .await
            .unwrap()
            .snapshot
            .unwrap()
            .text;
        if done(&text) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the screen never got there: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_into_bash_shows_in_the_viewport_and_in_the_log() {
    let daemon = daemon().await;
    let (mut client, id) = new_terminal(&daemon, "shell", Some("bash"), None).await;
    let attached: AttachResult = client.attach(&id, None, None).await.unwrap();
    assert!(attached.snapshot.is_some());
    client
        .terminal_input(&id, "echo $((6 * 7))-answer\r")
        .await
        .unwrap();
    let (seen, _) = output_until(&mut client, attached.offset, |t| t.contains("42-answer")).await;
    assert!(seen.contains("42-answer"));
    let log = daemon
        .home()
        .join("sessions")
        .join(id.as_str())
        .join("console.log");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("42-answer"), "{logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_reaches_the_program() {
    let daemon = daemon().await;
    let (mut client, id) = new_terminal(&daemon, "sized", Some("bash"), None).await;
    let attached = client.attach(&id, None, None).await.unwrap();
    client.resize(&id, 123, 40).await.unwrap();
    client
        .terminal_input(&id, "echo cols=$(tput cols)\r")
        .await
        .unwrap();
    output_until(&mut client, attached.offset, |t| t.contains("cols=123")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_screen_program_looks_the_same_after_reattach() {
    let daemon = daemon().await;
    let lines: String = (1..=200).map(|i| format!("line number {i}\n")).collect();
    std::fs::write(daemon.work_dir().join("long.txt"), lines).unwrap();
    let (mut first, id) = new_terminal(&daemon, "pager", None, Some("less long.txt")).await;
    screen_until(&mut first, &id, |t| t.contains("line number 23")).await;
    first.terminal_input(&id, " ").await.unwrap();
    screen_until(&mut first, &id, |t| t.contains("line number 46")).await;
    drop(first);
    let mut second = daemon.client().await.unwrap();
    let again = second.attach(&id, None, Some((80, 24))).await.unwrap();
    let mut third = daemon.tcp_client().await.unwrap();
    let once_more = third.attach(&id, None, Some((80, 24))).await.unwrap();
    let (a, b) = (again.snapshot.unwrap(), once_more.snapshot.unwrap());
    assert!(
        a.text.contains("line number 24") && a.text.contains("line number 46"),
        "{}",
        a.text
    );
    assert!(
        !a.text.contains("line number 23\n"),
        "the first page is gone: {}",
        a.text
    );
    assert_eq!(a, b, "two viewports see the same screen");
    assert_eq!(again.offset, once_more.offset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reattaching_with_an_offset_resumes_with_no_gap_or_duplicate() {
    let daemon = daemon().await;
    let (mut client, id) = new_terminal(
        &daemon,
        "counter",
        None,
        Some("for i in $(seq 1 400); do echo tick-$i; sleep 0.005; done; sleep 30"),
    )
    .await;
    let attached = client.attach(&id, Some(0), None).await.unwrap();
    assert_eq!(attached.offset, 0);
    let (first, offset) = output_until(&mut client, 0, |t| t.contains("tick-100\r\n")).await;
    drop(client);
    let mut again = daemon.client().await.unwrap();
    let resumed = again.attach(&id, Some(offset), None).await.unwrap();
    assert_eq!(resumed.offset, offset);
    let (rest, _) = output_until(&mut again, offset, |t| t.contains("tick-400\r\n")).await;
    let all = format!("{first}{rest}");
    for i in 1..=400 {
        assert_eq!(all.matches(&format!("tick-{i}\r\n")).count(), 1, "tick-{i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_exits_ends_the_session_with_its_status() {
    let daemon = daemon().await;
    let (mut client, id) = new_terminal(&daemon, "fails", None, Some("echo bye; exit 3")).await;
    daemon
        .wait_for_state(&id, SessionState::Ended)
        .await
        .unwrap();
    let summary = client.session_state(&id).await.unwrap().session;
    assert_eq!(summary.end_reason, Some(EndReason::Failed));
    assert_eq!(summary.exit_code, Some(3));
    assert_eq!(summary.name.as_deref(), Some("fails"));
    let ok = new_terminal(&daemon, "works", None, Some("true")).await.1;
    daemon
        .wait_for_state(&ok, SessionState::Ended)
        .await
        .unwrap();
    let summary = client.session_state(&ok).await.unwrap().session;
    assert_eq!(
        (summary.end_reason, summary.exit_code),
        (Some(EndReason::Completed), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_unique_and_valid_and_running_sessions_are_not_removed() {
    let daemon = daemon().await;
    let (mut client, id) = new_terminal(&daemon, "keep", Some("bash"), None).await;
    let directory = daemon.work_directory().await.unwrap();
    for (name, wanted) in [
        ("keep", "already exists"),
        ("bad name", "not a valid session name"),
        ("ses_x", "session ids"),
    ] {
        let error = client
            .new_terminal(directory.clone(), name, None, None, None)
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some(ErrorCode::InvalidFrame));
        assert!(error.to_string().contains(wanted), "{name}: {error}");
    }
    let unknown_template = client
        .new_terminal(directory, "other", Some("emacs"), None, None)
        .await
        .unwrap_err();
    assert!(
        unknown_template
            .to_string()
            .contains("bash, claude, codex, script"),
        "{unknown_template}"
    );
    let refused = client.destroy(&id, false).await.unwrap_err();
    assert!(refused.to_string().contains("--force"), "{refused}");
    client.destroy(&id, true).await.unwrap();
    let gone = client.attach(&id, None, None).await.unwrap_err();
    assert_eq!(gone.code(), Some(ErrorCode::UnknownSession));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_is_active_while_output_flows_and_idle_when_quiet() {
    let daemon = daemon().await;
    let directory = daemon.work_directory().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    let frame = viewport_protocol::ClientFrame::NewTerminal {
        request_id: viewport_protocol::RequestId::generate(),
        directory_id: directory,
        name: "quiet".to_owned(),
        template: Some("bash".to_owned()),
        command: None,
        cols: None,
        rows: None,
        env: Default::default(),
        idle_after_secs: Some(1),
    };
    let launched: viewport_protocol::frames::LaunchResult = client.request(frame).await.unwrap();
    let id = launched.session_id;
    daemon
        .wait_for_state(&id, SessionState::Idle)
        .await
        .unwrap();
    client.terminal_input(&id, "echo wake-up\r").await.unwrap();
    daemon
        .wait_for_state(&id, SessionState::Active)
        .await
        .unwrap();
    daemon
        .wait_for_state(&id, SessionState::Idle)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_can_be_added_in_config_and_conflicts_are_named() {
    let daemon = daemon().await;
    std::fs::write(
        daemon.home().join("config.yaml"),
        "version: 1\ntemplates:\n  greet:\n    command: echo hello-$WHO; sleep 30\n    env:\n      WHO: from-config\n",
    )
    .unwrap();
    let (mut client, id) = new_terminal(&daemon, "greeter", Some("greet"), None).await;
    screen_until(&mut client, &id, |t| t.contains("hello-from-config")).await;
    let summary = client.session_state(&id).await.unwrap().session;
    assert_eq!(summary.template.as_deref(), Some("greet"));
    let repo_config = daemon.work_dir().join(".viewport");
    std::fs::create_dir_all(&repo_config).unwrap();
    std::fs::write(
        repo_config.join("config.yaml"),
        "templates:\n  greet:\n    command: echo other\n",
    )
    .unwrap();
    let directory = daemon.work_directory().await.unwrap();
    let conflict = client
        .new_terminal(directory.clone(), "again", Some("greet"), None, None)
        .await
        .unwrap_err();
    let message = conflict.to_string();
    assert!(
        message.contains("greet") && message.contains(".viewport"),
        "{message}"
    );
    std::fs::write(
        repo_config.join("config.yaml"),
        "templates:\n  greet:\n    comand: x\n",
    )
    .unwrap();
    let broken = client
        .new_terminal(directory, "again", Some("greet"), None, None)
        .await
        .unwrap_err();
    assert!(broken.to_string().contains("config.yaml:3:5"), "{broken}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_outlives_a_daemon_kill_with_its_screen_and_output_whole() {
    let mut daemon = daemon().await;
    let (mut client, id) = new_terminal(&daemon, "lasting", Some("bash"), None).await;
    let attached = client.attach(&id, None, None).await.unwrap();
    client.resize(&id, 100, 30).await.unwrap();
    client
        .terminal_input(&id, "echo before-$((1 + 1))\r")
        .await
        .unwrap();
    output_until(&mut client, attached.offset, |t| t.contains("before-2")).await;
    // Output the program writes while no daemon runs waits in its supervisor.
    client
        .terminal_input(&id, "sleep 1; echo during-$((2 + 2))\r")
        .await
        .unwrap();
    daemon.restart().await.unwrap();

    let mut client = daemon.client().await.unwrap();
    let attached = client.attach(&id, Some(0), None).await.unwrap();
    let (all, _) = output_until(&mut client, attached.offset, |t| t.contains("during-4")).await;
    assert_eq!(all.matches("before-2").count(), 1, "printed once: {all}");
    assert_eq!(all.matches("during-4").count(), 1, "{all}");
    let screen = client
        .attach(&id, None, None)
        .await
        .unwrap()
        .snapshot
        .unwrap();
    assert_eq!((screen.cols, screen.rows), (100, 30), "the size is kept");
    assert!(
        screen.text.contains("before-2"),
        "the screen is rebuilt: {}",
        screen.text
    );
    client
        .terminal_input(&id, "echo after-$((3 + 3))\r")
        .await
        .unwrap();
    screen_until(&mut client, &id, |screen| screen.contains("after-6")).await;
    let state = client.subscribe(&id, 0).await.unwrap();
    assert_eq!(state.session.end_reason, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_exits_while_no_daemon_runs_ends_with_its_status_on_restart() {
    let mut daemon = daemon().await;
    let (mut client, id) = new_terminal(
        &daemon,
        "brief",
        None,
        Some("echo started; sleep 1; exit 7"),
    )
    .await;
    let attached = client.attach(&id, Some(0), None).await.unwrap();
    output_until(&mut client, attached.offset, |t| t.contains("started")).await;
    daemon.kill_hard();
    // The program exits meanwhile; its supervisor keeps the status.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    daemon.restart().await.unwrap();
    let mut client = daemon.client().await.unwrap();
    client.subscribe(&id, 0).await.unwrap();
    let ended = loop {
        if let ServerFrame::SessionEnded { reason, detail, .. } = next(&mut client).await.unwrap() {
            break (reason, detail);
        }
    };
    assert_eq!(ended.0, EndReason::Failed);
    assert!(
        ended
            .1
            .as_deref()
            .unwrap_or("")
            .contains("exited with status 7"),
        "{ended:?}"
    );
    let socket = daemon
        .home()
        .join("sessions")
        .join(id.as_str())
        .join("supervisor.sock");
    let deadline = std::time::Instant::now() + WAIT;
    while socket.exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !socket.exists(),
        "the supervisor goes once its exit is stored"
    );
}
