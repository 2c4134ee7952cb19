//! Drivers: each turns a running agent into a stream of [`DriverEvent`]s and
//! takes commands (prompt, cancel, kill). Drivers know nothing of WebSockets
//! or of the store; the daemon's session manager consumes what they emit.
//!
//! # Layout
//! - [`profile`]: agent profiles: which program runs, with which variables,
//!   how it takes instructions, and how to install it.
//! - [`spawn`]: the one place that starts child processes, with the
//!   environment allowlist; agents start under their session's supervisor
//!   (`viewport-supervisor`), which outlives the daemon.
//! - [`acp`]: the Agent Client Protocol driver (JSON-RPC over stdio), with the
//!   client side: files, terminals, permissions, settings.
//! - [`pty`]: terminal sessions: a program in a PTY, its console log, its
//!   screen (a VT parser) and live output by byte offset.
//! - [`event`]: what drivers emit.
//! - [`hooks`]: Claude Code hook events (sessions started in a terminal) to updates.
//! - [`process`]: processes vpd watches but did not start (observed agents).
//! - [`pricing`]: the price table for agents that report tokens but no cost.
//! - [`transcript`]: agents' own transcript files, followed as they grow.

pub mod acp;
pub mod event;
pub mod hooks;
pub mod pricing;
pub mod process;
pub mod profile;
pub mod pty;
pub mod spawn;
pub mod transcript;

pub use acp::AcpSession;
pub use event::{AgentExit, DriverEvent, PermissionAsk, Sourced, TurnFailure};
pub use profile::AgentProfile;

/// Why an agent could not be started or driven.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("unknown agent profile `{name}`; known profiles: {known}")]
    UnknownProfile { name: String, known: String },
    #[error("the {profile} agent is not installed: `{program}` was not found on PATH{hint}",
        hint = if install.is_empty() { String::new() } else { format!("; install it with `{install}`") })]
    NotInstalled {
        profile: String,
        program: String,
        install: String,
    },
    #[error(
        "the custom profile needs the agent's command (`--cmd \"PROGRAM ARGS\"` or `configOverrides.command`)"
    )]
    NoCommand,
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the agent did not complete the ACP handshake ({step}): {message}")]
    Handshake { step: &'static str, message: String },
    #[error("cannot take over the running agent: {0}")]
    Adoption(String),
}
