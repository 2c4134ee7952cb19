//! One WebSocket connection: it reads frames, hands each to its handler, and
//! writes through a bounded outbox. It owns no session, prompt or buffer of a
//! session: when it goes away, nothing changes for any session.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use viewport_agents::acp::config::ConfigRequest;
use viewport_agents::pty::TermSize;
use viewport_protocol::checkpoints::ListCheckpointsResult;
use viewport_protocol::frames::{
    LaunchResult, ListDirectoriesResult, ListSessionsResult, LoginCodeResult, ReadOutputResult,
    ReadUpdatesResult, SearchResult, SessionManifestResult,
};
use viewport_protocol::jobs::ListJobsResult;
use viewport_protocol::limits::MAX_SUBSCRIPTIONS_PER_CONNECTION;
use viewport_protocol::options::ListAgentsResult;
use viewport_protocol::pairing::ListViewersResult;
use viewport_protocol::update::PermissionOutcome;
use viewport_protocol::workflows::{ListPlansResult, ListWorkflowRunsResult, RunWorkflowResult};
use viewport_protocol::{
    ClientFrame, ErrorCode, FrameError, RequestId, ServerFrame, SessionId, parse_client_frame,
};

use crate::follow::{Outbox, SessionFollower, follow_list};
use crate::frames::{Frame, frame};
use crate::hub::Hub;
use crate::manager::{Manager, NewTerminal, UpdatePage};
use crate::terminal::TerminalFollower;
use crate::web::{Credential, Gate};

/// Runs of frames queued for one viewport (a run is one live frame, or up
/// to `REPLAY_RUN` replayed ones). A follower that fills it waits, lags
/// behind the hub and goes back to the store; nobody else waits.
pub const OUTBOX_CAPACITY: usize = 128;
/// How often the daemon pings a viewport (proxies drop idle sockets at 30 s or more).
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// Frames written before one flush.
const WRITE_BATCH: usize = 1024;

/// What every connection shares.
pub struct AppContext {
    pub manager: Arc<Manager>,
    pub hub: Arc<Hub>,
    /// Logins and login codes.
    pub gate: Arc<Gate>,
    /// The relay, when the daemon serves through one (its pairing links).
    pub relay: Option<Arc<crate::relay::Relay>>,
    pub shutdown: CancellationToken,
}

struct Connection {
    ctx: Arc<AppContext>,
    /// Who connected: only the owner may mint login codes.
    credential: Credential,
    out: Outbox,
    /// Followers by session; `None` is the session list feed.
    followers: HashMap<Option<SessionId>, AbortHandle>,
    /// Terminal output streams by session.
    terminal_followers: HashMap<SessionId, AbortHandle>,
}

/// Serve one upgraded WebSocket until the peer leaves or the daemon stops.
pub async fn serve(socket: WebSocket, ctx: Arc<AppContext>, credential: Credential) {
    let (sink, stream) = socket.split();
    serve_messages(sink, stream, ctx, credential).await;
}

/// Serve one connection, whatever carries its messages (a WebSocket, or a
/// relay channel dressed as one).
pub async fn serve_messages<S, R, E>(
    sink: S,
    mut stream: R,
    ctx: Arc<AppContext>,
    credential: Credential,
) where
    S: Sink<Message> + Unpin + Send + 'static,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let (out, outbox) = Outbox::new(OUTBOX_CAPACITY);
    let writer = tokio::spawn(write_frames(sink, outbox));
    let shutdown = ctx.shutdown.clone();
    let mut revocations = ctx.gate.revocations();
    let viewer = match &credential {
        Credential::Viewer(id) => Some(id.clone()),
        Credential::Owner => None,
    };
    let mut connection = Connection {
        ctx,
        credential,
        out,
        followers: HashMap::new(),
        terminal_followers: HashMap::new(),
    };
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            () = shutdown.cancelled() => break,
            revoked = revocations.recv(), if viewer.is_some() => match revoked {
                Ok(id) if Some(&id) == viewer.as_ref() => {
                    tracing::info!("closing a connection of revoked viewer {id}");
                    break;
                }
                _ => continue,
            },
        };
        match message {
            Some(Ok(Message::Text(text))) => connection.on_text(text.as_str()).await,
            Some(Ok(Message::Binary(_))) => {
                connection
                    .send_error(FrameError::new(
                        ErrorCode::BadJson,
                        "binary frames are not supported; send JSON text",
                    ))
                    .await;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_))) | None => break,
            Some(Err(e)) => {
                tracing::debug!("connection closed: {e}");
                break;
            }
        }
    }
    let streams = connection.terminal_followers.values();
    for follower in connection.followers.values().chain(streams) {
        follower.abort();
    }
    drop(connection);
    let _ = writer.await;
}

