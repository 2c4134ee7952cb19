//! Reaching the daemon: over its unix socket, starting it in the background
//! first when it is not running (as tmux starts its server); or, with
//! `--remote NAME`, another machine's daemon through its relay.

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use viewport_client::subscription::Dial;
use viewport_client::{Client, ClientError};
use viewport_daemon::DataHome;

/// How long a freshly started daemon may take to open its socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);
const START_POLL: Duration = Duration::from_millis(25);

/// The remote this invocation talks to (`--remote`), if any.
static REMOTE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Talk to the remote called `name` instead of this machine's daemon.
pub fn use_remote(name: String) {
    let _ = REMOTE.set(name);
}

/// A connection to the daemon of this data home, starting it if needed (or
/// to the remote chosen with `--remote`).
pub async fn connect() -> Result<Client> {
    if let Some(name) = REMOTE.get() {
        return crate::commands::remote::connect(name).await;
    }
    let home = DataHome::from_env()?;
    if let Ok(client) = Client::connect_unix(&home.socket()).await {
        return Ok(client);
    }
    let daemon = start_daemon(&home, &["daemon".to_owned()])?;
    reach_started(&home, daemon).await
}

/// How a long-lived command reaches the daemon again after losing it: the
/// same daemon (or remote), never a newly started one; a daemon that was
/// stopped on purpose stays stopped, one that restarts is found.
pub fn redial() -> Dial {
    Box::new(|| {
        Box::pin(async {
            let reached = match REMOTE.get() {
                Some(name) => crate::commands::remote::connect(name).await,
                None => match DataHome::from_env() {
                    Ok(home) => Client::connect_unix(&home.socket())
                        .await
                        .map_err(Into::into),
                    Err(e) => Err(e),
                },
            };
            reached.map_err(|e| ClientError::Connect {
                place: "the daemon".into(),
                reason: format!("{e:#}"),
            })
        })
    })
}

/// Wait until the daemon just started answers on its socket.
pub async fn reach_started(home: &DataHome, mut daemon: std::process::Child) -> Result<Client> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match Client::connect_unix(&home.socket()).await {
            Ok(client) => return Ok(client),
            Err(e) if Instant::now() > deadline => {
                bail!(
                    "started the daemon but could not reach it: {e}\n{}",
                    log_tail(home)
                )
            }
            Err(_) => {
                if let Ok(Some(status)) = daemon.try_wait() {
                    bail!("the daemon could not start ({status})\n{}", log_tail(home));
                }
                tokio::time::sleep(START_POLL).await;
            }
        }
    }
}

/// Start `vpd ARGS` (a daemon) in the background, logging to the data home.
pub fn start_daemon(home: &DataHome, args: &[String]) -> Result<std::process::Child> {
    home.ensure()?;
    let log_path = home.log_file();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let exe = std::env::current_exe().context("cannot find the vpd executable")?;
    let daemon = std::process::Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C meant for this command leaves it running.
        .process_group(0)
        .spawn()
        .context("cannot start the daemon")?;
    eprintln!("vpd: started the daemon (log: {})", log_path.display());
    Ok(daemon)
}

fn log_tail(home: &DataHome) -> String {
    let log = std::fs::read_to_string(home.log_file()).unwrap_or_default();
    let lines: Vec<&str> = log.lines().rev().take(10).collect();
    let tail: Vec<&str> = lines.into_iter().rev().collect();
    format!(
        "last lines of {}:\n{}",
        home.log_file().display(),
        tail.join("\n")
    )
}
