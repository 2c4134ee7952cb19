//! The daemon: it owns sessions; viewports only watch and steer them.
//!
//! # Layout
//! - [`home`]: the data home (`~/.viewport`): paths, permissions, token, lock.
//! - [`history`]: sessions made from other logs: an import (all or
//!   nothing), a fork (a session's history up to an update).
//! - [`ingest`]: the single writer thread: batches updates, commits them in
//!   one transaction, then hands them to the hub. Seqs are assigned only here.
//! - [`hub`]: per-session broadcast of committed updates, pre-rendered as
//!   frames, and the session-list feed.
//! - [`checkpoints`]: the working tree kept after each step, for `rewind`.
//! - [`configured`]: what the directory's config says for a launch: the
//!   manifest (kept beside the session), the agent profile, the contexts.
//! - [`frames`]: renders stored events into wire frames (live and replay alike).
//! - [`follow`]: a viewport's subscription: replay from the store, then live,
//!   with no gap and no duplicate, falling back to the store when it lags.
//! - [`jobs`]: the one-off job queue (a SQLite table), run as terminal
//!   sessions at most `max_parallel` at once.
//! - [`launch`]: a launch's profile and session options turned into what the
//!   agent driver runs; launch options kept for `resume`.
//! - [`manager`]: the session manager: launches, resumes, closes and destroys
//!   sessions and routes commands.
//! - [`observed`]: sessions started out of band, created and fed by their
//!   agent's hook events.
//! - [`outputs`]: large tool outputs kept as files beside the session.
//! - [`redact`]: secrets masked before an update is stored (the launch's
//!   environment values, and key and token shapes in tool output).
//! - [`session`]: one task per live session: its agent, its pending prompts,
//!   its state.
//! - [`terminal`]: terminal sessions: the task that owns one, and the
//!   follower that streams its output (by byte offset) to an attached viewport.
//! - [`server`]: axum: `/ws` on TCP (a credential required) and on the unix
//!   socket (file permissions are the auth).
//! - [`api`]: the read-only HTTP API (`/api/sessions…`, JSON, JSON lines and
//!   Server-Sent Events) and its OpenAPI document.
//! - [`relay`]: viewports served through a NATS relay, end to end
//!   encrypted (the transport is `viewport-relay`'s).
//! - [`tls`]: TLS for the TCP listener (a configured or self-signed
//!   certificate, its fingerprint).
//! - [`web`]: the browser UI embedded in the binary, browser login with a
//!   one-time code, viewport pairing, and the Host/Origin checks.
//! - [`connection`]: one WebSocket connection: reads frames, dispatches them,
//!   writes through a bounded queue. It owns nothing of a session.
//! - [`workflows`]: config workflows run as sessions, each run recorded.
//! - [`run`]: start-up, recovery of sessions the last daemon left, shutdown.

pub mod api;
pub mod checkpoints;
pub mod configured;
pub mod connection;
pub mod follow;
pub mod frames;
pub mod history;
pub mod home;
pub mod hub;
pub mod ingest;
pub mod jobs;
pub mod launch;
pub mod manager;
pub mod observed;
pub mod outputs;
pub mod readers;
pub mod redact;
pub mod relay;
pub mod run;
pub mod server;
pub mod session;
pub mod terminal;
pub mod tls;
pub mod web;
pub mod workflows;

pub use home::DataHome;
pub use run::{DaemonOptions, Shutdown, run_daemon};

/// The address the daemon listens on when none is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7707";
