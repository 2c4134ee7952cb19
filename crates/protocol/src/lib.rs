//! Wire types of viewport: everything a daemon and a viewport say to each other.
//!
//! No I/O lives here; every other crate depends on this one.
//!
//! # Layout
//! - [`ids`]: prefixed identifiers (`ses_`, `dir_`, `prm_`, `req_`).
//! - [`update`]: the 14 session update types and their typed payloads.
//! - [`state`]: session state, end reasons, session and directory summaries.
//! - [`frames`]: client and server frames, typed request results, error codes,
//!   and [`frames::parse_client_frame`], which turns raw text into a frame or an
//!   error that names what was wrong.
//! - [`options`]: session options a launch sets (agent, env, MCP servers,
//!   instructions, permission policy, cost cap) and agent profile listings.
//! - [`jobs`]: one-off jobs: their statuses and listings.
//! - [`limits`]: size and count limits shared by both ends.
//! - [`http_api`]: the read-only HTTP API's queries, errors and OpenAPI document.
//! - [`schema`]: the JSON Schema of the whole protocol (checked in under `schema/`).

pub mod checkpoints;
pub mod frames;
pub mod http_api;
pub mod ids;
pub mod jobs;
pub mod limits;
pub mod options;
pub mod pairing;
pub mod schema;
pub mod state;
pub mod update;
pub mod workflows;

pub use frames::{ClientFrame, ErrorCode, FrameError, ServerFrame, parse_client_frame};
pub use ids::{DirectoryId, IdError, JobId, PromptId, RequestId, SessionId, WorkflowRunId};
pub use state::{DirectoryInfo, EndReason, SessionState, SessionSummary};
pub use update::SessionUpdate;

/// Milliseconds since the Unix epoch, the one clock every timestamp uses.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
