//! One module per group of commands; each takes its parsed arguments, talks
//! to the daemon through `viewport-client`, and returns an exit code.

mod agents;
mod config;
mod daemon;
mod dir;
mod doctor;
mod export;
mod follow;
mod hooks;
mod open;
pub mod remote;
mod rewind;
mod search;
mod session;
mod terminal;
mod workflow;

use std::process::ExitCode;

use anyhow::{Result, bail};
use viewport_client::Client;
use viewport_protocol::SessionId;

use crate::cli::{Cli, Command, DirCommand, SessionCommand};

/// The session ended in failure (failed, daemon-lost, cost-cap).
pub const EXIT_SESSION_FAILED: u8 = 3;

pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Some(name) = cli.remote {
        crate::connect::use_remote(name);
    }
    match cli.command {
        Command::Daemon(args) => daemon::run(args).await,
        Command::Supervise { dir } => {
            tokio::task::spawn_blocking(move || viewport_supervisor::server::run(&dir)).await??;
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "vpd", &mut script);
            print_generated(&script)
        }
        Command::Doctor(args) => doctor::run(args.json).await,
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            print_generated(&page)
        }
        Command::DemoAgent => {
            viewport_testkit::demo_agent::run_stdio().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => session::run(*args).await,
        Command::Ls(args) => session::list(args).await,
        Command::Name { session, title } => session::name(&session, &title).await,
        Command::Watch(args) => session::watch(args).await,
        Command::Send(args) => session::send(args).await,
        Command::Cancel { session } => session::cancel(&session).await,
        Command::Approve(args) => session::answer(args, true).await,
        Command::Deny(args) => session::answer(args, false).await,
        Command::Kill { session } => session::kill(&session).await,
        Command::Close { session } => session::close(&session).await,
        Command::Rm {
            session,
            force,
            yes,
        } => session::remove(&session, force, yes).await,
        Command::New(args) => terminal::new(args).await,
        Command::Attach { session } => terminal::attach(&session).await,
        Command::Logs(args) => terminal::logs(args).await,
        Command::Show(args) => terminal::show(args).await,
        Command::Artifacts(args) => terminal::artifacts(args).await,
        Command::Job(args) => terminal::job(args).await,
        Command::Jobs(args) => terminal::jobs(args).await,
        Command::Resume(args) => session::resume(args).await,
        Command::ConfigSession(args) => session::config(args).await,
        Command::Agents(args) => agents::list(args).await,
        Command::Config(command) => config::run(command).await,
        Command::Workflow(command) => workflow::run(command).await,
        Command::Plans(args) => workflow::plans(args.json).await,
        Command::Search(args) => search::run(args).await,
        Command::Open(args) => open::run(args).await,
        Command::Pair(args) => open::pair(args).await,
        Command::Remote(command) => remote::run(command).await,
        Command::Export(args) => export::export(args).await,
        Command::Import { file, dir } => export::import(&file, &dir).await,
        Command::Fork { session, at } => export::fork(&session, at).await,
        Command::Checkpoints { session, json } => rewind::list(&session, json).await,
        Command::Output { session, name } => export::output(&session, &name).await,
        Command::Rewind { session, to, yes } => rewind::rewind(&session, to, yes).await,
        Command::Session(SessionCommand::Manifest { session }) => {
            config::session_manifest(&session).await
        }
        Command::Reindex => dir::reindex().await,
        Command::Hooks(args) => hooks::run(args),
        Command::Hook { agent } => hooks::hook(&agent).await,
        Command::Dir(DirCommand::Add { path, json }) => dir::add(&path, json).await,
        Command::Dir(DirCommand::Ls { json }) => dir::list(json).await,
        Command::Dir(DirCommand::Rm { directory }) => dir::remove(&directory).await,
    }
}

/// A session named by its name, its id, or a unique prefix of its id (with
/// or without `ses_`).
pub async fn resolve_session(client: &mut Client, given: &str) -> Result<SessionId> {
    let wanted = if given.starts_with(SessionId::PREFIX) {
        given.to_owned()
    } else {
        format!("{}{given}", SessionId::PREFIX)
    };
    let sessions = client.list_sessions().await?;
    if let Some(named) = sessions.iter().find(|s| s.name.as_deref() == Some(given)) {
        return Ok(named.session_id.clone());
    }
    if let Some(exact) = sessions.iter().find(|s| s.session_id.as_str() == wanted) {
        return Ok(exact.session_id.clone());
    }
    let matches: Vec<&SessionId> = sessions
        .iter()
        .map(|s| &s.session_id)
        .filter(|id| id.as_str().starts_with(&wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no session matches `{given}` (see `vpd ls`)"),
        many => bail!(
            "`{given}` matches {} sessions; give more of the id: {}",
            many.len(),
            many.iter()
                .map(|id| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Print a value as pretty JSON.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Print generated text; a reader that stops early (`| head`) is no error.
fn print_generated(text: &[u8]) -> Result<ExitCode> {
    use std::io::Write;
    match std::io::stdout().write_all(text) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}
