//! `vpd daemon`: the daemon in the foreground, and `stop`, `restart` and
//! `status`.

mod restart;
mod service;
mod status;

use std::process::ExitCode;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tracing_subscriber::EnvFilter;
use viewport_daemon::tls::CertificateFiles;
use viewport_daemon::{DaemonOptions, DataHome, Shutdown, run_daemon};
use viewport_store::Durability;

use crate::cli::{DaemonAction, DaemonArgs, DurabilityArg};

pub async fn run(args: DaemonArgs) -> Result<ExitCode> {
    match args.action {
        Some(DaemonAction::Stop) => return stop().await,
        Some(DaemonAction::Restart) => return restart::restart().await,
        Some(DaemonAction::Status { json }) => return status::show(json).await,
        Some(DaemonAction::Install { no_enable }) => return service::install(!no_enable),
        Some(DaemonAction::Uninstall) => return service::uninstall(),
        None => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("VIEWPORT_LOG")
                // The NATS client logs each retry itself; the relay says what matters.
                .unwrap_or_else(|_| EnvFilter::new("info,async_nats=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let durability = match args.durability {
        DurabilityArg::Full => Durability::Full,
        DurabilityArg::Normal => Durability::Normal,
    };
    let home = DataHome::from_env()?;
    let user_config = viewport_config::user_config(home.root())
        .map_err(|errors| anyhow::anyhow!("{errors}"))
        .context("the user's config has problems (`vpd config validate` shows them)")?;
    let config = user_config.daemon.unwrap_or_default();
    let listen = args
        .listen
        .or(config.listen)
        .unwrap_or_else(|| viewport_daemon::DEFAULT_LISTEN.to_owned());
    let certificate = config.tls.map(|tls| CertificateFiles {
        cert: tls.cert.into(),
        key: tls.key.into(),
    });
    let tls = (args.tls || certificate.is_some()).then_some(certificate);
    let options = DaemonOptions {
        jobs_max_parallel: args.jobs_max_parallel.map(usize::from),
        hook_answer_wait: std::time::Duration::from_secs(args.hook_answer_secs),
        large_output_bytes: usize::try_from(args.large_output_bytes).unwrap_or(usize::MAX),
        home,
        listen,
        durability,
        tls,
        relay: user_config.relay,
        hosts: config.hosts,
    };
    match run_daemon(options, shutdown_signal()).await? {
        Shutdown::EndSessions => Ok(ExitCode::SUCCESS),
        // Gone at once: nothing of this process may touch the sessions that
        // run on. The status tells a service manager to start the next one.
        Shutdown::KeepSessions => std::process::exit(restart::EXIT_RESTARTING),
    }
}

/// SIGINT or SIGTERM end the sessions with the daemon; SIGUSR2 (what
/// `vpd daemon restart` sends) leaves them running for the next one.
async fn shutdown_signal() -> Shutdown {
    use tokio::signal::unix::{SignalKind, signal};
    let on = |kind: SignalKind| async move {
        match signal(kind) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Shutdown::EndSessions,
        () = on(SignalKind::terminate()) => Shutdown::EndSessions,
        () = on(SignalKind::user_defined2()) => Shutdown::KeepSessions,
    }
}

/// How long a stopping daemon may take to end its sessions.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

async fn stop() -> Result<ExitCode> {
    let home = DataHome::from_env()?;
    let Ok(info) = home.read_info() else {
        eprintln!("vpd: no daemon is running on {}", home.root().display());
        return Ok(ExitCode::SUCCESS);
    };
    let pid = nix::unistd::Pid::from_raw(
        i32::try_from(info.pid).context("daemon.json has an invalid pid")?,
    );
    if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).is_err() {
        eprintln!("vpd: no daemon is running (pid {} is gone)", info.pid);
        let _ = std::fs::remove_file(home.info_file());
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    // The daemon removes daemon.json as the last step of its shutdown.
    while home.info_file().exists() && nix::sys::signal::kill(pid, None).is_ok() {
        if Instant::now() > deadline {
            bail!(
                "the daemon (pid {}) did not stop within {STOP_TIMEOUT:?}",
                info.pid
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("vpd: stopped the daemon (pid {})", info.pid);
    Ok(ExitCode::SUCCESS)
}
