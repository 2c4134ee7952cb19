//! The Agent Client Protocol driver: starts an agent, does `initialize` and
//! `session/new`, sends prompts and cancels, maps every `session/update` to
//! viewport updates, turns `session/request_permission` into a
//! [`PermissionAsk`] and the agent's exit into [`DriverEvent::Exited`].

mod collector;
pub mod map;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    CancelNotification, InitializeRequest, NewSessionRequest, PromptRequest, PromptResponse,
    RequestPermissionOutcome, RequestPermissionRequest, RequestPermissionResponse,
    SelectedPermissionOutcome, SessionNotification,
};
use agent_client_protocol::v1::{ConnectionTo, Responder};
use agent_client_protocol::{Agent, Client, Lines};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use viewport_protocol::SessionUpdate;
use viewport_protocol::update::PermissionOutcome;

use self::collector::MessageCollector;
use self::map::{Mapped, map_update, permission_option, stop_reason, tool_call_update};
use crate::AgentError;
use crate::event::{AgentExit, DriverEvent, PermissionAsk};
use crate::spawn::{SpawnSpec, spawn_piped};

/// How long, after the agent exits, its last output may take to be read.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(5);

/// Events from one agent, in order, with backpressure: when the daemon is
/// slow to store them, the driver stops reading the agent's output.
pub type EventSender = mpsc::Sender<DriverEvent>;

