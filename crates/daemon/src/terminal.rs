//! Terminal sessions in the daemon: the task that owns one (its lifecycle:
//! active while output flows, idle after a quiet while, ended when the
//! program exits or is killed) and the follower that streams a terminal's
//! output to one attached viewport.
//!
//! Terminal bytes are not events: they live in `console.log`, addressed by
//! byte offset. The event log records the session's life (state changes,
//! what was sent to it, how it ended).

use std::time::Duration;

use base64::Engine;
use tokio::sync::{broadcast, mpsc};
use viewport_agents::pty::{OutputChunk, PtyExit, Terminal, read_log};
use viewport_protocol::frames::{AttachResult, TerminalSnapshot};
use viewport_protocol::update::MessageText;
use viewport_protocol::{
    EndReason, ErrorCode, FrameError, RequestId, ServerFrame, SessionId, SessionState,
    SessionUpdate,
};
use viewport_store::{EventBody, NewEvent};

use crate::follow::Outbox;
use crate::frames::frame;
use crate::ingest::Ingest;
use crate::session::{SessionCommand, state_change};

/// How often the task looks at whether output still flows.
const ACTIVITY_TICK: Duration = Duration::from_millis(250);

/// Bytes per `terminal-output` frame when catching up from the log.
const CATCH_UP_CHUNK: u64 = 64 * 1024;

/// The task that owns one terminal session.
pub struct TerminalTask {
    pub id: SessionId,
    pub ingest: Ingest,
    pub terminal: Terminal,
    pub idle_after: Duration,
}

impl TerminalTask {
    pub async fn run(self, mut commands: mpsc::UnboundedReceiver<SessionCommand>) {
        let mut state = SessionState::Active;
        let mut ending: Option<(EndReason, Option<String>)> = None;
        let mut kill_replies = Vec::new();
        let mut ticker = tokio::time::interval(ACTIVITY_TICK);
        let exit = loop {
            tokio::select! {
                exit = self.terminal.exited() => break exit,
                _ = ticker.tick() => {
                    let quiet = self.terminal.last_output().elapsed() >= self.idle_after;
                    let now = if quiet { SessionState::Idle } else { SessionState::Active };
                    if now != state {
                        state = now;
                        self.store(state_change(now, None, None)).await;
                    }
                }
                Some(command) = commands.recv() => match command {
                    SessionCommand::Kill { reason, detail, reply } => {
                        ending.get_or_insert((reason, detail));
                        kill_replies.push(reply);
                        self.terminal.kill();
                    }
                    SessionCommand::Detach { reply } => {
                        let mut away = state_change(state, None, Some("the daemon is restarting".to_owned()));
                        if let SessionUpdate::StateChange(change) = &mut away {
                            change.disconnected = true;
                        }
                        let stored = self.ingest.commit(vec![NewEvent {
                            session_id: self.id.clone(),
                            body: EventBody::Update(away),
                        }]).await;
                        let _ = reply.send(stored.map(|_| ()).map_err(|e| {
                            FrameError::new(ErrorCode::Internal, format!("storing the update failed: {e}"))
                        }));
                    }
                    SessionCommand::Close { reply } => {
                        ending.get_or_insert((EndReason::Completed, Some("closed by a viewport".to_owned())));
                        kill_replies.push(reply);
                        self.terminal.kill();
                    }
                    SessionCommand::Prompt { text, reply, .. } => {
                        // Typed with Enter, and recorded: what was sent is history.
                        let typed = self.terminal.write(format!("{text}\r").as_bytes());
                        let result = match typed {
                            Ok(()) => {
                                self.store(SessionUpdate::UserMessage(MessageText { text })).await;
                                Ok(())
                            }
                            Err(e) => Err(FrameError::new(ErrorCode::Internal, format!("typing into the terminal failed: {e}"))),
                        };
                        let _ = reply.send(result);
                    }
                    SessionCommand::Cancel { reply } => {
                        // What Ctrl-C does in a terminal.
                        let result = self.terminal.write(b"\x03").map_err(|e| {
                            FrameError::new(ErrorCode::Internal, format!("typing into the terminal failed: {e}"))
                        });
                        let _ = reply.send(result);
                    }
                    SessionCommand::Respond { reply, .. } | SessionCommand::SetConfig { reply, .. } => {
                        let _ = reply.send(Err(not_acp(&self.id)));
                    }
                    SessionCommand::PromptTimedOut { .. } => {}
                },
            }
        };
        let end = self.end_of(exit, ending);
        let stored = self
            .ingest
            .commit(vec![NewEvent {
                session_id: self.id.clone(),
                body: EventBody::Update(end),
            }])
            .await
            .map(|_| ())
            .map_err(|e| {
                FrameError::new(ErrorCode::Internal, format!("storing the end failed: {e}"))
            });
        if stored.is_ok() {
            self.terminal.release();
        }
        for reply in kill_replies {
            let _ = reply.send(stored.clone());
        }
        commands.close();
        while let Some(command) = commands.recv().await {
            crate::session::refuse_ended(&self.id, command);
        }
    }

