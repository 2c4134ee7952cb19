//! The Agent Client Protocol driver: starts an agent under its session's
//! supervisor, does `initialize` and `session/new`, sends prompts and
//! cancels, maps every `session/update` to viewport updates, turns
//! `session/request_permission` into a [`PermissionAsk`] and the agent's
//! exit into [`DriverEvent::Exited`].
//!
//! Every event carries how far the agent's output had been read when it was
//! made ([`Sourced`]); stored with the event, that offset is where a daemon
//! that died resumes when it [adopts](AcpSession::adopt) the still running
//! agent, so nothing is lost or stored twice. What a restarted daemon needs
//! to go on (the agent's session id, its settings, the requests it left
//! unanswered) is kept as notes with the supervisor.

mod client;
mod collector;
pub mod config;
pub mod fs;
pub mod map;
mod raw;
pub mod terminals;
mod transport;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    self as acp, CancelNotification, ClientCapabilities, CreateTerminalRequest,
    CreateTerminalResponse, FileSystemCapabilities, InitializeRequest, KillTerminalRequest,
    KillTerminalResponse, LoadSessionRequest, NewSessionRequest, PromptRequest, PromptResponse,
    ReadTextFileRequest, ReadTextFileResponse, ReleaseTerminalRequest, ReleaseTerminalResponse,
    RequestPermissionOutcome, RequestPermissionRequest, SelectedPermissionOutcome,
    SessionNotification, SetSessionConfigOptionRequest, SetSessionModeRequest,
    TerminalOutputRequest, TerminalOutputResponse, WaitForTerminalExitRequest,
    WaitForTerminalExitResponse, WriteTextFileRequest, WriteTextFileResponse,
};
use agent_client_protocol::v1::{ConnectionTo, Responder};
use agent_client_protocol::{Agent, Client, Lines};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use viewport_protocol::options::{ContextItem, McpServer};
use viewport_protocol::update::{
    Attention, AttentionReason, PermissionOutcome, SystemStatus, TokenUsage,
};
use viewport_protocol::{PromptId, SessionUpdate};
use viewport_supervisor::{Link, Output};

use self::collector::MessageCollector;
use self::config::{ConfigAction, ConfigRequest, ConfigState};
use self::map::{Mapped, map_update, permission_option, stop_reason, tool_call_update};
use self::raw::{Intercepted, RawId};
use self::transport::{Ended, Outgoing, OutputLines, REQUEST_NOTE};
use crate::AgentError;
use crate::event::{AgentExit, DriverEvent, PermissionAsk, Sourced, TurnFailure};
use crate::spawn::SpawnSpec;

/// How a session's conversation starts.
#[derive(Debug, Clone)]
pub struct SessionSetup {
    pub mcp_servers: Vec<McpServer>,
    /// Extra instructions and how this agent takes them.
    pub instructions: Option<Instructions>,
    /// Continue this conversation of the agent (`session/load`) instead of
    /// starting a new one.
    pub resume: Option<String>,
    /// Settings to switch to once the session is up.
    pub config: ConfigRequest,
    /// Offer the agent our file methods.
    pub client_fs: bool,
}

#[derive(Debug, Clone)]
pub struct Instructions {
    pub text: String,
    pub via: crate::profile::InstructionsVia,
    /// Replace the agent's system prompt instead of appending to it.
    pub replace: bool,
}

/// How long an agent may take to answer `initialize` (a cold npx start
/// included) before the session fails.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a closed agent may take to exit before it is killed.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long, after the agent exits, its last output may take to be read.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(5);

/// Events from one agent, in order, with backpressure: when the daemon is
/// slow to store them, the driver stops reading the agent's output.
pub type EventSender = mpsc::Sender<Sourced>;

/// The note that keeps what a daemon needs to adopt the agent.
const STATE_NOTE: &str = "acp";

enum Command {
    Prompt(Vec<acp::ContentBlock>),
    Cancel,
    SetConfig(ConfigRequest, oneshot::Sender<Result<(), String>>),
    Close,
}

/// How the conversation begins on this connection.
enum Opening {
    New(SessionSetup),
    /// A daemon before us opened it; the agent runs on.
    Adopted(acp::SessionId),
}

/// What a daemon keeps with the supervisor to take the agent over.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdoptionState {
    session_id: String,
    auth_methods: Vec<String>,
    config: ConfigState,
}

/// A running ACP agent. Dropping it kills the agent.
pub struct AcpSession {
    commands: mpsc::UnboundedSender<Command>,
    kill: CancellationToken,
    shared: Arc<Shared>,
}

impl Drop for AcpSession {
    fn drop(&mut self) {
        self.kill.cancel();
    }
}

