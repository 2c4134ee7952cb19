//! Frames: the JSON text messages of the WebSocket protocol.
//!
//! Client frames are tagged by `type` in camelCase (`subscribe`,
//! `respondToPrompt`); server frames announce sessions in kebab-case
//! (`session-started`, `session-update`, `session-ended`) and answer requests
//! with `response` or `error`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{DirectoryId, PromptId, RequestId, SessionId};
use crate::limits::{MAX_CLIENT_FRAME_BYTES, MAX_PROMPT_BYTES, MAX_REQUEST_ID_LEN};
use crate::options::{ConfigOverrides, ContextItem};
use crate::state::{DirectoryInfo, EndReason, SessionKind, SessionSummary};
use crate::update::{PermissionRequest, SessionUpdate};

/// A frame a viewport sends to the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientFrame {
    /// With `sessionId`: every stored update after `afterSeq`, then live ones.
    /// Without: the session list feed for all sessions.
    #[serde(rename_all = "camelCase")]
    Subscribe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<SessionId>,
        /// Updates with seq greater than this are sent (default 0: all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_seq: Option<u64>,
    },
    /// Stop receiving a session's updates (or, without `sessionId`, the list feed).
    #[serde(rename_all = "camelCase")]
    Unsubscribe {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<SessionId>,
    },
    /// Start a session in a registered directory; the response carries its id.
    #[serde(rename_all = "camelCase")]
    Launch {
        request_id: RequestId,
        directory_id: DirectoryId,
        prompt: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config_overrides: Option<Box<ConfigOverrides>>,
    },
    /// A follow-up user message (steering).
    #[serde(rename_all = "camelCase")]
    Prompt {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        text: String,
        /// Files or other resources sent along with the text.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        context: Vec<ContextItem>,
    },
    /// Stop the current turn; the session stays.
    #[serde(rename_all = "camelCase")]
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
    },
    /// Answer a pending permission prompt with `optionId`, or `cancelled: true`.
    #[serde(rename_all = "camelCase")]
    RespondToPrompt {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        prompt_id: PromptId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        option_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cancelled: Option<bool>,
    },
    /// End a session: its agent is stopped and the session is `ended/killed`.
    #[serde(rename_all = "camelCase")]
    Kill {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
    },
    /// The stored sessions, newest first; a page of them with `limit`,
    /// continuing after the session `after` (the previous page's `next`).
    #[serde(rename_all = "camelCase")]
    ListSessions {
        request_id: RequestId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<SessionId>,
    },
    /// Register a directory (idempotent); the response carries its `dir_` id.
    #[serde(rename_all = "camelCase")]
    AddDirectory { request_id: RequestId, path: String },
    /// The registered directories.
    #[serde(rename_all = "camelCase")]
    ListDirectories { request_id: RequestId },
    /// Unregister a directory. Its sessions and their history stay; no new
    /// session starts there until it is added again.
    #[serde(rename_all = "camelCase")]
    RemoveDirectory {
        request_id: RequestId,
        directory_id: DirectoryId,
    },
    /// Rebuild every projection from the event log.
    #[serde(rename_all = "camelCase")]
    Reindex { request_id: RequestId },
    /// Switch a live session's mode, model or thought level.
    #[serde(rename_all = "camelCase")]
    SetConfig {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thought_level: Option<String>,
    },
    /// End a session gracefully: the current turn is cancelled, the agent is
    /// asked to exit, and the session ends `completed`.
    #[serde(rename_all = "camelCase")]
    Close {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
    },
    /// Delete a session and everything stored of it. A running session is
    /// refused unless `force`, which stops it first.
    #[serde(rename_all = "camelCase")]
    Destroy {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
    },
    /// Restart an ended session's agent and continue its conversation.
    #[serde(rename_all = "camelCase")]
    Resume {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
    },
    /// The agent profiles this daemon offers, and whether each is installed.
    #[serde(rename_all = "camelCase")]
    ListAgents { request_id: RequestId },
    /// Start a terminal session: a program in a PTY, under a unique name.
    #[serde(rename_all = "camelCase")]
    NewTerminal {
        request_id: RequestId,
        directory_id: DirectoryId,
        name: String,
        /// `bash` (the default), `claude`, `codex`, or `script` (runs `command`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
        /// A shell command line to run instead of the template's program.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cols: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rows: Option<u16>,
        /// Variables set for the program, on top of the allowlist.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        env: std::collections::BTreeMap<String, String>,
        /// Seconds without output after which the session counts as idle.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idle_after_secs: Option<u64>,
    },
    /// Attach to a terminal session: without `offset`, the response carries
    /// the screen and the offset it covers; `terminal-output` frames follow
    /// from that offset (or from `offset` when given).
    #[serde(rename_all = "camelCase")]
    Attach {
        request_id: RequestId,
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
        /// This viewport's size; the terminal takes the size of the viewport
        /// that attached or resized last.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cols: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rows: Option<u16>,
    },
    /// Stop receiving a terminal's output.
    #[serde(rename_all = "camelCase")]
    Detach {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
    },
    /// Keys for a terminal session's program, as text.
    #[serde(rename_all = "camelCase")]
    TerminalInput {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        data: String,
    },
    /// Queue a one-off command; it runs as a terminal session when a slot is
    /// free. The response is the job.
    #[serde(rename_all = "camelCase")]
    EnqueueJob {
        request_id: RequestId,
        directory_id: DirectoryId,
        command: String,
        /// The name of its session (default: from the job id).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Every job, oldest first.
    #[serde(rename_all = "camelCase")]
    ListJobs { request_id: RequestId },
    /// Run a workflow of the directory's config: its steps as sessions.
    #[serde(rename_all = "camelCase")]
    RunWorkflow {
        request_id: RequestId,
        directory_id: DirectoryId,
        /// The workflow's name in the config.
        workflow: String,
        /// Where its sessions run, inside the directory (default: the directory).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
    },
    /// Every workflow run, newest first.
    #[serde(rename_all = "camelCase")]
    ListWorkflowRuns { request_id: RequestId },
    /// The latest plan of every session that has one, latest first.
    #[serde(rename_all = "camelCase")]
    ListPlans { request_id: RequestId },
    /// Give a session a title (`vpd name`); it is stored as a
    /// `system-status` `title` update, so it shows in lists and search.
    #[serde(rename_all = "camelCase")]
    SetTitle {
        request_id: RequestId,
        session_id: SessionId,
        title: String,
    },
    /// A tool output a session kept as a file (a `file` content's `name`).
    #[serde(rename_all = "camelCase")]
    ReadOutput {
        request_id: RequestId,
        session_id: SessionId,
        name: String,
    },
    /// A page of stored updates: the last ones before `beforeSeq` (history
    /// paged backwards: a viewport shows a long session's tail first,
    /// asking with a `beforeSeq` past the head, then older pages), or the
    /// first ones after `afterSeq` (paged forwards). One of the two.
    #[serde(rename_all = "camelCase")]
    ReadUpdates {
        request_id: RequestId,
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before_seq: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_seq: Option<u64>,
        /// At most this many (default 500, at most 5000).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// A one-time code that logs a browser in (`/login?code=…`) or pairs a
    /// viewport (`POST /api/pair`). Only the owner may ask: the unix socket
    /// or the token file's token.
    #[serde(rename_all = "camelCase")]
    CreateLoginCode { request_id: RequestId },
    /// Browser logins and paired viewports (owner only).
    #[serde(rename_all = "camelCase")]
    ListViewers { request_id: RequestId },
    /// Revoke a login or pairing: its token stops working and its open
    /// connections are closed at once (owner only).
    #[serde(rename_all = "camelCase")]
    RevokeViewer {
        request_id: RequestId,
        viewer_id: String,
    },
    /// The checkpoints of a session's working tree, oldest first.
    #[serde(rename_all = "camelCase")]
    ListCheckpoints {
        request_id: RequestId,
        session_id: SessionId,
    },
    /// Restore the working tree to the last checkpoint taken at `toSeq`;
    /// the tree as it is is saved first. With `dryRun`, only say what changes.
    #[serde(rename_all = "camelCase")]
    Rewind {
        request_id: RequestId,
        session_id: SessionId,
        to_seq: u64,
        #[serde(default)]
        dry_run: bool,
    },
    /// A new session whose history is this one's up to `atSeq` (default:
    /// all of it); its own updates continue from there.
    #[serde(rename_all = "camelCase")]
    Fork {
        request_id: RequestId,
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_seq: Option<u64>,
    },
    /// Load a JSONL export (`vpd export`) on the daemon's machine into a
    /// new session of the directory; the whole file is checked first.
    #[serde(rename_all = "camelCase")]
    ImportSession {
        request_id: RequestId,
        directory_id: DirectoryId,
        /// The export's absolute path.
        path: String,
    },
    /// Full-text search over messages, tool calls and plans.
    #[serde(rename_all = "camelCase")]
    Search {
        request_id: RequestId,
        /// Words to find (all of them); `word*` matches a prefix. Quotes and
        /// FTS operators are taken as plain words.
        query: String,
        /// Only in this session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<SessionId>,
        /// Only in sessions of this directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        directory_id: Option<DirectoryId>,
        /// At most this many hits (default 20, at most 500).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// The config manifest a launch in a registered directory would use
    /// now (`vpd config resolve`): its profiles, contexts, workflows and
    /// conflicts. The result is a `sessionManifest` result.
    #[serde(rename_all = "camelCase")]
    ResolveConfig {
        request_id: RequestId,
        directory_id: DirectoryId,
    },
    /// The config manifest a session started with (`vpd session manifest`).
    #[serde(rename_all = "camelCase")]
    SessionManifest {
        request_id: RequestId,
        session_id: SessionId,
    },
    /// An event from an agent's hook (`vpd hook claude` sends them): the
    /// session it belongs to is created on its first event, when its
    /// working directory is inside a registered directory.
    #[serde(rename_all = "camelCase")]
    HookEvent {
        request_id: RequestId,
        /// `claude`.
        agent: String,
        /// The hook's JSON as the agent gave it.
        event: serde_json::Value,
        /// The agent's process, so the daemon notices when it is gone
        /// without saying goodbye.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_pid: Option<u32>,
    },
    /// Resize a terminal session (the program gets SIGWINCH).
    #[serde(rename_all = "camelCase")]
    Resize {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        session_id: SessionId,
        cols: u16,
        rows: u16,
    },
}

/// The client frame types, as on the wire.
pub const CLIENT_FRAME_TYPES: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "launch",
    "prompt",
    "cancel",
    "respondToPrompt",
    "kill",
    "listSessions",
    "addDirectory",
    "listDirectories",
    "removeDirectory",
    "reindex",
    "setConfig",
    "close",
    "destroy",
    "resume",
    "listAgents",
    "newTerminal",
    "attach",
    "detach",
    "terminalInput",
    "resize",
    "enqueueJob",
    "listJobs",
    "sessionManifest",
    "resolveConfig",
    "runWorkflow",
    "listWorkflowRuns",
    "listPlans",
    "search",
    "setTitle",
    "importSession",
    "fork",
    "listCheckpoints",
    "readOutput",
    "readUpdates",
    "createLoginCode",
    "listViewers",
    "revokeViewer",
    "rewind",
    "hookEvent",
];

impl ClientFrame {
    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            Self::Subscribe { request_id, .. }
            | Self::Unsubscribe { request_id, .. }
            | Self::Prompt { request_id, .. }
            | Self::Cancel { request_id, .. }
            | Self::RespondToPrompt { request_id, .. }
            | Self::Kill { request_id, .. }
            | Self::SetConfig { request_id, .. }
            | Self::Close { request_id, .. }
            | Self::Destroy { request_id, .. }
            | Self::Resume { request_id, .. }
            | Self::Detach { request_id, .. }
            | Self::TerminalInput { request_id, .. }
            | Self::Resize { request_id, .. } => request_id.as_ref(),
            Self::Launch { request_id, .. }
            | Self::ListSessions { request_id, .. }
            | Self::AddDirectory { request_id, .. }
            | Self::ListDirectories { request_id }
            | Self::RemoveDirectory { request_id, .. }
            | Self::Reindex { request_id }
            | Self::ListAgents { request_id }
            | Self::NewTerminal { request_id, .. }
            | Self::Attach { request_id, .. }
            | Self::EnqueueJob { request_id, .. }
            | Self::ListJobs { request_id }
            | Self::SessionManifest { request_id, .. }
            | Self::ResolveConfig { request_id, .. }
            | Self::RunWorkflow { request_id, .. }
            | Self::ListWorkflowRuns { request_id }
            | Self::ListPlans { request_id }
            | Self::Search { request_id, .. }
            | Self::SetTitle { request_id, .. }
            | Self::ImportSession { request_id, .. }
            | Self::Fork { request_id, .. }
            | Self::ListCheckpoints { request_id, .. }
            | Self::ReadOutput { request_id, .. }
            | Self::ReadUpdates { request_id, .. }
            | Self::CreateLoginCode { request_id }
            | Self::ListViewers { request_id }
            | Self::RevokeViewer { request_id, .. }
            | Self::Rewind { request_id, .. }
            | Self::HookEvent { request_id, .. } => Some(request_id),
        }
    }
}

