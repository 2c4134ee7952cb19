//! Following an observed session's agent between its hooks: its transcript,
//! read as it grows (every message, thought, tool call and token count the
//! hooks do not carry), and its process, whose disappearance ends the
//! session. How far the transcript was read is stored, so a restarted daemon
//! goes on where it stopped instead of reading it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use viewport_agents::hooks::HookAgent;
use viewport_agents::process::is_running;
use viewport_agents::transcript::{Tail, TranscriptParser};
use viewport_protocol::update::SystemStatus;
use viewport_protocol::{EndReason, ErrorCode, FrameError, SessionId, SessionState, SessionUpdate};
use viewport_store::{EventBody, ObservedAgent};

use crate::manager::Manager;
use crate::session::state_change;

/// How often a transcript is looked at between hooks while it grows…
const POLL: Duration = Duration::from_millis(250);
/// …and at most how long between looks once it has been quiet a while (a
/// session left open in a terminal costs little; hooks look at once anyway).
const QUIET_POLL: Duration = Duration::from_secs(2);
/// Polls between two looks at whether the agent's process still runs.
const POLLS_PER_PROCESS_CHECK: u32 = 8;

/// What is followed of one observed session.
pub struct Watch {
    session_id: SessionId,
    agent: HookAgent,
    tail: Option<Tail>,
    parser: TranscriptParser,
    pid: Option<u32>,
    /// A read failure was reported; later ones only go to the log.
    read_failure_reported: bool,
    /// The end of a turn or of the session, held until the transcript
    /// stops growing: Claude Code writes it a moment after its hooks run.
    settling: Vec<SessionUpdate>,
    ended: bool,
}

pub type SharedWatch = Arc<tokio::sync::Mutex<Watch>>;

/// The watches of live observed sessions.
#[derive(Default)]
pub struct Watches(Mutex<HashMap<SessionId, SharedWatch>>);

impl Watches {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, SharedWatch>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Watch {
    /// Whether the transcript is followed: then it, not the hooks, tells
    /// what was said and done.
    pub fn follows_transcript(&self) -> bool {
        self.tail.is_some()
    }

    fn stored(&self) -> ObservedAgent {
        ObservedAgent {
            session_id: self.session_id.clone(),
            agent: self.agent.as_str().to_owned(),
            transcript_path: self
                .tail
                .as_ref()
                .map(|t| t.path().to_string_lossy().into_owned()),
            transcript_offset: self.tail.as_ref().map_or(0, Tail::offset),
            pid: self.pid,
        }
    }
}

impl Manager {
    /// The watch of an observed session, started on its first event; a
    /// transcript or process the event names that differs from the
    /// watched one replaces it.
    pub(crate) async fn watch(
        self: &Arc<Self>,
        session_id: &SessionId,
        agent: HookAgent,
        transcript_path: Option<&str>,
        pid: Option<u32>,
    ) -> Result<SharedWatch, FrameError> {
        let existing = self.observed().watches.map().get(session_id).cloned();
        let watch = match existing {
            Some(watch) => watch,
            None => {
                let watch = Arc::new(tokio::sync::Mutex::new(Watch {
                    session_id: session_id.clone(),
                    agent,
                    tail: None,
                    parser: agent.transcript_parser(),
                    pid: None,
                    read_failure_reported: false,
                    settling: Vec::new(),
                    ended: false,
                }));
                self.observed()
                    .watches
                    .map()
                    .insert(session_id.clone(), watch.clone());
                self.spawn_watch_loop(watch.clone());
                watch
            }
        };
        let mut current = watch.lock().await;
        let watched_path = current.tail.as_ref().map(|t| t.path().to_owned());
        let new_path = transcript_path.filter(|p| watched_path.as_deref() != Some(p.as_ref()));
        let new_pid = pid.filter(|p| current.pid != Some(*p));
        if let Some(path) = new_path {
            current.tail = Some(Tail::new(path, 0));
            current.parser = current.parser.fresh();
        }
        if let Some(pid) = new_pid {
            current.pid = Some(pid);
        }
        if new_path.is_some() || new_pid.is_some() {
            self.store_watch(&current).await?;
        }
        drop(current);
        Ok(watch)
    }

    /// Pick up the observed sessions a previous daemon was following.
    pub async fn resume_watching(self: &Arc<Self>) {
        let agents = match self.readers().read(|r| r.live_observed_agents()).await {
            Ok(agents) => agents,
            Err(e) => {
                tracing::warn!("cannot read the observed sessions to follow: {e}");
                return;
            }
        };
        for agent in agents {
            let Some(kind) = HookAgent::parse(&agent.agent) else {
                tracing::warn!(
                    "not following session {}: its agent `{}` is unknown to this vpd",
                    agent.session_id,
                    agent.agent
                );
                continue;
            };
            let watch = Arc::new(tokio::sync::Mutex::new(Watch {
                agent: kind,
                tail: agent
                    .transcript_path
                    .map(|path| Tail::new(path, agent.transcript_offset)),
                session_id: agent.session_id.clone(),
                parser: kind.transcript_parser(),
                pid: agent.pid,
                read_failure_reported: false,
                settling: Vec::new(),
                ended: false,
            }));
            self.observed()
                .watches
                .map()
                .insert(agent.session_id, watch.clone());
            self.spawn_watch_loop(watch);
        }
    }

    /// Store what a hook event says; an end of turn or of the session
    /// waits for the transcript to settle when one is followed, so it comes
    /// after the last words of the turn.
    pub(crate) async fn record_hook_updates(
        &self,
        watch: &mut Watch,
        updates: Vec<SessionUpdate>,
    ) -> Result<(), FrameError> {
        let ends_something = updates.iter().any(|u| {
            matches!(u, SessionUpdate::StateChange(c) if matches!(c.state, SessionState::Idle | SessionState::Ended))
        });
        if ends_something && watch.follows_transcript() {
            watch.settling.extend(updates);
            return Ok(());
        }
        self.store_held(watch, updates).await.map(|_| ())
    }

