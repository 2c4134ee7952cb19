//! One task per live session. It alone owns the session's agent, its pending
//! prompts and its state, so commands and agent events are handled one at a
//! time, in order: the first answer to a prompt wins because it is simply
//! the first one this task sees.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use viewport_agents::acp::config::ConfigRequest;
use viewport_agents::{AcpSession, AgentExit, DriverEvent, PermissionAsk, Sourced, TurnFailure};
use viewport_protocol::frames::PendingPrompt;
use viewport_protocol::options::{ContextItem, PermissionPolicy, TimeoutOutcome};
use viewport_protocol::update::{
    Attention, AttentionReason, Cost, PermissionOption, PermissionOptionKind, PermissionOutcome,
    PermissionRequest, PermissionResolved, PlanEntry, PlanEntryStatus, StateChange, StepCommitted,
    StopReason, SystemStatus, TokenUsage, ToolKind,
};
use viewport_protocol::{
    EndReason, ErrorCode, FrameError, PromptId, SessionId, SessionState, SessionUpdate,
};
use viewport_store::{EventBody, NewEvent, OutputMark};

use crate::checkpoints::Checkpointer;
use crate::ingest::Ingest;
use crate::launch::SessionRules;
use crate::outputs::LargeOutputs;

pub type Reply = oneshot::Sender<Result<(), FrameError>>;

/// Agent events taken off the driver's queue at once.
const EVENT_BATCH: usize = 512;

/// A turn that runs at least this long asks for attention when it ends.
const LONG_TURN: Duration = Duration::from_secs(30);

/// How much of the agent's stderr a failure quotes.
const STDERR_TAIL_BYTES: u64 = 800;

/// The share of the cost cap at which the session warns.
const COST_WARNING: f64 = 0.8;