/// A frame the daemon sends to a viewport.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerFrame {
    /// A session began (sent on the list feed).
    #[serde(rename_all = "camelCase")]
    SessionStarted {
        session_id: SessionId,
        directory_id: DirectoryId,
        kind: SessionKind,
        agent: String,
        cwd: String,
        /// The git repositories it starts in.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        git: Vec<crate::state::GitContext>,
    },
    /// One stored update of a session.
    #[serde(rename_all = "camelCase")]
    SessionUpdate {
        session_id: SessionId,
        seq: u64,
        update: SessionUpdate,
    },
    /// A session ended; no update follows.
    #[serde(rename_all = "camelCase")]
    SessionEnded {
        session_id: SessionId,
        reason: EndReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The successful reply to a request.
    #[serde(rename_all = "camelCase")]
    Response {
        request_id: RequestId,
        result: serde_json::Value,
    },
    /// Bytes a terminal session's program wrote, from `offset` of its log.
    #[serde(rename_all = "camelCase")]
    TerminalOutput {
        session_id: SessionId,
        offset: u64,
        /// The bytes, base64 (standard alphabet, padded).
        data: String,
    },
    /// A request failed, or a frame could not be read.
    #[serde(rename_all = "camelCase")]
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    },
}

/// Why a frame or request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The frame is not JSON, or not a JSON object, or not text.
    BadJson,
    /// The frame's `type` is not one the daemon knows.
    UnknownFrameType,
    /// A field is missing, unknown or of the wrong type.
    InvalidFrame,
    /// The frame is larger than the daemon accepts.
    FrameTooLarge,
    UnknownSession,
    UnknownDirectory,
    UnknownPrompt,
    /// The prompt was already answered.
    PromptResolved,
    /// The session has ended and takes no commands.
    SessionEnded,
    /// The agent profile is unknown or its program is not installed.
    AgentUnavailable,
    /// A per-connection limit was reached.
    LimitReached,
    /// This connection's credential does not allow the request.
    Forbidden,
    /// No credential, or one the daemon does not accept (HTTP API only: a
    /// WebSocket without one is refused before any frame).
    Unauthorized,
    /// The daemon failed; the message says where.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadJson => "bad-json",
            Self::UnknownFrameType => "unknown-frame-type",
            Self::InvalidFrame => "invalid-frame",
            Self::FrameTooLarge => "frame-too-large",
            Self::UnknownSession => "unknown-session",
            Self::UnknownDirectory => "unknown-directory",
            Self::UnknownPrompt => "unknown-prompt",
            Self::PromptResolved => "prompt-resolved",
            Self::SessionEnded => "session-ended",
            Self::AgentUnavailable => "agent-unavailable",
            Self::LimitReached => "limit-reached",
            Self::Forbidden => "forbidden",
            Self::Unauthorized => "unauthorized",
            Self::Internal => "internal",
        }
    }
}

