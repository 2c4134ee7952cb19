//! The Agent Client Protocol driver: starts an agent, does `initialize` and
//! `session/new`, sends prompts and cancels, maps every `session/update` to
//! viewport updates, turns `session/request_permission` into a
//! [`PermissionAsk`] and the agent's exit into [`DriverEvent::Exited`].

mod client;
mod collector;
pub mod config;
pub mod fs;
pub mod map;
pub mod terminals;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    self as acp, CancelNotification, ClientCapabilities, CreateTerminalRequest,
    CreateTerminalResponse, FileSystemCapabilities, InitializeRequest, KillTerminalRequest,
    KillTerminalResponse, LoadSessionRequest, NewSessionRequest, PromptRequest, PromptResponse,
    ReadTextFileRequest, ReadTextFileResponse, ReleaseTerminalRequest, ReleaseTerminalResponse,
    RequestPermissionRequest, RequestPermissionResponse, SessionNotification,
    SetSessionConfigOptionRequest, SetSessionModeRequest, TerminalOutputRequest,
    TerminalOutputResponse, WaitForTerminalExitRequest, WaitForTerminalExitResponse,
    WriteTextFileRequest, WriteTextFileResponse,
};
use agent_client_protocol::v1::{ConnectionTo, Responder};
use agent_client_protocol::{Agent, Client, Lines};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use viewport_protocol::SessionUpdate;
use viewport_protocol::options::{ContextItem, McpServer};
use viewport_protocol::update::{Attention, AttentionReason, SystemStatus, TokenUsage};

use self::collector::MessageCollector;
use self::config::{ConfigAction, ConfigRequest, ConfigState};
use self::map::{Mapped, map_update, stop_reason};
use crate::AgentError;
use crate::event::{AgentExit, DriverEvent, TurnFailure};
use crate::spawn::{SpawnSpec, spawn_piped};

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
pub type EventSender = mpsc::Sender<DriverEvent>;

enum Command {
    Prompt(Vec<acp::ContentBlock>),
    Cancel,
    SetConfig(ConfigRequest, oneshot::Sender<Result<(), String>>),
    Close,
}

/// A running ACP agent. Dropping it kills the agent.
pub struct AcpSession {
    commands: mpsc::UnboundedSender<Command>,
    kill: CancellationToken,
}

impl Drop for AcpSession {
    fn drop(&mut self) {
        self.kill.cancel();
    }
}

impl AcpSession {
    /// Spawn the agent and start the handshake. Prompts sent before the
    /// handshake completes wait for it. A failed handshake ends in
    /// [`DriverEvent::Exited`] with the error.
    pub fn start(
        spec: &SpawnSpec,
        setup: SessionSetup,
        events: EventSender,
    ) -> Result<Self, AgentError> {
        let (mut child, stderr_copied) = spawn_piped(spec)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(AgentError::ExitedEarly("stdio was not piped".to_owned()));
        };
        let (commands, command_rx) = mpsc::unbounded_channel();
        let kill = CancellationToken::new();
        let shared = Arc::new(Shared {
            events: events.clone(),
            collector: Mutex::default(),
            config: Mutex::default(),
            loading: AtomicBool::new(setup.resume.is_some()),
            files: fs::FileRoot::new(&spec.cwd),
            terminals: terminals::Terminals::default(),
            terminal_env: spec.env.clone(),
            auth_methods: Mutex::default(),
        });
        let connection = tokio::spawn(run_connection(
            Transport { stdin, stdout },
            spec.cwd.clone(),
            setup,
            shared,
            command_rx,
        ));
        tokio::spawn(supervise(
            child,
            stderr_copied,
            connection,
            kill.clone(),
            events,
        ));
        Ok(Self { commands, kill })
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
}

/// How long an exited agent's stderr may take to reach its log.
const STDERR_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

async fn supervise(
    mut child: Child,
    stderr_copied: Option<JoinHandle<()>>,
    mut connection: JoinHandle<Result<(), String>>,
    kill: CancellationToken,
    events: EventSender,
) {
    let mut ended: Option<Option<String>> = None;
    let status = tokio::select! {
        status = child.wait() => status,
        () = kill.cancelled() => {
            let _ = child.start_kill();
            child.wait().await
        }
        // The connection is over (a failed handshake, a close): the agent
        // has its stdin closed and a moment to exit, then it is killed, so
        // a session never waits on an agent that will not go.
        joined = &mut connection => {
            ended = Some(match joined {
                Ok(result) => result.err(),
                Err(join) => Some(format!("driver task failed: {join}")),
            });
            match tokio::time::timeout(CLOSE_GRACE, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            }
        }
    };
    let error = match ended {
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
    let exit = match status {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            AgentExit {
                code: status.code(),
                signal: status.signal(),
                error,
            }
        }
        Err(wait) => AgentExit {
            code: None,
            signal: None,
            error: Some(format!("waiting for the agent failed: {wait}")),
        },
    };
    let _ = events.send(DriverEvent::Exited(exit)).await;
}

