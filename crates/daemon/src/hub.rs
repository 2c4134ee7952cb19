//! The hub: per-session broadcast of committed updates and the session-list
//! feed. It only ever sees committed events (the ingest thread publishes
//! after commit), and it never blocks a publisher: a receiver that falls
//! behind a channel's capacity lags and goes back to the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use viewport_protocol::SessionId;
use viewport_store::{CommittedEvent, EventBody};

use crate::frames::{Frame, ended_frame, started_frame, update_frame};

/// Committed updates a session channel holds for followers that are behind.
pub const SESSION_CHANNEL_CAPACITY: usize = 4096;
/// Changes the list feed holds for followers that are behind.
pub const LIST_CHANNEL_CAPACITY: usize = 4096;

/// One committed update, rendered.
#[derive(Debug)]
pub struct Published {
    pub seq: u64,
    pub update: Frame,
    /// Set when this update ended the session.
    pub ended: Option<Frame>,
}

/// A change to the session list: a new session (seq 0) or a state change.
#[derive(Debug)]
pub struct ListChange {
    pub session_id: SessionId,
    pub seq: u64,
    pub frames: Vec<Frame>,
}

pub struct Hub {
    sessions: Mutex<HashMap<SessionId, broadcast::Sender<Arc<Published>>>>,
    list: broadcast::Sender<Arc<ListChange>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            sessions: Mutex::default(),
            list: broadcast::channel(LIST_CHANNEL_CAPACITY).0,
        }
    }
}

impl Hub {
    /// Join a session's live updates. Join before reading the store: that
    /// order is what makes the replay-to-live handoff gap-free.
    pub fn subscribe(&self, session_id: &SessionId) -> broadcast::Receiver<Arc<Published>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .entry(session_id.clone())
            .or_insert_with(|| broadcast::channel(SESSION_CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Whether any viewport follows the session now.
    pub fn is_followed(&self, session_id: &SessionId) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(session_id)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }

    pub fn subscribe_list(&self) -> broadcast::Receiver<Arc<ListChange>> {
        self.list.subscribe()
    }

    /// Forget a session's channel once nobody listens to it.
    pub fn release(&self, session_id: &SessionId) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if sessions
            .get(session_id)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            sessions.remove(session_id);
        }
    }

    /// Publish a committed batch.
    pub fn publish(&self, batch: &[CommittedEvent]) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        for event in batch {
            match &event.body {
                EventBody::Genesis(genesis) => {
                    let frames = vec![started_frame(&event.session_id, genesis)];
                    self.send_list(&event.session_id, 0, frames);
                }
                EventBody::Update(update) => {
                    let kind = update.update_type();
                    let watched = sessions
                        .get(&event.session_id)
                        .filter(|tx| tx.receiver_count() > 0);
                    // Nobody follows the session and the list feed does not
                    // carry this kind: rendering it would be wasted work.
                    if watched.is_none() && kind != "state-change" {
                        continue;
                    }
                    let published = Arc::new(Published {
                        seq: event.seq,
                        update: update_frame(&event.session_id, event.seq, &event.json),
                        ended: ended_frame(&event.session_id, kind, &event.json),
                    });
                    if kind == "state-change" {
                        let mut frames = vec![published.update.clone()];
                        frames.extend(published.ended.clone());
                        self.send_list(&event.session_id, event.seq, frames);
                    }
                    let ended = published.ended.is_some();
                    if let Some(tx) = watched {
                        let _ = tx.send(published);
                    }
                    if ended {
                        // Followers drain what is queued, then see the channel close.
                        sessions.remove(&event.session_id);
                    }
                }
            }
        }
    }

    fn send_list(&self, session_id: &SessionId, seq: u64, frames: Vec<Frame>) {
        let _ = self.list.send(Arc::new(ListChange {
            session_id: session_id.clone(),
            seq,
            frames,
        }));
    }
}
