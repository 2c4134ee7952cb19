//! Checkpoints: the working tree as it was after each step of a session,
//! kept so that `vpd rewind` can bring it back. In a git repository a
//! checkpoint is a commit under `refs/viewport/checkpoints/<session>/<n>`
//! ([`git`]); nothing of the user's index, HEAD, branches or stash changes.
//! Elsewhere it is a copy of the files under the session's directory
//! ([`copy`]). One worker takes checkpoints in order, off the sessions'
//! tasks, so a big tree never slows an agent's updates; with each it records
//! the session's git context (branch, HEAD, upstream, changes, remote).

pub mod copy;
pub mod git;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use viewport_protocol::checkpoints::{Checkpoint, CheckpointKind, RewindResult};
use viewport_protocol::update::SystemStatus;
use viewport_protocol::{ErrorCode, FrameError, SessionId, SessionState, SessionUpdate, now_ms};

use viewport_store::{EventBody, NewEvent};

use crate::home::DataHome;
use crate::ingest::Ingest;
use crate::manager::Manager;
use crate::readers::ReaderPool;

struct Job {
    session_id: SessionId,
    seq: u64,
    cwd: PathBuf,
    note: Option<String>,
    reply: Option<oneshot::Sender<Result<Checkpoint, String>>>,
}

/// The handle to the checkpoint worker.
#[derive(Clone)]
pub struct Checkpointer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Checkpointer {
    /// Start the worker (inside the runtime).
    pub fn start(ingest: Ingest, readers: Arc<ReaderPool>, home: DataHome) -> Self {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(job) = queue.recv().await {
                let taken = take(&ingest, &readers, &home, &job).await;
                match job.reply {
                    Some(reply) => {
                        let _ = reply.send(taken);
                    }
                    None => {
                        if let Err(e) = taken {
                            tracing::warn!(session = %job.session_id, "no checkpoint: {e}");
                        }
                    }
                }
            }
        });
        Self { jobs }
    }

    /// Checkpoint `cwd` after the step that ended at `seq`, in the background.
    pub fn after_step(&self, session_id: &SessionId, seq: u64, cwd: &Path) {
        let _ = self.jobs.send(Job {
            session_id: session_id.clone(),
            seq,
            cwd: cwd.to_owned(),
            note: None,
            reply: None,
        });
    }

    /// Checkpoint now, after every checkpoint already asked for.
    async fn now(
        &self,
        session_id: &SessionId,
        seq: u64,
        cwd: &Path,
        note: String,
    ) -> Result<Checkpoint, String> {
        let (reply, taken) = oneshot::channel();
        self.jobs
            .send(Job {
                session_id: session_id.clone(),
                seq,
                cwd: cwd.to_owned(),
                note: Some(note),
                reply: Some(reply),
            })
            .map_err(|_| "the checkpoint worker has stopped".to_owned())?;
        taken
            .await
            .map_err(|_| "the checkpoint worker has stopped".to_owned())?
    }
}

async fn take(
    ingest: &Ingest,
    readers: &Arc<ReaderPool>,
    home: &DataHome,
    job: &Job,
) -> Result<Checkpoint, String> {
    let lookup = job.session_id.clone();
    let earlier = readers
        .read(move |r| r.checkpoints(&lookup))
        .await
        .map_err(|e| e.to_string())?;
    let number = earlier.last().map_or(1, |c| c.number + 1);
    let previous = earlier.last().cloned();
    let session_dir = home.session_dir(&job.session_id);
    let session_id = job.session_id.clone();
    let cwd = job.cwd.clone();
    let (kind, root, reference, files, repos) = tokio::task::spawn_blocking(move || {
        let taken = snapshot(&session_id, number, &cwd, &session_dir, previous.as_ref())?;
        Ok::<_, String>((taken.0, taken.1, taken.2, taken.3, git::contexts(&cwd)))
    })
    .await
    .map_err(|e| format!("the checkpoint task failed: {e}"))??;
    if !repos.is_empty() {
        let event = NewEvent {
            session_id: job.session_id.clone(),
            body: EventBody::Update(SessionUpdate::SystemStatus(SystemStatus::Git { repos })),
        };
        ingest.send(vec![event]).await.map_err(|e| e.to_string())?;
    }
    let checkpoint = Checkpoint {
        number,
        seq: job.seq,
        kind,
        root: root.display().to_string(),
        reference,
        files,
        note: job.note.clone(),
        created_at: now_ms(),
    };
    ingest
        .put_checkpoint(job.session_id.clone(), checkpoint.clone())
        .await
        .map_err(|e| e.to_string())?;
    Ok(checkpoint)
}

type Snapshot = (CheckpointKind, PathBuf, String, Vec<String>);

fn snapshot(
    session_id: &SessionId,
    number: u32,
    cwd: &Path,
    session_dir: &Path,
    previous: Option<&Checkpoint>,
) -> Result<Snapshot, String> {
    match git::repo_root(cwd) {
        Some(root) => {
            let reference = format!("refs/viewport/checkpoints/{session_id}/{number}");
            let message = format!("vpd checkpoint {number} of {session_id}");
            let commit = git::snapshot(&root, session_dir, &reference, &message)?;
            let since = previous
                .filter(|p| p.kind == CheckpointKind::Git)
                .map(|p| p.reference.clone())
                .or_else(|| git::parent_of(&root, &commit));
            let files = git::changes(&root, since.as_deref(), &commit)?;
            Ok((CheckpointKind::Git, root, commit, files))
        }
        None => {
            let target = session_dir.join("checkpoints").join(number.to_string());
            copy::snapshot(cwd, &target)?;
            let since = previous
                .filter(|p| p.kind == CheckpointKind::Copy)
                .map(|p| PathBuf::from(&p.reference));
            let files = copy::changes(since.as_deref(), &target)?;
            Ok((
                CheckpointKind::Copy,
                cwd.to_owned(),
                target.display().to_string(),
                files,
            ))
        }
    }
}