/// What the connection's handlers share.
struct Shared {
    events: EventSender,
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
}

impl Shared {
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
        let _ = self.events.send(DriverEvent::Update(update)).await;
    }
}

struct Transport {
    stdin: ChildStdin,
    stdout: ChildStdout,
}

async fn run_connection(
    transport: Transport,
    cwd: PathBuf,
    setup: SessionSetup,
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) -> Result<(), String> {
    let lines = Lines::new(
        line_sink(transport.stdin),
        line_stream(transport.stdout, shared.clone()),
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
            spawned!(RequestPermissionRequest, RequestPermissionResponse, client::ask_permission),
            agent_client_protocol::on_receive_request!(),
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
            let (session_id, mut first_block) = open_session(&cx, &cwd, &setup, &shared).await?;
            if !setup.config.is_empty() {
                let (reply, _) = oneshot::channel();
                apply_config(&cx, &session_id, &shared, setup.config.clone(), reply).await;
            }
            loop {
                tokio::select! {
                    command = commands.recv() => match command {
                        Some(Command::Prompt(mut blocks)) => {
                            if let Some(block) = first_block.take() {
                                blocks.insert(0, block);
                            }
                            // Sent here, in command order, so a cancel that follows
                            // can never overtake it; only the wait is spawned.
                            let sent = cx.send_request(PromptRequest::new(session_id.clone(), blocks));
                            cx.spawn(finish_prompt(sent, shared.clone()))?;
                        }
                        Some(Command::Cancel) => cx.send_notification(CancelNotification::new(session_id.clone()))?,
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

/// Lines to the agent's stdin, one write and flush per message.
fn line_sink(
    stdin: ChildStdin,
) -> impl futures_util::Sink<String, Error = std::io::Error> + Send + 'static {
    futures_util::sink::unfold(stdin, async |mut stdin, mut line: String| {
        line.push('\n');
        stdin.write_all(line.as_bytes()).await?;
        stdin.flush().await?;
        Ok(stdin)
    })
}

/// Lines from the agent's stdout. `session/update` notifications, nearly all
/// the traffic, are parsed and forwarded here, in order, without a trip
/// through the SDK's dispatch: that dispatch costs several times what the
/// event log does per update. Every other message, and any update this fast
/// path cannot read, goes to the SDK. Because forwarding happens before the
/// next line is read, updates stay ahead of the responses that follow them.
fn line_stream(
    stdout: ChildStdout,
    shared: Arc<Shared>,
) -> impl futures_util::Stream<Item = std::io::Result<String>> + Send + 'static {
    let lines = BufReader::with_capacity(READ_BUFFER, stdout).lines();
    futures_util::stream::unfold((lines, shared), async |(mut lines, shared)| {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => match fast_update(&line) {
                    Some(FastUpdate::Known(notification)) => {
                        forward_update(&shared, notification).await;
                    }
                    Some(FastUpdate::Unknown(update)) => {
                        if !shared.loading.load(Ordering::SeqCst) {
                            flush_message(&shared).await;
                            shared
                                .send(SessionUpdate::SystemStatus(map::unknown_status(update)))
                                .await;
                        }
                    }
                    None => return Some((Ok(line), (lines, shared))),
                },
                Ok(None) => return None,
                Err(e) => return Some((Err(e), (lines, shared))),
            }
        }
    })
}

/// The bytes read from an agent at once.
const READ_BUFFER: usize = 64 * 1024;

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
    sent: agent_client_protocol::v1::SentRequest<PromptResponse>,
    shared: Arc<Shared>,
) -> Result<(), agent_client_protocol::Error> {
    let result = sent.block_task().await;
    flush_message(&shared).await;
    if let Err(e) = &result
        && (agent_client_protocol::is_connection_terminated(e)
            || agent_client_protocol::is_incoming_transport_closed(e))
    {
        // The agent is gone; its exit, not a failed turn, tells the story.
        return Ok(());
    }
    if let Ok(PromptResponse {
        usage: Some(usage), ..
    }) = &result
    {
        shared
            .send(SessionUpdate::TokenUsage(TokenUsage {
                input_tokens: Some(usage.input_tokens),
                output_tokens: Some(usage.output_tokens),
                ..TokenUsage::default()
            }))
            .await;
    }
    let end = result
        .map(|response| stop_reason(response.stop_reason))
        .map_err(|e| shared.turn_failure(&e));
    let _ = shared.events.send(DriverEvent::TurnEnded(end)).await;
    Ok(())
}

async fn forward_update(shared: &Shared, notification: SessionNotification) {
    if shared.loading.load(Ordering::SeqCst) {
        return;
    }
    match &notification.update {
        acp::SessionUpdate::CurrentModeUpdate(update) => {
            shared.config().set_current_mode(&update.current_mode_id.0);
        }
        acp::SessionUpdate::ConfigOptionUpdate(update) => {
            shared.config().set_options(update.config_options.clone());
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
