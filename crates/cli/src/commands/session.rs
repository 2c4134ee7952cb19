//! Commands on sessions: run, ls, name, watch, send, cancel, approve, deny,
//! kill, close, destroy, resume, config-session.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use viewport_protocol::options::ContextItem;
use viewport_protocol::state::{SessionKind, SessionSummary};
use viewport_protocol::{SessionState, now_ms};

use super::follow::Follow;
use super::{print_json, resolve_session};
use crate::cli::{AnswerArgs, ConfigSessionArgs, LsArgs, ResumeArgs, RunArgs, SendArgs, WatchArgs};
use crate::connect::connect;

pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let dir = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("cannot use directory {}", args.dir.display()))?;
    let directory = client.add_directory(&dir.to_string_lossy()).await?;
    let overrides = args.options.overrides(args.agent.as_deref())?;
    let session_id = client
        .launch_with(
            directory.directory_id,
            &args.prompt,
            args.options.model.clone(),
            overrides,
        )
        .await?;
    if args.detach {
        println!("{session_id}");
        return Ok(ExitCode::SUCCESS);
    }
    let agent = match (&args.agent, &args.options.profile) {
        (Some(agent), _) => agent.clone(),
        (None, Some(profile)) => format!("profile {profile}"),
        (None, None) => viewport_agents::profile::DEFAULT_PROFILE.to_owned(),
    };
    eprintln!("vpd: session {session_id} ({agent}) in {}", dir.display());
    let follow = Follow {
        json: args.json,
        until_idle: !args.follow,
        approve_all: args.yes,
        ask: true,
    };
    follow.run(client, &session_id, 0).await
}

pub async fn watch(args: WatchArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, &args.session).await?;
    let follow = Follow {
        json: args.json,
        until_idle: false,
        approve_all: false,
        ask: false,
    };
    follow.run(client, &session_id, args.after).await
}

pub async fn list(args: LsArgs) -> Result<ExitCode> {
    let filter = SessionFilter::from_args(&args)?;
    let mut client = connect().await?;
    let sessions: Vec<SessionSummary> = client
        .list_sessions()
        .await?
        .into_iter()
        .filter(|s| filter.keeps(s))
        .collect();
    if args.json {
        print_json(&sessions)?;
    } else if sessions.is_empty() {
        eprintln!("no sessions yet; start one with `vpd run \"hello\"`");
    } else {
        print_table(&sessions);
    }
    Ok(ExitCode::SUCCESS)
}

/// What `vpd ls` keeps.
struct SessionFilter {
    state: Option<SessionState>,
    agent: Option<String>,
    dir: Option<PathBuf>,
    since_ms: Option<i64>,
    name: Option<String>,
    repo: Option<String>,
    branch: Option<String>,
}

impl SessionFilter {
    fn from_args(args: &LsArgs) -> Result<Self> {
        let state = args
            .state
            .as_deref()
            .map(|state| {
                serde_json::from_value(serde_json::json!(state)).map_err(|_| {
                    anyhow::anyhow!(
                        "--state `{state}` is not a state; use active, idle, awaiting or ended"
                    )
                })
            })
            .transpose()?;
        let dir = args
            .dir
            .as_deref()
            .map(|dir| {
                std::fs::canonicalize(dir)
                    .with_context(|| format!("cannot use --dir {}", dir.display()))
            })
            .transpose()?;
        let since_ms = args.since.as_deref().map(parse_age).transpose()?;
        Ok(Self {
            state,
            agent: args.agent.clone(),
            dir,
            since_ms: since_ms.map(|age| now_ms() - age),
            name: args.name.as_deref().map(str::to_lowercase),
            repo: args.repo.clone(),
            branch: args.branch.clone(),
        })
    }

    fn keeps(&self, s: &SessionSummary) -> bool {
        let named = |text: &Option<String>, wanted: &str| {
            text.as_deref()
                .is_some_and(|t| t.to_lowercase().contains(wanted))
        };
        self.state.is_none_or(|state| s.state == state)
            && self.agent.as_ref().is_none_or(|agent| &s.agent == agent)
            && self
                .dir
                .as_ref()
                .is_none_or(|dir| Path::new(&s.cwd).starts_with(dir))
            && self.since_ms.is_none_or(|since| s.created_at >= since)
            && self
                .name
                .as_deref()
                .is_none_or(|wanted| named(&s.name, wanted) || named(&s.title, wanted))
            && self.repo.as_deref().is_none_or(|wanted| {
                s.git.iter().any(|g| {
                    g.root.contains(wanted)
                        || g.remote.as_deref().is_some_and(|r| r.contains(wanted))
                })
            })
            && self
                .branch
                .as_deref()
                .is_none_or(|wanted| s.git.iter().any(|g| g.branch.as_deref() == Some(wanted)))
    }
}

/// `30m`, `2h`, `7d` in milliseconds.
fn parse_age(text: &str) -> Result<i64> {
    let (number, unit) = text.split_at(text.trim_end_matches(char::is_alphabetic).len());
    let number: i64 = number.parse().ok().filter(|n| *n >= 0).with_context(|| {
        format!("--since `{text}`: expected a number and a unit, like 30m, 2h or 7d")
    })?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => anyhow::bail!("--since `{text}`: the unit is one of s, m, h, d, w"),
    };
    Ok(number.saturating_mul(unit_ms))
}

pub async fn name(session: &str, title: &str) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, session).await?;
    client.set_title(&session_id, title).await?;
    Ok(ExitCode::SUCCESS)
}