/// Drop the git refs that keep a destroyed session's checkpoints alive (the
/// copies go with the session's directory).
pub fn forget(session_id: &SessionId, checkpoints: &[Checkpoint]) {
    for checkpoint in checkpoints.iter().filter(|c| c.kind == CheckpointKind::Git) {
        let reference = format!(
            "refs/viewport/checkpoints/{session_id}/{}",
            checkpoint.number
        );
        if let Err(e) = git::delete_ref(Path::new(&checkpoint.root), &reference) {
            tracing::warn!("{e}");
        }
    }
}

fn invalid(message: String) -> FrameError {
    FrameError::new(ErrorCode::InvalidFrame, message)
}

impl Manager {
    /// A session's checkpoints, oldest first.
    pub async fn checkpoints(&self, id: &SessionId) -> Result<Vec<Checkpoint>, FrameError> {
        self.summary(id).await?;
        let lookup = id.clone();
        self.readers()
            .read(move |r| r.checkpoints(&lookup))
            .await
            .map_err(|e| FrameError::new(ErrorCode::Internal, format!("reading checkpoints: {e}")))
    }

    /// Bring the working tree back to the last checkpoint taken at `to_seq`,
    /// saving it as it is first. With `dry_run`, only say what would change.
    pub async fn rewind(
        &self,
        id: &SessionId,
        to_seq: u64,
        dry_run: bool,
    ) -> Result<RewindResult, FrameError> {
        let summary = self.summary(id).await?;
        if summary.state == SessionState::Active {
            return Err(invalid(format!(
                "session {id} is in the middle of a turn; cancel it (`vpd cancel {id}`) before rewinding"
            )));
        }
        let checkpoints = self.checkpoints(id).await?;
        let Some(target) = checkpoints.iter().rfind(|c| c.seq == to_seq).cloned() else {
            let taken: Vec<String> = checkpoints.iter().map(|c| c.seq.to_string()).collect();
            return Err(invalid(format!(
                "session {id} has no checkpoint at update {to_seq}; checkpoints are at: {}",
                if taken.is_empty() {
                    "none yet".to_owned()
                } else {
                    taken.join(", ")
                }
            )));
        };
        let scratch = self.home_dir().session_dir(id);
        if dry_run {
            let preview = target.clone();
            let changes = tokio::task::spawn_blocking(move || preview_changes(&preview, &scratch))
                .await
                .map_err(|e| invalid(format!("the rewind failed: {e}")))?
                .map_err(invalid)?;
            return Ok(RewindResult {
                changes,
                saved: None,
            });
        }
        let note = format!("the working tree before rewinding to update {to_seq}");
        let saved = self
            .checkpointer()
            .now(id, summary.last_seq, Path::new(&summary.cwd), note)
            .await
            .map_err(invalid)?;
        let (current, goal) = (saved.clone(), target.clone());
        let changes = tokio::task::spawn_blocking(move || restore(&current, &goal, &scratch))
            .await
            .map_err(|e| invalid(format!("the rewind failed: {e}")))?
            .map_err(invalid)?;
        let message = format!(
            "the working tree was rewound to checkpoint {} (update {to_seq}), {} files changed; \
             it was saved first as checkpoint {} (undo: `vpd rewind {id} --to {}`)",
            target.number,
            changes.len(),
            saved.number,
            saved.seq
        );
        self.store_updates(
            id,
            vec![SessionUpdate::SystemStatus(SystemStatus::Notice {
                message,
            })],
        )
        .await?;
        Ok(RewindResult {
            changes,
            saved: Some(saved),
        })
    }
}

/// What a rewind to `target` would change in the tree as it is now.
fn preview_changes(target: &Checkpoint, scratch: &Path) -> Result<Vec<String>, String> {
    let root = Path::new(&target.root);
    match target.kind {
        CheckpointKind::Git => {
            let tree = git::current_tree(root, scratch)?;
            git::changes(root, Some(&tree), &target.reference)
        }
        CheckpointKind::Copy => copy::changes_to(root, Path::new(&target.reference)),
    }
}

/// Make the tree `target`, from `current` (a checkpoint of it as it is).
fn restore(
    current: &Checkpoint,
    target: &Checkpoint,
    scratch: &Path,
) -> Result<Vec<String>, String> {
    let root = Path::new(&target.root);
    match target.kind {
        CheckpointKind::Git => {
            let changes = git::changes(root, Some(&current.reference), &target.reference)?;
            git::restore(root, scratch, &current.reference, &target.reference)?;
            Ok(changes)
        }
        CheckpointKind::Copy => {
            let changes = copy::changes_to(root, Path::new(&target.reference))?;
            copy::restore(root, Path::new(&target.reference))?;
            Ok(changes)
        }
    }
}
