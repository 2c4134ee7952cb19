//! The scripted demo agent. Its behaviour is chosen by the prompt text, and
//! tests and benchmarks rely on exactly these words:
//!
//! - any ordinary text: a realistic turn: thought chunks, a plan, message
//!   chunks, a tool call that asks permission to write `viewport-demo.txt` in
//!   the session's directory, the write (only if allowed), tool call updates,
//!   token usage and a final message;
//! - `burst N`: N agent message chunks as fast as it can, then the turn ends;
//! - `stream N RATE`: N chunks paced at RATE per second, each chunk's text the
//!   Unix time in microseconds when it was sent (for latency benchmarks);
//! - `ask`: one permission request, then a message naming the chosen option;
//! - `hang`: never answers the prompt, until cancelled;
//! - `crash`: exits at once with status 3;
//! - `term COMMAND…`: runs the command in a client terminal (`terminal/*`)
//!   and reports its exit status and output;
//! - `fs-read PATH` / `fs-write PATH TEXT…`: reads or writes a file through
//!   the client (`fs/*`) and reports what happened.
//!
//! Instructions sent as a first `<instructions>` block, and the URIs of
//! resources sent with a prompt, come back as thoughts; the prompt `mcp`
//! gets a thought naming the MCP servers `session/new` gave. The agent offers two modes (`default`, `plan`) and answers
//! `session/load` (it keeps no history, so it replays one line).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, CancelNotification, ContentBlock, ContentChunk, Cost, CreateTerminalRequest,
    CurrentModeUpdate, Diff, EmbeddedResourceResource, InitializeRequest, InitializeResponse,
    LoadSessionRequest, LoadSessionResponse, McpServer, NewSessionRequest, NewSessionResponse,
    PermissionOption, PermissionOptionKind, Plan, PlanEntry, PlanEntryPriority, PlanEntryStatus,
    PromptRequest, PromptResponse, ReadTextFileRequest, ReleaseTerminalRequest,
    RequestPermissionOutcome, RequestPermissionRequest, SessionId, SessionMode, SessionModeState,
    SessionNotification, SessionUpdate, SetSessionModeRequest, SetSessionModeResponse, StopReason,
    TerminalOutputRequest, ToolCall, ToolCallContent, ToolCallLocation, ToolCallStatus,
    ToolCallUpdate, ToolCallUpdateFields, ToolKind, UsageUpdate, WaitForTerminalExitRequest,
    WriteTextFileRequest,
};
use agent_client_protocol::v1::{ConnectionTo, Responder};
use agent_client_protocol::{Agent, ByteStreams, Client, Stdio};
use tokio::sync::watch;

/// The file the ordinary turn asks to write, in the session's directory.
pub const DEMO_FILE: &str = "viewport-demo.txt";

/// What a prompt asks the demo agent to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    Turn(String),
    Burst(u64),
    Stream {
        count: u64,
        per_second: u64,
    },
    Ask,
    Hang,
    Crash,
    Run(String),
    Read(String),
    Write(String, String),
    /// A tool call whose output is this many bytes.
    BigOutput(u64),
}

impl Script {
    pub fn parse(prompt: &str) -> Self {
        let words: Vec<&str> = prompt.split_whitespace().collect();
        let number = |i: usize| words.get(i).and_then(|w| w.parse::<u64>().ok());
        match words.as_slice() {
            ["burst", _] if number(1).is_some() => Self::Burst(number(1).unwrap_or(0)),
            ["stream", _, _] if number(1).is_some() && number(2).is_some_and(|r| r > 0) => {
                Self::Stream {
                    count: number(1).unwrap_or(0),
                    per_second: number(2).unwrap_or(1),
                }
            }
            ["big-output", _] if number(1).is_some() => Self::BigOutput(number(1).unwrap_or(0)),
            ["ask"] => Self::Ask,
            ["hang"] => Self::Hang,
            ["crash"] => Self::Crash,
            ["term", ..] if words.len() > 1 => Self::Run(words[1..].join(" ")),
            ["fs-read", path] => Self::Read((*path).to_owned()),
            ["fs-write", path, ..] if words.len() > 2 => {
                Self::Write((*path).to_owned(), words[2..].join(" "))
            }
            _ => Self::Turn(prompt.to_owned()),
        }
    }
}

