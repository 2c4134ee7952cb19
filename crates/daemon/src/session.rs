//! One task per live session. It alone owns the session's agent, its pending
//! prompts and its state, so commands and agent events are handled one at a
//! time, in order: the first answer to a prompt wins because it is simply
//! the first one this task sees.

use std::collections::{HashMap, HashSet, VecDeque};

use tokio::sync::{mpsc, oneshot};
use viewport_agents::{AcpSession, AgentExit, DriverEvent, PermissionAsk};
use viewport_protocol::update::{
    Attention, AttentionReason, PermissionOption, PermissionOutcome, PermissionRequest,
    PermissionResolved, StateChange, StepCommitted, SystemStatus,
};
use viewport_protocol::{
    EndReason, ErrorCode, FrameError, PromptId, SessionId, SessionState, SessionUpdate,
};
use viewport_store::{EventBody, NewEvent};

use crate::ingest::Ingest;

pub type Reply = oneshot::Sender<Result<(), FrameError>>;

/// Agent events taken off the driver's queue at once.
const EVENT_BATCH: usize = 512;

/// What viewports ask of a session.
pub enum SessionCommand {
    Prompt {
        text: String,
        reply: Reply,
    },
    Cancel {
        reply: Reply,
    },
    Respond {
        prompt_id: PromptId,
        outcome: PermissionOutcome,
        reply: Reply,
    },
    /// Stop the agent; the session ends with `reason`.
    Kill {
        reason: EndReason,
        detail: Option<String>,
        reply: Reply,
    },
}

struct OpenPrompt {
    options: Vec<PermissionOption>,
    reply: oneshot::Sender<PermissionOutcome>,
}

pub struct SessionTask {
    id: SessionId,
    ingest: Ingest,
    agent: Option<AcpSession>,
    state: SessionState,
    turn_running: bool,
    queued_prompts: VecDeque<String>,
    open_prompts: HashMap<PromptId, OpenPrompt>,
    resolved_prompts: HashSet<PromptId>,
    kill_replies: Vec<Reply>,
    kill_reason: Option<(EndReason, Option<String>)>,
    /// Updates appended but not yet handed to the ingest thread.
    unsent: Vec<NewEvent>,
}

impl SessionTask {
    /// A session whose agent runs its first turn.
    pub fn new(id: SessionId, ingest: Ingest, agent: AcpSession) -> Self {
        Self {
            id,
            ingest,
            agent: Some(agent),
            state: SessionState::Active,
            turn_running: true,
            queued_prompts: VecDeque::new(),
            open_prompts: HashMap::new(),
            resolved_prompts: HashSet::new(),
            kill_replies: Vec::new(),
            kill_reason: None,
            unsent: Vec::new(),
        }
    }