impl AcpSession {
    /// Start the agent under a supervisor of its own (in `session_dir`) and
    /// begin the handshake. Prompts sent before the handshake completes wait
    /// for it. A failed handshake ends in [`DriverEvent::Exited`] with the error.
    pub async fn start(
        spec: &SpawnSpec,
        session_dir: &Path,
        setup: SessionSetup,
        events: EventSender,
    ) -> Result<Self, AgentError> {
        let (link, outputs) = crate::spawn::supervised(spec, session_dir, None).await?;
        let loading = setup.resume.is_some();
        let shared = Shared::new(spec, &link, events, 0, BTreeMap::new());
        shared.loading.store(loading, Ordering::SeqCst);
        Ok(Self::drive(
            spec,
            link,
            outputs,
            shared,
            Opening::New(setup),
        ))
    }

    /// Take over the agent a daemon before us started in `session_dir`,
    /// reading its output from `resume_from` (how far the log has it).
    /// `open_message` is the text of a message the log has only the first
    /// chunks of: the complete message stored at its end includes it.
    pub async fn adopt(
        spec: &SpawnSpec,
        session_dir: &Path,
        resume_from: u64,
        open_message: Option<String>,
        events: EventSender,
    ) -> Result<Self, AgentError> {
        let adoption = |message: String| AgentError::Adoption(message);
        let (link, outputs) = Link::connect(session_dir, resume_from)
            .await
            .map_err(|e| adoption(e.to_string()))?;
        let mut notes = link.hello().notes.clone();
        let state = notes
            .remove(STATE_NOTE)
            .ok_or_else(|| adoption("the agent had not finished starting".to_owned()))?;
        let state: AdoptionState = serde_json::from_str(&state)
            .map_err(|e| adoption(format!("its kept state is unreadable: {e}")))?;
        let catch_up_at = link.hello().spool_end.max(resume_from);
        let shared = Shared::new(spec, &link, events, resume_from, notes);
        *shared.config() = state.config;
        if let (Some(text), Ok(mut collector)) = (open_message, shared.collector.lock()) {
            *collector = MessageCollector::streaming(text);
        }
        if let Ok(mut methods) = shared.auth_methods.lock() {
            *methods = state.auth_methods;
        }
        shared.catch_up_at.store(catch_up_at, Ordering::SeqCst);
        let session_id = acp::SessionId::new(state.session_id);
        *shared.lock_session_id() = Some(session_id.clone());
        Ok(Self::drive(
            spec,
            link,
            outputs,
            shared,
            Opening::Adopted(session_id),
        ))
    }

    fn drive(
        spec: &SpawnSpec,
        link: Link,
        outputs: mpsc::Receiver<Output>,
        shared: Arc<Shared>,
        opening: Opening,
    ) -> Self {
        let (ended_tx, ended) = oneshot::channel();
        let (stderr, stderr_copied) = match crate::spawn::log_stderr(spec) {
            Some((pipe, copier)) => (Some(pipe), Some(copier)),
            None => (None, None),
        };
        let from = shared.consumed.load(Ordering::SeqCst);
        let lines = OutputLines::new(outputs, from, stderr, ended_tx);
        let (commands, command_rx) = mpsc::unbounded_channel();
        let kill = CancellationToken::new();
        let connection = tokio::spawn(run_connection(
            lines,
            spec.cwd.clone(),
            opening,
            shared.clone(),
            command_rx,
        ));
        tokio::spawn(supervise(
            link,
            ended,
            stderr_copied,
            connection,
            kill.clone(),
            shared.events.clone(),
        ));
        Self {
            commands,
            kill,
            shared,
        }
    }

    /// Send a prompt, with any context items; the agent runs it as one turn.
    pub fn prompt(&self, text: String, context: &[ContextItem]) {
        let mut blocks: Vec<acp::ContentBlock> = vec![text.into()];
        blocks.extend(context.iter().map(map::context_block));
        let _ = self.commands.send(Command::Prompt(blocks));
    }