/// Run the demo agent on this process's stdin and stdout until the client
/// closes the connection.
pub async fn run_stdio() -> anyhow::Result<()> {
    let state = Arc::new(DemoState::default());
    let on_new = state.clone();
    let on_load = state.clone();
    let on_prompt = state.clone();
    let on_cancel = state;
    Agent
        .v1()
        .name("viewport-demo")
        .on_receive_request(
            async move |init: InitializeRequest, responder: Responder<InitializeResponse>, _cx| {
                responder.respond(
                    InitializeResponse::new(init.protocol_version.min(ProtocolVersion::V1))
                        .agent_capabilities(AgentCapabilities::new().load_session(true)),
                )
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: NewSessionRequest,
                        responder: Responder<NewSessionResponse>,
                        _cx| {
                on_new.remember_mcp(&request.mcp_servers);
                let id = on_new.open(request.cwd);
                responder.respond(NewSessionResponse::new(id).modes(modes("default")))
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: LoadSessionRequest,
                        responder: Responder<LoadSessionResponse>,
                        cx: ConnectionTo<Client>| {
                let id = on_load.open(request.cwd);
                // What a real agent replays of the stored conversation.
                let replay = SessionUpdate::UserMessageChunk(ContentChunk::new(
                    "(replayed from the stored conversation)".into(),
                ));
                cx.send_notification(SessionNotification::new(id, replay))?;
                responder.respond(LoadSessionResponse::new().modes(modes("default")))
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: SetSessionModeRequest,
                        responder: Responder<SetSessionModeResponse>,
                        cx: ConnectionTo<Client>| {
                let update = SessionUpdate::CurrentModeUpdate(CurrentModeUpdate::new(
                    request.mode_id.clone(),
                ));
                cx.send_notification(SessionNotification::new(request.session_id, update))?;
                responder.respond(SetSessionModeResponse::new())
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |request: PromptRequest,
                        responder: Responder<PromptResponse>,
                        cx: ConnectionTo<Client>| {
                let turn = Turn {
                    cx: cx.clone(),
                    session_id: request.session_id.clone(),
                    cwd: on_prompt.cwd(),
                    cancelled: on_prompt.arm_cancel(),
                };
                let text = prompt_text(&request.prompt);
                if let Some(instructions) = instructions(&request.prompt) {
                    turn.thought(&format!("instructions: {instructions}"))?;
                }
                for uri in resources(&request.prompt) {
                    turn.thought(&format!("context: {uri}"))?;
                }
                if text.trim() == "mcp" {
                    turn.thought(&format!("mcp servers: {}", on_prompt.mcp().join(", ")))?;
                }
                // The turn runs outside the dispatch loop so cancel
                // notifications and permission answers can arrive meanwhile.
                cx.spawn(async move {
                    let stop = turn.run(Script::parse(&text)).await?;
                    responder.respond(PromptResponse::new(stop))
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_notification(
            async move |_cancel: CancelNotification, _cx| {
                on_cancel.cancel();
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .connect_to(stdio_transport()?)
        .await?;
    Ok(())
}

/// The process's stdin and stdout as an ACP transport. When they are pipes
/// (as under the daemon) they are driven by the async runtime directly; the
/// SDK's portable `Stdio` hands every line to a blocking thread, which caps a
/// `burst` at a fraction of what the daemon can ingest.
fn stdio_transport() -> std::io::Result<StdioTransport> {
    use std::os::fd::AsFd;
    use tokio::net::unix::pipe;
    use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

    let stdin = std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let stdout = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    match (
        pipe::Receiver::from_file(stdin),
        pipe::Sender::from_file(stdout),
    ) {
        (Ok(input), Ok(output)) => Ok(StdioTransport::Pipes(ByteStreams::new(
            output.compat_write(),
            input.compat(),
        ))),
        _ => Ok(StdioTransport::Portable(Stdio::new())),
    }
}

enum StdioTransport {
    Pipes(
        ByteStreams<
            tokio_util::compat::Compat<tokio::net::unix::pipe::Sender>,
            tokio_util::compat::Compat<tokio::net::unix::pipe::Receiver>,
        >,
    ),
    Portable(Stdio),
}

impl<R: agent_client_protocol::Role> agent_client_protocol::ConnectTo<R> for StdioTransport {
    async fn connect_to(
        self,
        client: impl agent_client_protocol::ConnectTo<R::Counterpart>,
    ) -> Result<(), agent_client_protocol::Error> {
        match self {
            Self::Pipes(pipes) => {
                agent_client_protocol::ConnectTo::<R>::connect_to(pipes, client).await
            }
            Self::Portable(stdio) => {
                agent_client_protocol::ConnectTo::<R>::connect_to(stdio, client).await
            }
        }
    }
}

#[derive(Default)]
struct DemoState {
    cwd: Mutex<Option<PathBuf>>,
    /// The MCP servers `session/new` named, described.
    mcp: Mutex<Vec<String>>,
    cancel: Mutex<Option<watch::Sender<bool>>>,
}

impl DemoState {
    fn open(&self, cwd: PathBuf) -> SessionId {
        if let Ok(mut slot) = self.cwd.lock() {
            *slot = Some(cwd);
        }
        SessionId::from("demo-session")
    }

    fn remember_mcp(&self, servers: &[McpServer]) {
        let described = servers
            .iter()
            .map(|server| match server {
                McpServer::Stdio(s) => format!("{} (stdio: {})", s.name, s.command.display()),
                McpServer::Http(s) => format!("{} (http: {})", s.name, s.url),
                McpServer::Sse(s) => format!("{} (sse: {})", s.name, s.url),
                _ => "unknown".to_owned(),
            })
            .collect();
        if let Ok(mut slot) = self.mcp.lock() {
            *slot = described;
        }
    }

    fn mcp(&self) -> Vec<String> {
        self.mcp.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn cwd(&self) -> PathBuf {
        self.cwd
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .unwrap_or_else(|| PathBuf::from("."))
    }

    fn arm_cancel(&self) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        if let Ok(mut slot) = self.cancel.lock() {
            *slot = Some(tx);
        }
        rx
    }

    fn cancel(&self) {
        if let Ok(slot) = self.cancel.lock()
            && let Some(tx) = slot.as_ref()
        {
            let _ = tx.send(true);
        }
    }
}

/// The prompt's own text: its last text block (a first block may carry
/// instructions).
fn prompt_text(blocks: &[ContentBlock]) -> String {
    blocks
        .iter()
        .rev()
        .find_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The resources a prompt carries, by URI.
fn resources(blocks: &[ContentBlock]) -> Vec<String> {
    blocks
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Resource(resource) => match &resource.resource {
                EmbeddedResourceResource::TextResourceContents(text) => Some(text.uri.clone()),
                EmbeddedResourceResource::BlobResourceContents(blob) => Some(blob.uri.clone()),
                _ => None,
            },
            ContentBlock::ResourceLink(link) => Some(link.uri.clone()),
            _ => None,
        })
        .collect()
}

/// Instructions sent as a first `<instructions>` block, if any.
fn instructions(blocks: &[ContentBlock]) -> Option<String> {
    match blocks.first() {
        Some(ContentBlock::Text(text)) if blocks.len() > 1 => text
            .text
            .strip_prefix("<instructions>")
            .map(|rest| rest.trim_end_matches("</instructions>").trim().to_owned()),
        _ => None,
    }
}

fn modes(current: &str) -> SessionModeState {
    SessionModeState::new(
        current.to_owned(),
        vec![
            SessionMode::new("default", "Default"),
            SessionMode::new("plan", "Plan"),
        ],
    )
}

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

struct Turn {
    cx: ConnectionTo<Client>,
    session_id: SessionId,
    cwd: PathBuf,
    cancelled: watch::Receiver<bool>,
}

type AcpResult<T> = Result<T, agent_client_protocol::Error>;

impl Turn {
    async fn run(mut self, script: Script) -> AcpResult<StopReason> {
        match script {
            Script::Crash => std::process::exit(3),
            Script::Hang => {
                let _ = self.cancelled.wait_for(|c| *c).await;
                Ok(StopReason::Cancelled)
            }
            Script::Burst(count) => {
                for i in 1..=count {
                    self.message(&format!("chunk {i} "))?;
                }
                Ok(StopReason::EndTurn)
            }
            Script::Stream { count, per_second } => self.stream(count, per_second).await,
            Script::Ask => {
                let choice = self.ask_permission("Demo permission request", None).await?;
                let said = match choice {
                    Some(option) => format!("you chose: {option}"),
                    None => "you chose: cancelled".to_owned(),
                };
                self.message(&said)?;
                Ok(StopReason::EndTurn)
            }
            Script::Turn(prompt) => self.realistic_turn(&prompt).await,
            Script::Run(command) => {
                let report = self.run_in_terminal(command).await?;
                self.message(&report)?;
                Ok(StopReason::EndTurn)
            }
            Script::Read(path) => {
                let request = ReadTextFileRequest::new(self.session_id.clone(), path);
                let said = match self.cx.send_request(request).block_task().await {
                    Ok(read) => format!("read: {}", read.content),
                    Err(e) => format!("read failed: {}", e.message),
                };
                self.message(&said)?;
                Ok(StopReason::EndTurn)
            }
            Script::BigOutput(bytes) => {
                let call_id = "demo-big";
                let call = ToolCall::new(call_id, "Print a big log")
                    .kind(ToolKind::Execute)
                    .status(ToolCallStatus::InProgress);
                self.update(SessionUpdate::ToolCall(call))?;
                let line = "0123456789 the demo agent's big output line\n";
                let text: String =
                    line.repeat(usize::try_from(bytes).unwrap_or(0) / line.len() + 1);
                let fields = ToolCallUpdateFields::new()
                    .status(ToolCallStatus::Completed)
                    .content(vec![ToolCallContent::from(text.as_str())]);
                self.update(SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(
                    call_id, fields,
                )))?;
                self.message("printed it")?;
                Ok(StopReason::EndTurn)
            }
            Script::Write(path, text) => {
                let request = WriteTextFileRequest::new(self.session_id.clone(), path, text);
                let said = match self.cx.send_request(request).block_task().await {
                    Ok(_) => "wrote it".to_owned(),
                    Err(e) => format!("write failed: {}", e.message),
                };
                self.message(&said)?;
                Ok(StopReason::EndTurn)
            }
        }
    }

    /// Create a terminal, wait for it, read its output, release it.
    async fn run_in_terminal(&self, command: String) -> AcpResult<String> {
        let created = self
            .cx
            .send_request(CreateTerminalRequest::new(self.session_id.clone(), command))
            .block_task()
            .await;
        let terminal = match created {
            Ok(created) => created.terminal_id,
            Err(e) => return Ok(format!("terminal failed: {}", e.message)),
        };
        let exit = self
            .cx
            .send_request(WaitForTerminalExitRequest::new(
                self.session_id.clone(),
                terminal.clone(),
            ))
            .block_task()
            .await?;
        let output = self
            .cx
            .send_request(TerminalOutputRequest::new(
                self.session_id.clone(),
                terminal.clone(),
            ))
            .block_task()
            .await?;
        self.cx
            .send_request(ReleaseTerminalRequest::new(
                self.session_id.clone(),
                terminal,
            ))
            .block_task()
            .await?;
        let code = exit
            .exit_status
            .exit_code
            .map_or("none".to_owned(), |c| c.to_string());
        Ok(format!("exit {code}: {}", output.output.trim_end()))
    }

    fn update(&self, update: SessionUpdate) -> AcpResult<()> {
        self.cx
            .send_notification(SessionNotification::new(self.session_id.clone(), update))
    }

    fn message(&self, text: &str) -> AcpResult<()> {
        self.update(SessionUpdate::AgentMessageChunk(ContentChunk::new(
            text.into(),
        )))
    }

    fn thought(&self, text: &str) -> AcpResult<()> {
        self.update(SessionUpdate::AgentThoughtChunk(ContentChunk::new(
            text.into(),
        )))
    }

    fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }

    async fn stream(&mut self, count: u64, per_second: u64) -> AcpResult<StopReason> {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second as f64));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for _ in 0..count {
            ticker.tick().await;
            if self.is_cancelled() {
                return Ok(StopReason::Cancelled);
            }
            self.message(&unix_micros().to_string())?;
        }
        Ok(StopReason::EndTurn)
    }

    /// Ask the client; `None` when the prompt was cancelled.
    async fn ask_permission(
        &self,
        title: &str,
        tool_call_id: Option<&str>,
    ) -> AcpResult<Option<String>> {
        let fields = ToolCallUpdateFields::new().title(title.to_owned());
        let tool_call =
            ToolCallUpdate::new(tool_call_id.unwrap_or("demo-permission").to_owned(), fields);
        let options = vec![
            PermissionOption::new("allow", "Allow", PermissionOptionKind::AllowOnce),
            PermissionOption::new(
                "allow-always",
                "Always allow",
                PermissionOptionKind::AllowAlways,
            ),
            PermissionOption::new("reject", "Reject", PermissionOptionKind::RejectOnce),
        ];
        let request = RequestPermissionRequest::new(self.session_id.clone(), tool_call, options);
        let response = self.cx.send_request(request).block_task().await?;
        Ok(match response.outcome {
            RequestPermissionOutcome::Selected(selected) => Some(selected.option_id.0.to_string()),
            _ => None,
        })
    }

    async fn realistic_turn(&mut self, prompt: &str) -> AcpResult<StopReason> {
        let pause = || tokio::time::sleep(Duration::from_millis(40));
        for piece in [
            "Reading the request. ",
            "I will answer, then write a note ",
            "to a file.",
        ] {
            self.thought(piece)?;
            pause().await;
        }
        self.plan(PlanEntryStatus::InProgress, PlanEntryStatus::Pending)?;
        for piece in [
            "This is the viewport demo agent. ",
            "You said: ",
            prompt,
            "\n",
        ] {
            self.message(piece)?;
            pause().await;
        }
        if self.is_cancelled() {
            return Ok(StopReason::Cancelled);
        }
        let outcome = self.write_demo_file(prompt).await?;
        self.update(SessionUpdate::UsageUpdate(
            UsageUpdate::new(1_200, 200_000).cost(Cost::new(0.0012, "USD")),
        ))?;
        let written = if matches!(outcome, WriteOutcome::Written(_)) {
            PlanEntryStatus::Completed
        } else {
            PlanEntryStatus::Pending
        };
        self.plan(PlanEntryStatus::Completed, written)?;
        let closing = match outcome {
            WriteOutcome::Written(path) => format!("Done: I wrote {}.", path.display()),
            WriteOutcome::Denied => "Understood: I did not write the file.".to_owned(),
            WriteOutcome::Cancelled => return Ok(StopReason::Cancelled),
            WriteOutcome::Failed(error) => format!("Writing the file failed: {error}"),
        };
        self.message(&closing)?;
        Ok(StopReason::EndTurn)
    }

    /// The turn's plan: answer the prompt, then write the demo file.
    fn plan(&self, answer: PlanEntryStatus, write: PlanEntryStatus) -> AcpResult<()> {
        let entries = vec![
            PlanEntry::new("Answer the prompt", PlanEntryPriority::High, answer),
            PlanEntry::new(
                format!("Write {DEMO_FILE}"),
                PlanEntryPriority::Medium,
                write,
            ),
        ];
        self.update(SessionUpdate::Plan(Plan::new(entries)))
    }

    async fn write_demo_file(&self, prompt: &str) -> AcpResult<WriteOutcome> {
        let path = self.cwd.join(DEMO_FILE);
        let content = format!("The viewport demo agent was asked:\n{prompt}\n");
        let call_id = "demo-write";
        let call = ToolCall::new(call_id, format!("Write {DEMO_FILE}"))
            .kind(ToolKind::Edit)
            .status(ToolCallStatus::Pending)
            .locations(vec![ToolCallLocation::new(path.clone())])
            .raw_input(serde_json::json!({ "path": path, "content": content }));
        self.update(SessionUpdate::ToolCall(call))?;
        let choice = self
            .ask_permission(&format!("Write {}", path.display()), Some(call_id))
            .await?;
        let status = |status| ToolCallUpdateFields::new().status(status);
        let outcome = match choice.as_deref() {
            Some("allow" | "allow-always") => {
                self.update(SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(
                    call_id,
                    status(ToolCallStatus::InProgress),
                )))?;
                write_file(&path, &content).await
            }
            Some(_) => WriteOutcome::Denied,
            None => WriteOutcome::Cancelled,
        };
        let fields =
            match &outcome {
                WriteOutcome::Written(_) => {
                    status(ToolCallStatus::Completed).content(vec![ToolCallContent::from(
                        Diff::new(path.clone(), content.clone()),
                    )])
                }
                WriteOutcome::Failed(error) => status(ToolCallStatus::Failed)
                    .content(vec![ToolCallContent::from(error.as_str())]),
                _ => status(ToolCallStatus::Failed)
                    .content(vec![ToolCallContent::from("Permission denied")]),
            };
        self.update(SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(
            call_id, fields,
        )))?;
        Ok(outcome)
    }
}

enum WriteOutcome {
    Written(PathBuf),
    Denied,
    Cancelled,
    Failed(String),
}

async fn write_file(path: &Path, content: &str) -> WriteOutcome {
    match tokio::fs::write(path, content).await {
        Ok(()) => WriteOutcome::Written(path.to_owned()),
        Err(error) => WriteOutcome::Failed(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_chosen_by_the_prompt_words() {
        assert_eq!(Script::parse("burst 5"), Script::Burst(5));
        assert_eq!(Script::parse(" ask "), Script::Ask);
        assert_eq!(Script::parse("hang"), Script::Hang);
        assert_eq!(Script::parse("crash"), Script::Crash);
        assert_eq!(
            Script::parse("stream 10 1000"),
            Script::Stream {
                count: 10,
                per_second: 1000
            }
        );
        assert_eq!(
            Script::parse("burst many"),
            Script::Turn("burst many".into())
        );
        assert_eq!(
            Script::parse("stream 10 0"),
            Script::Turn("stream 10 0".into())
        );
        assert_eq!(
            Script::parse("please ask nicely"),
            Script::Turn("please ask nicely".into())
        );
        // Ordinary prompts (the README's among them) stay ordinary turns.
        for prompt in ["write me a note", "run the tests", "read the docs"] {
            assert_eq!(Script::parse(prompt), Script::Turn(prompt.into()));
        }
        assert_eq!(Script::parse("term echo hi"), Script::Run("echo hi".into()));
        assert_eq!(
            Script::parse("fs-write /a b c"),
            Script::Write("/a".into(), "b c".into())
        );
    }
}
