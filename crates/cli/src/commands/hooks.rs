//! `vpd hooks install|uninstall|status`: our entries in Claude Code's
//! settings (`~/.claude/settings.json` or a project's
//! `.claude/settings.json`), merged with the user's own hooks, never
//! clobbering them. Ours are the commands that end with [`MARK`]; a backup
//! of the file is kept before each change.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::cli::{HooksArgs, HooksCommand};

/// The hook events the bridge listens to.
pub const EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Notification",
    "Stop",
    "SubagentStop",
    "SessionEnd",
];

/// What marks a hook command as ours (a shell comment, so it runs as is).
pub const MARK: &str = "# viewport-hook";

/// Seconds Claude Code gives our hook: a tool call may wait for a person in
/// a viewport (the hook itself gives up after 90 s).
const HOOK_TIMEOUT_SECS: u64 = 120;

/// Events whose entries take a tool `matcher`.
fn takes_matcher(event: &str) -> bool {
    matches!(event, "PreToolUse" | "PostToolUse")
}

/// The command Claude Code runs for our hook.
pub fn hook_command(vpd: &Path) -> String {
    format!(
        "'{}' hook claude {MARK}",
        vpd.display().to_string().replace('\'', r"'\''")
    )
}

fn is_ours(hook: &Value) -> bool {
    hook.get("command")
        .and_then(Value::as_str)
        .is_some_and(|c| c.trim_end().ends_with(MARK))
}