    /// Switch mode, model or thought level; answers once the agent has.
    pub fn set_config(
        &self,
        request: ConfigRequest,
    ) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.send(Command::SetConfig(request, reply));
        async move {
            sent.map_err(|_| "the agent is gone".to_owned())?;
            answer.await.map_err(|_| "the agent is gone".to_owned())?
        }
    }

    /// End the conversation: the agent's stdin is closed and it is killed if
    /// it has not exited within a few seconds.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
        let kill = self.kill.clone();
        tokio::spawn(async move {
            tokio::time::sleep(CLOSE_GRACE).await;
            kill.cancel();
        });
    }

    /// Ask the agent to stop its current turn.
    pub fn cancel(&self) {
        let _ = self.commands.send(Command::Cancel);
    }

    /// Kill the agent process.
    pub fn kill(&self) {
        self.kill.cancel();
    }

    /// The agent's supervisor: what the daemon tells it of stored output.
    pub fn link(&self) -> Link {
        self.shared.outgoing.link().clone()
    }

    /// The agent's exit is stored: its supervisor may go.
    pub fn release(&self) {
        self.shared.outgoing.link().release();
    }

    /// Every prompt the log has open was reattached: what an earlier daemon
    /// left unanswered and nobody claims is answered once the output it had
    /// not stored was read again.
    pub fn reattached(&self) {
        self.shared.reattached.store(true, Ordering::SeqCst);
        let consumed = self.shared.consumed.load(Ordering::SeqCst);
        self.shared.settle_leftovers_if_caught_up(consumed);
    }

    /// The answer channel of a permission prompt an earlier daemon stored
    /// and the agent still waits on, if the agent's request is known.
    pub fn reattach_permission(
        &self,
        prompt_id: &PromptId,
    ) -> Option<oneshot::Sender<PermissionOutcome>> {
        let id = self.shared.claim_permission(prompt_id)?;
        let (reply, answer) = oneshot::channel();
        tokio::spawn(answer_permission(self.shared.outgoing.clone(), id, answer));
        Some(reply)
    }
}

/// How long an exited agent's stderr may take to reach its log.
const STDERR_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

async fn supervise(
    link: Link,
    mut ended: oneshot::Receiver<Ended>,
    stderr_copied: Option<JoinHandle<()>>,
    mut connection: JoinHandle<Result<(), String>>,
    kill: CancellationToken,
    events: EventSender,
) {
    let kill_signal = nix::sys::signal::Signal::SIGKILL as i32;
    let mut failed: Option<Option<String>> = None;
    let end = tokio::select! {
        end = &mut ended => end,
        () = kill.cancelled() => {
            link.signal(kill_signal);
            (&mut ended).await
        }
        // The connection is over (a failed handshake, a close): the agent
        // has its stdin closed and a moment to exit, then it is killed, so
        // a session never waits on an agent that will not go.
        joined = &mut connection => {
            failed = Some(match joined {
                Ok(result) => result.err(),
                Err(join) => Some(format!("driver task failed: {join}")),
            });
            link.close_input();
            match tokio::time::timeout(CLOSE_GRACE, &mut ended).await {
                Ok(end) => end,
                Err(_) => {
                    link.signal(kill_signal);
                    (&mut ended).await
                }
            }
        }
    };
    let error = match failed {
        Some(error) => error,
        None => {
            let abort = connection.abort_handle();
            match tokio::time::timeout(DRAIN_AFTER_EXIT, connection).await {
                Ok(Ok(result)) => result.err(),
                Ok(Err(join)) => Some(format!("driver task failed: {join}")),
                Err(_) => {
                    abort.abort();
                    None
                }
            }
        }
    };
    // The exit is explained by the end of its stderr log: let the last lines
    // land first (a grandchild holding stderr open does not hold us up).
    if let Some(copied) = stderr_copied {
        let _ = tokio::time::timeout(STDERR_DRAIN, copied).await;
    }
    let exit = match end {
        Ok(Ended::Exited(exit)) => AgentExit {
            code: exit.code,
            signal: exit.signal,
            error,
        },
        Ok(Ended::Lost(why)) => {
            link.kill_orphaned_program();
            AgentExit {
                code: None,
                signal: None,
                error: Some(format!("{why}; its agent was stopped")),
            }
        }
        Err(_) => AgentExit {
            code: None,
            signal: None,
            error: Some("the agent's output stopped without an exit".to_owned()),
        },
    };
    // An exit covers no output: it marks nothing.
    let _ = events
        .send(Sourced {
            event: DriverEvent::Exited(exit),
            through: 0,
        })
        .await;
}

/// What the connection's handlers share.
struct Shared {
    events: EventSender,
    outgoing: Outgoing,
    collector: Mutex<MessageCollector>,
    config: Mutex<ConfigState>,
    /// While `session/load` replays a stored conversation, its updates are
    /// already in our log: they are dropped, not stored twice.
    loading: AtomicBool,
    files: fs::FileRoot,
    terminals: terminals::Terminals,
    terminal_env: Vec<(String, String)>,
    /// How the agent says one can log in, from `initialize`.
    auth_methods: Mutex<Vec<String>>,
    /// The agent's id for the conversation, once it gave one.
    session_id: Mutex<Option<acp::SessionId>>,
    /// The offset after the last line of output read.
    consumed: AtomicU64,
    /// Requests an earlier daemon left unanswered (notes by key), settled
    /// once the output it had not stored was read again (`catch_up_at`).
    leftovers: Mutex<Option<BTreeMap<String, String>>>,
    catch_up_at: AtomicU64,
    /// Whether the session has reattached the prompts it knows of.
    reattached: AtomicBool,
    prompts_sent: AtomicU64,
    /// Which daemon of this agent we are, for ids unique across daemons.
    attachment: u32,
}

