//! `vpd doctor`: what stands between this machine and working sessions,
//! each finding with the command that fixes it. It reads and asks; it
//! changes nothing, and never starts the daemon.

use std::io::IsTerminal;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use viewport_agents::profile::{ProgramSearch, builtin_infos};
use viewport_client::Client;
use viewport_daemon::DataHome;
use viewport_protocol::options::AgentInfo;

use super::hooks::user_hooks;
use super::print_json;

/// How long the daemon may take to answer before it counts as stuck.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Level {
    Ok,
    /// Worth knowing; nothing is broken.
    Note,
    /// Something will go wrong, or went wrong before.
    Warn,
    /// vpd cannot work until it is fixed.
    Fail,
}

#[derive(Serialize)]
struct Finding {
    check: &'static str,
    level: Level,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Default)]
struct Report(Vec<Finding>);

impl Report {
    fn add(&mut self, check: &'static str, level: Level, detail: String, fix: Option<String>) {
        self.0.push(Finding {
            check,
            level,
            detail,
            fix,
        });
    }

    fn ok(&mut self, check: &'static str, detail: String) {
        self.add(check, Level::Ok, detail, None);
    }
}

pub async fn run(json: bool) -> Result<ExitCode> {
    let home = DataHome::from_env()?;
    let mut report = Report::default();
    report.ok(
        "vpd",
        format!("{} at {}", env!("CARGO_PKG_VERSION"), this_vpd()),
    );
    check_data_home(&home, &mut report);
    check_database(&home, &mut report);
    let mut daemon = check_daemon(&home, &mut report).await;
    check_agents(&home, daemon.as_mut(), &mut report).await;
    check_node(&mut report);
    check_hooks(&mut report);
    if json {
        print_json(&report.0)?;
    } else {
        print_text(&report.0);
    }
    let failed = report.0.iter().any(|f| f.level == Level::Fail);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn this_vpd() -> String {
    std::env::current_exe().map_or_else(|_| "vpd".into(), |p| p.display().to_string())
}

/// The data home must be the user's own and closed to everyone else, as
/// the daemon demands before it starts.
fn check_data_home(home: &DataHome, report: &mut Report) {
    let root = home.root();
    let shown = root.display();
    let Ok(meta) = std::fs::metadata(root) else {
        let fix = "`vpd daemon` (or any command that starts it) creates it".to_owned();
        report.add(
            "data home",
            Level::Note,
            format!("{shown} does not exist yet"),
            Some(fix),
        );
        return;
    };
    let uid = nix::unistd::getuid().as_raw();
    if meta.uid() != uid {
        let fix =
            format!("`chown -R $(id -un) {shown}`, or point VIEWPORT_HOME at a directory of yours");
        let detail = format!(
            "{shown} belongs to uid {}, not to you (uid {uid})",
            meta.uid()
        );
        report.add("data home", Level::Fail, detail, Some(fix));
        return;
    }
    let loose = home.loose_permissions();
    if loose.is_empty() {
        report.ok("data home", format!("{shown}: yours, closed to others"));
    }
    for each in loose {
        let detail = format!(
            "{} is {} (mode {:o}): the daemon will not start",
            each.path.display(),
            each.what,
            each.mode
        );
        report.add(
            "data home",
            Level::Fail,
            detail,
            Some(format!("`{}`", each.fix())),
        );
    }
}

/// The log's schema must be one this vpd knows (read without changing it).
fn check_database(home: &DataHome, report: &mut Report) {
    let path = home.database();
    if !path.exists() {
        return;
    }
    let found = viewport_store::migrations::schema_version_of(&path);
    let supported = viewport_store::migrations::SCHEMA_VERSION;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    match found {
        Err(e) => {
            let detail = format!("cannot read {}: {e}", path.display());
            let fix = "move it aside and run `vpd reindex` after restoring a backup; nothing else reads it".to_owned();
            report.add("event log", Level::Fail, detail, Some(fix));
        }
        Ok(found) if found > supported => {
            let detail = format!(
                "{} has schema {found}; this vpd knows up to {supported}",
                path.display()
            );
            let fix = "run the newer vpd that wrote it (`cargo install --path crates/cli` from a newer checkout)".to_owned();
            report.add("event log", Level::Fail, detail, Some(fix));
        }
        Ok(found) if found < supported => {
            let detail =
                format!("schema {found}; the next daemon start migrates it to {supported}");
            report.add("event log", Level::Note, detail, None);
        }
        Ok(_) => report.ok(
            "event log",
            format!(
                "{}, {} MB, schema {supported}",
                path.display(),
                size / 1_000_000
            ),
        ),
    }
}

/// Whether a daemon answers on the socket, how fast, and whether it is this
/// version of vpd.
async fn check_daemon(home: &DataHome, report: &mut Report) -> Option<Client> {
    let Ok(info) = home.read_info() else {
        let fix =
            "`vpd daemon` in a terminal, or `vpd daemon install` to run it as a service".to_owned();
        report.add("daemon", Level::Note, "not running".into(), Some(fix));
        return None;
    };
    let started = Instant::now();
    let answered = tokio::time::timeout(ANSWER_WITHIN, async {
        let mut client = Client::connect_unix(&home.socket()).await?;
        client.list_sessions_page(1, None).await?;
        anyhow::Ok(client)
    })
    .await;
    let client = match answered {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            let detail = format!(
                "daemon.json names pid {}, but its socket does not answer: {e:#}",
                info.pid
            );
            let fix = "`vpd daemon stop`, then `vpd daemon` (a daemon that died leaves daemon.json behind)".to_owned();
            report.add("daemon", Level::Warn, detail, Some(fix));
            return None;
        }
        Err(_) => {
            let detail = format!(
                "pid {} did not answer within {} s",
                info.pid,
                ANSWER_WITHIN.as_secs()
            );
            let fix = "`vpd daemon status`, and its log (`daemon.log` in the data home)".to_owned();
            report.add("daemon", Level::Warn, detail, Some(fix));
            return None;
        }
    };
    let took = started.elapsed().as_secs_f64() * 1000.0;
    report.ok(
        "daemon",
        format!(
            "pid {}, on {} and {}, answered in {took:.1} ms",
            info.pid, info.listen, info.socket
        ),
    );
    if info.version != env!("CARGO_PKG_VERSION") {
        let detail = format!(
            "the daemon is vpd {}, this is vpd {}",
            info.version,
            env!("CARGO_PKG_VERSION")
        );
        let fix = "`vpd daemon restart` (sessions keep running)".to_owned();
        report.add("versions", Level::Warn, detail, Some(fix));
    }
    Some(client)
}

