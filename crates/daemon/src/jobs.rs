//! The one-off job queue: commands that run as terminal sessions, at most
//! `max_parallel` at once, oldest first. The queue is a table in SQLite (a
//! primary record, like directories), so queued jobs survive a restart and
//! run after it; jobs that were running when the daemon died are `stopped`.

use std::sync::Arc;

use viewport_protocol::jobs::{JobInfo, JobStatus};
use viewport_protocol::state::check_session_name;
use viewport_protocol::{DirectoryId, EndReason, ErrorCode, FrameError, JobId, SessionId, now_ms};

use crate::manager::{Manager, NewTerminal};

/// How many jobs run at once unless configured.
pub const DEFAULT_MAX_PARALLEL: usize = 2;

/// The queue's settings and the lock that keeps two schedulers from
/// starting the same job.
pub struct JobQueue {
    /// Set on the command line; otherwise `jobs.maxParallel` from the
    /// user's config, read at each scheduling pass, or the default.
    pub max_parallel: Option<usize>,
    scheduling: tokio::sync::Mutex<()>,
}

impl JobQueue {
    pub fn new(max_parallel: Option<usize>) -> Self {
        Self {
            max_parallel: max_parallel.map(|n| n.max(1)),
            scheduling: tokio::sync::Mutex::new(()),
        }
    }
}

fn internal(context: &str, error: impl std::fmt::Display) -> FrameError {
    FrameError::new(ErrorCode::Internal, format!("{context}: {error}"))
}

impl Manager {
    /// Queue `command` to run in a registered directory; starts it at once
    /// when a slot is free.
    pub async fn enqueue_job(
        self: &Arc<Self>,
        directory_id: DirectoryId,
        command: String,
        name: Option<String>,
    ) -> Result<JobInfo, FrameError> {
        self.directory(&directory_id).await?;
        let job_id = JobId::generate();
        let name = name.unwrap_or_else(|| {
            let id = job_id.as_str();
            format!("job-{}", &id[id.len().saturating_sub(8)..])
        });
        check_session_name(&name).map_err(|m| FrameError::new(ErrorCode::InvalidFrame, m))?;
        let taken = self.session_named(&name).await?.is_some()
            || self
                .jobs()
                .await?
                .iter()
                .any(|j| j.name == name && !j.status.is_done());
        if taken {
            return Err(FrameError::new(
                ErrorCode::InvalidFrame,
                format!(
                    "the name `{name}` is taken by another session or job; choose another with --name"
                ),
            ));
        }
        let job = JobInfo {
            job_id: job_id.clone(),
            name,
            command,
            directory_id,
            status: JobStatus::Queued,
            session_id: None,
            exit_code: None,
            detail: None,
            created_at: now_ms(),
            started_at: None,
            ended_at: None,
        };
        self.put_job(job.clone()).await?;
        self.schedule_jobs().await;
        let jobs = self.jobs().await?;
        Ok(jobs.into_iter().find(|j| j.job_id == job_id).unwrap_or(job))
    }

    /// Every job, oldest first.
    pub async fn jobs(&self) -> Result<Vec<JobInfo>, FrameError> {
        self.readers()
            .read(|r| r.jobs())
            .await
            .map_err(|e| internal("listing jobs", e))
    }

    async fn put_job(&self, job: JobInfo) -> Result<(), FrameError> {
        self.ingest()
            .put_job(job)
            .await
            .map_err(|e| internal("storing the job", e))
    }

    /// Start queued jobs, oldest first, while slots are free.
    pub async fn schedule_jobs(self: &Arc<Self>) {
        let _scheduling = self.job_queue().scheduling.lock().await;
        let Ok(jobs) = self.jobs().await else {
            return;
        };
        let mut running = jobs
            .iter()
            .filter(|j| j.status == JobStatus::Running)
            .count();
        let max_parallel = self.jobs_max_parallel();
        for job in jobs.into_iter().filter(|j| j.status == JobStatus::Queued) {
            if running >= max_parallel {
                break;
            }
            if self.start_job(job).await {
                running += 1;
            }
        }
    }

    fn jobs_max_parallel(&self) -> usize {
        if let Some(max) = self.job_queue().max_parallel {
            return max;
        }
        match viewport_config::user_config(self.home_root()) {
            Ok(config) => config
                .jobs
                .and_then(|jobs| jobs.max_parallel)
                .map_or(DEFAULT_MAX_PARALLEL, usize::from),
            Err(e) => {
                tracing::warn!("{e}; running at most {DEFAULT_MAX_PARALLEL} jobs at once");
                DEFAULT_MAX_PARALLEL
            }
        }
    }

    /// Start one job's session; whether it runs.
    async fn start_job(self: &Arc<Self>, mut job: JobInfo) -> bool {
        let request = NewTerminal {
            name: job.name.clone(),
            template: Some("script".to_owned()),
            command: Some(job.command.clone()),
            cols: None,
            rows: None,
            env: Default::default(),
            idle_after_secs: None,
        };
        let now = now_ms();
        let started = match self.new_terminal(job.directory_id.clone(), request).await {
            Ok(session_id) => {
                job.status = JobStatus::Running;
                job.session_id = Some(session_id);
                job.started_at = Some(now);
                true
            }
            Err(error) => {
                job.status = JobStatus::Failed;
                job.detail = Some(error.message);
                job.ended_at = Some(now);
                false
            }
        };
        if let Err(e) = self.put_job(job).await {
            tracing::error!("cannot record a job's start: {e}");
        }
        started
    }

    /// A terminal session ended: if it ran a job, record how, and start the next.
    pub async fn on_terminal_end(self: &Arc<Self>, session_id: &SessionId) {
        // A job that ends at once ends while the pass that started it still
        // holds this lock, before it recorded the start: wait for it.
        let scheduling = self.job_queue().scheduling.lock().await;
        let Ok(jobs) = self.jobs().await else {
            return;
        };
        let Some(mut job) = jobs
            .into_iter()
            .find(|j| j.session_id.as_ref() == Some(session_id) && j.status == JobStatus::Running)
        else {
            return;
        };
        let lookup = session_id.clone();
        let summary = self.readers().read(move |r| r.session(&lookup)).await;
        let summary = summary.ok().flatten();
        job.status = match summary.as_ref().and_then(|s| s.end_reason) {
            Some(EndReason::Completed) => JobStatus::Completed,
            Some(EndReason::Failed) => JobStatus::Failed,
            _ => JobStatus::Stopped,
        };
        job.exit_code = summary.as_ref().and_then(|s| s.exit_code);
        job.ended_at = Some(now_ms());
        if let Err(e) = self.put_job(job).await {
            tracing::error!("cannot record a job's end: {e}");
        }
        drop(scheduling);
        self.schedule_jobs().await;
    }

    /// At start-up: jobs the last daemon was running are `stopped` (their
    /// sessions ended with it); queued ones start.
    pub async fn recover_jobs(self: &Arc<Self>) {
        if let Ok(jobs) = self.jobs().await {
            // A job whose terminal was taken over runs on.
            let lost = jobs.into_iter().filter(|j| {
                j.status == JobStatus::Running
                    && !j.session_id.as_ref().is_some_and(|id| self.is_live(id))
            });
            for mut job in lost {
                job.status = JobStatus::Stopped;
                job.detail = Some("the daemon stopped while it ran".to_owned());
                job.ended_at = Some(now_ms());
                if let Err(e) = self.put_job(job).await {
                    tracing::error!("cannot record a lost job: {e}");
                }
            }
        }
        self.schedule_jobs().await;
    }
}