/// What viewports ask of a session.
pub enum SessionCommand {
    Prompt {
        text: String,
        context: Vec<ContextItem>,
        reply: Reply,
    },
    SetConfig {
        request: ConfigRequest,
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
    /// A prompt's timeout passed (sent by the session to itself).
    PromptTimedOut {
        prompt_id: PromptId,
    },
    /// End the conversation gracefully; the session ends `completed`.
    Close {
        reply: Reply,
    },
    /// Stop the agent; the session ends with `reason`.
    Kill {
        reason: EndReason,
        detail: Option<String>,
        reply: Reply,
    },
    /// The daemon goes and the next one takes the session over: record that
    /// it is out of reach meanwhile. A session whose program cannot outlive
    /// the daemon ends instead.
    Detach {
        reply: Reply,
    },
}

struct OpenPrompt {
    options: Vec<PermissionOption>,
    /// What an `allow always` answer would remember.
    key: String,
    reply: oneshot::Sender<PermissionOutcome>,
}

/// What the session has spent.
#[derive(Debug, Default)]
struct Spending {
    cost_usd: f64,
    /// Whether the agent ever reported a cost (or tokens we could price).
    priced: bool,
    warned: bool,
    /// Whether the session was told its cap cannot be enforced.
    told_unenforceable: bool,
}

pub struct SessionTask {
    id: SessionId,
    ingest: Ingest,
    agent: Option<AcpSession>,
    state: SessionState,
    turn_running: bool,
    queued_prompts: VecDeque<(String, Vec<ContextItem>)>,
    open_prompts: HashMap<PromptId, OpenPrompt>,
    resolved_prompts: HashSet<PromptId>,
    kill_replies: Vec<Reply>,
    kill_reason: Option<(EndReason, Option<String>)>,
    /// Updates appended but not yet handed to the ingest thread.
    unsent: Vec<NewEvent>,
    /// How far the agent's output is read into `unsent` and stored before:
    /// the mark that goes with the next batch, and the last one sent.
    read_through: u64,
    marked_through: u64,
    /// Marks sent and not yet known to be stored, oldest first.
    unacknowledged: VecDeque<(oneshot::Receiver<()>, u64)>,
    rules: SessionRules,
    /// Tool kinds by tool call id, from the calls the agent announced.
    tool_kinds: HashMap<String, ToolKind>,
    /// Permission keys a person answered `allow always`.
    always_allowed: HashSet<String>,
    spending: Spending,
    turn_started: Option<Instant>,
    /// Lets timers send commands to this task without keeping it alive.
    myself: mpsc::WeakUnboundedSender<SessionCommand>,
    /// Where the agent's stderr goes (its tail explains a failure), and
    /// what takes the working tree's checkpoints.
    files: SessionFiles,
    /// Prompts an earlier daemon stored that are still open, when this task
    /// takes over a running agent.
    taken_over: Option<Vec<PendingPrompt>>,
}

/// What a session keeps beside its log.
pub struct SessionFiles {
    /// In the session's directory, where its plan is kept too.
    pub stderr_log: Option<PathBuf>,
    /// Takes a checkpoint of `cwd` after each step.
    pub checkpoints: Option<(Checkpointer, PathBuf)>,
    /// Where tool outputs too large for an update go.
    pub outputs: Option<LargeOutputs>,
}

impl SessionTask {
    /// A session whose agent runs its first turn (`turn_running`), or
    /// waits for one (a resumed session).
    pub fn new(
        id: SessionId,
        ingest: Ingest,
        agent: AcpSession,
        rules: SessionRules,
        turn_running: bool,
        myself: mpsc::WeakUnboundedSender<SessionCommand>,
        files: SessionFiles,
    ) -> Self {
        Self {
            id,
            ingest,
            agent: Some(agent),
            state: if turn_running {
                SessionState::Active
            } else {
                SessionState::Idle
            },
            turn_running,
            queued_prompts: VecDeque::new(),
            open_prompts: HashMap::new(),
            resolved_prompts: HashSet::new(),
            kill_replies: Vec::new(),
            kill_reason: None,
            unsent: Vec::new(),
            read_through: 0,
            marked_through: 0,
            unacknowledged: VecDeque::new(),
            rules,
            tool_kinds: HashMap::new(),
            always_allowed: HashSet::new(),
            spending: Spending::default(),
            turn_started: turn_running.then(Instant::now),
            myself,
            files,
            taken_over: None,
        }
    }

    /// This task takes over an agent an earlier daemon ran, with the
    /// prompts it left open, and as far as the log knows the session's state.
    pub fn taking_over(mut self, state: SessionState, pending: Vec<PendingPrompt>) -> Self {
        self.state = state;
        self.turn_running = matches!(state, SessionState::Active | SessionState::Awaiting);
        self.turn_started = self.turn_running.then(Instant::now);
        self.taken_over = Some(pending);
        self
    }

    /// Record that the session was out of reach while no daemon ran, open
    /// again the prompts the agent still waits on (those it no longer can
    /// be answered on are resolved), and say it is reachable again.
    async fn take_over(&mut self, pending: Vec<PendingPrompt>) {
        let (away, back) = crate::manager::taken_over(self.state);
        self.append(away);
        for prompt in pending {
            let request = prompt.request;
            let reply = self
                .agent
                .as_ref()
                .and_then(|agent| agent.reattach_permission(&request.prompt_id));
            let Some(reply) = reply else {
                self.append(SessionUpdate::PermissionResolved(PermissionResolved {
                    prompt_id: request.prompt_id,
                    outcome: PermissionOutcome::Cancelled,
                    reason: Some("the agent's question was lost with the daemon".to_owned()),
                }));
                continue;
            };
            let kind = request
                .tool_call_id
                .as_ref()
                .and_then(|id| self.tool_kinds.get(id).copied());
            self.open_prompts.insert(
                request.prompt_id,
                OpenPrompt {
                    key: permission_key(kind, &request.title),
                    options: request.options,
                    reply,
                },
            );
        }
        if let Some(agent) = &self.agent {
            agent.reattached();
        }
        let mut back = back;
        self.state = if self.open_prompts.is_empty() && self.state == SessionState::Awaiting {
            SessionState::Active
        } else {
            self.state
        };
        if let SessionUpdate::StateChange(change) = &mut back {
            change.state = self.state;
        }
        self.append(back);
        self.flush().await;
    }

