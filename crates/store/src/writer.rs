//! The single writer. It alone assigns seqs, so every session's sequence is
//! dense, and it commits each batch in one transaction together with the
//! projection rows the batch changes.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, Transaction, params};
use viewport_protocol::checkpoints::Checkpoint;
use viewport_protocol::jobs::JobInfo;
use viewport_protocol::state::DirectoryInfo;
use viewport_protocol::workflows::WorkflowRun;
use viewport_protocol::{DirectoryId, SessionId, now_ms};

use crate::error::SqlContext;
use crate::event::{CommittedEvent, EventBody, NewEvent, ObservedAgent, OutputMark};
use crate::migrations::{self, Durability};
use crate::projection::{PromptChange, SessionView};
use crate::reader::{load_views, to_sql_text};
use crate::search;
use crate::{Result, StoreError};

/// How many events `reindex` folds between two progress reports.
const REINDEX_PROGRESS_EVERY: u64 = 10_000;

/// Progress of a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReindexProgress {
    pub events: u64,
    pub sessions: u64,
}

/// A batch whose transaction failed, given back whole.
#[derive(Debug)]
pub struct FailedBatch {
    pub error: StoreError,
    pub batch: Vec<NewEvent>,
}

/// The write connection and the live view of every session.
pub struct Writer {
    conn: Connection,
    views: HashMap<SessionId, SessionView>,
}