    /// Run until the agent is gone.
    pub async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<SessionCommand>,
        mut events: mpsc::Receiver<DriverEvent>,
    ) {
        let mut batch = Vec::with_capacity(EVENT_BATCH);
        'running: loop {
            tokio::select! {
                received = events.recv_many(&mut batch, EVENT_BATCH) => {
                    if received == 0 {
                        let error = Some("the agent driver stopped".to_owned());
                        self.on_exit(AgentExit { code: None, signal: None, error }).await;
                        break;
                    }
                    for event in batch.drain(..) {
                        if let DriverEvent::Exited(exit) = event {
                            self.on_exit(exit).await;
                            break 'running;
                        }
                        self.on_agent_event(event).await;
                    }
                }
                Some(command) = commands.recv() => self.on_command(command).await,
            }
            self.flush().await;
        }
        // Commands that raced with the end get a clear answer.
        commands.close();
        while let Some(command) = commands.recv().await {
            let reply = match command {
                SessionCommand::Prompt { reply, .. }
                | SessionCommand::Cancel { reply }
                | SessionCommand::Respond { reply, .. }
                | SessionCommand::Kill { reply, .. } => reply,
            };
            let _ = reply.send(Err(FrameError::new(
                ErrorCode::SessionEnded,
                format!("session {} has ended", self.id),
            )));
        }
    }

    /// Queue an update; [`flush`](Self::flush) hands the queue to the ingest
    /// thread, so a burst of agent output travels in batches.
    fn append(&mut self, update: SessionUpdate) {
        let body = EventBody::Update(update);
        self.unsent.push(NewEvent {
            session_id: self.id.clone(),
            body,
        });
    }

    async fn flush(&mut self) {
        if let Err(e) = self.ingest.send(std::mem::take(&mut self.unsent)).await {
            tracing::error!(session = %self.id, "cannot store updates: {e}");
        }
    }

    /// Append and wait for the commit, so a reply sent after it is never
    /// ahead of the stored state.
    async fn commit(&mut self, update: SessionUpdate) -> Result<(), FrameError> {
        self.append(update);
        let events = std::mem::take(&mut self.unsent);
        self.ingest.commit(events).await.map(|_| ()).map_err(|e| {
            FrameError::new(
                ErrorCode::Internal,
                format!("storing the update failed: {e}"),
            )
        })
    }

    async fn set_state(&mut self, state: SessionState) {
        if self.state != state {
            self.state = state;
            self.append(state_change(state, None, None));
        }
    }

    /// The state the session is in when nothing special holds it.
    async fn settle(&mut self) {
        let state = if !self.open_prompts.is_empty() {
            SessionState::Awaiting
        } else if self.turn_running {
            SessionState::Active
        } else {
            SessionState::Idle
        };
        self.set_state(state).await;
    }

    async fn on_agent_event(&mut self, event: DriverEvent) {
        match event {
            DriverEvent::Update(update) => self.append(update),
            DriverEvent::Permission(ask) => self.on_permission(ask).await,
            DriverEvent::TurnEnded(end) => {
                match end {
                    Ok(stop_reason) => {
                        self.append(SessionUpdate::StepCommitted(StepCommitted { stop_reason }))
                    }
                    Err(message) => {
                        let message = format!("the turn failed: {message}");
                        self.append(SessionUpdate::SystemStatus(SystemStatus::Notice {
                            message,
                        }));
                    }
                }
                self.turn_running = false;
                self.start_next_prompt();
                self.settle().await;
            }
            DriverEvent::Exited(_) => {}
        }
    }

    async fn on_permission(&mut self, ask: PermissionAsk) {
        let prompt_id = PromptId::generate();
        let request = PermissionRequest {
            prompt_id: prompt_id.clone(),
            tool_call_id: ask.tool_call_id,
            title: ask.title.clone(),
            options: ask.options.clone(),
        };
        self.open_prompts.insert(
            prompt_id,
            OpenPrompt {
                options: ask.options,
                reply: ask.reply,
            },
        );
        self.append(SessionUpdate::PermissionRequest(request));
        self.settle().await;
        self.append(SessionUpdate::Attention(Attention {
            reason: AttentionReason::PermissionPending,
            message: format!("Permission needed: {}", ask.title),
        }));
    }

    fn start_next_prompt(&mut self) {
        if self.turn_running {
            return;
        }
        if let (Some(text), Some(agent)) = (self.queued_prompts.pop_front(), &self.agent) {
            agent.prompt(text);
            self.turn_running = true;
        }
    }

    async fn on_command(&mut self, command: SessionCommand) {
        match command {
            SessionCommand::Prompt { text, reply } => {
                let stored = self
                    .commit(SessionUpdate::UserMessage(
                        viewport_protocol::update::MessageText { text: text.clone() },
                    ))
                    .await;
                if stored.is_ok() {
                    self.queued_prompts.push_back(text);
                    self.start_next_prompt();
                    self.settle().await;
                }
                let _ = reply.send(stored);
            }
            SessionCommand::Cancel { reply } => {
                if self.turn_running
                    && let Some(agent) = &self.agent
                {
                    agent.cancel();
                }
                self.queued_prompts.clear();
                // ACP: a cancelled turn answers its open permission requests `cancelled`.
                self.cancel_open_prompts("the turn was cancelled").await;
                self.settle().await;
                let _ = reply.send(Ok(()));
            }
            SessionCommand::Respond {
                prompt_id,
                outcome,
                reply,
            } => {
                let _ = reply.send(self.respond(prompt_id, outcome).await);
            }
            SessionCommand::Kill {
                reason,
                detail,
                reply,
            } => {
                self.kill_replies.push(reply);
                self.kill_reason.get_or_insert((reason, detail));
                if let Some(agent) = &self.agent {
                    agent.kill();
                }
            }
        }
    }

    async fn respond(
        &mut self,
        prompt_id: PromptId,
        outcome: PermissionOutcome,
    ) -> Result<(), FrameError> {
        let Some(open) = self.open_prompts.get(&prompt_id) else {
            return Err(if self.resolved_prompts.contains(&prompt_id) {
                FrameError::new(
                    ErrorCode::PromptResolved,
                    format!("prompt {prompt_id} was already answered"),
                )
            } else {
                FrameError::new(
                    ErrorCode::UnknownPrompt,
                    format!("session {} has no prompt {prompt_id}", self.id),
                )
            });
        };
        if let PermissionOutcome::Selected { option_id } = &outcome
            && !open.options.iter().any(|o| &o.option_id == option_id)
        {
            let known: Vec<&str> = open.options.iter().map(|o| o.option_id.as_str()).collect();
            return Err(FrameError::new(
                ErrorCode::InvalidFrame,
                format!(
                    "prompt {prompt_id} has no option `{option_id}`; its options are: {}",
                    known.join(", ")
                ),
            ));
        }
        self.resolve(prompt_id, outcome, None).await
    }

    async fn resolve(
        &mut self,
        prompt_id: PromptId,
        outcome: PermissionOutcome,
        reason: Option<String>,
    ) -> Result<(), FrameError> {
        let Some(open) = self.open_prompts.remove(&prompt_id) else {
            return Ok(());
        };
        self.resolved_prompts.insert(prompt_id.clone());
        let stored = self
            .commit(SessionUpdate::PermissionResolved(PermissionResolved {
                prompt_id,
                outcome: outcome.clone(),
                reason,
            }))
            .await;
        let _ = open.reply.send(outcome);
        self.settle().await;
        stored
    }

    async fn cancel_open_prompts(&mut self, reason: &str) {
        let ids: Vec<PromptId> = self.open_prompts.keys().cloned().collect();
        for prompt_id in ids {
            let _ = self
                .resolve(
                    prompt_id,
                    PermissionOutcome::Cancelled,
                    Some(reason.to_owned()),
                )
                .await;
        }
    }

    async fn on_exit(&mut self, exit: AgentExit) {
        self.agent = None;
        self.turn_running = false;
        self.cancel_open_prompts("the agent exited").await;
        let (reason, detail) = if let Some(killed) = self.kill_reason.take() {
            killed
        } else if exit.success() {
            (EndReason::Completed, None)
        } else {
            (EndReason::Failed, Some(format!("the agent {exit}")))
        };
        if reason == EndReason::Failed {
            self.append(SessionUpdate::Attention(Attention {
                reason: AttentionReason::AgentFailed,
                message: format!("The agent {exit}"),
            }));
        }
        self.state = SessionState::Ended;
        let stored = self
            .commit(state_change(SessionState::Ended, Some(reason), detail))
            .await;
        for reply in self.kill_replies.drain(..) {
            let _ = reply.send(stored.clone());
        }
    }
}

pub fn state_change(
    state: SessionState,
    reason: Option<EndReason>,
    detail: Option<String>,
) -> SessionUpdate {
    SessionUpdate::StateChange(StateChange {
        state,
        disconnected: false,
        reason,
        detail,
    })
}
