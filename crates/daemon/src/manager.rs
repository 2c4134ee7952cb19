//! The session manager: launches sessions, routes commands to the task that
//! owns each live session, and answers for sessions that are no longer live
//! from the store. WebSocket connections call it; they own nothing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use viewport_agents::profile::DEFAULT_PROFILE;
use viewport_agents::spawn::SpawnSpec;
use viewport_agents::{AcpSession, AgentProfile, DriverEvent};
use viewport_protocol::frames::{ConfigOverrides, ReindexResult};
use viewport_protocol::state::{DirectoryInfo, SessionKind, SessionSummary};
use viewport_protocol::update::{MessageText, PermissionOutcome, PermissionResolved};
use viewport_protocol::{
    DirectoryId, EndReason, ErrorCode, FrameError, PromptId, SessionId, SessionState, SessionUpdate,
};
use viewport_store::{EventBody, NewEvent, SessionGenesis};

use crate::home::DataHome;
use crate::ingest::Ingest;
use crate::readers::ReaderPool;
use crate::session::{Reply, SessionCommand, SessionTask, state_change};

/// Driver events buffered per session before the agent feels backpressure.
const DRIVER_QUEUE: usize = 1024;

pub struct Manager {
    home: DataHome,
    ingest: Ingest,
    readers: Arc<ReaderPool>,
    live: Mutex<HashMap<SessionId, mpsc::UnboundedSender<SessionCommand>>>,
}

fn internal(context: &str, error: impl std::fmt::Display) -> FrameError {
    FrameError::new(ErrorCode::Internal, format!("{context}: {error}"))
}

impl Manager {
    pub fn new(home: DataHome, ingest: Ingest, readers: Arc<ReaderPool>) -> Arc<Self> {
        Arc::new(Self {
            home,
            ingest,
            readers,
            live: Mutex::default(),
        })
    }

    pub fn readers(&self) -> &Arc<ReaderPool> {
        &self.readers
    }

    /// Start a session in a registered directory and run `prompt` as its first turn.
    pub async fn launch(
        self: &Arc<Self>,
        directory_id: DirectoryId,
        prompt: String,
        model: Option<String>,
        overrides: ConfigOverrides,
    ) -> Result<SessionId, FrameError> {
        let directory = self.directory(&directory_id).await?;
        let profile_name = overrides
            .agent
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        let profile = AgentProfile::builtin(&profile_name)
            .map_err(|e| FrameError::new(ErrorCode::AgentUnavailable, e.to_string()))?;
        let id = SessionId::generate();
        let spec = self.spawn_spec(&profile, &directory, &id)?;
        let genesis = SessionGenesis {
            directory_id,
            kind: SessionKind::Acp,
            agent: profile.name.to_owned(),
            cwd: directory.path.clone(),
            model,
        };
        let first = SessionUpdate::UserMessage(MessageText {
            text: prompt.clone(),
        });
        self.store_all(
            &id,
            vec![EventBody::Genesis(genesis), EventBody::Update(first)],
        )
        .await?;

        let (events_tx, events_rx) = mpsc::channel(DRIVER_QUEUE);
        match AcpSession::start(&spec, events_tx) {
            Ok(agent) => {
                agent.prompt(prompt);
                let active = state_change(SessionState::Active, None, None);
                self.store_all(&id, vec![EventBody::Update(active)]).await?;
                self.run_session(id.clone(), agent, events_rx);
            }
            Err(e) => {
                let end = state_change(
                    SessionState::Ended,
                    Some(EndReason::Failed),
                    Some(e.to_string()),
                );
                self.store_all(&id, vec![EventBody::Update(end)]).await?;
            }
        }
        Ok(id)
    }

    /// How to start the agent: the profile's program in the directory, its
    /// stderr kept in the session's own directory.
    fn spawn_spec(
        &self,
        profile: &AgentProfile,
        directory: &DirectoryInfo,
        id: &SessionId,
    ) -> Result<SpawnSpec, FrameError> {
        let mut spec = SpawnSpec::for_profile(profile, PathBuf::from(&directory.path))
            .map_err(|e| FrameError::new(ErrorCode::AgentUnavailable, e.to_string()))?;
        let session_dir = self.home.session_dir(id);
        std::fs::create_dir_all(&session_dir)
            .map_err(|e| internal("creating the session directory", e))?;
        spec.stderr_log = Some(session_dir.join("agent.stderr.log"));
        Ok(spec)
    }

    /// Hand the session to its own task; if that task dies, the session ends
    /// `failed` and the daemon goes on.
    fn run_session(
        self: &Arc<Self>,
        id: SessionId,
        agent: AcpSession,
        events: mpsc::Receiver<DriverEvent>,
    ) {
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        self.lock_live().insert(id.clone(), commands_tx);
        let task = SessionTask::new(id.clone(), self.ingest.clone(), agent);
        let handle = tokio::spawn(task.run(commands_rx, events));
        let manager = self.clone();
        tokio::spawn(async move {
            if let Err(e) = handle.await {
                tracing::error!(session = %id, "session task failed: {e}");
                manager.end_after_failure(&id, &e.to_string()).await;
            }
            manager.lock_live().remove(&id);
        });
    }