    /// Run until the agent is gone.
    pub async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<SessionCommand>,
        mut events: mpsc::Receiver<Sourced>,
    ) {
        let mut batch = Vec::with_capacity(EVENT_BATCH);
        if let Some(pending) = self.taken_over.take() {
            self.take_over(pending).await;
        }
        'running: loop {
            tokio::select! {
                received = events.recv_many(&mut batch, EVENT_BATCH) => {
                    if received == 0 {
                        let error = Some("the agent driver stopped".to_owned());
                        self.on_exit(AgentExit { code: None, signal: None, error }).await;
                        break;
                    }
                    for Sourced { event, through } in batch.drain(..) {
                        if let DriverEvent::Exited(exit) = event {
                            self.on_exit(exit).await;
                            break 'running;
                        }
                        self.read_through = self.read_through.max(through);
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
            refuse_ended(&self.id, command);
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
        let events = std::mem::take(&mut self.unsent);
        let sent = match self.next_mark() {
            None => self.ingest.send(events).await,
            Some(mark) => {
                let offset = mark.offset;
                let committed = self.ingest.send_marked(events, mark).await;
                committed.map(|committed| self.unacknowledged.push_back((committed, offset)))
            }
        };
        if let Err(e) = sent {
            tracing::error!(session = %self.id, "cannot store updates: {e}");
        }
        self.acknowledge_stored();
    }

    /// Tell the supervisor how far the output is stored, as far as the
    /// ingest has confirmed by now: one acknowledgement for many batches.
    fn acknowledge_stored(&mut self) {
        let mut stored = None;
        while let Some((committed, offset)) = self.unacknowledged.front_mut() {
            match committed.try_recv() {
                Ok(()) => stored = Some(*offset),
                Err(oneshot::error::TryRecvError::Empty) => break,
                // Not committed: a later mark covers it.
                Err(oneshot::error::TryRecvError::Closed) => {}
            }
            self.unacknowledged.pop_front();
        }
        if let (Some(offset), Some(agent)) = (stored, &self.agent) {
            agent.link().ack(offset);
        }
    }

    /// The output mark to store with the next batch, if the agent's output
    /// was read further since the last one.
    fn next_mark(&mut self) -> Option<OutputMark> {
        if self.read_through <= self.marked_through {
            return None;
        }
        self.marked_through = self.read_through;
        Some(OutputMark {
            session_id: self.id.clone(),
            offset: self.read_through,
        })
    }

    /// Commit everything appended (with the output mark) and wait for it;
    /// the seq of the last event.
    async fn commit_appended(&mut self) -> Result<u64, crate::ingest::IngestError> {
        let events = std::mem::take(&mut self.unsent);
        let mark = self.next_mark();
        let offset = mark.as_ref().map(|m| m.offset);
        let seq = self.ingest.commit_marked(events, mark).await?;
        if let (Some(offset), Some(agent)) = (offset, &self.agent) {
            agent.link().ack(offset);
        }
        Ok(seq)
    }

    /// Append and wait for the commit, so a reply sent after it is never
    /// ahead of the stored state.
    async fn commit(&mut self, update: SessionUpdate) -> Result<(), FrameError> {
        self.append(update);
        self.commit_appended().await.map(|_| ()).map_err(|e| {
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
            DriverEvent::Update(update) => self.on_update(update),
            DriverEvent::Permission(ask) => self.on_permission(ask).await,
            DriverEvent::TurnEnded(end) => self.on_turn_ended(end).await,
            DriverEvent::Exited(_) | DriverEvent::Consumed => {}
        }
    }

    async fn on_turn_ended(&mut self, end: Result<StopReason, TurnFailure>) {
        let stepped = end.is_ok();
        match end {
            Ok(stop_reason) => {
                self.append(SessionUpdate::StepCommitted(StepCommitted { stop_reason }));
                if let Some(took) = self.turn_started.map(|t| t.elapsed())
                    && took >= LONG_TURN
                {
                    self.append(SessionUpdate::Attention(Attention {
                        reason: AttentionReason::TurnFinished,
                        message: format!("The turn finished after {}s", took.as_secs()),
                    }));
                }
            }
            Err(failure) => {
                let message = format!("The turn failed: {}", failure.message);
                self.append(SessionUpdate::SystemStatus(SystemStatus::Notice {
                    message: message.clone(),
                }));
                self.append(SessionUpdate::Attention(Attention {
                    reason: failure.attention,
                    message,
                }));
            }
        }
        self.turn_running = false;
        self.turn_started = None;
        self.note_unenforceable_cap();
        self.start_next_prompt();
        self.settle().await;
        if stepped {
            self.checkpoint_after_step().await;
        }
    }

    /// Store an agent update, pricing token reports and watching the cap.
    fn on_update(&mut self, update: SessionUpdate) {
        let update = self.rules.redactor.redact(update);
        let update = match &self.files.outputs {
            Some(outputs) => outputs.offload(update),
            None => update,
        };
        match update {
            SessionUpdate::TokenUsage(usage) => {
                let usage = self.priced(usage);
                let cost = usage.cost.as_ref().filter(|c| c.currency == "USD");
                let cost = cost.map(|c| c.amount);
                self.append(SessionUpdate::TokenUsage(usage));
                if let Some(cost) = cost {
                    self.check_cost(cost);
                }
            }
            SessionUpdate::ToolCall(call) => {
                self.tool_kinds.insert(call.tool_call_id.clone(), call.kind);
                self.append(SessionUpdate::ToolCall(call));
            }
            SessionUpdate::SystemStatus(SystemStatus::Config { options }) => {
                let model = options
                    .iter()
                    .find(|o| o.category.as_deref() == Some("model"));
                if let Some(model) = model {
                    self.rules.model = Some(model.current.clone());
                }
                self.append(SessionUpdate::SystemStatus(SystemStatus::Config {
                    options,
                }));
            }
            SessionUpdate::SystemStatus(SystemStatus::Plan { entries }) => {
                self.keep_plan(&entries);
                self.append(SessionUpdate::SystemStatus(SystemStatus::Plan { entries }));
            }
            other => self.append(other),
        }
    }

    /// Commit the step with the state it leaves the session in (one batch,
    /// as a viewport expects them), then checkpoint the working tree after it.
    async fn checkpoint_after_step(&mut self) {
        let Some((checkpointer, cwd)) = self.files.checkpoints.clone() else {
            return;
        };
        if self.unsent.is_empty() {
            return;
        }
        match self.commit_appended().await {
            Ok(seq) => checkpointer.after_step(&self.id, seq, &cwd),
            Err(e) => tracing::error!(session = %self.id, "cannot store the step: {e}"),
        }
    }

    /// Keep the agent's latest plan as `plan.md` beside the session.
    fn keep_plan(&self, entries: &[PlanEntry]) {
        // The stderr log lives in the session's directory.
        let Some(dir) = self.files.stderr_log.as_deref().and_then(Path::parent) else {
            return;
        };
        if let Err(e) = std::fs::write(dir.join("plan.md"), plan_markdown(entries)) {
            tracing::warn!(session = %self.id, "cannot keep the plan: {e}");
        }
    }

    /// A token report with its cost, worked out from the price table when
    /// the agent gave tokens but no cost.
    fn priced(&self, mut usage: TokenUsage) -> TokenUsage {
        if usage.cost.is_none()
            && let (Some(model), Some(input), Some(output)) =
                (&self.rules.model, usage.input_tokens, usage.output_tokens)
            && let Some(amount) = viewport_agents::pricing::cost_usd(model, input, output)
        {
            usage.cost = Some(Cost {
                amount,
                currency: "USD".to_owned(),
            });
        }
        usage
    }

    /// Warn at 80% of the cap; at the cap, cancel the turn and end the session.
    fn check_cost(&mut self, cost_usd: f64) {
        self.spending.cost_usd = cost_usd;
        self.spending.priced = true;
        let Some(cap) = self.rules.cost_cap_usd else {
            return;
        };
        if cost_usd >= cap {
            if self.kill_reason.is_none() {
                let detail = format!("the session cost ${cost_usd:.4}, over its cap of ${cap:.2}");
                self.kill_reason = Some((EndReason::CostCap, Some(detail)));
                if let Some(agent) = &self.agent {
                    agent.cancel();
                    agent.kill();
                }
            }
        } else if cost_usd >= cap * COST_WARNING && !self.spending.warned {
            self.spending.warned = true;
            self.append(SessionUpdate::Attention(Attention {
                reason: AttentionReason::CostCapNear,
                message: format!(
                    "The session has cost ${cost_usd:.4}, {:.0}% of its ${cap:.2} cap",
                    cost_usd / cap * 100.0
                ),
            }));
        }
    }

    /// A cap on an agent that reports no cost cannot hold: say so once,
    /// after the first turn that brought no cost.
    fn note_unenforceable_cap(&mut self) {
        if self.rules.cost_cap_usd.is_some()
            && !self.spending.priced
            && !self.spending.told_unenforceable
        {
            self.spending.told_unenforceable = true;
            self.append(SessionUpdate::SystemStatus(SystemStatus::Notice {
                message: "The agent reports no cost (and no tokens vpd can price), so the cost cap cannot be enforced".to_owned(),
            }));
        }
    }

    async fn on_permission(&mut self, ask: PermissionAsk) {
        let prompt_id = ask.prompt_id;
        let kind = ask.tool_kind.or_else(|| {
            let id = ask.tool_call_id.as_ref()?;
            self.tool_kinds.get(id).copied()
        });
        let key = permission_key(kind, &ask.title);
        let request = PermissionRequest {
            prompt_id: prompt_id.clone(),
            tool_call_id: ask.tool_call_id,
            title: ask.title.clone(),
            options: ask.options.clone(),
        };
        let automatic = self.automatic_answer(kind, &key, &ask.options);
        self.open_prompts.insert(
            prompt_id.clone(),
            OpenPrompt {
                options: ask.options,
                key,
                reply: ask.reply,
            },
        );
        self.append(SessionUpdate::PermissionRequest(request));
        if let Some((outcome, reason)) = automatic {
            let _ = self.resolve(prompt_id, outcome, Some(reason)).await;
            return;
        }
        self.settle().await;
        self.append(SessionUpdate::Attention(Attention {
            reason: AttentionReason::PermissionPending,
            message: format!("Permission needed: {}", ask.title),
        }));
        if let Some((after, _)) = self.rules.timeout {
            let myself = self.myself.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if let Some(tx) = myself.upgrade() {
                    let _ = tx.send(SessionCommand::PromptTimedOut { prompt_id });
                }
            });
        }
    }

    /// The answer the policy (or an earlier `allow always`) gives at once.
    fn automatic_answer(
        &self,
        kind: Option<ToolKind>,
        key: &str,
        options: &[PermissionOption],
    ) -> Option<(PermissionOutcome, String)> {
        let policy = self.rules.policy;
        let (allow, reason) = if self.always_allowed.contains(key) {
            (true, "allowed always earlier in this session".to_owned())
        } else {
            match policy {
                PermissionPolicy::Ask => return None,
                PermissionPolicy::AllowAll => (true, format!("policy {}", policy.as_str())),
                PermissionPolicy::DenyAll => (false, format!("policy {}", policy.as_str())),
                PermissionPolicy::AllowReadOnly => {
                    let read_only = matches!(
                        kind,
                        Some(ToolKind::Read | ToolKind::Search | ToolKind::Think)
                    );
                    if !read_only {
                        return None;
                    }
                    (true, format!("policy {}", policy.as_str()))
                }
            }
        };
        Some((pick_option(options, allow), reason))
    }

    async fn on_prompt_timeout(&mut self, prompt_id: PromptId) {
        let Some((after, outcome)) = self.rules.timeout else {
            return;
        };
        let Some(open) = self.open_prompts.get(&prompt_id) else {
            return;
        };
        let outcome = match outcome {
            TimeoutOutcome::Allow => pick_option(&open.options, true),
            TimeoutOutcome::Deny => pick_option(&open.options, false),
            TimeoutOutcome::Cancel => PermissionOutcome::Cancelled,
        };
        let reason = format!("nobody answered within {}s", after.as_secs());
        let _ = self.resolve(prompt_id, outcome, Some(reason)).await;
    }

    fn start_next_prompt(&mut self) {
        if self.turn_running {
            return;
        }
        if let (Some((text, context)), Some(agent)) = (self.queued_prompts.pop_front(), &self.agent)
        {
            agent.prompt(text, &context);
            self.turn_running = true;
            self.turn_started = Some(Instant::now());
        }
    }

    async fn on_command(&mut self, command: SessionCommand) {
        match command {
            SessionCommand::Prompt {
                text,
                context,
                reply,
            } => {
                let stored = self
                    .commit(SessionUpdate::UserMessage(
                        viewport_protocol::update::MessageText { text: text.clone() },
                    ))
                    .await;
                if stored.is_ok() {
                    self.queued_prompts.push_back((text, context));
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
            SessionCommand::SetConfig { request, reply } => match &self.agent {
                // Answered from a task: the agent's reply may queue behind
                // updates this task has yet to store.
                Some(agent) => {
                    let applied = agent.set_config(request);
                    tokio::spawn(async move {
                        let result = applied
                            .await
                            .map_err(|message| FrameError::new(ErrorCode::InvalidFrame, message));
                        let _ = reply.send(result);
                    });
                }
                None => {
                    let _ = reply.send(Err(FrameError::new(
                        ErrorCode::SessionEnded,
                        format!("session {} has ended", self.id),
                    )));
                }
            },
            SessionCommand::PromptTimedOut { prompt_id } => {
                self.on_prompt_timeout(prompt_id).await;
            }
            SessionCommand::Close { reply } => {
                self.kill_replies.push(reply);
                self.kill_reason.get_or_insert((
                    EndReason::Completed,
                    Some("closed by a viewport".to_owned()),
                ));
                self.queued_prompts.clear();
                self.cancel_open_prompts("the session was closed").await;
                if let Some(agent) = &self.agent {
                    if self.turn_running {
                        agent.cancel();
                    }
                    agent.close();
                }
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
            SessionCommand::Detach { reply } => {
                let mut away = state_change(
                    self.state,
                    None,
                    Some("the daemon is restarting".to_owned()),
                );
                if let SessionUpdate::StateChange(change) = &mut away {
                    change.disconnected = true;
                }
                let _ = reply.send(self.commit(away).await);
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
        let chosen = match &outcome {
            PermissionOutcome::Selected { option_id } => {
                open.options.iter().find(|o| &o.option_id == option_id)
            }
            PermissionOutcome::Cancelled => None,
        };
        if chosen.is_some_and(|o| o.kind == PermissionOptionKind::AllowAlways) {
            self.always_allowed.insert(open.key.clone());
        }
        if let PermissionOutcome::Selected { option_id } = &outcome
            && chosen.is_none()
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

    /// How the agent ended, with the last of what it wrote to stderr.
    fn failure_detail(&self, exit: &AgentExit) -> String {
        let tail = self
            .files
            .stderr_log
            .as_deref()
            .and_then(|log| viewport_agents::spawn::stderr_tail(log, STDERR_TAIL_BYTES));
        let mut detail = match tail {
            Some(tail) => format!("the agent {exit}; its stderr ends with:\n{tail}"),
            None => format!("the agent {exit}"),
        };
        if let Some(hint) = &self.rules.failure_hint {
            detail = format!("{detail}\nhint: {hint}");
        }
        detail
    }

    async fn on_exit(&mut self, exit: AgentExit) {
        // Kept until the end is stored: then its supervisor may go.
        let agent = self.agent.take();
        self.turn_running = false;
        self.cancel_open_prompts("the agent exited").await;
        let (reason, detail) = if let Some(killed) = self.kill_reason.take() {
            killed
        } else if exit.success() {
            (EndReason::Completed, None)
        } else {
            (EndReason::Failed, Some(self.failure_detail(&exit)))
        };
        if reason == EndReason::Failed {
            self.append(SessionUpdate::Attention(Attention {
                reason: AttentionReason::AgentFailed,
                message: format!("The agent {exit}"),
            }));
        }
        self.state = SessionState::Ended;
        let mut end = state_change(SessionState::Ended, Some(reason), detail);
        if let SessionUpdate::StateChange(change) = &mut end {
            change.exit_code = exit.code;
        }
        let stored = self.commit(end).await;
        if let (Ok(()), Some(agent)) = (&stored, agent) {
            agent.release();
        }
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
        exit_code: None,
    })
}

/// What `allow always` remembers: the kind of tool when the agent says,
/// otherwise the request's title.
fn permission_key(kind: Option<ToolKind>, title: &str) -> String {
    match kind {
        Some(kind) if kind != ToolKind::Other => format!("kind:{kind:?}"),
        _ => format!("title:{title}"),
    }
}

/// The option that allows (or refuses) once, else always; `cancelled` when
/// the agent offers neither.
fn pick_option(options: &[PermissionOption], allow: bool) -> PermissionOutcome {
    let preference = if allow {
        [
            PermissionOptionKind::AllowOnce,
            PermissionOptionKind::AllowAlways,
        ]
    } else {
        [
            PermissionOptionKind::RejectOnce,
            PermissionOptionKind::RejectAlways,
        ]
    };
    preference
        .iter()
        .find_map(|kind| options.iter().find(|o| o.kind == *kind))
        .map(|o| PermissionOutcome::Selected {
            option_id: o.option_id.clone(),
        })
        .unwrap_or(PermissionOutcome::Cancelled)
}

/// Answer a command that came after the session ended.
pub fn refuse_ended(id: &SessionId, command: SessionCommand) {
    let reply = match command {
        SessionCommand::Prompt { reply, .. }
        | SessionCommand::SetConfig { reply, .. }
        | SessionCommand::Cancel { reply }
        | SessionCommand::Respond { reply, .. }
        | SessionCommand::Close { reply }
        | SessionCommand::Detach { reply }
        | SessionCommand::Kill { reply, .. } => reply,
        SessionCommand::PromptTimedOut { .. } => return,
    };
    let _ = reply.send(Err(FrameError::new(
        ErrorCode::SessionEnded,
        format!("session {id} has ended"),
    )));
}

/// A plan as a Markdown checklist.
pub fn plan_markdown(entries: &[PlanEntry]) -> String {
    let mut text = String::from("# Plan\n\n");
    for entry in entries {
        let (mark, note) = match entry.status {
            PlanEntryStatus::Completed => ("x", ""),
            PlanEntryStatus::InProgress => (" ", " (in progress)"),
            PlanEntryStatus::Pending => (" ", ""),
        };
        text.push_str(&format!("- [{mark}] {}{note}\n", entry.content));
    }
    text
}
