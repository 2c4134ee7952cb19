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
use viewport_protocol::checkpoints::Checkpoint;
use viewport_protocol::jobs::JobInfo;
use viewport_protocol::state::DirectoryInfo;
use viewport_protocol::workflows::WorkflowRun;
use viewport_protocol::{DirectoryId, SessionId};
use viewport_store::{NewEvent, ObservedAgent, OutputMark, ReindexProgress, Writer};

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
    /// Events of one sender, in order; `ack` gets the seq of the last one.
    /// `mark` commits with them, and hears once it has.
    Events {
        events: Vec<NewEvent>,
        ack: Option<Reply<u64>>,
        mark: Option<(OutputMark, oneshot::Sender<()>)>,
    },
    AddDirectory {
        path: PathBuf,
        reply: Reply<DirectoryInfo>,
    },
    Reindex {
        reply: Reply<ReindexProgress>,
    },
    DeleteSession {
        session_id: SessionId,
        reply: Reply<bool>,
    },
    PutJob {
        job: Box<JobInfo>,
        reply: Reply<()>,
    },
    RemoveDirectory {
        directory_id: DirectoryId,
        reply: Reply<bool>,
    },
    PutObservedAgent {
        agent: ObservedAgent,
        reply: Reply<()>,
    },
    PutWorkflowRun {
        run: Box<WorkflowRun>,
        reply: Reply<()>,
    },
    PutCheckpoint {
        session_id: SessionId,
        checkpoint: Box<Checkpoint>,
        reply: Reply<()>,
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

    /// Queue events; waits only when the queue is full (backpressure).
    pub async fn send(&self, events: Vec<NewEvent>) -> Result<(), IngestError> {
        if events.is_empty() {
            return Ok(());
        }
        let item = Item::Events {
            events,
            ack: None,
            mark: None,
        };
        self.tx.send(item).await.map_err(|_| IngestError::Stopped)
    }

    /// Queue events made of a supervised program's output before
    /// `mark.offset`, with the mark; the receiver hears once both are
    /// committed (and never if they were not).
    pub async fn send_marked(
        &self,
        events: Vec<NewEvent>,
        mark: OutputMark,
    ) -> Result<oneshot::Receiver<()>, IngestError> {
        let (committed, heard) = oneshot::channel();
        let item = Item::Events {
            events,
            ack: None,
            mark: Some((mark, committed)),
        };
        self.tx.send(item).await.map_err(|_| IngestError::Stopped)?;
        Ok(heard)
    }

    /// Queue events and wait until they are committed and published;
    /// returns the seq of the last one.
    pub async fn commit(&self, events: Vec<NewEvent>) -> Result<u64, IngestError> {
        self.commit_marked(events, None).await
    }

    /// [`commit`](Self::commit), with an output mark stored alongside.
    pub async fn commit_marked(
        &self,
        events: Vec<NewEvent>,
        mark: Option<OutputMark>,
    ) -> Result<u64, IngestError> {
        if events.is_empty() {
            return Err(IngestError::Refused(
                "nothing to commit: an empty batch has no seq".to_owned(),
            ));
        }
        let (ack, done) = oneshot::channel();
        let item = Item::Events {
            events,
            ack: Some(ack),
            mark: mark.map(|mark| (mark, oneshot::channel().0)),
        };
        self.tx.send(item).await.map_err(|_| IngestError::Stopped)?;
        done.await.map_err(|_| IngestError::Stopped)?
    }

    pub async fn add_directory(&self, path: PathBuf) -> Result<DirectoryInfo, IngestError> {
        self.control(|reply| Item::AddDirectory { path, reply })
            .await
    }

    pub async fn reindex(&self) -> Result<ReindexProgress, IngestError> {
        self.control(|reply| Item::Reindex { reply }).await
    }

    /// Delete a session's events and projections; whether it existed.
    pub async fn delete_session(&self, session_id: SessionId) -> Result<bool, IngestError> {
        self.control(|reply| Item::DeleteSession { session_id, reply })
            .await
    }

    /// Unregister a directory; whether it was registered.
    pub async fn remove_directory(&self, directory_id: DirectoryId) -> Result<bool, IngestError> {
        self.control(|reply| Item::RemoveDirectory {
            directory_id,
            reply,
        })
        .await
    }

    /// Store a job as it is now.
    pub async fn put_job(&self, job: JobInfo) -> Result<(), IngestError> {
        let job = Box::new(job);
        self.control(|reply| Item::PutJob { job, reply }).await
    }

    /// Store what is followed of an observed session's agent.
    pub async fn put_observed_agent(&self, agent: ObservedAgent) -> Result<(), IngestError> {
        self.control(|reply| Item::PutObservedAgent { agent, reply })
            .await
    }

    /// Store a checkpoint.
    pub async fn put_checkpoint(
        &self,
        session_id: SessionId,
        checkpoint: Checkpoint,
    ) -> Result<(), IngestError> {
        let checkpoint = Box::new(checkpoint);
        self.control(|reply| Item::PutCheckpoint {
            session_id,
            checkpoint,
            reply,
        })
        .await
    }

    /// Store a workflow run as it is now.
    pub async fn put_workflow_run(&self, run: WorkflowRun) -> Result<(), IngestError> {
        let run = Box::new(run);
        self.control(|reply| Item::PutWorkflowRun { run, reply })
            .await
    }

    async fn control<T>(&self, item: impl FnOnce(Reply<T>) -> Item) -> Result<T, IngestError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(item(reply))
            .await
            .map_err(|_| IngestError::Stopped)?;
        done.await.map_err(|_| IngestError::Stopped)?
    }
}

