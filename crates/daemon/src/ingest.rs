//! The ingest thread: the only writer of the event log.
//!
//! It takes everything waiting in its channel, commits it in one transaction
//! (group commit), publishes the committed events to the hub, and only then
//! acknowledges them. Publishing after commit is what lets a viewport trust
//! that anything it has seen is stored.

use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use viewport_protocol::state::DirectoryInfo;
use viewport_store::{NewEvent, ReindexProgress, Writer};

use crate::hub::Hub;

/// Events waiting to be committed before senders feel backpressure.
pub const INGEST_QUEUE: usize = 16 * 1024;
/// Most events committed in one transaction.
pub const MAX_BATCH: usize = 16 * 1024;

#[derive(Debug, Error, Clone)]
pub enum IngestError {
    #[error("the event log refused the event: {0}")]
    Refused(String),
    #[error("the event log failed: {0}")]
    Failed(String),
    #[error("the ingest thread has stopped")]
    Stopped,
}

type Reply<T> = oneshot::Sender<Result<T, IngestError>>;

// Events are the hot path and by far the most common item: boxing them would
// cost an allocation per event to save a few bytes on rare control items.
#[allow(clippy::large_enum_variant)]
enum Item {
    Event {
        event: NewEvent,
        ack: Option<Reply<u64>>,
    },
    AddDirectory {
        path: PathBuf,
        reply: Reply<DirectoryInfo>,
    },
    Reindex {
        reply: Reply<ReindexProgress>,
    },
}

/// A handle to the ingest thread.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Item>,
}

impl Ingest {
    /// Start the thread; it stops when every handle is dropped.
    pub fn start(
        writer: Writer,
        hub: Arc<Hub>,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(INGEST_QUEUE);
        let thread = std::thread::Builder::new()
            .name("vpd-ingest".to_owned())
            .spawn(move || run(writer, hub, rx))?;
        Ok((Self { tx }, thread))
    }

    /// Queue an event; waits only when the queue is full (backpressure).
    pub async fn send(&self, event: NewEvent) -> Result<(), IngestError> {
        self.tx
            .send(Item::Event { event, ack: None })
            .await
            .map_err(|_| IngestError::Stopped)
    }

    /// Queue an event and wait until it is committed and published; returns its seq.
    pub async fn commit(&self, event: NewEvent) -> Result<u64, IngestError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Item::Event {
                event,
                ack: Some(ack),
            })
            .await
            .map_err(|_| IngestError::Stopped)?;
        done.await.map_err(|_| IngestError::Stopped)?
    }

    pub async fn add_directory(&self, path: PathBuf) -> Result<DirectoryInfo, IngestError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Item::AddDirectory { path, reply })
            .await
            .map_err(|_| IngestError::Stopped)?;
        done.await.map_err(|_| IngestError::Stopped)?
    }

    pub async fn reindex(&self) -> Result<ReindexProgress, IngestError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Item::Reindex { reply })
            .await
            .map_err(|_| IngestError::Stopped)?;
        done.await.map_err(|_| IngestError::Stopped)?
    }
}

fn run(mut writer: Writer, hub: Arc<Hub>, mut rx: mpsc::Receiver<Item>) {
    let mut events = Vec::with_capacity(MAX_BATCH);
    let mut acks = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Item::Event { event, ack } => {
                    events.push(event);
                    acks.push(ack);
                    if events.len() < MAX_BATCH {
                        next = rx.try_recv().ok();
                    }
                }
                control => {
                    commit(&mut writer, &hub, &mut events, &mut acks);
                    handle_control(&mut writer, control);
                    next = rx.try_recv().ok();
                }
            }
        }
        commit(&mut writer, &hub, &mut events, &mut acks);
    }
}

fn commit(
    writer: &mut Writer,
    hub: &Hub,
    events: &mut Vec<NewEvent>,
    acks: &mut Vec<Option<Reply<u64>>>,
) {
    if events.is_empty() {
        return;
    }
    match writer.append(std::mem::take(events)) {
        Ok(results) => {
            let committed: Vec<_> = results
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .cloned()
                .collect();
            hub.publish(&committed);
            for (result, ack) in results.into_iter().zip(acks.drain(..)) {
                let outcome = result.map(|c| c.seq).map_err(|e| {
                    tracing::error!("event refused by the log: {e}");
                    IngestError::Refused(e.to_string())
                });
                if let Some(ack) = ack {
                    let _ = ack.send(outcome);
                }
            }
        }
        Err(e) => {
            tracing::error!("committing a batch failed, its events are lost: {e}");
            for ack in acks.drain(..).flatten() {
                let _ = ack.send(Err(IngestError::Failed(e.to_string())));
            }
        }
    }
}

fn handle_control(writer: &mut Writer, item: Item) {
    match item {
        Item::AddDirectory { path, reply } => {
            let _ = reply.send(
                writer
                    .add_directory(&path)
                    .map_err(|e| IngestError::Failed(e.to_string())),
            );
        }
        Item::Reindex { reply } => {
            let result = writer.reindex(&mut |p| {
                tracing::info!(events = p.events, sessions = p.sessions, "reindexing");
            });
            let _ = reply.send(result.map_err(|e| IngestError::Failed(e.to_string())));
        }
        Item::Event { .. } => {}
    }
}