fn print_table(sessions: &[SessionSummary]) {
    println!(
        "{:<38} {:<18} {:<8} {:>7} {:>8}  TITLE",
        "SESSION", "STATE", "AGENT", "UPDATES", "AGE"
    );
    let now = now_ms();
    for s in sessions {
        let mut state = s.state.to_string();
        if let Some(reason) = s.end_reason {
            state = format!("{state}/{reason}");
        }
        if s.disconnected {
            state.push_str(" (disc.)");
        }
        if s.pending_prompts > 0 && s.state != SessionState::Ended {
            state = format!("{state} ({}?)", s.pending_prompts);
        }
        let title = s.title.as_deref().unwrap_or("");
        println!(
            "{:<38} {:<18} {:<8} {:>7} {:>8}  {}",
            s.session_id,
            state,
            s.agent,
            s.last_seq,
            age(now - s.created_at),
            title
        );
    }
}

pub fn age(ms: i64) -> String {
    let seconds = (ms / 1000).max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}

pub async fn send(args: SendArgs) -> Result<ExitCode> {
    let context = args
        .files
        .iter()
        .map(|path| file_context(path))
        .collect::<Result<Vec<_>>>()?;
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, &args.session).await?;
    let kind = client.session_state(&session_id).await?.session.kind;
    if kind == SessionKind::Terminal {
        let enter = if args.no_enter { "" } else { "\r" };
        let typed = format!("{}{enter}", args.text);
        client.terminal_input(&session_id, &typed).await?;
    } else {
        if args.no_enter {
            bail!("--no-enter is for terminal sessions; {session_id} runs an agent");
        }
        client.prompt_with(&session_id, &args.text, context).await?;
    }
    eprintln!("vpd: sent to {session_id}");
    Ok(ExitCode::SUCCESS)
}

/// A file as prompt context: its content, embedded.
fn file_context(path: &std::path::Path) -> Result<ContextItem> {
    let absolute =
        std::fs::canonicalize(path).with_context(|| format!("cannot attach {}", path.display()))?;
    let text = std::fs::read_to_string(&absolute)
        .with_context(|| format!("cannot attach {}: not a readable text file", path.display()))?;
    Ok(ContextItem {
        uri: format!("file://{}", absolute.display()),
        text: Some(text),
        mime_type: None,
    })
}

pub async fn close(session: &str) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, session).await?;
    client.close(&session_id).await?;
    eprintln!("vpd: closed {session_id}");
    Ok(ExitCode::SUCCESS)
}

pub async fn remove(session: &str, force: bool, yes: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, session).await?;
    if !yes && std::io::stdin().is_terminal() {
        let summary = client.session_state(&session_id).await?.session;
        let title = summary.title.or(summary.name).unwrap_or_default();
        eprint!(
            "delete {session_id} {title:?} ({} updates, its files and checkpoints) for good? [y/N] ",
            summary.last_seq
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("vpd: nothing deleted");
            return Ok(ExitCode::SUCCESS);
        }
    }
    client.destroy(&session_id, force).await?;
    eprintln!("vpd: deleted {session_id} and everything stored of it");
    Ok(ExitCode::SUCCESS)
}

pub async fn resume(args: ResumeArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, &args.session).await?;
    client.resume(&session_id).await?;
    let Some(prompt) = args.prompt else {
        eprintln!("vpd: resumed {session_id}; `vpd send {session_id} TEXT` continues it");
        return Ok(ExitCode::SUCCESS);
    };
    let head = client.session_state(&session_id).await?.session.last_seq;
    client.prompt(&session_id, &prompt).await?;
    let follow = Follow {
        json: false,
        until_idle: true,
        approve_all: false,
        ask: true,
    };
    follow.run(client, &session_id, head).await
}

pub async fn config(args: ConfigSessionArgs) -> Result<ExitCode> {
    if args.mode.is_none() && args.model.is_none() && args.thought_level.is_none() {
        bail!("give at least one of --mode, --model or --thought-level");
    }
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, &args.session).await?;
    client
        .set_config(&session_id, args.mode, args.model, args.thought_level)
        .await?;
    eprintln!("vpd: settings of {session_id} changed");
    Ok(ExitCode::SUCCESS)
}

pub async fn cancel(session: &str) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, session).await?;
    client.cancel(&session_id).await?;
    eprintln!("vpd: cancelled the current turn of {session_id}");
    Ok(ExitCode::SUCCESS)
}

pub async fn kill(session: &str) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, session).await?;
    client.kill(&session_id).await?;
    eprintln!("vpd: killed {session_id}");
    Ok(ExitCode::SUCCESS)
}

/// `approve` (allow) or `deny` a pending prompt.
pub async fn answer(args: AnswerArgs, allow: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, &args.session).await?;
    let state = client.session_state(&session_id).await?;
    let pending = state.pending_prompts;
    let prompt = match (&args.prompt, pending.as_slice()) {
        (Some(wanted), _) => match pending
            .iter()
            .find(|p| p.request.prompt_id.as_str() == wanted)
        {
            Some(prompt) => prompt,
            None => bail!("{session_id} has no pending prompt {wanted}"),
        },
        (None, [only]) => only,
        (None, []) => bail!("{session_id} has no pending permission prompt"),
        (None, many) => bail!(
            "{session_id} has {} pending prompts; name one: {}",
            many.len(),
            many.iter()
                .map(|p| p.request.prompt_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let option = prompt
        .request
        .first_option(allow)
        .map(|o| o.option_id.clone());
    client
        .respond(&session_id, &prompt.request.prompt_id, option.as_deref())
        .await?;
    let answer = option.unwrap_or_else(|| "cancelled".to_owned());
    eprintln!("vpd: answered {} with {answer}", prompt.request.prompt_id);
    Ok(ExitCode::SUCCESS)
}
