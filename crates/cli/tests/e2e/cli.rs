//! The `vpd` command line against a real daemon.

use std::process::Output;

use super::*;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_follows_a_turn_writes_the_file_when_allowed_and_exits_zero() {
    let daemon = daemon().await;
    // The README's own command.
    let output = run(&daemon, &["run", "--yes", "write me a note"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = stdout(&output);
    assert!(text.contains("You said: write me a note"), "{text}");
    let written = std::fs::read_to_string(daemon.work_dir().join("viewport-demo.txt")).unwrap();
    assert!(written.contains("write me a note"));
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
    // Removing by path, then by id once it is gone, says so.
    let removed = run(&daemon, &["dir", "rm", "."]);
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&run(&daemon, &["dir", "ls", "--json"]))).unwrap();
    assert_eq!(listed, serde_json::json!([]));
    let again = run(&daemon, &["dir", "rm", first.trim()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not a registered directory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_lists_every_profile_and_how_to_install_it() {
    let daemon = daemon().await;
    let output = run(&daemon, &["agents", "--json"]);
    assert!(output.status.success());
    let agents: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "claude-code",
            "codex",
            "gemini",
            "opencode",
            "pi",
            "demo",
            "custom"
        ]
    );
    let demo = &agents[5];
    assert_eq!(
        (demo["installed"].as_bool(), demo.get("install")),
        (Some(true), None)
    );
    let gemini = &agents[2];
    assert_eq!(gemini["install"], "npm install -g @google/gemini-cli");
    let table = stdout(&run(&daemon, &["agents"]));
    let shown = if gemini["installed"] == true {
        "runs "
    } else {
        "install: npm install -g @google/gemini-cli"
    };
    assert!(table.contains(shown), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_takes_session_options_as_flags() {
    let daemon = daemon().await;
    std::fs::create_dir(daemon.work_dir().join("pkg")).unwrap();
    let command = format!("{} __demo-agent", vpd().display());
    let mut args = vec![
        "run",
        "--agent",
        "custom",
        "--cmd",
        &command,
        "--cwd",
        "pkg",
        "--env",
        "WHO=flags",
        "--instructions",
        "be brief",
    ];
    // The prompt is one argument: words after it are a usage error.
    let unquoted = [args.clone(), vec!["term", "echo", "$WHO"]].concat();
    let output = run(&daemon, &unquoted);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    args.push("term echo $WHO in $PWD");
    let output = run(&daemon, &args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let text = stdout(&output);
    assert!(
        text.contains("exit 0: flags in ") && text.contains("/pkg"),
        "{text}"
    );
    let bad = run(&daemon, &["run", "--env", "NOEQUALS", "hi"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("NAME=VALUE"));
    let missing = run(&daemon, &["run", "--agent", "pi", "hi"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("npm install -g pi-acp"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_install_and_uninstall_leave_the_users_settings_as_they_were() {
    let daemon = daemon().await;
    let settings = daemon.work_dir().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let before = "{\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(ls)\"\n    ]\n  },\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"notify-send done\"\n          }\n        ]\n      }\n    ]\n  }\n}\n";
    std::fs::write(&settings, before).unwrap();
    let ok = |args: &[&str]| {
        let output = run(&daemon, args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout(&output)
    };
    ok(&["hooks", "install", "--project"]);
    ok(&["hooks", "install", "--project"]);
    let installed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    let stop = installed["hooks"]["Stop"].as_array().unwrap();
    assert_eq!(stop.len(), 2, "the user's hook and ours, once: {installed}");
    assert!(
        std::fs::read_to_string(settings.with_extension("json.vpd-backup"))
            .unwrap()
            .contains("notify-send done")
    );
    let status = ok(&["hooks", "status", "--project"]);
    assert!(
        status.contains("PreToolUse") && status.contains("SessionEnd"),
        "{status}"
    );
    // The installed command runs, reads its event and never fails the agent.
    let command = stop[1]["hooks"][0]["command"].as_str().unwrap().to_owned();
    let hook = std::process::Command::new("sh")
        .args(["-c", &command])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(br#"{"hook_event_name":"Stop","session_id":"s1"}"#)?;
            child.wait()
        })
        .unwrap();
    assert!(hook.success());
    ok(&["hooks", "uninstall", "--project"]);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), before);
    let status = ok(&["hooks", "status", "--project"]);
    assert!(status.contains("not installed"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_status_says_what_runs_and_never_starts_one() {
    let mut daemon = daemon().await;
    launched(&daemon, "burst 5", SessionState::Idle).await;
    let status = json(&run(&daemon, &["daemon", "status", "--json"]));
    assert_eq!(status["running"], true);
    assert_eq!(status["daemon"]["sessions"]["idle"], 1, "{status}");
    assert!(
        status["daemon"]["rssBytes"].as_u64().unwrap() > 1_000_000,
        "{status}"
    );
    assert!(status["dataHomeBytes"].as_u64().unwrap() > 0);
    assert_eq!(status["daemon"]["listen"], daemon.address.as_str());

    // Killed: its socket file stays, but nothing answers, and status does
    // not start another.
    daemon.kill_hard();
    let stopped = run(&daemon, &["daemon", "status"]);
    assert_eq!(stopped.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stopped.stdout).contains("not running"));
    let stopped = run(&daemon, &["daemon", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&stopped.stdout).unwrap();
    assert_eq!(status["running"], false);
    assert!(daemon.client().await.is_err(), "no daemon was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_install_writes_a_user_unit_for_this_binary_and_home() {
    let daemon = daemon().await;
    let config = tempfile::tempdir().unwrap();
    let vpd_at = |args: &[&str]| {
        daemon
            .vpd()
            .args(args)
            .env("XDG_CONFIG_HOME", config.path())
            .output()
            .unwrap()
    };
    let installed = vpd_at(&["daemon", "install", "--no-enable"]);
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    let unit = config.path().join("systemd/user/vpd.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains(&format!("ExecStart=\"{}\" daemon", vpd().display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("VIEWPORT_HOME={}", daemon.home().display())),
        "{text}"
    );
    assert!(text.contains("Restart=on-failure"));
    assert!(
        String::from_utf8_lossy(&installed.stderr)
            .contains("systemctl --user enable --now vpd.service")
    );

    // Without a systemd user manager (as here) the unit still goes.
    let removed = vpd_at(&["daemon", "uninstall"]);
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    assert!(!unit.exists());
}

#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let bash = std::process::Command::new(vpd())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(bash.status.success());
    // Bash accepts the script and it registers completion for vpd, with
    // the subcommands in it.
    let script = std::env::temp_dir().join(format!("vpd-completion-{}.bash", std::process::id()));
    std::fs::write(&script, &bash.stdout).unwrap();
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && complete -p vpd", script.display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&script);
    assert!(
        String::from_utf8_lossy(&loaded.stdout).contains("-F _vpd vpd"),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    assert!(
        stdout(&bash).contains("restart"),
        "daemon restart is completed"
    );
    for shell in ["zsh", "fish"] {
        let out = std::process::Command::new(vpd())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(
            out.status.success() && stdout(&out).contains("attach"),
            "{shell}"
        );
    }
    let refused = std::process::Command::new(vpd())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("possible values"));

    let man = std::process::Command::new(vpd())
        .arg("man")
        .output()
        .unwrap();
    assert!(man.status.success());
    let page = stdout(&man);
    assert!(page.contains(".TH vpd 1"), "{page}");
    assert!(page.contains("watch"), "the subcommands are listed");
}

/// `vpd doctor --json` against `daemon`'s home, with `user_home` as HOME;
/// its exit code and its findings.
fn doctor(daemon: &TestDaemon, user_home: &Path) -> (i32, Vec<serde_json::Value>) {
    let output = daemon
        .vpd()
        .args(["doctor", "--json"])
        .env("HOME", user_home)
        .env_remove("CODEX_HOME")
        .output()
        .unwrap();
    let findings = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code().unwrap(), findings)
}

fn finding<'a>(
    findings: &'a [serde_json::Value],
    check: &str,
    text: &str,
) -> &'a serde_json::Value {
    findings
        .iter()
        .find(|f| f["check"] == check && f["detail"].as_str().unwrap().contains(text))
        .unwrap_or_else(|| panic!("no {check} finding with {text:?} in {findings:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_health_and_names_the_fix_for_each_problem() {
    let daemon = daemon().await;
    let user_home = tempfile::tempdir().unwrap();
    let (code, findings) = doctor(&daemon, user_home.path());
    assert_eq!(code, 0, "{findings:#?}");
    assert_eq!(finding(&findings, "daemon", "answered in")["level"], "ok");
    assert_eq!(
        finding(&findings, "data home", "closed to others")["level"],
        "ok"
    );
    assert_eq!(finding(&findings, "agent", "demo")["level"], "ok");
    let hooks = finding(&findings, "hooks", "claude: none");
    assert_eq!(hooks["fix"], "`vpd hooks install --claude`");

    // Hooks left by a vpd that is no longer where they say.
    let settings = user_home.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let stale = serde_json::json!({"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "'/gone/vpd' hook claude # viewport-hook"}
    ]}]}});
    std::fs::write(&settings, stale.to_string()).unwrap();
    let (code, findings) = doctor(&daemon, user_home.path());
    assert_eq!(code, 0);
    let hooks = finding(&findings, "hooks", "runs /gone/vpd, not this vpd");
    assert_eq!(hooks["level"], "warn");

    // A token others can read: the daemon would refuse to start, so it fails.
    let token = daemon.home().join("token");
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (code, findings) = doctor(&daemon, user_home.path());
    assert_eq!(code, 1);
    let loose = finding(&findings, "data home", "token is open to others");
    assert_eq!(loose["level"], "fail");
    assert_eq!(loose["fix"], format!("`chmod go-rwx {}`", token.display()));
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();

    // No daemon: a note with how to start one, not a failure.
    let stopped = daemon.vpd().args(["daemon", "stop"]).output().unwrap();
    assert!(stopped.status.success());
    let (code, findings) = doctor(&daemon, user_home.path());
    assert_eq!(code, 0);
    let down = finding(&findings, "daemon", "not running");
    assert!(down["fix"].as_str().unwrap().contains("vpd daemon"));
}
