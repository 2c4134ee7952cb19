//! `vpd daemon`: the daemon in the foreground.

use std::process::ExitCode;

use anyhow::Result;
use tracing_subscriber::EnvFilter;
use viewport_daemon::{DaemonOptions, DataHome, run_daemon};
use viewport_store::Durability;

use crate::cli::{DaemonArgs, DurabilityArg};

pub async fn run(args: DaemonArgs) -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("VIEWPORT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let durability = match args.durability {
        DurabilityArg::Full => Durability::Full,
        DurabilityArg::Normal => Durability::Normal,
    };
    let options = DaemonOptions {
        home: DataHome::from_env()?,
        listen: args.listen,
        durability,
    };
    run_daemon(options, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