enum Command {
    Prompt(String),
    Cancel,
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
    pub fn start(spec: &SpawnSpec, events: EventSender) -> Result<Self, AgentError> {
        let mut child = spawn_piped(spec)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(AgentError::ExitedEarly("stdio was not piped".to_owned()));
        };
        let (commands, command_rx) = mpsc::unbounded_channel();
        let kill = CancellationToken::new();
        let connection = tokio::spawn(run_connection(
            stdin,
            stdout,
            spec.cwd.clone(),
            events.clone(),
            command_rx,
        ));
        tokio::spawn(supervise(child, connection, kill.clone(), events));
        Ok(Self { commands, kill })
    }

    /// Send a prompt; the agent runs it as one turn.
    pub fn prompt(&self, text: String) {
        let _ = self.commands.send(Command::Prompt(text));
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

async fn supervise(
    mut child: Child,
    connection: JoinHandle<Result<(), String>>,
    kill: CancellationToken,
    events: EventSender,
) {
    let status = tokio::select! {
        status = child.wait() => status,
        () = kill.cancelled() => {
            let _ = child.start_kill();
            child.wait().await
        }
    };
    let abort = connection.abort_handle();
    let error = match tokio::time::timeout(DRAIN_AFTER_EXIT, connection).await {
        Ok(Ok(result)) => result.err(),
        Ok(Err(join)) => Some(format!("driver task failed: {join}")),
        Err(_) => {
            abort.abort();
            None
        }
    };
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

async fn run_connection(
    stdin: ChildStdin,
    stdout: ChildStdout,
    cwd: std::path::PathBuf,
    events: EventSender,
    mut commands: mpsc::UnboundedReceiver<Command>,
) -> Result<(), String> {
    let collector = Arc::new(Mutex::new(MessageCollector::default()));
    let transport = Lines::new(
        line_sink(stdin),
        line_stream(stdout, events.clone(), collector.clone()),
    );
    let (on_update, on_permission, on_turn) = (events.clone(), events.clone(), events);
    let (collector_u, collector_p, collector_t) = (collector.clone(), collector.clone(), collector);
    Client
        .v1()
        .name("vpd")
        .on_receive_notification(
            async move |notification: SessionNotification, _cx| {
                forward_update(&on_update, &collector_u, notification).await;
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .on_receive_request(
            async move |request: RequestPermissionRequest,
                        responder: Responder<RequestPermissionResponse>,
                        cx: ConnectionTo<Agent>| {
                flush_message(&on_permission, &collector_p).await;
                ask_permission(&on_permission, request, responder, &cx).await
            },
            agent_client_protocol::on_receive_request!(),
        )
        .connect_with(transport, async |cx: ConnectionTo<Agent>| {
            cx.send_request(InitializeRequest::new(ProtocolVersion::V1)).block_task().await?;
            let session = cx.send_request(NewSessionRequest::new(cwd)).block_task().await?;
            let session_id = session.session_id;
            loop {
                tokio::select! {
                    command = commands.recv() => match command {
                        Some(Command::Prompt(text)) => {
                            // Sent here, in command order, so a cancel that follows
                            // can never overtake it; only the wait is spawned.
                            let sent = cx.send_request(PromptRequest::new(session_id.clone(), vec![text.into()]));
                            cx.spawn(finish_prompt(sent, on_turn.clone(), collector_t.clone()))?;
                        }
                        Some(Command::Cancel) => cx.send_notification(CancelNotification::new(session_id.clone()))?,
                        None => break,
                    },
                    () = cx.incoming_closed() => break,
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())
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
    events: EventSender,
    collector: Arc<Mutex<MessageCollector>>,
) -> impl futures_util::Stream<Item = std::io::Result<String>> + Send + 'static {
    let lines = BufReader::with_capacity(READ_BUFFER, stdout).lines();
    futures_util::stream::unfold(
        (lines, events, collector),
        async |(mut lines, events, collector)| loop {
            match lines.next_line().await {
                Ok(Some(line)) => match fast_update(&line) {
                    Some(FastUpdate::Known(notification)) => {
                        forward_update(&events, &collector, notification).await;
                    }
                    Some(FastUpdate::Unknown(update)) => {
                        flush_message(&events, &collector).await;
                        let status = SessionUpdate::SystemStatus(map::unknown_status(update));
                        let _ = events.send(DriverEvent::Update(status)).await;
                    }
                    None => return Some((Ok(line), (lines, events, collector))),
                },
                Ok(None) => return None,
                Err(e) => return Some((Err(e), (lines, events, collector))),
            }
        },
    )
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
    events: EventSender,
    collector: Arc<Mutex<MessageCollector>>,
) -> Result<(), agent_client_protocol::Error> {
    let result = sent.block_task().await;
    flush_message(&events, &collector).await;
    if let Err(e) = &result
        && (agent_client_protocol::is_connection_terminated(e)
            || agent_client_protocol::is_incoming_transport_closed(e))
    {
        // The agent is gone; its exit, not a failed turn, tells the story.
        return Ok(());
    }
    let end = result
        .map(|response| stop_reason(response.stop_reason))
        .map_err(|e| e.to_string());
    let _ = events.send(DriverEvent::TurnEnded(end)).await;
    Ok(())
}

async fn forward_update(
    events: &EventSender,
    collector: &Mutex<MessageCollector>,
    notification: SessionNotification,
) {
    match map_update(notification.update) {
        Mapped::MessageChunk(text) => {
            let pending = collector
                .lock()
                .map(|mut c| c.push(&text))
                .unwrap_or_default();
            for update in pending {
                let _ = events.send(DriverEvent::Update(update)).await;
            }
        }
        Mapped::Update(update) => {
            flush_message(events, collector).await;
            let _ = events.send(DriverEvent::Update(update)).await;
        }
        Mapped::Nothing => {}
    }
}

async fn flush_message(events: &EventSender, collector: &Mutex<MessageCollector>) {
    let pending = collector.lock().map(|mut c| c.finish()).unwrap_or_default();
    for update in pending {
        let _ = events.send(DriverEvent::Update(update)).await;
    }
}

async fn ask_permission(
    events: &EventSender,
    request: RequestPermissionRequest,
    responder: Responder<RequestPermissionResponse>,
    cx: &ConnectionTo<Agent>,
) -> Result<(), agent_client_protocol::Error> {
    let tool_call = tool_call_update(request.tool_call);
    let (reply, answer) = oneshot::channel();
    let ask = PermissionAsk {
        title: tool_call
            .title
            .clone()
            .unwrap_or_else(|| "Permission requested".to_owned()),
        tool_call_id: Some(tool_call.tool_call_id),
        options: request.options.into_iter().map(permission_option).collect(),
        reply,
    };
    let _ = events.send(DriverEvent::Permission(ask)).await;
    // Waiting here would hold the dispatch loop; the answer comes later.
    cx.spawn(async move {
        let outcome = match answer.await {
            Ok(PermissionOutcome::Selected { option_id }) => {
                RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(option_id))
            }
            Ok(PermissionOutcome::Cancelled) | Err(_) => RequestPermissionOutcome::Cancelled,
        };
        responder.respond(RequestPermissionResponse::new(outcome))
    })
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
