//! A client of the vpd daemon: the CLI, the tests and the benchmarks all
//! speak to the daemon through this crate, so none of them has private
//! protocol code.
//!
//! One [`Client`] is one connection, over the unix socket (local, no token)
//! or TCP (token required; TLS with a pinned certificate in [`pinned`]).
//! Requests wait for the `response` with their
//! `requestId`; any other frame that arrives meanwhile is kept, in order,
//! for [`Client::next_frame`].

mod pinned;
mod relayed;
pub mod subscription;

pub use viewport_relay::Paired as RelayPairing;

use std::collections::VecDeque;
use std::path::Path;
use std::pin::Pin;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use viewport_protocol::checkpoints::{Checkpoint, ListCheckpointsResult, RewindResult};
use viewport_protocol::frames::{
    AttachResult, HookResult, LaunchResult, ListDirectoriesResult, ListSessionsResult,
    ListSubscribeResult, LoginCodeResult, ReadOutputResult, ReadUpdatesResult, ReindexResult,
    SearchHit, SearchResult, SessionManifestResult, SessionSubscribeResult, UpdateAt,
};
use viewport_protocol::jobs::{JobInfo, ListJobsResult};
use viewport_protocol::limits::MAX_TRANSPORT_MESSAGE_BYTES;
use viewport_protocol::options::{AgentInfo, ConfigOverrides, ContextItem, ListAgentsResult};
use viewport_protocol::pairing::{ListViewersResult, ViewerInfo};
use viewport_protocol::state::{DirectoryInfo, SessionSummary};
use viewport_protocol::workflows::{
    ListPlansResult, ListWorkflowRunsResult, RunWorkflowResult, SessionPlan, WorkflowRun,
};
use viewport_protocol::{
    ClientFrame, DirectoryId, ErrorCode, PromptId, RequestId, ServerFrame, SessionId,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the daemon at {place}: {reason}")]
    Connect { place: String, reason: String },
    #[error(transparent)]
    Relay(#[from] viewport_relay::RelayError),
    #[error("the connection to the daemon failed: {0}")]
    Transport(#[from] tungstenite::Error),
    #[error("{message} ({code})", code = code.as_str())]
    Server { code: ErrorCode, message: String },
    #[error("the daemon sent a frame this client cannot read: {0}")]
    Protocol(String),
    #[error("the daemon closed the connection")]
    Closed,
}

impl ClientError {
    /// The daemon's error code, when the daemon refused a request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// An `afterSeq` beyond any seq a session can reach (seqs are stored as
/// SQLite integers).
const PAST_ANY_HEAD: u64 = i64::MAX as u64;

trait Transport:
    Stream<Item = Result<Message, tungstenite::Error>>
    + Sink<Message, Error = tungstenite::Error>
    + Send
    + Unpin
{
}

impl<T> Transport for T where
    T: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Send
        + Unpin
{
}

type Outgoing = Pin<Box<dyn Sink<Message, Error = tungstenite::Error> + Send>>;
type Incoming = Pin<Box<dyn Stream<Item = Result<Message, tungstenite::Error>> + Send>>;

pub struct Client {
    outgoing: Outgoing,
    incoming: Incoming,
    /// Frames that arrived while a request waited for its response.
    backlog: VecDeque<String>,
    /// A relay connection's keep-alive and goodbye, held for its `Drop`.
    _relay: Option<relayed::Relay>,
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_TRANSPORT_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_TRANSPORT_MESSAGE_BYTES))
}

impl Client {
    fn over(ws: impl Transport + 'static) -> Self {
        let (outgoing, incoming) = ws.split();
        Self {
            outgoing: Box::pin(outgoing),
            incoming: Box::pin(incoming),
            backlog: VecDeque::new(),
            _relay: None,
        }
    }

    /// Connect over the daemon's unix socket.
    pub async fn connect_unix(socket: &Path) -> Result<Self> {
        let place = socket.display().to_string();
        let fail = |reason: String| ClientError::Connect {
            place: place.clone(),
            reason,
        };
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let request = "ws://localhost/ws"
            .into_client_request()
            .map_err(|e| fail(e.to_string()))?;
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config()))
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self::over(ws))
    }

    /// Connect over TCP to `ws://ADDRESS/ws` with the daemon's token.
    pub async fn connect_tcp(address: &str, token: &str) -> Result<Self> {
        let url = format!("ws://{address}/ws");
        let fail = |reason: String| ClientError::Connect {
            place: url.clone(),
            reason,
        };
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| fail(e.to_string()))?;
        let bearer = format!("Bearer {token}")
            .parse()
            .map_err(|_| fail("the token is not a valid header value".into()))?;
        request.headers_mut().insert("authorization", bearer);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config()), true)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self::over(ws))
    }

    /// Connect over TLS to `wss://ADDRESS/ws`, trusting only the certificate
    /// with `fingerprint` (`SHA256:AB:CD:…`, as `vpd pair` prints it).
    pub async fn connect_tls(address: &str, token: &str, fingerprint: &str) -> Result<Self> {
        let url = format!("wss://{address}/ws");
        let fail = |reason: String| ClientError::Connect {
            place: url.clone(),
            reason,
        };
        let stream = pinned::connect(address, fingerprint).await.map_err(fail)?;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| fail(e.to_string()))?;
        let bearer = format!("Bearer {token}")
            .parse()
            .map_err(|_| fail("the token is not a valid header value".into()))?;
        request.headers_mut().insert("authorization", bearer);
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config()))
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self::over(ws))
    }

    /// Pair with the daemon at `address` (TLS, its certificate pinned):
    /// trade a one-time code from its `vpd pair` for a viewer token, kept
    /// by the caller and given to [`Client::connect_tls`].
    pub async fn pair_tls(
        address: &str,
        fingerprint: &str,
        code: &str,
        name: &str,
    ) -> Result<String> {
        let place = format!("https://{address}/api/pair");
        let fail = |reason: String| ClientError::Connect {
            place: place.clone(),
            reason,
        };
        let mut stream = pinned::connect(address, fingerprint).await.map_err(fail)?;
        let body = serde_json::json!({ "code": code, "name": name }).to_string();
        let request = format!(
            "POST /api/pair HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| fail(e.to_string()))?;
        let mut reply = Vec::new();
        // A peer that closes without a TLS close_notify still sent its reply.
        let _ = stream.read_to_end(&mut reply).await;
        let reply = String::from_utf8_lossy(&reply);
        let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
        if !head.starts_with("HTTP/1.1 200") {
            let status = head.lines().next().unwrap_or("no answer");
            return Err(fail(format!("{status}: {}", body.trim())));
        }
        let answer: serde_json::Value =
            serde_json::from_str(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        answer["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Protocol("the pairing answer has no token".into()))
    }

    /// Send a frame without waiting for anything.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<()> {
        let text =
            serde_json::to_string(frame).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.send_text(text).await
    }

    /// Send raw text, as a misbehaving client might.
    pub async fn send_text(&mut self, text: String) -> Result<()> {
        self.outgoing.send(Message::text(text)).await?;
        Ok(())
    }

    /// The next frame as raw text; `None` when the daemon closed the connection.
    pub async fn next_text(&mut self) -> Result<Option<String>> {
        if let Some(text) = self.backlog.pop_front() {
            return Ok(Some(text));
        }
        self.read_text().await
    }

    async fn read_text(&mut self) -> Result<Option<String>> {
        while let Some(message) = self.incoming.next().await {
            match message? {
                Message::Text(text) => return Ok(Some(into_string(text))),
                Message::Close(_) => return Ok(None),
                _ => {}
            }
        }
        Ok(None)
    }

    /// The next frame; `None` when the daemon closed the connection.
    pub async fn next_frame(&mut self) -> Result<Option<ServerFrame>> {
        match self.next_text().await? {
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| ClientError::Protocol(format!("{e}: {text}"))),
            None => Ok(None),
        }
    }

    /// Send a request and wait for its result.
    pub async fn request<T: DeserializeOwned>(&mut self, frame: ClientFrame) -> Result<T> {
        let Some(request_id) = frame.request_id().cloned() else {
            return Err(ClientError::Protocol("a request needs a requestId".into()));
        };
        self.send(&frame).await?;
        loop {
            let text = self.read_text().await?.ok_or(ClientError::Closed)?;
            match answer_to(&request_id, &text) {
                Some(Ok(result)) => {
                    return serde_json::from_value(result)
                        .map_err(|e| ClientError::Protocol(e.to_string()));
                }
                Some(Err(error)) => return Err(error),
                None => self.backlog.push_back(text),
            }
        }
    }

    /// Launch with a profile (default `demo`) and no other options.
    pub async fn launch(
        &mut self,
        directory_id: DirectoryId,
        prompt: &str,
        agent: Option<&str>,
    ) -> Result<SessionId> {
        let overrides = ConfigOverrides {
            agent: agent.map(str::to_owned),
            ..Default::default()
        };
        self.launch_with(directory_id, prompt, None, overrides)
            .await
    }

    /// Launch with every session option.
    pub async fn launch_with(
        &mut self,
        directory_id: DirectoryId,
        prompt: &str,
        model: Option<String>,
        overrides: ConfigOverrides,
    ) -> Result<SessionId> {
        let config_overrides =
            (overrides != ConfigOverrides::default()).then(|| Box::new(overrides));
        let frame = ClientFrame::Launch {
            request_id: RequestId::generate(),
            directory_id,
            prompt: prompt.to_owned(),
            model,
            config_overrides,
        };
        Ok(self.request::<LaunchResult>(frame).await?.session_id)
    }

    /// Follow a session from `after_seq`; its frames then come from `next_frame`.
    pub async fn subscribe(
        &mut self,
        session_id: &SessionId,
        after_seq: u64,
    ) -> Result<SessionSubscribeResult> {
        let frame = ClientFrame::Subscribe {
            request_id: Some(RequestId::generate()),
            session_id: Some(session_id.clone()),
            after_seq: Some(after_seq),
        };
        self.request(frame).await
    }

    /// A session's summary and open prompts, without a replay or a lasting
    /// subscription.
    pub async fn session_state(
        &mut self,
        session_id: &SessionId,
    ) -> Result<SessionSubscribeResult> {
        // Subscribing past any possible head returns the state and no updates.
        let state = self.subscribe(session_id, PAST_ANY_HEAD).await?;
        let frame = ClientFrame::Unsubscribe {
            request_id: Some(RequestId::generate()),
            session_id: Some(session_id.clone()),
        };
        self.request::<serde_json::Value>(frame).await?;
        Ok(state)
    }

    /// Follow the session list; changes then come from `next_frame`.
    pub async fn subscribe_list(&mut self) -> Result<Vec<SessionSummary>> {
        let frame = ClientFrame::Subscribe {
            request_id: Some(RequestId::generate()),
            session_id: None,
            after_seq: None,
        };
        Ok(self.request::<ListSubscribeResult>(frame).await?.sessions)
    }

    pub async fn prompt(&mut self, session_id: &SessionId, text: &str) -> Result<()> {
        self.prompt_with(session_id, text, Vec::new()).await
    }

    /// A prompt with files or other resources along with its text.
    pub async fn prompt_with(
        &mut self,
        session_id: &SessionId,
        text: &str,
        context: Vec<ContextItem>,
    ) -> Result<()> {
        let frame = ClientFrame::Prompt {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
            text: text.to_owned(),
            context,
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    /// Switch a session's mode, model or thought level.
    pub async fn set_config(
        &mut self,
        session_id: &SessionId,
        mode: Option<String>,
        model: Option<String>,
        thought_level: Option<String>,
    ) -> Result<()> {
        let frame = ClientFrame::SetConfig {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
            mode,
            model,
            thought_level,
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    pub async fn close(&mut self, session_id: &SessionId) -> Result<()> {
        let frame = ClientFrame::Close {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    /// Delete a session; a running one only with `force`.
    pub async fn destroy(&mut self, session_id: &SessionId, force: bool) -> Result<()> {
        let frame = ClientFrame::Destroy {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
            force,
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    pub async fn resume(&mut self, session_id: &SessionId) -> Result<()> {
        let frame = ClientFrame::Resume {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    /// Start a terminal session named `name` running `template` (or `command`).
    pub async fn new_terminal(
        &mut self,
        directory_id: DirectoryId,
        name: &str,
        template: Option<&str>,
        command: Option<&str>,
        size: Option<(u16, u16)>,
    ) -> Result<SessionId> {
        let frame = ClientFrame::NewTerminal {
            request_id: RequestId::generate(),
            directory_id,
            name: name.to_owned(),
            template: template.map(str::to_owned),
            command: command.map(str::to_owned),
            cols: size.map(|(cols, _)| cols),
            rows: size.map(|(_, rows)| rows),
            env: Default::default(),
            idle_after_secs: None,
        };
        Ok(self.request::<LaunchResult>(frame).await?.session_id)
    }

    /// Attach to a terminal: the screen (without `offset`) and the offset
    /// `terminal-output` frames continue from; they come from `next_frame`.
    pub async fn attach(
        &mut self,
        session_id: &SessionId,
        offset: Option<u64>,
        size: Option<(u16, u16)>,
    ) -> Result<AttachResult> {
        let frame = ClientFrame::Attach {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
            offset,
            cols: size.map(|(cols, _)| cols),
            rows: size.map(|(_, rows)| rows),
        };
        self.request(frame).await
    }

    /// Type into a terminal session.
    pub async fn terminal_input(&mut self, session_id: &SessionId, data: &str) -> Result<()> {
        let frame = ClientFrame::TerminalInput {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
            data: data.to_owned(),
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    pub async fn resize(&mut self, session_id: &SessionId, cols: u16, rows: u16) -> Result<()> {
        let frame = ClientFrame::Resize {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
            cols,
            rows,
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    /// Queue a one-off command.
    pub async fn enqueue_job(
        &mut self,
        directory_id: DirectoryId,
        command: &str,
        name: Option<&str>,
    ) -> Result<JobInfo> {
        self.request(ClientFrame::EnqueueJob {
            request_id: RequestId::generate(),
            directory_id,
            command: command.to_owned(),
            name: name.map(str::to_owned),
        })
        .await
    }

    pub async fn list_jobs(&mut self) -> Result<Vec<JobInfo>> {
        let frame = ClientFrame::ListJobs {
            request_id: RequestId::generate(),
        };
        Ok(self.request::<ListJobsResult>(frame).await?.jobs)
    }

    /// Start a run of a config workflow in a registered directory.
    pub async fn run_workflow(
        &mut self,
        directory_id: DirectoryId,
        workflow: &str,
        cwd: Option<String>,
    ) -> Result<WorkflowRun> {
        let frame = ClientFrame::RunWorkflow {
            request_id: RequestId::generate(),
            directory_id,
            workflow: workflow.to_owned(),
            cwd,
        };
        Ok(self.request::<RunWorkflowResult>(frame).await?.run)
    }

    /// A tool output a session kept as a file.
    pub async fn read_output(&mut self, session_id: &SessionId, name: &str) -> Result<String> {
        let frame = ClientFrame::ReadOutput {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
            name: name.to_owned(),
        };
        Ok(self.request::<ReadOutputResult>(frame).await?.text)
    }

    /// Up to `limit` stored updates just before `before_seq`, in order.
    pub async fn read_updates(
        &mut self,
        session_id: &SessionId,
        before_seq: u64,
        limit: Option<u32>,
    ) -> Result<Vec<UpdateAt>> {
        let frame = ClientFrame::ReadUpdates {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
            before_seq: Some(before_seq),
            after_seq: None,
            limit,
        };
        Ok(self.request::<ReadUpdatesResult>(frame).await?.updates)
    }

    /// Up to `limit` (default 500, at most 5000) stored updates just after
    /// `after_seq`, in order: persisted history paged forwards.
    pub async fn get_events(
        &mut self,
        session_id: &SessionId,
        after_seq: u64,
        limit: Option<u32>,
    ) -> Result<Vec<UpdateAt>> {
        let frame = ClientFrame::ReadUpdates {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
            before_seq: None,
            after_seq: Some(after_seq),
            limit,
        };
        Ok(self.request::<ReadUpdatesResult>(frame).await?.updates)
    }

    /// A one-time code that logs a browser in or pairs a viewport.
    pub async fn create_login_code(&mut self) -> Result<LoginCodeResult> {
        let frame = ClientFrame::CreateLoginCode {
            request_id: RequestId::generate(),
        };
        self.request(frame).await
    }

    /// Browser logins and paired viewports (owner only).
    pub async fn viewers(&mut self) -> Result<Vec<ViewerInfo>> {
        let frame = ClientFrame::ListViewers {
            request_id: RequestId::generate(),
        };
        Ok(self.request::<ListViewersResult>(frame).await?.viewers)
    }

    /// Revoke a login or pairing; its connections close at once.
    pub async fn revoke_viewer(&mut self, viewer_id: &str) -> Result<()> {
        let frame = ClientFrame::RevokeViewer {
            request_id: RequestId::generate(),
            viewer_id: viewer_id.to_owned(),
        };
        self.request::<serde_json::Value>(frame).await.map(|_| ())
    }

    /// A session's checkpoints, oldest first.
    pub async fn checkpoints(&mut self, session_id: &SessionId) -> Result<Vec<Checkpoint>> {
        let frame = ClientFrame::ListCheckpoints {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
        };
        Ok(self
            .request::<ListCheckpointsResult>(frame)
            .await?
            .checkpoints)
    }

    /// Rewind the working tree to the checkpoint at `to_seq` (or, with
    /// `dry_run`, say what that would change).
    pub async fn rewind(
        &mut self,
        session_id: &SessionId,
        to_seq: u64,
        dry_run: bool,
    ) -> Result<RewindResult> {
        let frame = ClientFrame::Rewind {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
            to_seq,
            dry_run,
        };
        self.request(frame).await
    }

    /// A new session with this one's history up to `at_seq` (default: all).
    pub async fn fork(&mut self, session_id: &SessionId, at_seq: Option<u64>) -> Result<SessionId> {
        let frame = ClientFrame::Fork {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
            at_seq,
        };
        Ok(self.request::<LaunchResult>(frame).await?.session_id)
    }

    /// Load an export (a path on the daemon's machine) into a new session.
    pub async fn import_session(
        &mut self,
        directory_id: DirectoryId,
        path: &str,
    ) -> Result<SessionId> {
        let frame = ClientFrame::ImportSession {
            request_id: RequestId::generate(),
            directory_id,
            path: path.to_owned(),
        };
        Ok(self.request::<LaunchResult>(frame).await?.session_id)
    }

    /// Give a session a title.
    pub async fn set_title(&mut self, session_id: &SessionId, title: &str) -> Result<()> {
        let frame = ClientFrame::SetTitle {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
            title: title.to_owned(),
        };
        self.request::<serde_json::Value>(frame).await.map(|_| ())
    }

    /// Full-text search; hits best first.
    pub async fn search(
        &mut self,
        query: &str,
        session_id: Option<SessionId>,
        directory_id: Option<DirectoryId>,
        limit: Option<u32>,
    ) -> Result<Vec<SearchHit>> {
        let frame = ClientFrame::Search {
            request_id: RequestId::generate(),
            query: query.to_owned(),
            session_id,
            directory_id,
            limit,
        };
        Ok(self.request::<SearchResult>(frame).await?.hits)
    }

    /// The latest plan of every session that has one, latest first.
    pub async fn list_plans(&mut self) -> Result<Vec<SessionPlan>> {
        let frame = ClientFrame::ListPlans {
            request_id: RequestId::generate(),
        };
        Ok(self.request::<ListPlansResult>(frame).await?.plans)
    }

    /// Every workflow run, newest first.
    pub async fn list_workflow_runs(&mut self) -> Result<Vec<WorkflowRun>> {
        let frame = ClientFrame::ListWorkflowRuns {
            request_id: RequestId::generate(),
        };
        Ok(self.request::<ListWorkflowRunsResult>(frame).await?.runs)
    }

    /// The config manifest a session started with, if it kept one.
    pub async fn session_manifest(
        &mut self,
        session_id: &SessionId,
    ) -> Result<Option<serde_json::Value>> {
        let frame = ClientFrame::SessionManifest {
            request_id: RequestId::generate(),
            session_id: session_id.clone(),
        };
        Ok(self.request::<SessionManifestResult>(frame).await?.manifest)
    }

    /// Hand an agent's hook event to the daemon.
    pub async fn hook_event(
        &mut self,
        agent: &str,
        event: serde_json::Value,
        agent_pid: Option<u32>,
    ) -> Result<HookResult> {
        self.request(ClientFrame::HookEvent {
            request_id: RequestId::generate(),
            agent: agent.to_owned(),
            event,
            agent_pid,
        })
        .await
    }

    pub async fn list_agents(&mut self) -> Result<Vec<AgentInfo>> {
        let frame = ClientFrame::ListAgents {
            request_id: RequestId::generate(),
        };
        Ok(self.request::<ListAgentsResult>(frame).await?.agents)
    }

    pub async fn cancel(&mut self, session_id: &SessionId) -> Result<()> {
        let frame = ClientFrame::Cancel {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    pub async fn kill(&mut self, session_id: &SessionId) -> Result<()> {
        let frame = ClientFrame::Kill {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    /// Answer a prompt with an option, or `None` to cancel it.
    pub async fn respond(
        &mut self,
        session_id: &SessionId,
        prompt_id: &PromptId,
        option_id: Option<&str>,
    ) -> Result<()> {
        let frame = ClientFrame::RespondToPrompt {
            request_id: Some(RequestId::generate()),
            session_id: session_id.clone(),
            prompt_id: prompt_id.clone(),
            option_id: option_id.map(str::to_owned),
            cancelled: option_id.is_none().then_some(true),
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    pub async fn list_sessions(&mut self) -> Result<Vec<SessionSummary>> {
        let frame = ClientFrame::ListSessions {
            request_id: RequestId::generate(),
            limit: None,
            after: None,
        };
        Ok(self.request::<ListSessionsResult>(frame).await?.sessions)
    }

    /// A page of sessions, newest first, after the session `after`.
    pub async fn list_sessions_page(
        &mut self,
        limit: u32,
        after: Option<SessionId>,
    ) -> Result<ListSessionsResult> {
        let frame = ClientFrame::ListSessions {
            request_id: RequestId::generate(),
            limit: Some(limit),
            after,
        };
        self.request(frame).await
    }

    pub async fn add_directory(&mut self, path: &str) -> Result<DirectoryInfo> {
        self.request(ClientFrame::AddDirectory {
            request_id: RequestId::generate(),
            path: path.to_owned(),
        })
        .await
    }

    pub async fn remove_directory(&mut self, directory_id: &DirectoryId) -> Result<()> {
        let frame = ClientFrame::RemoveDirectory {
            request_id: RequestId::generate(),
            directory_id: directory_id.clone(),
        };
        self.request::<serde_json::Value>(frame).await.map(drop)
    }

    pub async fn list_directories(&mut self) -> Result<Vec<DirectoryInfo>> {
        let frame = ClientFrame::ListDirectories {
            request_id: RequestId::generate(),
        };
        Ok(self
            .request::<ListDirectoriesResult>(frame)
            .await?
            .directories)
    }

    pub async fn reindex(&mut self) -> Result<ReindexResult> {
        self.request(ClientFrame::Reindex {
            request_id: RequestId::generate(),
        })
        .await
    }
}

/// The text of a message as a `String`, reusing its buffer when nothing else
/// shares it (the usual case) instead of copying it.
fn into_string(text: tungstenite::Utf8Bytes) -> String {
    let bytes = tungstenite::Bytes::from(text);
    // Utf8Bytes holds valid UTF-8 by construction, so this cannot fail.
    String::from_utf8(Vec::from(bytes)).unwrap_or_default()
}

/// If `text` answers `request_id`, its result or error.
fn answer_to(request_id: &RequestId, text: &str) -> Option<Result<serde_json::Value>> {
    // Cheap test first: most frames during a request are updates.
    if !text.contains(&request_id.0) {
        return None;
    }
    match serde_json::from_str::<ServerFrame>(text) {
        Ok(ServerFrame::Response {
            request_id: id,
            result,
        }) if &id == request_id => Some(Ok(result)),
        Ok(ServerFrame::Error {
            request_id: Some(id),
            code,
            message,
        }) if &id == request_id => Some(Err(ClientError::Server { code, message })),
        _ => None,
    }
}
