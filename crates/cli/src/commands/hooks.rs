//! `vpd hooks install|uninstall|status`: our entries in Claude Code's
//! settings (`~/.claude/settings.json` or a project's
//! `.claude/settings.json`) and Codex's hooks (`~/.codex/hooks.json` or a
//! project's `.codex/hooks.json`: the same shape), merged with the user's
//! own hooks, never clobbering them. Ours are the commands that end with
//! [`MARK`]; a backup of the file is kept before each change.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};
use viewport_agents::hooks::HookAgent;

use crate::cli::{HooksArgs, HooksCommand};

/// The Claude Code hook events the bridge listens to.
pub const CLAUDE_EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Notification",
    "Stop",
    "SubagentStop",
    "SessionEnd",
];

/// The Codex hook events the bridge listens to.
pub const CODEX_EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "Stop",
];

/// What marks a hook command as ours (a shell comment, so it runs as is).
pub const MARK: &str = "# viewport-hook";

/// Seconds the agent gives our hook: a tool call may wait for a person in
/// a viewport (the hook itself gives up after 90 s).
const HOOK_TIMEOUT_SECS: u64 = 120;

/// Where and how one agent's hooks are configured.
struct HookFile {
    agent: HookAgent,
    path: PathBuf,
}

impl HookFile {
    fn events(&self) -> &'static [&'static str] {
        match self.agent {
            HookAgent::Claude => CLAUDE_EVENTS,
            HookAgent::Codex => CODEX_EVENTS,
        }
    }

    /// Claude Code takes `*` for every tool; Codex reads the matcher as a
    /// regex and matches every tool when there is none.
    fn matcher(&self) -> Option<&'static str> {
        match self.agent {
            HookAgent::Claude => Some("*"),
            HookAgent::Codex => None,
        }
    }
}

/// Events whose entries take a tool `matcher`.
fn takes_matcher(event: &str) -> bool {
    matches!(event, "PreToolUse" | "PostToolUse" | "PermissionRequest")
}

/// The command the agent runs for our hook.
pub fn hook_command(vpd: &Path, agent: HookAgent) -> String {
    format!(
        "'{}' hook {} {MARK}",
        vpd.display().to_string().replace('\'', r"'\''"),
        agent.as_str()
    )
}

fn is_ours(hook: &Value) -> bool {
    hook.get("command")
        .and_then(Value::as_str)
        .is_some_and(|c| c.trim_end().ends_with(MARK))
}