impl Shared {
    fn new(
        spec: &SpawnSpec,
        link: &Link,
        events: EventSender,
        consumed: u64,
        leftovers: BTreeMap<String, String>,
    ) -> Arc<Self> {
        let leftovers = leftovers
            .into_iter()
            .filter(|(key, _)| key.starts_with(REQUEST_NOTE))
            .collect();
        Arc::new(Self {
            events,
            outgoing: Outgoing::new(link.clone()),
            collector: Mutex::default(),
            config: Mutex::default(),
            loading: AtomicBool::new(false),
            files: fs::FileRoot::new(&spec.cwd),
            terminals: terminals::Terminals::default(),
            terminal_env: spec.env.clone(),
            auth_methods: Mutex::default(),
            session_id: Mutex::default(),
            consumed: AtomicU64::new(consumed),
            leftovers: Mutex::new(Some(leftovers)),
            catch_up_at: AtomicU64::new(0),
            reattached: AtomicBool::new(false),
            prompts_sent: AtomicU64::new(0),
            attachment: link.hello().attachments,
        })
    }

    fn lock_session_id(&self) -> std::sync::MutexGuard<'_, Option<acp::SessionId>> {
        self.session_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_leftovers(&self) -> std::sync::MutexGuard<'_, Option<BTreeMap<String, String>>> {
        self.leftovers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep with the supervisor what a later daemon needs to take over.
    fn save_state(&self) {
        let Some(session_id) = self.lock_session_id().clone() else {
            return;
        };
        let state = AdoptionState {
            session_id: session_id.0.to_string(),
            auth_methods: self
                .auth_methods
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            config: self.config().clone(),
        };
        if let Ok(state) = serde_json::to_string(&state) {
            self.outgoing.link().note(STATE_NOTE, Some(state));
        }
    }

    /// An agent request read again after a restart is handled afresh: it
    /// is no longer left over.
    fn reread(&self, id: &str) {
        if let Some(leftovers) = self.lock_leftovers().as_mut() {
            leftovers.remove(&transport::request_note(id));
        }
    }

    /// The request id of the left-over permission request for `prompt_id`.
    fn claim_permission(&self, prompt_id: &PromptId) -> Option<RawId> {
        let mut guard = self.lock_leftovers();
        let leftovers = guard.as_mut()?;
        let key = leftovers.iter().find_map(|(key, value)| {
            let value: serde_json::Value = serde_json::from_str(value).ok()?;
            (value["promptId"].as_str() == Some(prompt_id.as_str())).then(|| key.clone())
        })?;
        leftovers.remove(&key);
        key.strip_prefix(REQUEST_NOTE).map(str::to_owned)
    }

    /// Once the output an earlier daemon had not stored was read again,
    /// answer what it left open and nobody claimed: the agent would
    /// otherwise wait forever.
    fn settle_leftovers_if_caught_up(&self, consumed: u64) {
        if consumed < self.catch_up_at.load(Ordering::SeqCst)
            || !self.reattached.load(Ordering::SeqCst)
        {
            return;
        }
        let Some(leftovers) = self.lock_leftovers().take() else {
            return;
        };
        for (key, value) in leftovers {
            let Some(id) = key.strip_prefix(REQUEST_NOTE) else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(&value).unwrap_or_default();
            let method = value["method"].as_str().unwrap_or("a request");
            let answer = if method == "session/request_permission" {
                raw::permission_answer(id, RequestPermissionOutcome::Cancelled)
            } else {
                raw::abandoned(id, method)
            };
            tracing::info!("answering {method} ({id}) that an earlier daemon left open");
            self.outgoing.write(answer);
        }
    }

    async fn emit(&self, event: DriverEvent) {
        let through = self.consumed.load(Ordering::SeqCst);
        let _ = self.events.send(Sourced { event, through }).await;
    }

    /// A failed request in words; a login request names the ways to log in.
    fn turn_failure(&self, error: &agent_client_protocol::Error) -> TurnFailure {
        if !is_auth_error(error) {
            return TurnFailure {
                message: error.to_string(),
                attention: AttentionReason::TurnFailed,
            };
        }
        let methods = self
            .auth_methods
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        let message = if methods.is_empty() {
            format!("the agent needs you to log in ({error})")
        } else {
            format!(
                "the agent needs you to log in; it offers: {}",
                methods.join("; ")
            )
        };
        TurnFailure {
            message,
            attention: AttentionReason::LoginRequired,
        }
    }

