//! What the log stores.

use serde::{Deserialize, Serialize};
use viewport_protocol::state::{ForkPoint, GitContext, SessionKind};
use viewport_protocol::{DirectoryId, SessionId, SessionUpdate};

/// How a session was launched: seq 0 of its log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionGenesis {
    pub directory_id: DirectoryId,
    pub kind: SessionKind,
    pub agent: String,
    pub cwd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The session's unique name (terminal sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The program and arguments a terminal session runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The terminal template it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The agent's own session id (observed sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The session and update a fork branches off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ForkPoint>,
    /// The git repositories it starts in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git: Vec<GitContext>,
}

impl SessionGenesis {
    /// A session of `kind` running `agent` in `cwd`, with nothing else set.
    pub fn new(directory_id: DirectoryId, kind: SessionKind, agent: &str, cwd: &str) -> Self {
        Self {
            directory_id,
            kind,
            agent: agent.to_owned(),
            cwd: cwd.to_owned(),
            model: None,
            name: None,
            command: Vec::new(),
            template: None,
            external_id: None,
            forked_from: None,
            git: Vec::new(),
        }
    }
}

/// One entry of a session's log.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    Genesis(SessionGenesis),
    Update(SessionUpdate),
}

impl EventBody {
    /// The `kind` column: `genesis` or the update's `updateType`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Genesis(_) => "genesis",
            Self::Update(update) => update.update_type(),
        }
    }

    pub(crate) fn to_json(&self) -> String {
        let json = match self {
            Self::Genesis(genesis) => serde_json::to_string(genesis),
            Self::Update(update) => serde_json::to_string(update),
        };
        // Serializing these plain data types cannot fail: no maps with
        // non-string keys, no failing Serialize impls.
        json.unwrap_or_default()
    }
}

/// An event on its way to the log; the writer assigns its seq.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub session_id: SessionId,
    pub body: EventBody,
}

/// How far a supervised program's output is stored: committed with the
/// events made of the output before `offset`, so a restarted daemon resumes
/// exactly there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputMark {
    pub session_id: SessionId,
    pub offset: u64,
}

/// An event as committed: its seq, and its body as the JSON text stored, so
/// publishing it never serializes it again.
#[derive(Debug, Clone)]
pub struct CommittedEvent {
    pub session_id: SessionId,
    pub seq: u64,
    pub created_at: i64,
    pub body: EventBody,
    pub json: String,
}

/// A stored update read back for replay: the JSON text exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpdate {
    pub seq: u64,
    /// The `updateType`.
    pub kind: String,
    pub json: String,
}

/// What the daemon follows of an observed session's agent: its transcript
/// and the end of the last line read from it, its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAgent {
    pub session_id: SessionId,
    /// The agent whose hooks report: `claude` or `codex`.
    pub agent: String,
    pub transcript_path: Option<String>,
    pub transcript_offset: u64,
    pub pid: Option<u32>,
}
