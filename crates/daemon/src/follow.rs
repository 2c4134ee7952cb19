//! Subscriptions: what one viewport receives for one session, or for the
//! session list.
//!
//! The handoff, per DESIGN.md: join the live broadcast first, then replay the
//! store from `afterSeq` to its head, then take live updates, skipping every
//! seq already sent. A follower that lags behind the broadcast goes back to
//! the store from the last seq it delivered, so a slow viewport never slows
//! the agent or anyone else, and never misses or repeats an update.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use viewport_protocol::frames::{ListSubscribeResult, SessionSubscribeResult};
use viewport_protocol::{ErrorCode, FrameError, RequestId, ServerFrame, SessionId};

use crate::frames::{Frame, ended_frame, frame, update_frame};
use crate::hub::{Hub, Published};
use crate::readers::{ReadError, ReaderPool};

/// Updates read from the store per query while replaying.
pub const REPLAY_PAGE: usize = 2048;

/// Frames sent to the outbox at once while replaying.
pub const REPLAY_RUN: usize = 128;

/// The connection's bounded outgoing queue. It carries runs of frames so a
/// replay costs one queue operation per run, not per frame.
#[derive(Clone)]
pub struct Outbox(mpsc::Sender<Vec<Frame>>);

/// The viewport is gone.
#[derive(Debug)]
pub struct Gone;

impl Outbox {
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Vec<Frame>>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self(tx), rx)
    }

    pub async fn send(&self, frame: Frame) -> Result<(), Gone> {
        self.0.send(vec![frame]).await.map_err(|_| Gone)
    }

    pub async fn send_run(&self, frames: Vec<Frame>) -> Result<(), Gone> {
        if frames.is_empty() {
            return Ok(());
        }
        self.0.send(frames).await.map_err(|_| Gone)
    }
}

/// A stored update rendered for the wire.
struct Rendered {
    seq: u64,
    update: Frame,
    /// The `session-ended` frame, when this update ended the session.
    ended: Option<Frame>,
}

impl Rendered {
    fn of(session_id: &SessionId, seq: u64, kind: &str, json: &str) -> Self {
        Self {
            seq,
            update: update_frame(session_id, seq, json),
            ended: ended_frame(session_id, kind, json),
        }
    }
}

/// Where a follower stands.
enum Step {
    /// Keep going from this seq.
    Continue,
    /// The session ended (its `session-ended` frame was sent) or the viewport left.
    Done,
}

pub struct SessionFollower {
    pub hub: Arc<Hub>,
    pub readers: Arc<ReaderPool>,
    pub session_id: SessionId,
    pub request_id: Option<RequestId>,
    pub out: Outbox,
}

impl SessionFollower {
    /// Send the subscribe response, then every update after `after_seq`, then live ones.
    pub async fn run(self, after_seq: u64) {
        let mut live = self.hub.subscribe(&self.session_id);
        if self.respond().await {
            let mut last = after_seq;
            while let Step::Continue = self.catch_up(&mut last).await {
                match self.follow_live(&mut live, &mut last).await {
                    Step::Done => break,
                    Step::Continue => live = self.hub.subscribe(&self.session_id),
                }
            }
        }
        drop(live);
        self.hub.release(&self.session_id);
    }

    /// The subscribe response: the session and its open prompts. False when
    /// the session is unknown (an error was sent instead) or the viewport left.
    async fn respond(&self) -> bool {
        let id = self.session_id.clone();
        let result = self
            .readers
            .read(move |r| Ok((r.session(&id)?, r.pending_prompts(&id)?)))
            .await;
        let reply = match result {
            Ok((Some(session), pending_prompts)) => {
                let result = SessionSubscribeResult {
                    session,
                    pending_prompts,
                };
                self.request_id
                    .clone()
                    .map(|request_id| ServerFrame::Response {
                        request_id,
                        result: serde_json::to_value(result).unwrap_or_default(),
                    })
            }
            Ok((None, _)) => Some(
                FrameError::new(
                    ErrorCode::UnknownSession,
                    format!("no session {}", self.session_id),
                )
                .for_request(self.request_id.clone())
                .into_frame(),
            ),
            Err(e) => Some(
                FrameError::new(
                    ErrorCode::Internal,
                    format!("reading session {}: {e}", self.session_id),
                )
                .for_request(self.request_id.clone())
                .into_frame(),
            ),
        };
        let ok = !matches!(reply, Some(ServerFrame::Error { .. }));
        match reply {
            Some(reply) => self.out.send(frame(&reply)).await.is_ok() && ok,
            None => true,
        }
    }