/// A request that failed, ready to become an `error` frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({code})", code = code.as_str())]
pub struct FrameError {
    pub request_id: Option<RequestId>,
    pub code: ErrorCode,
    pub message: String,
}

impl FrameError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            request_id: None,
            code,
            message: message.into(),
        }
    }

    pub fn for_request(mut self, request_id: Option<RequestId>) -> Self {
        self.request_id = request_id;
        self
    }

    pub fn into_frame(self) -> ServerFrame {
        ServerFrame::Error {
            request_id: self.request_id,
            code: self.code,
            message: self.message,
        }
    }
}

/// Read a client frame from text, or say exactly what is wrong with it.
///
/// The error carries the frame's `requestId` whenever one could be read, so
/// a client can match the error to its request.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    if text.len() > MAX_CLIENT_FRAME_BYTES {
        return Err(FrameError::new(
            ErrorCode::FrameTooLarge,
            format!(
                "frame is {} bytes; the limit is {MAX_CLIENT_FRAME_BYTES} bytes",
                text.len()
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        FrameError::new(ErrorCode::BadJson, format!("frame is not valid JSON: {e}"))
    })?;
    let Some(object) = value.as_object() else {
        return Err(FrameError::new(
            ErrorCode::BadJson,
            "frame must be a JSON object",
        ));
    };
    let request_id = object
        .get("requestId")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty() && s.len() <= MAX_REQUEST_ID_LEN)
        .map(|s| RequestId(s.to_owned()));
    let frame_type = match object.get("type") {
        Some(serde_json::Value::String(t)) => t.clone(),
        Some(_) => {
            return Err(
                FrameError::new(ErrorCode::InvalidFrame, "field `type` must be a string")
                    .for_request(request_id),
            );
        }
        None => {
            return Err(
                FrameError::new(ErrorCode::InvalidFrame, "missing field `type`")
                    .for_request(request_id),
            );
        }
    };
    if !CLIENT_FRAME_TYPES.contains(&frame_type.as_str()) {
        return Err(FrameError::new(
            ErrorCode::UnknownFrameType,
            format!(
                "unknown frame type `{frame_type}`; expected one of: {}",
                CLIENT_FRAME_TYPES.join(", ")
            ),
        )
        .for_request(request_id));
    }
    let frame: ClientFrame = serde_json::from_value(value).map_err(|e| {
        FrameError::new(
            ErrorCode::InvalidFrame,
            format!("invalid `{frame_type}` frame: {e}"),
        )
        .for_request(request_id.clone())
    })?;
    validate(&frame).map_err(|message| {
        FrameError::new(
            ErrorCode::InvalidFrame,
            format!("invalid `{frame_type}` frame: {message}"),
        )
        .for_request(request_id)
    })?;
    Ok(frame)
}