async fn write_frames<S: Sink<Message> + Unpin>(
    mut sink: S,
    mut outbox: mpsc::Receiver<Vec<Frame>>,
) {
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.reset();
    loop {
        tokio::select! {
            next = outbox.recv() => {
                let Some(mut run) = next else { break };
                let mut written = 0;
                loop {
                    written += run.len();
                    for frame in run {
                        if sink.feed(Message::Text(frame)).await.is_err() {
                            return;
                        }
                    }
                    match outbox.try_recv() {
                        Ok(more) if written < WRITE_BATCH => run = more,
                        Ok(more) => {
                            if sink.flush().await.is_err() {
                                return;
                            }
                            written = 0;
                            run = more;
                        }
                        Err(_) => break,
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = sink.close().await;
}

impl Connection {
    async fn send(&self, server_frame: ServerFrame) {
        let _ = self.out.send(frame(&server_frame)).await;
    }

    async fn send_error(&self, error: FrameError) {
        self.send(error.into_frame()).await;
    }

    /// Answer a request: its result, or nothing when no `requestId` was given.
    async fn reply<T: serde::Serialize>(
        &self,
        request_id: Option<RequestId>,
        result: Result<T, FrameError>,
    ) {
        match (result, request_id) {
            (Ok(value), Some(request_id)) => {
                let result = serde_json::to_value(value).unwrap_or_default();
                self.send(ServerFrame::Response { request_id, result })
                    .await;
            }
            (Ok(_), None) => {}
            (Err(error), request_id) => self.send_error(error.for_request(request_id)).await,
        }
    }

    /// Answer a request that has nothing to return but success: `{}`.
    async fn done(&self, request_id: Option<RequestId>, result: Result<(), FrameError>) {
        self.reply(request_id, result.map(|()| serde_json::json!({})))
            .await;
    }

    /// Requests that hand out or take away access are the owner's alone.
    fn owner_only(&self, request: &str) -> Result<(), FrameError> {
        match self.credential {
            Credential::Owner => Ok(()),
            Credential::Viewer(_) => Err(FrameError::new(
                ErrorCode::Forbidden,
                format!(
                    "{request}: only the owner (the unix socket, or the token file's token) may ask"
                ),
            )),
        }
    }

    async fn on_text(&mut self, text: &str) {
        let frame = match parse_client_frame(text) {
            Ok(frame) => frame,
            Err(error) => return self.send_error(error).await,
        };
        let manager = self.ctx.manager.clone();
        match frame {
            ClientFrame::Subscribe {
                request_id,
                session_id,
                after_seq,
            } => {
                self.subscribe(request_id, session_id, after_seq.unwrap_or(0))
                    .await;
            }
            ClientFrame::Unsubscribe {
                request_id,
                session_id,
            } => {
                if let Some(follower) = self.followers.remove(&session_id) {
                    follower.abort();
                }
                self.done(request_id, Ok(())).await;
            }
            ClientFrame::Launch {
                request_id,
                directory_id,
                prompt,
                model,
                config_overrides,
            } => {
                let overrides = config_overrides.map(|o| *o).unwrap_or_default();
                let result = manager.launch(directory_id, prompt, model, overrides).await;
                self.reply(
                    Some(request_id),
                    result.map(|session_id| LaunchResult { session_id }),
                )
                .await;
            }
            ClientFrame::Prompt {
                request_id,
                session_id,
                text,
                context,
            } => {
                let result = manager.prompt(&session_id, text, context).await;
                self.done(request_id, result).await;
            }
            ClientFrame::Cancel {
                request_id,
                session_id,
            } => {
                self.done(request_id, manager.cancel(&session_id).await)
                    .await;
            }
            ClientFrame::RespondToPrompt {
                request_id,
                session_id,
                prompt_id,
                option_id,
                ..
            } => {
                let outcome = match option_id {
                    Some(option_id) => PermissionOutcome::Selected { option_id },
                    None => PermissionOutcome::Cancelled,
                };
                let result = manager.respond(&session_id, prompt_id, outcome).await;
                self.done(request_id, result).await;
            }
            ClientFrame::Kill {
                request_id,
                session_id,
            } => {
                self.done(request_id, manager.kill(&session_id).await).await;
            }
            ClientFrame::ListSessions {
                request_id,
                limit,
                after,
            } => {
                let result = match limit {
                    None => manager.sessions().await.map(|sessions| ListSessionsResult {
                        sessions,
                        next: None,
                    }),
                    Some(limit) => manager.sessions_page(limit, after).await,
                };
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::AddDirectory { request_id, path } => {
                self.reply(Some(request_id), manager.add_directory(&path).await)
                    .await;
            }
            ClientFrame::ListDirectories { request_id } => {
                let result = manager
                    .directories()
                    .await
                    .map(|directories| ListDirectoriesResult { directories });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::RemoveDirectory {
                request_id,
                directory_id,
            } => {
                let result = manager.remove_directory(&directory_id).await;
                self.done(Some(request_id), result).await;
            }
            ClientFrame::Reindex { request_id } => {
                self.reply(Some(request_id), manager.reindex().await).await;
            }
            ClientFrame::SetConfig {
                request_id,
                session_id,
                mode,
                model,
                thought_level,
            } => {
                let request = ConfigRequest {
                    mode,
                    model,
                    thought_level,
                };
                let result = manager.set_config(&session_id, request).await;
                self.done(request_id, result).await;
            }
            ClientFrame::Close {
                request_id,
                session_id,
            } => {
                let result = manager.close(&session_id).await;
                self.done(request_id, result).await;
            }
            ClientFrame::Destroy {
                request_id,
                session_id,
                force,
            } => {
                let result = manager.destroy(&session_id, force).await;
                self.done(request_id, result).await;
            }
            ClientFrame::Resume {
                request_id,
                session_id,
            } => {
                let result = manager.resume(&session_id).await;
                self.done(request_id, result).await;
            }
            ClientFrame::NewTerminal {
                request_id,
                directory_id,
                name,
                template,
                command,
                cols,
                rows,
                env,
                idle_after_secs,
            } => {
                let request = NewTerminal {
                    name,
                    template,
                    command,
                    cols,
                    rows,
                    env,
                    idle_after_secs,
                };
                let result = manager.new_terminal(directory_id, request).await;
                self.reply(
                    Some(request_id),
                    result.map(|session_id| LaunchResult { session_id }),
                )
                .await;
            }
            ClientFrame::Attach {
                request_id,
                session_id,
                offset,
                cols,
                rows,
            } => {
                self.attach(request_id, session_id, offset, cols.zip(rows))
                    .await
            }
            ClientFrame::Detach {
                request_id,
                session_id,
            } => {
                if let Some(follower) = self.terminal_followers.remove(&session_id) {
                    follower.abort();
                }
                self.done(request_id, Ok(())).await;
            }
            ClientFrame::TerminalInput {
                request_id,
                session_id,
                data,
            } => {
                let result = manager.terminal_input(&session_id, &data).await;
                self.done(request_id, result).await;
            }
            ClientFrame::Resize {
                request_id,
                session_id,
                cols,
                rows,
            } => {
                let result = manager.resize(&session_id, TermSize { cols, rows }).await;
                self.done(request_id, result).await;
            }
            ClientFrame::EnqueueJob {
                request_id,
                directory_id,
                command,
                name,
            } => {
                let result = manager.enqueue_job(directory_id, command, name).await;
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::ReadUpdates {
                request_id,
                session_id,
                before_seq,
                after_seq,
                limit,
            } => {
                let result = match UpdatePage::of(before_seq, after_seq) {
                    Ok(page) => manager.read_updates(&session_id, page, limit).await,
                    Err(e) => Err(e),
                }
                .map(|updates| ReadUpdatesResult { updates });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::CreateLoginCode { request_id } => {
                let result = self.owner_only("createLoginCode").map(|()| {
                    let code = self.ctx.gate.create_code();
                    LoginCodeResult {
                        relay_link: self.ctx.relay.as_ref().map(|relay| relay.link(&code.code)),
                        code: code.code,
                        expires_at: code.expires_at,
                    }
                });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::ListViewers { request_id } => {
                let result = self.owner_only("listViewers").map(|()| ListViewersResult {
                    viewers: self.ctx.gate.viewers(),
                });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::RevokeViewer {
                request_id,
                viewer_id,
            } => {
                let result = self.owner_only("revokeViewer").and_then(|()| {
                    match self.ctx.gate.revoke(&viewer_id) {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(FrameError::new(
                            ErrorCode::InvalidFrame,
                            format!(
                                "revokeViewer: no viewer {viewer_id} (`vpd pair ls` lists them)"
                            ),
                        )),
                        Err(error) => Err(FrameError::new(ErrorCode::Internal, error)),
                    }
                });
                self.done(Some(request_id), result).await;
            }
            ClientFrame::ListJobs { request_id } => {
                let result = manager.jobs().await.map(|jobs| ListJobsResult { jobs });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::RunWorkflow {
                request_id,
                directory_id,
                workflow,
                cwd,
            } => {
                let result = manager
                    .run_workflow(directory_id, &workflow, cwd)
                    .await
                    .map(|run| RunWorkflowResult { run });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::ListWorkflowRuns { request_id } => {
                let result = manager
                    .workflow_runs()
                    .await
                    .map(|runs| ListWorkflowRunsResult { runs });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::Search {
                request_id,
                query,
                session_id,
                directory_id,
                limit,
            } => {
                let result = manager
                    .search(query, session_id, directory_id, limit)
                    .await
                    .map(|hits| SearchResult { hits });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::SetTitle {
                request_id,
                session_id,
                title,
            } => {
                let result = manager.set_title(&session_id, title).await;
                self.done(Some(request_id), result).await;
            }
            ClientFrame::ReadOutput {
                request_id,
                session_id,
                name,
            } => {
                let result = manager
                    .read_output(&session_id, &name)
                    .await
                    .map(|text| ReadOutputResult { name, text });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::ListCheckpoints {
                request_id,
                session_id,
            } => {
                let result = manager
                    .checkpoints(&session_id)
                    .await
                    .map(|checkpoints| ListCheckpointsResult { checkpoints });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::Rewind {
                request_id,
                session_id,
                to_seq,
                dry_run,
            } => {
                let result = manager.rewind(&session_id, to_seq, dry_run).await;
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::Fork {
                request_id,
                session_id,
                at_seq,
            } => {
                let result = manager
                    .fork(&session_id, at_seq)
                    .await
                    .map(|session_id| LaunchResult { session_id });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::ImportSession {
                request_id,
                directory_id,
                path,
            } => {
                let result = manager
                    .import(directory_id, std::path::Path::new(&path))
                    .await
                    .map(|session_id| LaunchResult { session_id });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::ListPlans { request_id } => {
                let result = manager
                    .readers()
                    .read(|r| r.latest_plans())
                    .await
                    .map(|plans| ListPlansResult { plans })
                    .map_err(|e| {
                        FrameError::new(ErrorCode::Internal, format!("reading plans: {e}"))
                    });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::SessionManifest {
                request_id,
                session_id,
            } => {
                let result = manager
                    .session_manifest(&session_id)
                    .await
                    .map(|manifest| SessionManifestResult { manifest });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::ResolveConfig {
                request_id,
                directory_id,
            } => {
                let result = manager.resolve_config(&directory_id).await.map(|manifest| {
                    SessionManifestResult {
                        manifest: Some(manifest),
                    }
                });
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::HookEvent {
                request_id,
                agent,
                event,
                agent_pid,
            } => {
                let result = manager
                    .hook_event(&agent, event, agent_pid, &self.ctx.hub)
                    .await;
                self.reply(Some(request_id), result).await;
            }
            ClientFrame::ListAgents { request_id } => {
                let agents = manager.agents();
                self.reply(Some(request_id), Ok(ListAgentsResult { agents }))
                    .await;
            }
        }
    }

    /// Stream a terminal's output to this viewport (replacing an earlier
    /// attach to the same session); its size becomes the terminal's.
    async fn attach(
        &mut self,
        request_id: RequestId,
        session_id: SessionId,
        offset: Option<u64>,
        size: Option<(u16, u16)>,
    ) {
        let manager = self.ctx.manager.clone();
        let terminal = match manager.terminal(&session_id).await {
            Ok(terminal) => terminal,
            Err(error) => return self.send_error(error.for_request(Some(request_id))).await,
        };
        if let Some((cols, rows)) = size.filter(|(c, r)| *c > 0 && *r > 0) {
            let _ = terminal.resize(TermSize { cols, rows });
        }
        if let Some(previous) = self.terminal_followers.remove(&session_id) {
            previous.abort();
        }
        let follower = TerminalFollower {
            session_id: session_id.clone(),
            terminal,
            request_id,
            out: self.out.clone(),
        };
        let task = tokio::spawn(follower.run(offset));
        self.terminal_followers
            .insert(session_id, task.abort_handle());
    }

    async fn subscribe(
        &mut self,
        request_id: Option<RequestId>,
        session_id: Option<SessionId>,
        after_seq: u64,
    ) {
        self.followers.retain(|_, follower| !follower.is_finished());
        if let Some(previous) = self.followers.remove(&session_id) {
            previous.abort();
        }
        if self.followers.len() >= MAX_SUBSCRIPTIONS_PER_CONNECTION {
            let message = format!(
                "a connection may follow at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} sessions at once"
            );
            return self
                .send_error(
                    FrameError::new(ErrorCode::LimitReached, message).for_request(request_id),
                )
                .await;
        }
        let hub = self.ctx.hub.clone();
        let readers = self.ctx.manager.readers().clone();
        let out = self.out.clone();
        let task = match session_id.clone() {
            Some(session_id) => {
                let follower = SessionFollower {
                    hub,
                    readers,
                    session_id,
                    request_id,
                    out,
                };
                tokio::spawn(follower.run(after_seq))
            }
            None => tokio::spawn(follow_list(hub, readers, request_id, out)),
        };
        self.followers.insert(session_id, task.abort_handle());
    }
}