    fn end_of(&self, exit: PtyExit, ending: Option<(EndReason, Option<String>)>) -> SessionUpdate {
        let described = match (&exit.code, &exit.signal, &exit.lost) {
            (Some(code), _, _) => format!("the program exited with status {code}"),
            (None, Some(signal), _) => format!("the program was killed by {signal}"),
            (None, None, Some(lost)) => format!("{lost}; its program was stopped"),
            (None, None, None) => "the program exited".to_owned(),
        };
        let (reason, detail) = match ending {
            Some((reason, detail)) => (reason, detail.or(Some(described))),
            None if exit.code == Some(0) => (EndReason::Completed, Some(described)),
            None => (EndReason::Failed, Some(described)),
        };
        let mut end = state_change(SessionState::Ended, Some(reason), detail);
        if let SessionUpdate::StateChange(change) = &mut end {
            change.exit_code = exit.code;
        }
        end
    }

    async fn store(&self, update: SessionUpdate) {
        let event = NewEvent {
            session_id: self.id.clone(),
            body: EventBody::Update(update),
        };
        if let Err(e) = self.ingest.send(vec![event]).await {
            tracing::error!(session = %self.id, "cannot store a terminal update: {e}");
        }
    }
}

pub fn not_acp(id: &SessionId) -> FrameError {
    FrameError::new(
        ErrorCode::InvalidFrame,
        format!("{id} is a terminal session: it has no permission prompts or agent settings"),
    )
}

/// Streams one terminal's output to one viewport: the response (with the
/// screen, or from the offset asked for), then every byte in order.
pub struct TerminalFollower {
    pub session_id: SessionId,
    pub terminal: Terminal,
    pub request_id: RequestId,
    pub out: Outbox,
}

impl TerminalFollower {
    pub async fn run(self, offset: Option<u64>) {
        // `now`: where the live bytes start; `last`: what was sent.
        let (result, now, mut live) = match offset {
            None => {
                let (snapshot, live) = self.terminal.attach();
                let result = AttachResult {
                    offset: snapshot.offset,
                    snapshot: Some(TerminalSnapshot {
                        cols: snapshot.size.cols,
                        rows: snapshot.size.rows,
                        screen: snapshot.screen,
                        text: snapshot.text,
                    }),
                };
                (result, snapshot.offset, live)
            }
            Some(from) => {
                let (now, live) = self.terminal.follow();
                let from = from.min(now);
                let result = AttachResult {
                    snapshot: None,
                    offset: from,
                };
                (result, now, live)
            }
        };
        let response = ServerFrame::Response {
            request_id: self.request_id.clone(),
            result: serde_json::to_value(&result).unwrap_or_default(),
        };
        if self.out.send(frame(&response)).await.is_err() {
            return;
        }
        // Reattached with an offset: what was written since comes at once,
        // not only when the program next writes.
        let mut last = result.offset;
        if !self.catch_up(&mut last, now).await {
            return;
        }
        loop {
            let received = tokio::select! {
                received = live.recv() => received,
                _ = self.terminal.exited() => {
                    let end = self.terminal.offset();
                    self.catch_up(&mut last, end).await;
                    return;
                }
            };
            match received {
                Ok(chunk) => {
                    if chunk.offset > last && !self.catch_up(&mut last, chunk.offset).await {
                        return;
                    }
                    if !self.send_chunk(&chunk, &mut last).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let (now, resubscribed) = self.terminal.follow();
                    live = resubscribed;
                    if !self.catch_up(&mut last, now).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let end = self.terminal.offset();
                    self.catch_up(&mut last, end).await;
                    return;
                }
            }
        }
    }

    /// Send the part of `chunk` after `last` (none of it when already sent).
    async fn send_chunk(&self, chunk: &OutputChunk, last: &mut u64) -> bool {
        let end = chunk.offset + chunk.bytes.len() as u64;
        if end <= *last {
            return true;
        }
        let skip = usize::try_from(*last - chunk.offset).unwrap_or(0);
        let sent = self.send_bytes(*last, &chunk.bytes[skip..]).await;
        *last = end;
        sent
    }

    /// Send `last..to` from the console log.
    async fn catch_up(&self, last: &mut u64, to: u64) -> bool {
        while *last < to {
            let end = to.min(*last + CATCH_UP_CHUNK);
            let (path, from) = (self.terminal.console_log().to_owned(), *last);
            let read = tokio::task::spawn_blocking(move || read_log(&path, from, end)).await;
            let Ok(Ok(bytes)) = read else {
                return false;
            };
            if bytes.is_empty() || !self.send_bytes(from, &bytes).await {
                return false;
            }
            *last = from + bytes.len() as u64;
        }
        true
    }

    async fn send_bytes(&self, offset: u64, bytes: &[u8]) -> bool {
        let output = ServerFrame::TerminalOutput {
            session_id: self.session_id.clone(),
            offset,
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        };
        self.out.send(frame(&output)).await.is_ok()
    }
}