fn validate(frame: &ClientFrame) -> Result<(), String> {
    if let Some(id) = frame.request_id()
        && (id.0.is_empty() || id.0.len() > MAX_REQUEST_ID_LEN)
    {
        return Err(format!(
            "`requestId` must be 1 to {MAX_REQUEST_ID_LEN} characters"
        ));
    }
    match frame {
        ClientFrame::Launch { prompt, .. } | ClientFrame::Prompt { text: prompt, .. } => {
            if prompt.trim().is_empty() {
                return Err("the prompt text is empty".into());
            }
            if prompt.len() > MAX_PROMPT_BYTES {
                return Err(format!(
                    "the prompt text is {} bytes; the limit is {MAX_PROMPT_BYTES}",
                    prompt.len()
                ));
            }
        }
        ClientFrame::RespondToPrompt {
            option_id,
            cancelled,
            ..
        } => match (option_id, cancelled) {
            (Some(_), None | Some(false)) | (None, Some(true)) => {}
            _ => return Err("give exactly one of `optionId` or `cancelled: true`".into()),
        },
        ClientFrame::EnqueueJob { command, .. } if command.trim().is_empty() => {
            return Err("the job's command is empty".into());
        }
        ClientFrame::Resize { cols, rows, .. } if *cols == 0 || *rows == 0 => {
            return Err("`cols` and `rows` must be at least 1".into());
        }
        ClientFrame::SetConfig {
            mode: None,
            model: None,
            thought_level: None,
            ..
        } => return Err("give at least one of `mode`, `model` or `thoughtLevel`".into()),
        _ => {}
    }
    Ok(())
}

