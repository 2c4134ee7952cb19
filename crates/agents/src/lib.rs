//! Drivers: each turns a running agent into a stream of [`DriverEvent`]s and
//! takes commands (prompt, cancel, kill). Drivers know nothing of WebSockets
//! or of the store; the daemon's session manager consumes what they emit.
//!
//! # Layout
//! - [`profile`]: agent profiles: which program runs for `demo` and friends.
//! - [`spawn`]: the one place that starts child processes, with the
//!   environment allowlist. A later supervisor takes ownership of children here.
//! - [`acp`]: the Agent Client Protocol driver (JSON-RPC over stdio).
//! - [`event`]: what drivers emit.

pub mod acp;
pub mod event;
pub mod profile;
pub mod spawn;

pub use acp::AcpSession;
pub use event::{AgentExit, DriverEvent, PermissionAsk};
pub use profile::AgentProfile;

/// Why an agent could not be started or driven.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("unknown agent profile `{name}`; known profiles: {known}")]
    UnknownProfile { name: String, known: String },
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the agent did not complete the ACP handshake ({step}): {message}")]
    Handshake { step: &'static str, message: String },
    #[error("the agent exited before it was ready: {0}")]
    ExitedEarly(String),
}
