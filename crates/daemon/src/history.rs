//! Sessions made from other logs. `vpd import`: a JSONL export loaded into
//! a new session; the whole file is read and checked first and the session
//! is stored in one commit, so a bad file leaves nothing behind. `vpd fork`:
//! a new session whose history is another's up to an update; its own
//! updates continue from there.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;
use viewport_protocol::state::{ForkPoint, SessionSummary};
use viewport_protocol::update::{PermissionOutcome, PermissionResolved, SystemStatus};
use viewport_protocol::{
    DirectoryId, EndReason, ErrorCode, FrameError, SessionId, SessionState, SessionUpdate,
};
use viewport_store::{EventBody, SessionGenesis};

use crate::manager::Manager;
use crate::session::state_change;

/// The first line of an export.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    vpd_export: u32,
    session: SessionSummary,
}

/// Every other line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    seq: u64,
    update: SessionUpdate,
}

fn invalid(message: String) -> FrameError {
    FrameError::new(ErrorCode::InvalidFrame, message)
}

/// The header and updates of an export, or the first thing wrong with it.
fn read_export(path: &Path) -> Result<(SessionSummary, Vec<SessionUpdate>), String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let first = lines
        .next()
        .ok_or_else(|| format!("{} is empty", path.display()))?
        .map_err(|e| format!("{}: line 1: {e}", path.display()))?;
    let header: Header = serde_json::from_str(&first).map_err(|e| {
        format!(
            "{}: line 1 is not a vpd export header ({{\"vpdExport\":1,\"session\":…}}): {e}",
            path.display()
        )
    })?;
    if header.vpd_export != 1 {
        return Err(format!(
            "{}: export version {} is not one this vpd reads (1)",
            path.display(),
            header.vpd_export
        ));
    }
    let mut updates = Vec::new();
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        let line = line.map_err(|e| format!("{}: line {number}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line)
            .map_err(|e| format!("{}: line {number}: {e}", path.display()))?;
        let expected = updates.len() as u64 + 1;
        if parsed.seq != expected {
            return Err(format!(
                "{}: line {number}: seq {} where {expected} was expected (updates must be dense from 1)",
                path.display(),
                parsed.seq
            ));
        }
        updates.push(parsed.update);
    }
    Ok((header.session, updates))
}

/// What closes an imported log: prompts nobody can answer any more, and
/// the end of a session that was live when it was exported.
fn closing(updates: &[SessionUpdate]) -> Vec<SessionUpdate> {
    let mut open = Vec::new();
    let mut seen = HashSet::new();
    let mut state = None;
    for update in updates {
        match update {
            SessionUpdate::PermissionRequest(r) if seen.insert(r.prompt_id.clone()) => {
                open.push(r.prompt_id.clone())
            }
            SessionUpdate::PermissionResolved(r) => open.retain(|id| id != &r.prompt_id),
            SessionUpdate::StateChange(c) => state = Some(c.state),
            _ => {}
        }
    }
    let mut closing: Vec<SessionUpdate> = open
        .into_iter()
        .map(|prompt_id| {
            SessionUpdate::PermissionResolved(PermissionResolved {
                prompt_id,
                outcome: PermissionOutcome::Cancelled,
                reason: Some("nobody can answer it in a copied log".to_owned()),
            })
        })
        .collect();
    if state != Some(SessionState::Ended) {
        closing.push(state_change(
            SessionState::Ended,
            Some(EndReason::Completed),
            Some("its log was copied while it ran".to_owned()),
        ));
    }
    closing
}

impl Manager {
    /// A new session with `parent`'s history up to `at` (default: all of it).
    pub async fn fork(&self, parent: &SessionId, at: Option<u64>) -> Result<SessionId, FrameError> {
        let summary = self.summary(parent).await?;
        let at = at.unwrap_or(summary.last_seq);
        if at > summary.last_seq {
            return Err(invalid(format!(
                "session {parent} has {} updates; cannot fork it at {at}",
                summary.last_seq
            )));
        }
        let lookup = parent.clone();
        let stored = self
            .readers()
            .read(move |r| r.updates_after(&lookup, 0, usize::try_from(at).unwrap_or(usize::MAX)))
            .await
            .map_err(|e| FrameError::new(ErrorCode::Internal, format!("reading {parent}: {e}")))?;
        let updates = stored
            .iter()
            .map(|u| serde_json::from_str::<SessionUpdate>(&u.json))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                FrameError::new(
                    ErrorCode::Internal,
                    format!("{parent} holds an update this vpd cannot read: {e}"),
                )
            })?;
        let directory_id = summary.directory_id.clone();
        let cwd = summary.cwd.clone();
        let mut genesis = copy_of(summary, directory_id, cwd);
        genesis.forked_from = Some(ForkPoint {
            session_id: parent.clone(),
            seq: at,
        });
        let notice = SessionUpdate::SystemStatus(SystemStatus::Notice {
            message: format!(
                "forked from {parent} at update {at}; continuing a fork with its agent is not supported yet (the agent's own conversation cannot be cut at an update), so it starts ended"
            ),
        });
        self.store_copy(genesis, updates, Some(notice)).await
    }

    /// Load an export into a new session of `directory_id`.
    pub async fn import(
        &self,
        directory_id: DirectoryId,
        path: &Path,
    ) -> Result<SessionId, FrameError> {
        let directory = self.directory(&directory_id).await?;
        let owned = path.to_owned();
        let (source, updates) = tokio::task::spawn_blocking(move || read_export(&owned))
            .await
            .map_err(|e| FrameError::new(ErrorCode::Internal, format!("reading the export: {e}")))?
            .map_err(invalid)?;
        let mut genesis = copy_of(source, directory.directory_id, directory.path);
        genesis.git = Vec::new();
        self.store_copy(genesis, updates, None).await
    }

    /// Store a session made of another's log: its genesis, the updates, a
    /// notice saying where they came from, and what closes a copied log.
    async fn store_copy(
        &self,
        genesis: SessionGenesis,
        updates: Vec<SessionUpdate>,
        notice: Option<SessionUpdate>,
    ) -> Result<SessionId, FrameError> {
        let id = SessionId::generate();
        let closing: Vec<SessionUpdate> = notice.into_iter().chain(closing(&updates)).collect();
        let events = std::iter::once(EventBody::Genesis(genesis))
            .chain(updates.into_iter().chain(closing).map(EventBody::Update))
            .collect();
        self.store_all(&id, events).await?;
        Ok(id)
    }
}

/// The genesis of a session copied from `source` into a directory.
fn copy_of(source: SessionSummary, directory_id: DirectoryId, cwd: String) -> SessionGenesis {
    SessionGenesis {
        directory_id,
        kind: source.kind,
        agent: source.agent,
        cwd,
        model: None,
        name: None,
        command: source.command,
        template: source.template,
        external_id: None,
        forked_from: None,
        git: source.git,
    }
}
