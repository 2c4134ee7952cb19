//! The per-session supervisor: a small process (`vpd supervise DIR`, the
//! same binary in a hidden mode, as containerd-shim or abduco) that owns one
//! program's stdio or PTY and outlives the daemon.
//!
//! While a daemon is attached the supervisor streams the program's output
//! to it; while none is, the output waits in a bounded spool and the program
//! blocks when that is full: nothing is dropped. A daemon that starts later
//! connects to `sessions/<id>/supervisor.sock`, says where its log of the
//! output ends, and gets everything after that. Acknowledged output is
//! forgotten, so the spool holds only what no daemon has stored yet.
//!
//! - [`wire`]: the versioned frames both sides speak.
//! - [`child`]: starting the program on pipes or in a PTY.
//! - [`spool`]: output held by offset until acknowledged.
//! - [`server`]: the supervisor process.
//! - [`link`]: the daemon's side.

pub mod child;
pub mod link;
pub mod server;
pub mod spool;
pub mod wire;

use std::path::PathBuf;

pub use child::Launch;
pub use link::{Link, Output};
pub use wire::{ChildExit, PROTOCOL, SupervisorHello};

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the supervisor protocol was broken: {0}")]
    Protocol(String),
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "its supervisor (vpd {version}) speaks protocol {theirs}, newer than this vpd's {}: run the newer vpd daemon",
        wire::PROTOCOL
    )]
    Incompatible { theirs: u32, version: String },
    #[error("{0}")]
    Unavailable(String),
}