impl Writer {
    /// Open (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let mut conn = migrations::open(path, durability)?;
        migrations::migrate(&mut conn, path)?;
        let views = load_views(&conn)?;
        Ok(Self { conn, views })
    }

    pub fn views(&self) -> impl Iterator<Item = &SessionView> {
        self.views.values()
    }

    /// Commit a batch in one transaction. Results come back in input order;
    /// an invalid event (an update for an unknown session, a second genesis)
    /// is refused on its own and the rest of the batch still commits.
    pub fn append(&mut self, batch: Vec<NewEvent>) -> Result<Vec<Result<CommittedEvent>>> {
        self.try_append(batch).map_err(|failed| failed.error)
    }

    /// [`append`](Self::append), giving the batch back when the
    /// transaction fails (a full disk, say) so it can be tried again:
    /// nothing of it is stored then, and no seq is used up.
    pub fn try_append(
        &mut self,
        batch: Vec<NewEvent>,
    ) -> Result<Vec<Result<CommittedEvent>>, FailedBatch> {
        self.try_append_marked(batch, &[])
    }

    /// [`try_append`](Self::try_append), recording in the same transaction
    /// how far each supervised program's output is stored.
    pub fn try_append_marked(
        &mut self,
        batch: Vec<NewEvent>,
        marks: &[OutputMark],
    ) -> Result<Vec<Result<CommittedEvent>>, FailedBatch> {
        match self.write_batch(&batch, marks) {
            Ok((placed, touched)) => {
                self.views.extend(touched);
                Ok(placed
                    .into_iter()
                    .zip(batch)
                    .map(|(place, event)| {
                        place.map(|(seq, created_at, json)| CommittedEvent {
                            session_id: event.session_id,
                            seq,
                            created_at,
                            body: event.body,
                            json,
                        })
                    })
                    .collect())
            }
            Err(error) => Err(FailedBatch { error, batch }),
        }
    }

    /// Write `batch` in one transaction: for each event its seq, time and
    /// JSON (or why it was refused), and the session views it changed.
    #[allow(clippy::type_complexity)]
    fn write_batch(
        &mut self,
        batch: &[NewEvent],
        marks: &[OutputMark],
    ) -> Result<(
        Vec<Result<(u64, i64, String)>>,
        HashMap<SessionId, SessionView>,
    )> {
        let mut touched: HashMap<SessionId, SessionView> = HashMap::new();
        let mut placed = Vec::with_capacity(batch.len());
        let tx = self.conn.transaction().during("starting a batch")?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (session_id, seq, kind, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .during("preparing the event insert")?;
            for event in batch {
                let at = now_ms();
                let committed = match &event.body {
                    EventBody::Genesis(genesis) => {
                        if touched.contains_key(&event.session_id)
                            || self.views.contains_key(&event.session_id)
                        {
                            Err(StoreError::DuplicateSession(event.session_id.to_string()))
                        } else {
                            let view =
                                SessionView::from_genesis(event.session_id.clone(), genesis, at);
                            touched.insert(event.session_id.clone(), view);
                            Ok(0)
                        }
                    }
                    EventBody::Update(update) => {
                        if !touched.contains_key(&event.session_id)
                            && let Some(existing) = self.views.get(&event.session_id)
                        {
                            touched.insert(event.session_id.clone(), existing.clone());
                        }
                        match touched.get_mut(&event.session_id) {
                            Some(view) => {
                                let seq = view.summary.last_seq + 1;
                                apply_prompt_change(&tx, view.apply(seq, update, at))?;
                                search::index(&tx, event.session_id.as_str(), seq, update)?;
                                Ok(seq)
                            }
                            None => Err(StoreError::UnknownSession(event.session_id.to_string())),
                        }
                    }
                };
                placed.push(match committed {
                    Ok(seq) => {
                        let json = event.body.to_json();
                        insert
                            .execute(params![
                                event.session_id.as_str(),
                                seq,
                                event.body.kind(),
                                json,
                                at
                            ])
                            .during("inserting an event")?;
                        Ok((seq, at, json))
                    }
                    Err(err) => Err(err),
                });
            }
        }
        for view in touched.values() {
            upsert_session(&tx, view)?;
        }
        for mark in marks {
            tx.execute(
                "INSERT OR REPLACE INTO supervised_output (session_id, output_offset) VALUES (?1, ?2)",
                params![mark.session_id.as_str(), mark.offset],
            )
            .during("marking how far a program's output is stored")?;
        }
        tx.commit().during("committing a batch")?;
        Ok((placed, touched))
    }

    /// Delete a session: its events and its projections, in one transaction.
    /// Returns whether it existed.
    pub fn delete_session(&mut self, session_id: &SessionId) -> Result<bool> {
        let tx = self.conn.transaction().during("starting a delete")?;
        let id = session_id.as_str();
        let events = tx
            .execute("DELETE FROM events WHERE session_id = ?1", params![id])
            .during("deleting a session's events")?;
        tx.execute("DELETE FROM sessions WHERE session_id = ?1", params![id])
            .during("deleting a session")?;
        tx.execute(
            "DELETE FROM pending_prompts WHERE session_id = ?1",
            params![id],
        )
        .during("deleting a session's prompts")?;
        tx.execute(
            "DELETE FROM observed_agents WHERE session_id = ?1",
            params![id],
        )
        .during("deleting a session's observed agent")?;
        tx.execute(
            "DELETE FROM supervised_output WHERE session_id = ?1",
            params![id],
        )
        .during("deleting a session's output mark")?;
        tx.execute("DELETE FROM search WHERE session_id = ?1", params![id])
            .during("deleting a session's search rows")?;
        tx.execute("DELETE FROM checkpoints WHERE session_id = ?1", params![id])
            .during("deleting a session's checkpoints")?;
        tx.commit().during("committing a delete")?;
        self.views.remove(session_id);
        Ok(events > 0)
    }

    /// Store a job as it is now (insert or replace).
    pub fn put_job(&mut self, job: &JobInfo) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO jobs (job_id, name, command, directory_id, status,
                     session_id, exit_code, detail, created_at, started_at, ended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    job.job_id.as_str(),
                    job.name,
                    job.command,
                    job.directory_id.as_str(),
                    job.status.as_str(),
                    job.session_id.as_ref().map(|s| s.as_str()),
                    job.exit_code,
                    job.detail,
                    job.created_at,
                    job.started_at,
                    job.ended_at,
                ],
            )
            .during("storing a job")?;
        Ok(())
    }

    /// Store a checkpoint.
    pub fn put_checkpoint(
        &mut self,
        session_id: &SessionId,
        checkpoint: &Checkpoint,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO checkpoints (session_id, number, seq, kind, root, reference,
                     files, note, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    session_id.as_str(),
                    checkpoint.number,
                    checkpoint.seq,
                    checkpoint.kind.as_str(),
                    checkpoint.root,
                    checkpoint.reference,
                    serde_json::to_string(&checkpoint.files).unwrap_or_default(),
                    checkpoint.note,
                    checkpoint.created_at,
                ],
            )
            .during("storing a checkpoint")?;
        Ok(())
    }

    /// Store a workflow run as it is now (insert or replace).
    pub fn put_workflow_run(&mut self, run: &WorkflowRun) -> Result<()> {
        let steps = serde_json::to_string(&run.steps).unwrap_or_default();
        self.conn
            .execute(
                "INSERT OR REPLACE INTO workflow_runs (run_id, workflow, directory_id, cwd,
                     status, steps, created_at, ended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    run.run_id.as_str(),
                    run.workflow,
                    run.directory_id.as_str(),
                    run.cwd,
                    run.status.as_str(),
                    steps,
                    run.created_at,
                    run.ended_at,
                ],
            )
            .during("storing a workflow run")?;
        Ok(())
    }

    /// Store what the daemon follows of an observed session's agent.
    pub fn put_observed_agent(&mut self, agent: &ObservedAgent) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO observed_agents
                     (session_id, agent, transcript_path, transcript_offset, pid)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    agent.session_id.as_str(),
                    agent.agent,
                    agent.transcript_path,
                    agent.transcript_offset,
                    agent.pid,
                ],
            )
            .during("storing an observed agent")?;
        Ok(())
    }

    /// Unregister a directory; whether it was registered.
    pub fn remove_directory(&mut self, directory_id: &DirectoryId) -> Result<bool> {
        let removed = self
            .conn
            .execute(
                "DELETE FROM directories WHERE directory_id = ?1",
                [directory_id.as_str()],
            )
            .during("removing a directory")?;
        Ok(removed > 0)
    }

    /// Register a directory by its canonical path; registering it again
    /// returns the existing record.
    pub fn add_directory(&mut self, canonical_path: &Path) -> Result<DirectoryInfo> {
        let path = canonical_path.to_string_lossy().into_owned();
        let info = DirectoryInfo {
            directory_id: DirectoryId::for_canonical_path(canonical_path),
            path,
            created_at: now_ms(),
        };
        self.conn
            .execute(
                "INSERT INTO directories (directory_id, path, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (directory_id) DO NOTHING",
                params![info.directory_id.as_str(), info.path, info.created_at],
            )
            .during("registering a directory")?;
        let created_at = self
            .conn
            .query_row(
                "SELECT created_at FROM directories WHERE directory_id = ?1",
                [info.directory_id.as_str()],
                |row| row.get(0),
            )
            .during("reading a directory")?;
        Ok(DirectoryInfo { created_at, ..info })
    }

    /// Rebuild every projection from the events table alone, in one
    /// transaction: readers see the old projection or the new one, never half.
    pub fn reindex(
        &mut self,
        progress: &mut dyn FnMut(ReindexProgress),
    ) -> Result<ReindexProgress> {
        let tx = self.conn.transaction().during("starting the reindex")?;
        tx.execute_batch("DELETE FROM sessions; DELETE FROM pending_prompts; DELETE FROM search;")
            .during("clearing projections")?;
        let mut views: HashMap<SessionId, SessionView> = HashMap::new();
        let mut done = ReindexProgress::default();
        {
            let mut scan = tx
                .prepare(
                    "SELECT session_id, seq, body, created_at FROM events ORDER BY session_id, seq",
                )
                .during("preparing the event scan")?;
            let mut rows = scan.query([]).during("scanning events")?;
            while let Some(row) = rows.next().during("scanning events")? {
                let id_text: String = row.get(0).during("reading an event")?;
                let seq: u64 = row.get(1).during("reading an event")?;
                let body: String = row.get(2).during("reading an event")?;
                let at: i64 = row.get(3).during("reading an event")?;
                let corrupt = |source| StoreError::CorruptEvent {
                    session_id: id_text.clone(),
                    seq,
                    source,
                };
                let session_id: SessionId =
                    serde_json::from_value(serde_json::Value::String(id_text.clone()))
                        .map_err(corrupt)?;
                if seq == 0 {
                    let genesis = serde_json::from_str(&body).map_err(corrupt)?;
                    views.insert(
                        session_id.clone(),
                        SessionView::from_genesis(session_id, &genesis, at),
                    );
                    done.sessions += 1;
                } else if let Some(view) = views.get_mut(&session_id) {
                    let update = serde_json::from_str(&body).map_err(corrupt)?;
                    apply_prompt_change(&tx, view.apply(seq, &update, at))?;
                    search::index(&tx, session_id.as_str(), seq, &update)?;
                }
                done.events += 1;
                if done.events.is_multiple_of(REINDEX_PROGRESS_EVERY) {
                    progress(done);
                }
            }
        }
        for view in views.values() {
            upsert_session(&tx, view)?;
        }
        tx.commit().during("committing the reindex")?;
        self.views = views;
        progress(done);
        Ok(done)
    }
}