    fn config(&self) -> std::sync::MutexGuard<'_, ConfigState> {
        self.config.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn send(&self, update: SessionUpdate) {
        self.emit(DriverEvent::Update(update)).await;
    }
}

async fn run_connection(
    lines: OutputLines,
    cwd: PathBuf,
    opening: Opening,
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) -> Result<(), String> {
    let lines = Lines::new(
        transport::line_sink(shared.outgoing.clone()),
        line_stream(lines, shared.clone()),
    );
    // Every request of the agent is answered from a task of its own.
    macro_rules! spawned {
        ($request:ty, $response:ty, $handler:expr) => {{
            let shared = shared.clone();
            async move |request: $request,
                        responder: Responder<$response>,
                        cx: ConnectionTo<Agent>| {
                let shared = shared.clone();
                let cx2 = cx.clone();
                cx.spawn(async move { $handler(&shared, request, responder, &cx2).await })
            }
        }};
    }
    let on_update = shared.clone();
    let result = Client
        .v1()
        .name("vpd")
        .on_receive_notification(
            async move |notification: SessionNotification, _cx| {
                forward_update(&on_update, notification).await;
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .on_receive_request(
            spawned!(ReadTextFileRequest, ReadTextFileResponse, client::read_file),
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            spawned!(WriteTextFileRequest, WriteTextFileResponse, client::write_file),
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            spawned!(CreateTerminalRequest, CreateTerminalResponse, client::create_terminal),
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            spawned!(TerminalOutputRequest, TerminalOutputResponse, client::terminal_output),
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            spawned!(WaitForTerminalExitRequest, WaitForTerminalExitResponse, client::wait_for_exit),
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            spawned!(KillTerminalRequest, KillTerminalResponse, client::kill_terminal),
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            spawned!(ReleaseTerminalRequest, ReleaseTerminalResponse, client::release_terminal),
            agent_client_protocol::on_receive_request!(),
        )
        .connect_with(lines, async |cx: ConnectionTo<Agent>| {
            let (session_id, mut first_block) = match opening {
                Opening::New(setup) => {
                    let opened = open_session(&cx, &cwd, &setup, &shared).await?;
                    *shared.lock_session_id() = Some(opened.0.clone());
                    shared.save_state();
                    if !setup.config.is_empty() {
                        let (reply, _) = oneshot::channel();
                        apply_config(&cx, &opened.0, &shared, setup.config.clone(), reply).await;
                    }
                    opened
                }
                Opening::Adopted(session_id) => (session_id, None),
            };
            loop {
                tokio::select! {
                    command = commands.recv() => match command {
                        Some(Command::Prompt(mut blocks)) => {
                            if let Some(block) = first_block.take() {
                                blocks.insert(0, block);
                            }
                            // Written by us, not the SDK, so that whichever daemon
                            // reads the answer knows it ends the turn; prompts and
                            // cancels go out in command order.
                            let number = shared.prompts_sent.fetch_add(1, Ordering::SeqCst);
                            let id = format!("{}-{number}", shared.attachment);
                            let request = PromptRequest::new(session_id.clone(), blocks);
                            shared.outgoing.write(raw::prompt_request(&id, &request));
                        }
                        Some(Command::Cancel) => {
                            let cancel = CancelNotification::new(session_id.clone());
                            shared.outgoing.write(raw::cancel(&cancel));
                        }
                        Some(Command::SetConfig(request, reply)) => {
                            let (cx2, id, shared) = (cx.clone(), session_id.clone(), shared.clone());
                            cx.spawn(async move {
                                apply_config(&cx2, &id, &shared, request, reply).await;
                                Ok(())
                            })?;
                        }
                        Some(Command::Close) | None => break,
                    },
                    () = cx.incoming_closed() => break,
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string());
    shared.terminals.kill_all();
    result
}

/// `initialize`, then `session/new` (or `session/load` to resume). Returns
/// the agent's session id and, for agents that take instructions as a
/// prompt block, that block.
async fn open_session(
    cx: &ConnectionTo<Agent>,
    cwd: &std::path::Path,
    setup: &SessionSetup,
    shared: &Shared,
) -> Result<(acp::SessionId, Option<acp::ContentBlock>), agent_client_protocol::Error> {
    let capabilities = ClientCapabilities::new()
        .fs(FileSystemCapabilities::new()
            .read_text_file(setup.client_fs)
            .write_text_file(setup.client_fs))
        .terminal(true);
    let initialize = cx
        .send_request(
            InitializeRequest::new(ProtocolVersion::V1)
                .client_capabilities(capabilities)
                .client_info(acp::Implementation::new("vpd", env!("CARGO_PKG_VERSION"))),
        )
        .block_task();
    let init = tokio::time::timeout(HANDSHAKE_TIMEOUT, initialize)
        .await
        .map_err(|_| {
            agent_client_protocol::Error::new(
                agent_client_protocol::ErrorCode::INTERNAL_ERROR,
                format!(
                    "the agent did not answer `initialize` within {}s: is it an ACP agent?",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
            )
        })??;
    if let Ok(mut methods) = shared.auth_methods.lock() {
        *methods = init.auth_methods.iter().map(map::auth_method).collect();
    }
    let mcp_servers: Vec<acp::McpServer> = setup.mcp_servers.iter().map(map::mcp_server).collect();
    let (session_id, modes, options) = match &setup.resume {
        Some(agent_session) => {
            if !init.agent_capabilities.load_session {
                return Err(agent_client_protocol::Error::new(
                    -32601,
                    "this agent cannot resume a conversation: it does not offer session/load",
                ));
            }
            let id = acp::SessionId::new(agent_session.as_str());
            let loaded = cx
                .send_request(LoadSessionRequest::new(id.clone(), cwd).mcp_servers(mcp_servers))
                .block_task()
                .await;
            shared.loading.store(false, Ordering::SeqCst);
            let loaded = loaded?;
            (id, loaded.modes, loaded.config_options)
        }
        None => {
            let mut request = NewSessionRequest::new(cwd).mcp_servers(mcp_servers);
            if let Some(meta) = system_prompt_meta(setup.instructions.as_ref()) {
                request = request.meta(meta);
            }
            let created = match cx.send_request(request).block_task().await {
                Ok(created) => created,
                Err(e) => {
                    report_login(&e, shared).await;
                    return Err(e);
                }
            };
            (created.session_id, created.modes, created.config_options)
        }
    };
    *shared.config() = ConfigState::new(modes, options);
    let agent = init.agent_info.as_ref();
    shared
        .send(SessionUpdate::SystemStatus(SystemStatus::Agent {
            agent_session_id: session_id.0.to_string(),
            name: agent.map(|a| a.name.clone()),
            version: agent.map(|a| a.version.clone()),
            can_resume: init.agent_capabilities.load_session,
        }))
        .await;
    let view = shared.config().view();
    if !view.is_empty() {
        shared
            .send(SessionUpdate::SystemStatus(SystemStatus::Config {
                options: view,
            }))
            .await;
    }
    let first_block = match &setup.instructions {
        Some(i)
            if setup.resume.is_none()
                && i.via == crate::profile::InstructionsVia::FirstPromptBlock =>
        {
            Some(acp::ContentBlock::from(format!(
                "<instructions>\n{}\n</instructions>",
                i.text
            )))
        }
        _ => None,
    };
    Ok((session_id, first_block))
}

/// `_meta.systemPrompt` for adapters that read it (Claude's).
fn system_prompt_meta(instructions: Option<&Instructions>) -> Option<acp::Meta> {
    let instructions =
        instructions.filter(|i| i.via == crate::profile::InstructionsVia::SystemPromptMeta)?;
    let value = if instructions.replace {
        serde_json::Value::String(instructions.text.clone())
    } else {
        serde_json::json!({ "append": instructions.text })
    };
    let mut meta = acp::Meta::new();
    meta.insert("systemPrompt".to_owned(), value);
    Some(meta)
}

fn is_auth_error(error: &agent_client_protocol::Error) -> bool {
    error.code == agent_client_protocol::ErrorCode::AUTH_REQUIRED
        || error
            .message
            .to_lowercase()
            .contains("authentication required")
}

/// When the agent refuses to start a session because nobody is logged in,
/// say so, with the ways to log in it offers.
async fn report_login(error: &agent_client_protocol::Error, shared: &Shared) {
    if is_auth_error(error) {
        let failure = shared.turn_failure(error);
        shared
            .send(SessionUpdate::Attention(Attention {
                reason: failure.attention,
                message: failure.message,
            }))
            .await;
    }
}

async fn apply_config(
    cx: &ConnectionTo<Agent>,
    session_id: &acp::SessionId,
    shared: &Shared,
    request: ConfigRequest,
    reply: oneshot::Sender<Result<(), String>>,
) {
    let planned = shared.config().plan(&request);
    let result = match planned {
        Ok(actions) => run_config_actions(cx, session_id, shared, actions).await,
        Err(message) => Err(message),
    };
    if let Err(message) = &result {
        shared
            .send(SessionUpdate::SystemStatus(SystemStatus::Notice {
                message: format!("settings not changed: {message}"),
            }))
            .await;
    }
    let _ = reply.send(result);
}

async fn run_config_actions(
    cx: &ConnectionTo<Agent>,
    session_id: &acp::SessionId,
    shared: &Shared,
    actions: Vec<ConfigAction>,
) -> Result<(), String> {
    for action in actions {
        match action {
            ConfigAction::SetMode(mode) => {
                cx.send_request(SetSessionModeRequest::new(session_id.clone(), mode.clone()))
                    .block_task()
                    .await
                    .map_err(|e| format!("the agent refused mode `{mode}`: {e}"))?;
                shared.config().set_current_mode(&mode);
                shared.save_state();
                shared
                    .send(SessionUpdate::SystemStatus(SystemStatus::Mode {
                        mode_id: mode,
                    }))
                    .await;
            }
            ConfigAction::SetOption { id, value, boolean } => {
                let wire_value = if boolean {
                    acp::SessionConfigOptionValue::from(value == "true")
                } else {
                    acp::SessionConfigValueId::new(value.clone()).into()
                };
                let response = cx
                    .send_request(SetSessionConfigOptionRequest::new(
                        session_id.clone(),
                        id.clone(),
                        wire_value,
                    ))
                    .block_task()
                    .await
                    .map_err(|e| format!("the agent refused {id} `{value}`: {e}"))?;
                shared.config().set_options(response.config_options);
                shared.save_state();
            }
        }
        let options = shared.config().view();
        shared
            .send(SessionUpdate::SystemStatus(SystemStatus::Config {
                options,
            }))
            .await;
    }
    Ok(())
}

/// Lines from the agent. `session/update` notifications, nearly all the
/// traffic, are parsed and forwarded here, in order, without a trip through
/// the SDK's dispatch: that dispatch costs several times what the event log
/// does per update. Prompt answers and permission requests are ours too
/// ([`raw`]). Every other message goes to the SDK. Because forwarding
/// happens before the next line is read, each event carries the offset of
/// the line it came from, and updates stay ahead of what follows them.
fn line_stream(
    lines: OutputLines,
    shared: Arc<Shared>,
) -> impl futures_util::Stream<Item = std::io::Result<String>> + Send + 'static {
    futures_util::stream::unfold((lines, shared), async |(mut lines, shared)| {
        loop {
            let (line, end) = lines.next_line().await?;
            shared.consumed.store(end, Ordering::SeqCst);
            let for_sdk = handle_line(&shared, line).await;
            shared.settle_leftovers_if_caught_up(end);
            if let Some(line) = for_sdk {
                return Some((Ok(line), (lines, shared)));
            }
        }
    })
}

/// Handle a line ourselves, or give it back for the SDK.
async fn handle_line(shared: &Arc<Shared>, line: String) -> Option<String> {
    match fast_update(&line) {
        Some(FastUpdate::Known(notification)) => {
            forward_update(shared, notification).await;
            return None;
        }
        Some(FastUpdate::Unknown(update)) => {
            if !shared.loading.load(Ordering::SeqCst) {
                flush_message(shared).await;
                shared
                    .send(SessionUpdate::SystemStatus(map::unknown_status(update)))
                    .await;
            }
            return None;
        }
        None => {}
    }
    match raw::intercept(&line) {
        Intercepted::PromptAnswer(answer) => {
            finish_prompt(shared, answer).await;
            None
        }
        Intercepted::Permission(id, request) => {
            shared.reread(&id);
            ask_permission(shared, id, *request).await;
            None
        }
        Intercepted::Request(id, method) => {
            shared.reread(&id);
            let what = serde_json::json!({ "method": method });
            shared.outgoing.remember_request(&id, &what);
            shared.emit(DriverEvent::Consumed).await;
            Some(line)
        }
        Intercepted::Other => {
            shared.emit(DriverEvent::Consumed).await;
            Some(line)
        }
    }
}

/// What the fast path makes of a `session/update` line.
// Returned once per line and consumed at once: boxing the common variant
// would cost an allocation per update to save a move.
#[allow(clippy::large_enum_variant)]
enum FastUpdate {
    Known(SessionNotification),
    /// An update kind the ACP crate has no type for (a newer agent): kept whole.
    Unknown(serde_json::Value),
}

/// A `session/update` notification, if that is what `line` is.
fn fast_update(line: &str) -> Option<FastUpdate> {
    #[derive(serde::Deserialize)]
    struct Notification<P> {
        method: String,
        params: P,
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    if !line.contains("\"session/update\"") {
        return None;
    }
    if let Ok(parsed) = serde_json::from_str::<Notification<SessionNotification>>(line) {
        return (parsed.method == "session/update" && parsed.id.is_none())
            .then_some(FastUpdate::Known(parsed.params));
    }
    let parsed: Notification<serde_json::Value> = serde_json::from_str(line).ok()?;
    let update = parsed.params.get("update")?.clone();
    (parsed.method == "session/update" && parsed.id.is_none())
        .then_some(FastUpdate::Unknown(update))
}

async fn finish_prompt(
    shared: &Shared,
    answer: Result<PromptResponse, agent_client_protocol::Error>,
) {
    flush_message(shared).await;
    if let Ok(PromptResponse {
        usage: Some(usage), ..
    }) = &answer
    {
        shared
            .send(SessionUpdate::TokenUsage(TokenUsage {
                input_tokens: Some(usage.input_tokens),
                output_tokens: Some(usage.output_tokens),
                ..TokenUsage::default()
            }))
            .await;
    }
    let end = answer
        .map(|response| stop_reason(response.stop_reason))
        .map_err(|e| shared.turn_failure(&e));
    shared.emit(DriverEvent::TurnEnded(end)).await;
}

/// The agent asks permission: the request is kept (with the prompt id it
/// becomes) until answered, so a later daemon can still answer it.
async fn ask_permission(shared: &Shared, id: RawId, request: RequestPermissionRequest) {
    flush_message(shared).await;
    let prompt_id = PromptId::generate();
    let what = serde_json::json!({
        "method": "session/request_permission",
        "promptId": prompt_id.as_str(),
    });
    shared.outgoing.remember_request(&id, &what);
    let tool_call = tool_call_update(request.tool_call);
    let (reply, answer) = oneshot::channel();
    let ask = PermissionAsk {
        prompt_id,
        title: tool_call
            .title
            .clone()
            .unwrap_or_else(|| "Permission requested".to_owned()),
        tool_kind: tool_call.kind,
        tool_call_id: Some(tool_call.tool_call_id),
        options: request.options.into_iter().map(permission_option).collect(),
        reply,
    };
    shared.emit(DriverEvent::Permission(ask)).await;
    tokio::spawn(answer_permission(shared.outgoing.clone(), id, answer));
}

async fn answer_permission(
    outgoing: Outgoing,
    id: RawId,
    answer: oneshot::Receiver<PermissionOutcome>,
) {
    let outcome = match answer.await {
        Ok(PermissionOutcome::Selected { option_id }) => {
            RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(option_id))
        }
        Ok(PermissionOutcome::Cancelled) | Err(_) => RequestPermissionOutcome::Cancelled,
    };
    outgoing.write(raw::permission_answer(&id, outcome));
}

async fn forward_update(shared: &Shared, notification: SessionNotification) {
    if shared.loading.load(Ordering::SeqCst) {
        return;
    }
    match &notification.update {
        acp::SessionUpdate::CurrentModeUpdate(update) => {
            shared.config().set_current_mode(&update.current_mode_id.0);
            shared.save_state();
        }
        acp::SessionUpdate::ConfigOptionUpdate(update) => {
            shared.config().set_options(update.config_options.clone());
            shared.save_state();
        }
        _ => {}
    }
    match map_update(notification.update) {
        Mapped::MessageChunk(text) if text.is_empty() => {}
        Mapped::MessageChunk(text) => {
            let pending = shared
                .collector
                .lock()
                .map(|mut c| c.push(&text))
                .unwrap_or_default();
            for update in pending {
                shared.send(update).await;
            }
        }
        Mapped::Update(update) => {
            flush_message(shared).await;
            shared.send(update).await;
        }
        Mapped::Nothing => {}
    }
}

async fn flush_message(shared: &Shared) {
    let pending = shared
        .collector
        .lock()
        .map(|mut c| c.finish())
        .unwrap_or_default();
    for update in pending {
        shared.send(update).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_takes_updates_and_leaves_everything_else_to_the_sdk() {
        let chunk = r#"{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"hi"}}}}"#;
        assert!(matches!(fast_update(chunk), Some(FastUpdate::Known(_))));
        let future = r#"{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s","update":{"sessionUpdate":"hologram","depth":3}}}"#;
        let Some(FastUpdate::Unknown(update)) = fast_update(future) else {
            panic!("dropped")
        };
        assert_eq!(update["depth"], 3);
        let request = r#"{"jsonrpc":"2.0","id":7,"method":"session/request_permission","params":{"note":"session/update"}}"#;
        assert!(fast_update(request).is_none());
        let response = r#"{"jsonrpc":"2.0","id":3,"result":{"stopReason":"end_turn"}}"#;
        assert!(fast_update(response).is_none());
    }
}