    /// Replay the store from `last` to its head.
    async fn catch_up(&self, last: &mut u64) -> Step {
        // While one page goes out, the next is read and rendered on a
        // blocking thread.
        let mut next = Some(self.read_page(*last));
        let mut ended = false;
        while let Some(reading) = next.take() {
            let page = match reading.await {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => return self.replay_failed(e.to_string()).await,
                Err(e) => return self.replay_failed(e.to_string()).await,
            };
            if page.len() == REPLAY_PAGE
                && let Some(tail) = page.last()
            {
                next = Some(self.read_page(tail.seq));
            }
            let mut run = Vec::with_capacity(REPLAY_RUN);
            for rendered in page {
                run.push(rendered.update);
                *last = rendered.seq;
                // A resumed session goes on after an end: only the last
                // stored update can end the replay.
                ended = rendered.ended.is_some();
                run.extend(rendered.ended);
                if run.len() >= REPLAY_RUN {
                    let full = std::mem::replace(&mut run, Vec::with_capacity(REPLAY_RUN));
                    if self.out.send_run(full).await.is_err() {
                        return Step::Done;
                    }
                }
            }
            if self.out.send_run(run).await.is_err() {
                return Step::Done;
            }
        }
        if ended { Step::Done } else { Step::Continue }
    }

    /// Start reading and rendering the page after `after`.
    fn read_page(&self, after: u64) -> JoinHandle<Result<Vec<Rendered>, ReadError>> {
        let (readers, id) = (self.readers.clone(), self.session_id.clone());
        tokio::spawn(async move {
            readers
                .read(move |r| {
                    let mut page = Vec::with_capacity(REPLAY_PAGE);
                    r.visit_updates_after(&id, after, REPLAY_PAGE, |seq, kind, json| {
                        page.push(Rendered::of(&id, seq, kind, json));
                    })?;
                    Ok(page)
                })
                .await
        })
    }

    async fn replay_failed(&self, error: String) -> Step {
        tracing::error!(session = %self.session_id, "replay failed: {error}");
        let error = FrameError::new(ErrorCode::Internal, format!("replay failed: {error}"));
        let _ = self.out.send(frame(&error.into_frame())).await;
        Step::Done
    }

    /// Forward live updates until the session ends, the viewport leaves, or
    /// this follower lags (then `Continue`: catch up from the store again).
    async fn follow_live(
        &self,
        live: &mut broadcast::Receiver<Arc<Published>>,
        last: &mut u64,
    ) -> Step {
        loop {
            match live.recv().await {
                Ok(published) if published.seq <= *last => {}
                Ok(published) if published.seq == *last + 1 => {
                    if self.out.send(published.update.clone()).await.is_err() {
                        return Step::Done;
                    }
                    *last = published.seq;
                    if let Some(ended) = &published.ended {
                        let _ = self.out.send(ended.clone()).await;
                        return Step::Done;
                    }
                }
                // A hole means updates were committed before we joined and
                // after our read: the store has them.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return Step::Continue,
                // The session ended and its channel closed: the store has the rest.
                Err(broadcast::error::RecvError::Closed) => {
                    self.catch_up(last).await;
                    return Step::Done;
                }
            }
        }
    }
}

/// The session list feed: a snapshot in the response, then every change.
pub async fn follow_list(
    hub: Arc<Hub>,
    readers: Arc<ReaderPool>,
    request_id: Option<RequestId>,
    out: Outbox,
) {
    let mut changes = hub.subscribe_list();
    let sessions = match readers.read(|r| r.sessions()).await {
        Ok(sessions) => sessions,
        Err(e) => {
            let error = FrameError::new(ErrorCode::Internal, format!("listing sessions: {e}"))
                .for_request(request_id);
            let _ = out.send(frame(&error.into_frame())).await;
            return;
        }
    };
    let known: HashMap<SessionId, u64> = sessions
        .iter()
        .map(|s| (s.session_id.clone(), s.last_seq))
        .collect();
    if let Some(request_id) = request_id {
        let result = serde_json::to_value(ListSubscribeResult { sessions }).unwrap_or_default();
        if out
            .send(frame(&ServerFrame::Response { request_id, result }))
            .await
            .is_err()
        {
            return;
        }
    }
    loop {
        match changes.recv().await {
            Ok(change) => {
                if known
                    .get(&change.session_id)
                    .is_some_and(|&seen| change.seq <= seen)
                {
                    continue;
                }
                for f in &change.frames {
                    if out.send(f.clone()).await.is_err() {
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let error = FrameError::new(
                    ErrorCode::LimitReached,
                    "the session list feed fell behind; subscribe to it again",
                );
                let _ = out.send(frame(&error.into_frame())).await;
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