    pub async fn prompt(&self, id: &SessionId, text: String) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::Prompt { text, reply })
            .await
    }

    pub async fn cancel(&self, id: &SessionId) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::Cancel { reply })
            .await
    }

    pub async fn respond(
        &self,
        id: &SessionId,
        prompt_id: PromptId,
        outcome: PermissionOutcome,
    ) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::Respond {
            prompt_id,
            outcome,
            reply,
        })
        .await
    }

    pub async fn kill(&self, id: &SessionId) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::Kill {
            reason: EndReason::Killed,
            detail: None,
            reply,
        })
        .await
    }

    pub async fn sessions(&self) -> Result<Vec<SessionSummary>, FrameError> {
        self.readers
            .read(|r| r.sessions())
            .await
            .map_err(|e| internal("listing sessions", e))
    }

    pub async fn directories(&self) -> Result<Vec<DirectoryInfo>, FrameError> {
        self.readers
            .read(|r| r.directories())
            .await
            .map_err(|e| internal("listing directories", e))
    }

    /// Register a directory; the path must exist and is stored canonical.
    pub async fn add_directory(&self, path: &str) -> Result<DirectoryInfo, FrameError> {
        let canonical = std::fs::canonicalize(path).map_err(|e| {
            FrameError::new(
                ErrorCode::InvalidFrame,
                format!("cannot register directory `{path}`: {e}"),
            )
        })?;
        if !canonical.is_dir() {
            return Err(FrameError::new(
                ErrorCode::InvalidFrame,
                format!("`{path}` is not a directory"),
            ));
        }
        self.ingest
            .add_directory(canonical)
            .await
            .map_err(|e| internal("registering the directory", e))
    }

    pub async fn reindex(&self) -> Result<ReindexResult, FrameError> {
        let done = self
            .ingest
            .reindex()
            .await
            .map_err(|e| internal("reindexing", e))?;
        Ok(ReindexResult {
            sessions: done.sessions,
            events: done.events,
        })
    }

    /// End every live session, recording that the daemon stopped under it.
    pub async fn shutdown(&self) {
        let live: Vec<SessionId> = self.lock_live().keys().cloned().collect();
        for id in live {
            let detail = Some("the daemon was stopped".to_owned());
            let _ = self
                .command(&id, |reply| SessionCommand::Kill {
                    reason: EndReason::DaemonLost,
                    detail,
                    reply,
                })
                .await;
        }
    }

    /// Sessions the last daemon left running cannot be re-adopted yet: record
    /// that they ended with it, answering their open prompts `cancelled`.
    pub async fn end_orphans(&self, orphans: Vec<SessionSummary>) {
        for orphan in orphans {
            self.end_with(
                &orphan.session_id,
                EndReason::DaemonLost,
                "the daemon stopped while the session ran",
            )
            .await;
        }
    }

    async fn end_after_failure(&self, id: &SessionId, error: &str) {
        self.end_with(id, EndReason::Failed, &format!("internal error: {error}"))
            .await;
    }

    async fn end_with(&self, id: &SessionId, reason: EndReason, detail: &str) {
        let lookup = id.clone();
        let pending = self
            .readers
            .read(move |r| r.pending_prompts(&lookup))
            .await
            .unwrap_or_default();
        let mut updates: Vec<EventBody> = pending
            .into_iter()
            .map(|prompt| {
                EventBody::Update(SessionUpdate::PermissionResolved(PermissionResolved {
                    prompt_id: prompt.request.prompt_id,
                    outcome: PermissionOutcome::Cancelled,
                    reason: Some(detail.to_owned()),
                }))
            })
            .collect();
        let end = state_change(SessionState::Ended, Some(reason), Some(detail.to_owned()));
        updates.push(EventBody::Update(end));
        if let Err(e) = self.store_all(id, updates).await {
            tracing::error!(session = %id, "cannot record the end of the session: {e}");
        }
    }

    /// Store events of one session in one commit.
    async fn store_all(&self, id: &SessionId, bodies: Vec<EventBody>) -> Result<u64, FrameError> {
        let events = bodies
            .into_iter()
            .map(|body| NewEvent {
                session_id: id.clone(),
                body,
            })
            .collect();
        self.ingest
            .commit(events)
            .await
            .map_err(|e| internal("storing the session", e))
    }

    async fn directory(&self, id: &DirectoryId) -> Result<DirectoryInfo, FrameError> {
        let lookup = id.clone();
        match self.readers.read(move |r| r.directory(&lookup)).await {
            Ok(Some(directory)) => Ok(directory),
            Ok(None) => Err(FrameError::new(
                ErrorCode::UnknownDirectory,
                format!("no registered directory {id}; register one with `vpd dir add PATH`"),
            )),
            Err(e) => Err(internal("reading the directory", e)),
        }
    }

    fn lock_live(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<SessionId, mpsc::UnboundedSender<SessionCommand>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn command(
        &self,
        id: &SessionId,
        make: impl FnOnce(Reply) -> SessionCommand,
    ) -> Result<(), FrameError> {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .lock_live()
            .get(id)
            .map(|tx| tx.send(make(reply)).is_ok())
            .unwrap_or(false);
        if sent && let Ok(result) = answer.await {
            return result;
        }
        Err(self.not_live(id).await)
    }

    /// The error for a command to a session that has no live task.
    async fn not_live(&self, id: &SessionId) -> FrameError {
        let lookup = id.clone();
        match self.readers.read(move |r| r.session(&lookup)).await {
            Ok(Some(_)) => {
                FrameError::new(ErrorCode::SessionEnded, format!("session {id} has ended"))
            }
            Ok(None) => FrameError::new(ErrorCode::UnknownSession, format!("no session {id}")),
            Err(e) => internal("reading the session", e),
        }
    }
}