/// `settings` with our hook on every event, once (an older command of ours
/// is replaced); the user's hooks are left as they are.
pub fn install(mut settings: Value, command: &str) -> Result<Value> {
    let settings_map = settings
        .as_object_mut()
        .context("the settings file is not a JSON object")?;
    let hooks = settings_map
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .context("`hooks` in the settings file is not an object")?;
    for event in EVENTS {
        let entries = hooks
            .entry(*event)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .with_context(|| format!("`hooks.{event}` in the settings file is not a list"))?;
        remove_ours(entries);
        let mut entry = Map::new();
        if takes_matcher(event) {
            entry.insert("matcher".to_owned(), json!("*"));
        }
        entry.insert(
            "hooks".to_owned(),
            json!([{"type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECS}]),
        );
        entries.push(Value::Object(entry));
    }
    Ok(settings)
}

/// `settings` without any hook of ours; entries and events left empty by
/// that are removed, nothing else is touched.
pub fn uninstall(mut settings: Value) -> Value {
    let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) else {
        return settings;
    };
    let events: Vec<String> = hooks.keys().cloned().collect();
    for event in events {
        if let Some(entries) = hooks.get_mut(&event).and_then(Value::as_array_mut) {
            let before = entries.len();
            remove_ours(entries);
            if entries.is_empty() && before > 0 {
                hooks.remove(&event);
            }
        }
    }
    if hooks.is_empty()
        && let Some(map) = settings.as_object_mut()
    {
        map.remove("hooks");
    }
    settings
}

/// Drop our commands from each entry, and entries left with none.
fn remove_ours(entries: &mut Vec<Value>) {
    for entry in entries.iter_mut() {
        if let Some(list) = entry.get_mut("hooks").and_then(Value::as_array_mut) {
            list.retain(|hook| !is_ours(hook));
        }
    }
    entries.retain(|entry| {
        entry
            .get("hooks")
            .and_then(Value::as_array)
            .is_none_or(|list| !list.is_empty())
    });
}

/// The events that have a hook of ours.
pub fn installed_events(settings: &Value) -> Vec<String> {
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else {
        return Vec::new();
    };
    hooks
        .iter()
        .filter(|(_, entries)| {
            entries.as_array().into_iter().flatten().any(|entry| {
                entry
                    .get("hooks")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(is_ours)
            })
        })
        .map(|(event, _)| event.clone())
        .collect()
}

fn settings_path(project: Option<&Path>) -> Result<PathBuf> {
    match project {
        Some(dir) => Ok(dir.join(".claude").join("settings.json")),
        None => {
            let home = std::env::var_os("HOME").context("HOME is not set")?;
            Ok(PathBuf::from(home).join(".claude").join("settings.json"))
        }
    }
}

fn read_settings(path: &Path) -> Result<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(json!({})),
        Ok(text) => serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not valid JSON; fix it first, nothing was changed",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Write `settings` to `path`, keeping the previous file as `settings.json.vpd-backup`.
fn write_settings(path: &Path, settings: &Value) -> Result<()> {
    if path.exists() {
        let backup = path.with_extension("json.vpd-backup");
        std::fs::copy(path, &backup).with_context(|| {
            format!("cannot back up {} to {}", path.display(), backup.display())
        })?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let text = serde_json::to_string_pretty(settings)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// How long the hook waits for the daemon before it lets the agent go on:
/// a tool call may wait for a person answering in a viewport.
const HOOK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);
const TOOL_HOOK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(90);

/// What Claude Code runs on each event: hand the event to the daemon if it
/// runs (never starting it), and exit 0 whatever happens, at once when the
/// daemon is down, so the agent is never blocked or broken by vpd.
pub async fn hook(agent: &str) -> Result<ExitCode> {
    let mut input = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut input);
    let Ok(event) = serde_json::from_slice::<Value>(&input) else {
        return Ok(ExitCode::SUCCESS);
    };
    let Ok(home) = viewport_daemon::DataHome::from_env() else {
        return Ok(ExitCode::SUCCESS);
    };
    let deadline = if event["hook_event_name"] == "PreToolUse" {
        TOOL_HOOK_DEADLINE
    } else {
        HOOK_DEADLINE
    };
    let forward = async {
        let mut client = viewport_client::Client::connect_unix(&home.socket()).await?;
        let agent_pid = viewport_agents::process::hook_caller();
        client.hook_event(agent, event, agent_pid).await
    };
    match tokio::time::timeout(deadline, forward).await {
        Ok(Ok(result)) => {
            if let Some(output) = result.output {
                println!("{output}");
            }
        }
        Ok(Err(e)) => tracing::debug!("the hook event was not delivered: {e}"),
        Err(_) => tracing::debug!("the daemon did not answer the hook in time"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: HooksArgs) -> Result<ExitCode> {
    let project = if args.project {
        Some(
            std::fs::canonicalize(&args.dir)
                .with_context(|| format!("cannot use {}", args.dir.display()))?,
        )
    } else {
        None
    };
    let path = settings_path(project.as_deref())?;
    if args.codex {
        bail!("Codex hooks are not supported yet; `vpd hooks install` sets up Claude Code");
    }
    match args.command {
        HooksCommand::Install => {
            let vpd = std::env::current_exe().context("cannot find the vpd executable")?;
            let settings = install(read_settings(&path)?, &hook_command(&vpd))?;
            write_settings(&path, &settings)?;
            eprintln!(
                "vpd: hooks for {} events installed in {}",
                EVENTS.len(),
                path.display()
            );
        }
        HooksCommand::Uninstall => {
            let before = read_settings(&path)?;
            if installed_events(&before).is_empty() {
                eprintln!("vpd: no hooks of vpd in {}", path.display());
            } else {
                write_settings(&path, &uninstall(before))?;
                eprintln!("vpd: hooks removed from {}", path.display());
            }
        }
        HooksCommand::Status => {
            let events = installed_events(&read_settings(&path)?);
            if events.is_empty() {
                println!("claude  {}  not installed", path.display());
            } else {
                println!("claude  {}  {}", path.display(), events.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_SETTINGS: &str = r#"{
  "model": "opus",
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "my-guard.sh"}]}
    ],
    "Stop": [
      {"hooks": [{"type": "command", "command": "notify-send done"}]}
    ]
  }
}"#;

    #[test]
    fn install_keeps_the_users_hooks_and_is_idempotent() {
        let user: Value = serde_json::from_str(USER_SETTINGS).unwrap();
        let command = hook_command(Path::new("/opt/bin/vpd"));
        let once = install(user.clone(), &command).unwrap();
        let twice = install(once.clone(), &command).unwrap();
        assert_eq!(once, twice);
        assert_eq!(installed_events(&once).len(), EVENTS.len());
        let pre = &once["hooks"]["PreToolUse"];
        assert_eq!(pre[0]["hooks"][0]["command"], "my-guard.sh");
        assert_eq!(pre[1]["matcher"], "*");
        assert_eq!(
            pre[1]["hooks"][0]["command"],
            "'/opt/bin/vpd' hook claude # viewport-hook"
        );
        assert_eq!(
            once["hooks"]["Stop"][0]["hooks"][0]["command"],
            "notify-send done"
        );
        assert!(once["hooks"]["Stop"][1].get("matcher").is_none());
        assert_eq!(once["model"], "opus");
    }

    #[test]
    fn uninstall_removes_exactly_ours() {
        let user: Value = serde_json::from_str(USER_SETTINGS).unwrap();
        let installed = install(user.clone(), &hook_command(Path::new("/x/vpd"))).unwrap();
        let text_before = serde_json::to_string_pretty(&user).unwrap();
        let text_after = serde_json::to_string_pretty(&uninstall(installed)).unwrap();
        assert_eq!(
            text_after, text_before,
            "the file is as it was, key order included"
        );
        assert_eq!(uninstall(json!({})), json!({}));
    }

    #[test]
    fn a_newer_vpd_path_replaces_the_old_command() {
        let first = install(json!({}), &hook_command(Path::new("/old/vpd"))).unwrap();
        let second = install(first, &hook_command(Path::new("/new/vpd"))).unwrap();
        let stop = second["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop.len(), 1);
        assert!(
            stop[0]["hooks"][0]["command"]
                .as_str()
                .unwrap()
                .contains("/new/vpd")
        );
    }
}