/// One place a search found, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub session_id: SessionId,
    /// The update that matched.
    pub seq: u64,
    /// Its `updateType`.
    pub kind: String,
    /// The matching text around the hit, each match between `«` and `»`.
    pub snippet: String,
    /// When the update was stored (Unix milliseconds).
    pub at: i64,
}

/// Result of `search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub hits: Vec<SearchHit>,
}

/// Result of `readOutput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadOutputResult {
    pub name: String,
    /// The output (invalid UTF-8 replaced).
    pub text: String,
}

/// One stored update and its seq.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAt {
    pub seq: u64,
    pub update: SessionUpdate,
}

/// Result of `readUpdates`: in seq order, ending just before `beforeSeq`
/// or starting just after `afterSeq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadUpdatesResult {
    pub updates: Vec<UpdateAt>,
}

/// Result of `createLoginCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginCodeResult {
    /// `ABCD-EFGH`; case, spaces and dashes do not matter when it is typed.
    pub code: String,
    /// Unix milliseconds; it works once, until then.
    pub expires_at: i64,
    /// The code as a pairing link for viewports that reach the daemon
    /// through its relay (`relay.url` in its config): the relay's URL, the
    /// daemon's id and public key, and the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_link: Option<String>,
}

/// Result of `sessionManifest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionManifestResult {
    /// The manifest as resolved when the session started: its contexts,
    /// workflows, plans, agent profiles and templates, each with the file
    /// and line it came from, and its conflicts. Absent for sessions that
    /// were not launched by vpd (terminal and observed sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<serde_json::Value>,
}

