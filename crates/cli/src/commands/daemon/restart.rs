//! `vpd daemon restart`: the running daemon goes, leaving its agent
//! sessions to their supervisors, and a new one (the `vpd` on disk now,
//! after an upgrade) takes them over.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use viewport_daemon::DataHome;
use viewport_daemon::home::DaemonInfo;

use crate::connect::{reach_started, start_daemon};

/// The status a daemon exits with when it leaves its sessions running:
/// non-zero, so a service manager that restarts on failure starts the next.
pub const EXIT_RESTARTING: i32 = 75;

/// How long the old daemon may take to go, and a service manager to start the new one.
const GO_TIMEOUT: Duration = Duration::from_secs(15);

pub async fn restart() -> Result<ExitCode> {
    let home = DataHome::from_env()?;
    let Ok(info) = home.read_info() else {
        let started = start_daemon(&home, &["daemon".to_owned()])?;
        reach_started(&home, started).await?;
        eprintln!("vpd: no daemon was running; started one");
        return Ok(ExitCode::SUCCESS);
    };
    let pid = nix::unistd::Pid::from_raw(
        i32::try_from(info.pid).context("daemon.json has an invalid pid")?,
    );
    let managed = run_by_systemd(info.pid);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGUSR2)
        .with_context(|| format!("cannot signal the daemon (pid {})", info.pid))?;
    let deadline = Instant::now() + GO_TIMEOUT;
    while running(pid) {
        if Instant::now() > deadline {
            bail!(
                "the daemon (pid {}) did not go within {GO_TIMEOUT:?}",
                info.pid
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut client = if managed {
        next_from_systemd(&home, info.pid).await?
    } else {
        let started = start_daemon(&home, &next_args(&info))?;
        reach_started(&home, started).await?
    };
    let running = client
        .list_sessions()
        .await?
        .iter()
        .filter(|s| s.state != viewport_protocol::SessionState::Ended)
        .count();
    let now = home.read_info().map(|i| i.pid).unwrap_or_default();
    eprintln!(
        "vpd: restarted the daemon (pid {} → {now}); {running} sessions run on",
        info.pid
    );
    Ok(ExitCode::SUCCESS)
}

/// The arguments the daemon had, listening where it listened (the port it
/// got, when it asked for any free one).
fn next_args(info: &DaemonInfo) -> Vec<String> {
    let mut args = Vec::with_capacity(info.args.len() + 2);
    let mut given = info.args.iter();
    while let Some(arg) = given.next() {
        if arg == "--listen" {
            given.next();
        } else if !arg.starts_with("--listen=") {
            args.push(arg.clone());
        }
    }
    if args.is_empty() {
        args.push("daemon".to_owned());
    }
    args.extend(["--listen".to_owned(), info.listen.clone()]);
    args
}

/// Whether `pid` still runs (a zombie, waiting for its parent, does not).
fn running(pid: nix::unistd::Pid) -> bool {
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_owned();
            Some(state == "Z")
        })
        .unwrap_or(false);
    nix::sys::signal::kill(pid, None).is_ok() && !zombie
}

/// Whether the daemon is the `vpd` systemd unit's (which starts the next one itself).
fn run_by_systemd(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .is_ok_and(|groups| groups.contains("/vpd.service"))
}

async fn next_from_systemd(home: &DataHome, old: u32) -> Result<viewport_client::Client> {
    let deadline = Instant::now() + GO_TIMEOUT;
    loop {
        if let Ok(info) = home.read_info()
            && info.pid != old
            && let Ok(client) = viewport_client::Client::connect_unix(&home.socket()).await
        {
            return Ok(client);
        }
        if Instant::now() > deadline {
            bail!(
                "systemd did not start the daemon again within {GO_TIMEOUT:?}: see `systemctl --user status vpd`"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(args: &[&str]) -> DaemonInfo {
        DaemonInfo {
            pid: 1,
            listen: "127.0.0.1:40001".to_owned(),
            socket: String::new(),
            version: String::new(),
            started_at: 0,
            tls_fingerprint: None,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn the_next_daemon_listens_where_the_last_one_did() {
        assert_eq!(
            next_args(&info(&["daemon", "--listen", "127.0.0.1:0", "--tls"])),
            ["daemon", "--tls", "--listen", "127.0.0.1:40001"]
        );
        assert_eq!(
            next_args(&info(&["daemon", "--listen=127.0.0.1:0"])),
            ["daemon", "--listen", "127.0.0.1:40001"]
        );
        assert_eq!(
            next_args(&info(&[])),
            ["daemon", "--listen", "127.0.0.1:40001"]
        );
    }
}