/// Each agent profile, as the daemon sees it (its `PATH`), or as it would
/// if it started from here.
async fn check_agents(home: &DataHome, daemon: Option<&mut Client>, report: &mut Report) {
    let agents = match daemon {
        Some(client) => client.list_agents().await.ok(),
        None => None,
    }
    .unwrap_or_else(|| builtin_infos(&ProgramSearch::from_env([home.agent_programs()])));
    for agent in agents {
        report_agent(&agent, report);
    }
}

fn report_agent(agent: &AgentInfo, report: &mut Report) {
    if agent.installed {
        report.ok("agent", format!("{}: {}", agent.name, agent.program));
    } else {
        let fix = agent.install.clone().map(|command| format!("`{command}`"));
        let detail = format!("{}: {} is not installed", agent.name, agent.program);
        report.add("agent", Level::Note, detail, fix);
    }
}

/// The npm agent adapters run on Node.js.
fn check_node(report: &mut Report) {
    let version = Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    match version {
        Some(version) => report.ok("node", version),
        None => {
            let detail =
                "node is not on PATH: the Claude Code, Codex, Gemini and OpenCode adapters need it"
                    .into();
            let fix = "install Node.js 20 or later (https://nodejs.org, or your package manager)"
                .to_owned();
            report.add("node", Level::Note, detail, Some(fix));
        }
    }
}

/// Our hooks in Claude Code's and Codex's settings, and whether they run
/// this vpd.
fn check_hooks(report: &mut Report) {
    let this = this_vpd();
    for status in user_hooks() {
        let status = match status {
            Ok(status) => status,
            Err(e) => {
                report.add("hooks", Level::Warn, format!("{e:#}"), None);
                continue;
            }
        };
        let name = status.agent.as_str();
        let path = status.path.display();
        if status.events.is_empty() {
            let detail =
                format!("{name}: none in {path} (sessions started in a terminal are not seen)");
            let fix = format!("`vpd hooks install --{name}`");
            report.add("hooks", Level::Note, detail, Some(fix));
        } else if status
            .programs
            .iter()
            .any(|program| !same_file(program, &this))
        {
            let detail = format!(
                "{name}: {path} runs {}, not this vpd",
                status.programs.join(", ")
            );
            let fix = format!("`vpd hooks install --{name}` (it replaces ours, and keeps yours)");
            report.add("hooks", Level::Warn, detail, Some(fix));
        } else {
            report.ok(
                "hooks",
                format!("{name}: {} events in {path}", status.events.len()),
            );
        }
    }
}

fn same_file(a: &str, b: &str) -> bool {
    let canonical = |p: &str| std::fs::canonicalize(Path::new(p)).ok();
    canonical(a).is_some() && canonical(a) == canonical(b)
}

fn print_text(findings: &[Finding]) {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for finding in findings {
        let (mark, paint) = match finding.level {
            Level::Ok => ("ok", "32"),
            Level::Note => ("--", "2"),
            Level::Warn => ("!!", "33"),
            Level::Fail => ("XX", "31"),
        };
        let mark = if color {
            format!("\x1b[{paint}m{mark}\x1b[0m")
        } else {
            mark.to_owned()
        };
        println!("{mark} {:<10} {}", finding.check, finding.detail);
        if let Some(fix) = &finding.fix {
            println!("   {:<10} fix: {fix}", "");
        }
    }
    let worst = findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok);
    let summary = match worst {
        Level::Ok | Level::Note => "vpd is ready",
        Level::Warn => "vpd works, with the warnings above",
        Level::Fail => "vpd cannot work until the failures above are fixed",
    };
    println!("{summary}");
}