fn apply_prompt_change(tx: &Transaction<'_>, change: PromptChange) -> Result<()> {
    match change {
        PromptChange::None => Ok(()),
        PromptChange::Opened(pending) => {
            let body = serde_json::to_string(&pending.request).unwrap_or_default();
            tx.prepare_cached(
                "INSERT OR REPLACE INTO pending_prompts (prompt_id, session_id, seq, body) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    pending.request.prompt_id.as_str(),
                    pending.session_id.as_str(),
                    pending.seq,
                    body
                ])
            })
            .during("storing a pending prompt")?;
            Ok(())
        }
        PromptChange::Closed(prompt_id) => {
            tx.prepare_cached("DELETE FROM pending_prompts WHERE prompt_id = ?1")
                .and_then(|mut stmt| stmt.execute([prompt_id.as_str()]))
                .during("closing a pending prompt")?;
            Ok(())
        }
    }
}

fn upsert_session(tx: &Transaction<'_>, view: &SessionView) -> Result<()> {
    let s = &view.summary;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO sessions (session_id, directory_id, kind, agent, cwd, title, state,
             disconnected, end_reason, created_at, updated_at, last_seq, pending_prompts,
             name, command, template, exit_code, external_id, forked_from, git, cost_usd)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            s.session_id.as_str(),
            s.directory_id.as_str(),
            to_sql_text(&s.kind),
            s.agent,
            s.cwd,
            s.title,
            s.state.as_str(),
            s.disconnected,
            s.end_reason.map(|r| r.as_str()),
            s.created_at,
            s.updated_at,
            s.last_seq,
            s.pending_prompts,
            s.name,
            (!s.command.is_empty()).then(|| serde_json::to_string(&s.command).unwrap_or_default()),
            s.template,
            s.exit_code,
            s.external_id,
            s.forked_from
                .as_ref()
                .map(|f| serde_json::to_string(f).unwrap_or_default()),
            (!s.git.is_empty()).then(|| serde_json::to_string(&s.git).unwrap_or_default()),
            s.cost_usd,
        ])
    })
    .during("storing a session")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use viewport_protocol::state::SessionKind;
    use viewport_protocol::update::TextChunk;
    use viewport_protocol::{SessionId, SessionUpdate};

    use super::*;
    use crate::event::SessionGenesis;

    fn genesis(session: &SessionId) -> NewEvent {
        NewEvent {
            session_id: session.clone(),
            body: EventBody::Genesis(SessionGenesis::new(
                "dir_0".parse().unwrap(),
                SessionKind::Acp,
                "demo",
                "/",
            )),
        }
    }

    fn chunk(session: &SessionId, text: String) -> NewEvent {
        NewEvent {
            session_id: session.clone(),
            body: EventBody::Update(SessionUpdate::AgentMessageChunk(TextChunk { text })),
        }
    }

    fn limit_pages(writer: &Writer, pages: i64) {
        let _: i64 = writer
            .conn
            .pragma_update_and_check(None, "max_page_count", pages, |row| row.get(0))
            .unwrap();
    }

    #[test]
    fn a_batch_that_does_not_fit_comes_back_whole_and_commits_once_there_is_room() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = Writer::open(&dir.path().join("log.db"), Durability::Normal).unwrap();
        let session = SessionId::generate();
        writer.append(vec![genesis(&session)]).unwrap();
        let pages: i64 = writer
            .conn
            .pragma_query_value(None, "page_count", |row| row.get(0))
            .unwrap();
        limit_pages(&writer, pages + 2);
        let batch: Vec<NewEvent> = (0..200)
            .map(|i| chunk(&session, format!("{i} {}", "x".repeat(4000))))
            .collect();

        let failed = writer.try_append(batch).unwrap_err();
        assert!(failed.error.is_full(), "{}", failed.error);
        assert_eq!(failed.batch.len(), 200, "the batch comes back whole");

        limit_pages(&writer, 1_000_000);
        let results = writer.try_append(failed.batch).unwrap();
        let seqs: Vec<u64> = results.iter().map(|r| r.as_ref().unwrap().seq).collect();
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>(), "no seq was used up");
    }

    #[test]
    fn an_output_mark_commits_with_its_events_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let mut writer = Writer::open(&path, Durability::Normal).unwrap();
        let session = SessionId::generate();
        writer.append(vec![genesis(&session)]).unwrap();
        let reader = crate::Reader::open(&path).unwrap();
        assert_eq!(reader.output_offset(&session).unwrap(), 0);
        let mark = |offset| OutputMark {
            session_id: session.clone(),
            offset,
        };
        writer
            .try_append_marked(vec![chunk(&session, "a".to_owned())], &[mark(120)])
            .unwrap();
        assert_eq!(reader.output_offset(&session).unwrap(), 120);
        // A mark alone (output that made no event) commits too.
        writer.try_append_marked(Vec::new(), &[mark(180)]).unwrap();
        assert_eq!(reader.output_offset(&session).unwrap(), 180);

        let pages: i64 = writer
            .conn
            .pragma_query_value(None, "page_count", |row| row.get(0))
            .unwrap();
        limit_pages(&writer, pages);
        let big = vec![chunk(&session, "x".repeat(100_000))];
        assert!(writer.try_append_marked(big, &[mark(999)]).is_err());
        assert_eq!(
            reader.output_offset(&session).unwrap(),
            180,
            "a failed batch moves no mark"
        );
        assert!(writer.delete_session(&session).unwrap());
        assert_eq!(reader.output_offset(&session).unwrap(), 0);
    }
}