/// `settings` with our hook on each of `events`, once (an older command of
/// ours is replaced); the user's hooks are left as they are.
pub fn install(
    mut settings: Value,
    command: &str,
    events: &[&str],
    matcher: Option<&str>,
) -> Result<Value> {
    let settings_map = settings
        .as_object_mut()
        .context("the settings file is not a JSON object")?;
    let hooks = settings_map
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .context("`hooks` in the settings file is not an object")?;
    for event in events {
        let entries = hooks
            .entry(*event)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .with_context(|| format!("`hooks.{event}` in the settings file is not a list"))?;
        remove_ours(entries);
        let mut entry = Map::new();
        if let Some(matcher) = matcher.filter(|_| takes_matcher(event)) {
            entry.insert("matcher".to_owned(), json!(matcher));
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

fn home_dir() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .context("HOME is not set")
}

/// Where `agent`'s hooks live: in the project, or the user's.
fn hook_file(agent: HookAgent, project: Option<&Path>) -> Result<HookFile> {
    let path = match (agent, project) {
        (HookAgent::Claude, Some(dir)) => dir.join(".claude").join("settings.json"),
        (HookAgent::Claude, None) => home_dir()?.join(".claude").join("settings.json"),
        (HookAgent::Codex, Some(dir)) => dir.join(".codex").join("hooks.json"),
        (HookAgent::Codex, None) => match std::env::var_os("CODEX_HOME") {
            Some(home) => PathBuf::from(home).join("hooks.json"),
            None => home_dir()?.join(".codex").join("hooks.json"),
        },
    };
    Ok(HookFile { agent, path })
}

/// The agents the command is for: those named, or else Claude Code, and
/// Codex too where its configuration directory already exists.
fn hook_files(args: &HooksArgs, project: Option<&Path>) -> Result<Vec<HookFile>> {
    let mut files = Vec::new();
    if args.claude || !args.codex {
        files.push(hook_file(HookAgent::Claude, project)?);
    }
    let codex = hook_file(HookAgent::Codex, project)?;
    let codex_in_use = codex.path.parent().is_some_and(Path::is_dir);
    if args.codex
        || (!args.claude && (codex_in_use || matches!(args.command, HooksCommand::Status)))
    {
        files.push(codex);
    }
    Ok(files)
}

/// One agent's user-level hooks, as `vpd doctor` reports them.
pub struct HookStatus {
    pub agent: HookAgent,
    pub path: PathBuf,
    /// The events that run a hook of ours.
    pub events: Vec<String>,
    /// The `vpd` programs our hooks run (more than one, or another one than
    /// this, means an install went stale).
    pub programs: Vec<String>,
}

/// Claude Code's and Codex's user hooks, or why their files cannot be read.
pub fn user_hooks() -> Vec<Result<HookStatus>> {
    [HookAgent::Claude, HookAgent::Codex]
        .into_iter()
        .map(|agent| {
            let file = hook_file(agent, None)?;
            let settings = read_settings(&file.path)?;
            let mut programs: Vec<String> = our_commands(&settings)
                .filter_map(|command| shlex::split(&command)?.into_iter().next())
                .collect();
            programs.sort();
            programs.dedup();
            Ok(HookStatus {
                agent,
                events: installed_events(&settings),
                path: file.path,
                programs,
            })
        })
        .collect()
}

/// The command of every hook of ours in `settings`.
fn our_commands(settings: &Value) -> impl Iterator<Item = String> + '_ {
    settings
        .get("hooks")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|hooks| hooks.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|entry| entry.get("hooks").and_then(Value::as_array))
        .flatten()
        .filter(|hook| is_ours(hook))
        .filter_map(|hook| hook.get("command").and_then(Value::as_str))
        .map(|command| command.trim_end().trim_end_matches(MARK).to_owned())
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

/// What the agent runs on each event: hand the event to the daemon if it
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
    let deadline = if matches!(
        event["hook_event_name"].as_str(),
        Some("PreToolUse" | "PermissionRequest")
    ) {
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
    for file in hook_files(&args, project.as_deref())? {
        match args.command {
            HooksCommand::Install => install_file(&file)?,
            HooksCommand::Uninstall => uninstall_file(&file)?,
            HooksCommand::Status => status(&file)?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn install_file(file: &HookFile) -> Result<()> {
    let vpd = std::env::current_exe().context("cannot find the vpd executable")?;
    let command = hook_command(&vpd, file.agent);
    let settings = install(
        read_settings(&file.path)?,
        &command,
        file.events(),
        file.matcher(),
    )?;
    write_settings(&file.path, &settings)?;
    eprintln!(
        "vpd: {} hooks for {} events installed in {}",
        file.agent.display_name(),
        file.events().len(),
        file.path.display()
    );
    if file.agent == HookAgent::Codex {
        eprintln!(
            "vpd: Codex runs new hooks only once you trust them: type /hooks in Codex and trust vpd's"
        );
    }
    Ok(())
}

fn uninstall_file(file: &HookFile) -> Result<()> {
    let before = read_settings(&file.path)?;
    if installed_events(&before).is_empty() {
        eprintln!("vpd: no hooks of vpd in {}", file.path.display());
    } else {
        write_settings(&file.path, &uninstall(before))?;
        eprintln!("vpd: hooks removed from {}", file.path.display());
    }
    Ok(())
}

fn status(file: &HookFile) -> Result<()> {
    let events = installed_events(&read_settings(&file.path)?);
    let installed = if events.is_empty() {
        "not installed".to_owned()
    } else {
        events.join(", ")
    };
    println!(
        "{:<7} {}  {installed}",
        file.agent.as_str(),
        file.path.display()
    );
    Ok(())
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
        let command = hook_command(Path::new("/opt/bin/vpd"), HookAgent::Claude);
        let once = install(user.clone(), &command, CLAUDE_EVENTS, Some("*")).unwrap();
        let twice = install(once.clone(), &command, CLAUDE_EVENTS, Some("*")).unwrap();
        assert_eq!(once, twice);
        assert_eq!(installed_events(&once).len(), CLAUDE_EVENTS.len());
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
        let command = hook_command(Path::new("/x/vpd"), HookAgent::Claude);
        let installed = install(user.clone(), &command, CLAUDE_EVENTS, Some("*")).unwrap();
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
        let old = hook_command(Path::new("/old/vpd"), HookAgent::Claude);
        let new = hook_command(Path::new("/new/vpd"), HookAgent::Claude);
        let first = install(json!({}), &old, CLAUDE_EVENTS, Some("*")).unwrap();
        let second = install(first, &new, CLAUDE_EVENTS, Some("*")).unwrap();
        let stop = second["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop.len(), 1);
        assert!(
            stop[0]["hooks"][0]["command"]
                .as_str()
                .unwrap()
                .contains("/new/vpd")
        );
    }

    #[test]
    fn codex_hooks_merge_into_its_hooks_json_without_a_matcher() {
        let user =
            json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}});
        let command = hook_command(Path::new("/opt/bin/vpd"), HookAgent::Codex);
        let installed = install(user.clone(), &command, CODEX_EVENTS, None).unwrap();
        let expected = json!({"hooks": {
            "Stop": [
                {"hooks": [{"type": "command", "command": "say done"}]},
                {"hooks": [{"type": "command", "command": "'/opt/bin/vpd' hook codex # viewport-hook", "timeout": 120}]}
            ],
            "SessionStart": [{"hooks": [{"type": "command", "command": "'/opt/bin/vpd' hook codex # viewport-hook", "timeout": 120}]}],
        }});
        assert_eq!(installed["hooks"]["Stop"], expected["hooks"]["Stop"]);
        assert_eq!(
            installed["hooks"]["SessionStart"],
            expected["hooks"]["SessionStart"]
        );
        assert!(
            installed["hooks"]["PermissionRequest"][0]
                .get("matcher")
                .is_none()
        );
        assert_eq!(installed_events(&installed).len(), CODEX_EVENTS.len());
        assert_eq!(uninstall(installed), user);
    }
}