/// The events of one transaction, and who waits for which of them.
#[derive(Default)]
struct Batch {
    events: Vec<NewEvent>,
    /// For each acknowledged item: the index of its last event, and its ack.
    acks: Vec<(usize, Reply<u64>)>,
    marks: Vec<OutputMark>,
    marked: Vec<oneshot::Sender<()>>,
}

impl Batch {
    /// Keep the furthest mark of each session: one row written per
    /// session and transaction, however many batches it sent.
    fn mark(&mut self, mark: OutputMark) {
        match self
            .marks
            .iter_mut()
            .find(|m| m.session_id == mark.session_id)
        {
            Some(kept) => kept.offset = kept.offset.max(mark.offset),
            None => self.marks.push(mark),
        }
    }
}

fn run(mut writer: Writer, hub: Arc<Hub>, mut rx: mpsc::Receiver<Item>) {
    let mut batch = Batch::default();
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Item::Events { events, ack, mark } => {
                    batch.events.extend(events);
                    if let Some((mark, committed)) = mark {
                        batch.mark(mark);
                        batch.marked.push(committed);
                    }
                    if let Some(ack) = ack
                        && !batch.events.is_empty()
                    {
                        batch.acks.push((batch.events.len() - 1, ack));
                    }
                    if batch.events.len() < MAX_BATCH {
                        next = rx.try_recv().ok();
                    }
                }
                control => {
                    commit(&mut writer, &hub, std::mem::take(&mut batch));
                    handle_control(&mut writer, control);
                    next = rx.try_recv().ok();
                }
            }
        }
        commit(&mut writer, &hub, std::mem::take(&mut batch));
    }
}

/// How often a batch is tried again while the disk is full.
const FULL_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

fn commit(writer: &mut Writer, hub: &Hub, batch: Batch) {
    if batch.events.is_empty() && batch.marks.is_empty() {
        return;
    }
    match append_when_there_is_room(writer, batch.events, &batch.marks) {
        Ok(results) => {
            let outcomes: Vec<Result<u64, IngestError>> = results
                .iter()
                .map(|r| match r {
                    Ok(committed) => Ok(committed.seq),
                    Err(e) => {
                        tracing::error!("event refused by the log: {e}");
                        Err(IngestError::Refused(e.to_string()))
                    }
                })
                .collect();
            let committed: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
            hub.publish(&committed);
            for (index, ack) in batch.acks {
                let _ = ack.send(outcomes[index].clone());
            }
            for committed in batch.marked {
                let _ = committed.send(());
            }
        }
        Err(e) => {
            tracing::error!("committing a batch failed, its events are lost: {e}");
            for (_, ack) in batch.acks {
                let _ = ack.send(Err(IngestError::Failed(e.to_string())));
            }
        }
    }
}

/// Commit `events`; while the disk is full, keep them and try again. The
/// ingest queue fills meanwhile, so sessions wait to send and their agents
/// wait to be read: nothing is dropped, and no seq is skipped.
fn append_when_there_is_room(
    writer: &mut Writer,
    mut events: Vec<NewEvent>,
    marks: &[OutputMark],
) -> Result<Vec<viewport_store::Result<viewport_store::CommittedEvent>>, viewport_store::StoreError>
{
    let mut full_since = None;
    loop {
        match writer.try_append_marked(events, marks) {
            Ok(results) => {
                if let Some(since) = full_since {
                    tracing::warn!(
                        "there is room again: stored the {} events that waited {:.1} s",
                        results.len(),
                        std::time::Instant::now()
                            .duration_since(since)
                            .as_secs_f64()
                    );
                }
                return Ok(results);
            }
            Err(failed) if failed.error.is_full() => {
                if full_since.is_none() {
                    tracing::error!(
                        "the disk is full ({}): {} events wait to be stored, and sessions wait with them; trying again every {} s",
                        failed.error,
                        failed.batch.len(),
                        FULL_RETRY.as_secs()
                    );
                    full_since = Some(std::time::Instant::now());
                }
                events = failed.batch;
                std::thread::sleep(FULL_RETRY);
            }
            Err(failed) => return Err(failed.error),
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
        Item::DeleteSession { session_id, reply } => {
            let result = writer.delete_session(&session_id);
            let _ = reply.send(result.map_err(|e| IngestError::Failed(e.to_string())));
        }
        Item::RemoveDirectory {
            directory_id,
            reply,
        } => {
            let result = writer.remove_directory(&directory_id);
            let _ = reply.send(result.map_err(|e| IngestError::Failed(e.to_string())));
        }
        Item::PutJob { job, reply } => {
            let result = writer.put_job(&job);
            let _ = reply.send(result.map_err(|e| IngestError::Failed(e.to_string())));
        }
        Item::PutObservedAgent { agent, reply } => {
            let result = writer.put_observed_agent(&agent);
            let _ = reply.send(result.map_err(|e| IngestError::Failed(e.to_string())));
        }
        Item::PutWorkflowRun { run, reply } => {
            let result = writer.put_workflow_run(&run);
            let _ = reply.send(result.map_err(|e| IngestError::Failed(e.to_string())));
        }
        Item::PutCheckpoint {
            session_id,
            checkpoint,
            reply,
        } => {
            let result = writer.put_checkpoint(&session_id, &checkpoint);
            let _ = reply.send(result.map_err(|e| IngestError::Failed(e.to_string())));
        }
        Item::Events { .. } => {}
    }
}
