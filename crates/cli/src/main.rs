//! `vpd`: the daemon and the command line that talks to it.

mod cli;
mod commands;
mod connect;
mod options;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The supervisor runs on a small runtime of its own: it must stay light
    // for as long as the session lives.
    if let cli::Command::Supervise { dir } = &cli.command {
        return match viewport_supervisor::server::run(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("vpd supervise: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("vpd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(commands::dispatch(cli));
    // A terminal read may still block a thread (a prompt left by Ctrl-C): do
    // not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("vpd: {error:#}");
            ExitCode::FAILURE
        }
    }
}