/// Result of `hookEvent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HookResult {
    /// The session the event went to (none when its directory is not registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionId>,
    /// What the hook prints for the agent (a permission decision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
}

/// Result of `attach`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachResult {
    /// The screen as it is (absent when the attach gave an `offset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<TerminalSnapshot>,
    /// `terminal-output` frames follow from this byte offset.
    pub offset: u64,
}

/// A terminal's screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminalSnapshot {
    pub cols: u16,
    pub rows: u16,
    /// Escape sequences that draw the screen, cursor and modes on a cleared
    /// terminal of this size.
    pub screen: String,
    /// The screen as plain text.
    pub text: String,
}

/// Result of `launch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaunchResult {
    pub session_id: SessionId,
}

/// A permission prompt still waiting for an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingPrompt {
    pub session_id: SessionId,
    /// The seq of the `permission-request` update that opened it.
    pub seq: u64,
    pub request: PermissionRequest,
}

/// Result of `subscribe` with a `sessionId`. Sent before the replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSubscribeResult {
    pub session: SessionSummary,
    /// Prompts still open, whatever `afterSeq` was.
    pub pending_prompts: Vec<PendingPrompt>,
}

/// Result of `subscribe` without a `sessionId`: the list as it stands; the
/// feed then carries every change after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListSubscribeResult {
    pub sessions: Vec<SessionSummary>,
}

/// Result of `listSessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListSessionsResult {
    pub sessions: Vec<SessionSummary>,
    /// When more sessions follow this page: the `after` that asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<SessionId>,
}

/// Result of `listDirectories`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListDirectoriesResult {
    pub directories: Vec<DirectoryInfo>,
}

/// Result of `reindex`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReindexResult {
    pub sessions: u64,
    pub events: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> FrameError {
        parse_client_frame(text).unwrap_err()
    }

    #[test]
    fn a_subscribe_frame_parses() {
        let frame =
            parse_client_frame(r#"{"type":"subscribe","sessionId":"ses_1","afterSeq":7}"#).unwrap();
        assert_eq!(
            frame,
            ClientFrame::Subscribe {
                request_id: None,
                session_id: Some("ses_1".parse().unwrap()),
                after_seq: Some(7)
            }
        );
    }

    #[test]
    fn not_json_is_bad_json() {
        assert_eq!(error_of("hello").code, ErrorCode::BadJson);
        assert_eq!(error_of("[1]").code, ErrorCode::BadJson);
    }

    #[test]
    fn an_unknown_type_is_named_and_the_request_id_is_kept() {
        let err = error_of(r#"{"type":"explode","requestId":"r1"}"#);
        assert_eq!(err.code, ErrorCode::UnknownFrameType);
        assert!(err.message.contains("explode"));
        assert_eq!(err.request_id, Some(RequestId("r1".into())));
    }

    #[test]
    fn a_wrong_field_type_names_the_frame_and_the_field() {
        let err =
            error_of(r#"{"type":"subscribe","sessionId":"ses_1","afterSeq":"x","requestId":"r"}"#);
        assert_eq!(err.code, ErrorCode::InvalidFrame);
        assert!(err.message.contains("subscribe"), "{}", err.message);
        assert_eq!(err.request_id, Some(RequestId("r".into())));
        let err = error_of(r#"{"type":"cancel","sessionId":"dir_1"}"#);
        assert!(err.message.contains("session id"), "{}", err.message);
    }

    #[test]
    fn a_respond_needs_exactly_one_answer() {
        let both = r#"{"type":"respondToPrompt","sessionId":"ses_1","promptId":"prm_1","optionId":"a","cancelled":true}"#;
        assert_eq!(error_of(both).code, ErrorCode::InvalidFrame);
        let neither = r#"{"type":"respondToPrompt","sessionId":"ses_1","promptId":"prm_1"}"#;
        assert_eq!(error_of(neither).code, ErrorCode::InvalidFrame);
    }

    #[test]
    fn an_oversized_frame_is_refused_before_parsing() {
        let big = format!(
            r#"{{"type":"prompt","text":"{}"}}"#,
            "x".repeat(MAX_CLIENT_FRAME_BYTES)
        );
        assert_eq!(error_of(&big).code, ErrorCode::FrameTooLarge);
    }

    #[test]
    fn error_code_names_match_the_wire() {
        for code in [
            ErrorCode::BadJson,
            ErrorCode::PromptResolved,
            ErrorCode::Internal,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