    /// Store what was held for the transcript to settle; the state it
    /// leaves the session in, if it changes it.
    pub(crate) async fn settle(
        &self,
        watch: &mut Watch,
    ) -> Result<Option<SessionState>, FrameError> {
        let held = std::mem::take(&mut watch.settling);
        self.store_held(watch, held).await
    }

    async fn store_held(
        &self,
        watch: &mut Watch,
        updates: Vec<SessionUpdate>,
    ) -> Result<Option<SessionState>, FrameError> {
        let state = updates.iter().rev().find_map(|u| match u {
            SessionUpdate::StateChange(c) => Some(c.state),
            _ => None,
        });
        let session_id = watch.session_id.clone();
        self.store_updates(&session_id, updates).await?;
        if state == Some(SessionState::Ended) {
            self.stop_watching(watch);
        }
        Ok(state)
    }

    /// Store what the transcript gained since the last look; whether it
    /// gained anything.
    pub(crate) async fn catch_up(&self, watch: &mut Watch) -> Result<bool, FrameError> {
        let mut gained = false;
        loop {
            let Some(tail) = watch.tail.as_mut() else {
                return Ok(gained);
            };
            let before = tail.offset();
            let read = match tail.read_lines() {
                Ok(read) => read,
                Err(e) => return self.report_read_failure(watch, e).await.map(|_| gained),
            };
            let mut updates = Vec::new();
            if read.reset {
                watch.parser = watch.parser.fresh();
                updates.push(SessionUpdate::SystemStatus(SystemStatus::Notice {
                    message:
                        "the transcript was truncated or replaced; reading it again from the start"
                            .to_owned(),
                }));
            }
            let outputs = self.large_outputs(&watch.session_id);
            for line in &read.lines {
                updates.extend(
                    watch
                        .parser
                        .parse_line(line)
                        .into_iter()
                        .map(|u| outputs.offload(u)),
                );
            }
            let moved = tail.offset() != before || read.reset;
            gained |= !read.lines.is_empty();
            let more = read.more;
            let session_id = watch.session_id.clone();
            self.store_updates(&session_id, updates).await?;
            if moved {
                self.store_watch(watch).await?;
            }
            if !more {
                return Ok(gained);
            }
        }
    }

    async fn report_read_failure(
        &self,
        watch: &mut Watch,
        error: std::io::Error,
    ) -> Result<(), FrameError> {
        let path = watch.tail.as_ref().map(|t| t.path().display().to_string());
        let message = format!(
            "cannot read the transcript {}: {error}",
            path.unwrap_or_default()
        );
        if watch.read_failure_reported {
            tracing::debug!("{message}");
            return Ok(());
        }
        watch.read_failure_reported = true;
        tracing::warn!("{message}");
        let notice = SessionUpdate::SystemStatus(SystemStatus::Notice { message });
        let session_id = watch.session_id.clone();
        self.store_all(&session_id, vec![EventBody::Update(notice)])
            .await
            .map(|_| ())
    }

    async fn store_watch(&self, watch: &Watch) -> Result<(), FrameError> {
        self.ingest()
            .put_observed_agent(watch.stored())
            .await
            .map_err(|e| {
                FrameError::new(
                    ErrorCode::Internal,
                    format!("storing the observed agent: {e}"),
                )
            })
    }

    /// Look at the transcript and the process until the session ends.
    fn spawn_watch_loop(self: &Arc<Self>, watch: SharedWatch) {
        let manager = Arc::clone(self);
        tokio::spawn(async move {
            let mut polls = 0u32;
            let mut quiet = 0u32;
            loop {
                tokio::time::sleep((POLL * (1 + quiet / 8)).min(QUIET_POLL)).await;
                let mut current = watch.lock().await;
                if current.ended {
                    break;
                }
                let settled = match manager.catch_up(&mut current).await {
                    Ok(true) => {
                        quiet = 0;
                        Ok(None)
                    }
                    Ok(false) => {
                        quiet = quiet.saturating_add(1);
                        manager.settle(&mut current).await
                    }
                    Err(e) => Err(e),
                };
                if let Err(e) = settled {
                    tracing::warn!("following an observed session: {}", e.message);
                }
                if current.ended {
                    break;
                }
                polls += 1;
                let gone = polls.is_multiple_of(POLLS_PER_PROCESS_CHECK)
                    && current.pid.is_some_and(|pid| !is_running(pid));
                if gone {
                    manager.process_gone(&mut current).await;
                    break;
                }
            }
        });
    }

    /// The agent's process went away without a `SessionEnd` hook (killed,
    /// its terminal closed): the session ends.
    async fn process_gone(&self, watch: &mut Watch) {
        if let Err(e) = self.settle(watch).await {
            tracing::warn!("settling observed session: {}", e.message);
        }
        if watch.ended {
            return;
        }
        let pid = watch.pid.unwrap_or_default();
        let detail =
            format!("the agent's process ({pid}) is gone; it ended without a SessionEnd hook");
        let end = state_change(
            SessionState::Ended,
            Some(EndReason::Completed),
            Some(detail),
        );
        let session_id = watch.session_id.clone();
        if let Err(e) = self
            .store_all(&session_id, vec![EventBody::Update(end)])
            .await
        {
            tracing::warn!("ending observed session {session_id}: {}", e.message);
        }
        self.stop_watching(watch);
    }

    /// Stop following a session that ended.
    pub(crate) fn stop_watching(&self, watch: &mut Watch) {
        watch.ended = true;
        self.observed().watches.map().remove(&watch.session_id);
    }
}
