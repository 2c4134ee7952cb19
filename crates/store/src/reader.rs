//! Read connections. WAL lets any number of them read beside the writer; each
//! sees the last committed state.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use viewport_protocol::SessionUpdate;
use viewport_protocol::checkpoints::Checkpoint;
use viewport_protocol::frames::{PendingPrompt, SearchHit};
use viewport_protocol::jobs::JobInfo;
use viewport_protocol::state::{DirectoryInfo, SessionSummary};
use viewport_protocol::update::SystemStatus;
use viewport_protocol::workflows::{SessionPlan, WorkflowRun};
use viewport_protocol::{DirectoryId, SessionId};

use crate::Result;
use crate::error::SqlContext;
use crate::event::{ObservedAgent, StoredUpdate};
use crate::migrations::{self, Durability};
use crate::projection::SessionView;

/// A read-only connection to the store.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = migrations::open(path, Durability::Normal)?;
        conn.pragma_update(None, "query_only", "ON")
            .during("making a reader read-only")?;
        Ok(Self { conn })
    }

    /// Up to `limit` updates of a session with seq > `after_seq`, in order.
    pub fn updates_after(
        &self,
        session_id: &SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredUpdate>> {
        let mut updates = Vec::with_capacity(limit.min(4096));
        self.visit_updates_after(session_id, after_seq, limit, |seq, kind, json| {
            updates.push(StoredUpdate {
                seq,
                kind: kind.to_owned(),
                json: json.to_owned(),
            });
        })?;
        Ok(updates)
    }

    /// The last `limit` updates of a session with seq < `before_seq`, in
    /// order: a page of history read backwards from the tail.
    pub fn updates_before(
        &self,
        session_id: &SessionId,
        before_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredUpdate>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, kind, body FROM events WHERE session_id = ?1 AND seq > 0 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
            )
            .during("preparing the history query")?;
        let before = before_seq.min(i64::MAX as u64);
        let rows = stmt
            .query_map(
                rusqlite::params![session_id.as_str(), before, limit as i64],
                |row| {
                    Ok(StoredUpdate {
                        seq: row.get(0)?,
                        kind: row.get(1)?,
                        json: row.get(2)?,
                    })
                },
            )
            .during("reading updates")?;
        let mut updates = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .during("reading updates")?;
        updates.reverse();
        Ok(updates)
    }

    /// Like [`updates_after`](Self::updates_after), handing each update to
    /// `visit` as borrowed text (no copy per row): `(seq, updateType, json)`.
    /// Returns how many were visited.
    pub fn visit_updates_after(
        &self,
        session_id: &SessionId,
        after_seq: u64,
        limit: usize,
        mut visit: impl FnMut(u64, &str, &str),
    ) -> Result<usize> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, kind, body FROM events WHERE session_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .during("preparing the replay query")?;
        let after = after_seq.min(i64::MAX as u64);
        let mut rows = stmt
            .query(rusqlite::params![session_id.as_str(), after, limit as i64])
            .during("reading updates")?;
        let mut visited = 0;
        while let Some(row) = rows.next().during("reading updates")? {
            let seq: u64 = row.get(0).during("reading an update")?;
            let kind = row
                .get_ref(1)
                .and_then(|v| Ok(v.as_str()?))
                .during("reading an update")?;
            let json = row
                .get_ref(2)
                .and_then(|v| Ok(v.as_str()?))
                .during("reading an update")?;
            visit(seq, kind, json);
            visited += 1;
        }
        Ok(visited)
    }

    pub fn session(&self, session_id: &SessionId) -> Result<Option<SessionSummary>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SESSION_COLUMNS} WHERE session_id = ?1"))
            .during("preparing the session query")?;
        stmt.query_row([session_id.as_str()], session_from_row)
            .optional()
            .during("reading a session")
    }

    /// The session with this name, if any (indexed).
    pub fn session_named(&self, name: &str) -> Result<Option<SessionSummary>> {
        self.session_where("name", name)
    }

    /// The session an agent's own session id maps to, if any (indexed).
    pub fn session_with_external_id(&self, external_id: &str) -> Result<Option<SessionSummary>> {
        self.session_where("external_id", external_id)
    }

    fn session_where(&self, column: &'static str, value: &str) -> Result<Option<SessionSummary>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SESSION_COLUMNS} WHERE {column} = ?1 LIMIT 1"))
            .during("preparing the session query")?;
        stmt.query_row([value], session_from_row)
            .optional()
            .during("reading a session")
    }

    /// Updates matching `query` (a person's words, made safe for FTS5),
    /// best first.
    pub fn search(
        &self,
        query: &str,
        session_id: Option<&SessionId>,
        directory_id: Option<&DirectoryId>,
        limit: u32,
    ) -> Result<std::result::Result<Vec<SearchHit>, String>> {
        let fts = match crate::search::fts_query(query) {
            Ok(fts) => fts,
            Err(message) => return Ok(Err(message)),
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT search.session_id, search.seq, search.kind,
                        snippet(search, 0, '«', '»', '…', 16), e.created_at
                 FROM search
                 JOIN events e ON e.session_id = search.session_id AND e.seq = search.seq
                 JOIN sessions s ON s.session_id = search.session_id
                 WHERE search MATCH ?1
                   AND (?2 IS NULL OR search.session_id = ?2)
                   AND (?3 IS NULL OR s.directory_id = ?3)
                 ORDER BY bm25(search), e.created_at DESC
                 LIMIT ?4",
            )
            .during("preparing the search")?;
        let rows = stmt
            .query_map(
                params![
                    fts,
                    session_id.map(|s| s.as_str()),
                    directory_id.map(|d| d.as_str()),
                    limit
                ],
                |row| {
                    Ok(SearchHit {
                        session_id: from_sql_text(row, 0)?,
                        seq: row.get(1)?,
                        kind: row.get(2)?,
                        snippet: row.get(3)?,
                        at: row.get(4)?,
                    })
                },
            )
            .during("searching")?;
        Ok(Ok(rows
            .collect::<Result<Vec<_>, _>>()
            .during("searching")?))
    }

    /// The latest plan of every session that has one, latest first.
    pub fn latest_plans(&self) -> Result<Vec<SessionPlan>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.session_id, e.seq, e.body, e.created_at FROM events e
                 JOIN (SELECT session_id, MAX(seq) AS seq FROM events
                       WHERE kind = 'system-status' AND body LIKE '%\"status\":\"plan\"%'
                       GROUP BY session_id) latest USING (session_id, seq)
                 ORDER BY e.created_at DESC, e.session_id DESC",
            )
            .during("preparing the plan list")?;
        let rows = stmt
            .query_map([], |row| {
                let body: String = row.get(2)?;
                let entries = match serde_json::from_str(&body) {
                    Ok(SessionUpdate::SystemStatus(SystemStatus::Plan { entries })) => entries,
                    _ => Vec::new(),
                };
                Ok(SessionPlan {
                    session_id: from_sql_text(row, 0)?,
                    seq: row.get(1)?,
                    entries,
                    updated_at: row.get(3)?,
                })
            })
            .during("listing plans")?;
        rows.collect::<Result<Vec<_>, _>>().during("listing plans")
    }

    /// A session's checkpoints, oldest first.
    pub fn checkpoints(&self, session_id: &SessionId) -> Result<Vec<Checkpoint>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT number, seq, kind, root, reference, files, note, created_at
                 FROM checkpoints WHERE session_id = ?1 ORDER BY number",
            )
            .during("preparing the checkpoint list")?;
        let rows = stmt
            .query_map([session_id.as_str()], |row| {
                let files: String = row.get(5)?;
                Ok(Checkpoint {
                    number: row.get(0)?,
                    seq: row.get(1)?,
                    kind: from_sql_text(row, 2)?,
                    root: row.get(3)?,
                    reference: row.get(4)?,
                    files: serde_json::from_str(&files).unwrap_or_default(),
                    note: row.get(6)?,
                    created_at: row.get(7)?,
                })
            })
            .during("listing checkpoints")?;
        rows.collect::<Result<Vec<_>, _>>()
            .during("listing checkpoints")
    }

    /// Every workflow run, newest first.
    pub fn workflow_runs(&self) -> Result<Vec<WorkflowRun>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT run_id, workflow, directory_id, cwd, status, steps, created_at, ended_at
                 FROM workflow_runs ORDER BY created_at DESC, run_id DESC",
            )
            .during("preparing the workflow run list")?;
        let rows = stmt
            .query_map([], |row| {
                let steps: String = row.get(5)?;
                Ok(WorkflowRun {
                    run_id: from_sql_text(row, 0)?,
                    workflow: row.get(1)?,
                    directory_id: from_sql_text(row, 2)?,
                    cwd: row.get(3)?,
                    status: from_sql_text(row, 4)?,
                    steps: serde_json::from_str(&steps).unwrap_or_default(),
                    created_at: row.get(6)?,
                    ended_at: row.get(7)?,
                })
            })
            .during("listing workflow runs")?;
        rows.collect::<Result<Vec<_>, _>>()
            .during("listing workflow runs")
    }

    /// How far a supervised program's output is stored (0: nothing yet).
    pub fn output_offset(&self, session_id: &SessionId) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT output_offset FROM supervised_output WHERE session_id = ?1",
                [session_id.as_str()],
                |row| row.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .during("reading a session's output mark")
    }

    /// What the daemon followed of observed sessions that have not ended.
    pub fn live_observed_agents(&self) -> Result<Vec<ObservedAgent>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT o.session_id, o.agent, o.transcript_path, o.transcript_offset, o.pid
                 FROM observed_agents o JOIN sessions s USING (session_id)
                 WHERE s.state != 'ended'",
            )
            .during("preparing the observed agent query")?;
        let rows = stmt
            .query_map([], |row| {
                Ok(ObservedAgent {
                    session_id: from_sql_text(row, 0)?,
                    agent: row.get(1)?,
                    transcript_path: row.get(2)?,
                    transcript_offset: row.get(3)?,
                    pid: row.get(4)?,
                })
            })
            .during("reading observed agents")?;
        rows.collect::<Result<Vec<_>, _>>()
            .during("reading observed agents")
    }

    /// Up to `limit` sessions, newest first, after the session `after` in
    /// that order; and whether more follow.
    pub fn sessions_page(
        &self,
        limit: u32,
        after: Option<&SessionId>,
    ) -> Result<(Vec<SessionSummary>, bool)> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{SESSION_COLUMNS} WHERE ?1 IS NULL
                    OR (created_at, session_id) < (SELECT created_at, session_id FROM sessions WHERE session_id = ?1)
                 ORDER BY created_at DESC, session_id DESC LIMIT ?2"
            ))
            .during("preparing the session page")?;
        let rows = stmt
            .query_map(
                params![after.map(|a| a.as_str()), u64::from(limit) + 1],
                session_from_row,
            )
            .during("listing sessions")?;
        let mut sessions = rows
            .collect::<Result<Vec<_>, _>>()
            .during("listing sessions")?;
        let more = sessions.len() > limit as usize;
        sessions.truncate(limit as usize);
        Ok((sessions, more))
    }

    /// Every session, newest first.
    pub fn sessions(&self) -> Result<Vec<SessionSummary>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{SESSION_COLUMNS} ORDER BY created_at DESC, session_id DESC"
            ))
            .during("preparing the session list")?;
        let rows = stmt
            .query_map([], session_from_row)
            .during("listing sessions")?;
        rows.collect::<Result<Vec<_>, _>>()
            .during("listing sessions")
    }

    /// The prompts of a session still waiting for an answer, oldest first.
    pub fn pending_prompts(&self, session_id: &SessionId) -> Result<Vec<PendingPrompt>> {
        pending_prompts(&self.conn, Some(session_id))
    }

    pub fn directory(&self, directory_id: &DirectoryId) -> Result<Option<DirectoryInfo>> {
        self.conn
            .query_row(
                "SELECT directory_id, path, created_at FROM directories WHERE directory_id = ?1",
                [directory_id.as_str()],
                directory_from_row,
            )
            .optional()
            .during("reading a directory")
    }

    /// Every job, oldest first.
    pub fn jobs(&self) -> Result<Vec<JobInfo>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT job_id, name, command, directory_id, status, session_id, exit_code,
                     detail, created_at, started_at, ended_at FROM jobs ORDER BY created_at, job_id",
            )
            .during("preparing the job list")?;
        let rows = stmt.query_map([], job_from_row).during("listing jobs")?;
        rows.collect::<Result<Vec<_>, _>>().during("listing jobs")
    }

    pub fn directories(&self) -> Result<Vec<DirectoryInfo>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT directory_id, path, created_at FROM directories ORDER BY path")
            .during("preparing the directory list")?;
        let rows = stmt
            .query_map([], directory_from_row)
            .during("listing directories")?;
        rows.collect::<Result<Vec<_>, _>>()
            .during("listing directories")
    }
}

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<JobInfo> {
    let session_id: Option<String> = row.get(5)?;
    Ok(JobInfo {
        job_id: from_sql_text(row, 0)?,
        name: row.get(1)?,
        command: row.get(2)?,
        directory_id: from_sql_text(row, 3)?,
        status: from_sql_text(row, 4)?,
        session_id: match session_id {
            Some(_) => Some(from_sql_text(row, 5)?),
            None => None,
        },
        exit_code: row.get(6)?,
        detail: row.get(7)?,
        created_at: row.get(8)?,
        started_at: row.get(9)?,
        ended_at: row.get(10)?,
    })
}

const SESSION_COLUMNS: &str =
    "SELECT session_id, directory_id, kind, agent, cwd, title, state, disconnected,
    end_reason, created_at, updated_at, last_seq, pending_prompts, name, command, template,
    exit_code, external_id, forked_from, git, cost_usd FROM sessions";

/// An enum that serializes to a JSON string, as the text stored in a column.
pub(crate) fn to_sql_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}

fn from_sql_text<T: DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_value(serde_json::Value::String(text)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionSummary> {
    let end_reason: Option<String> = row.get(8)?;
    Ok(SessionSummary {
        session_id: from_sql_text(row, 0)?,
        directory_id: from_sql_text(row, 1)?,
        kind: from_sql_text(row, 2)?,
        agent: row.get(3)?,
        cwd: row.get(4)?,
        title: row.get(5)?,
        state: from_sql_text(row, 6)?,
        disconnected: row.get(7)?,
        end_reason: match end_reason {
            Some(_) => Some(from_sql_text(row, 8)?),
            None => None,
        },
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        last_seq: row.get(11)?,
        pending_prompts: row.get(12)?,
        name: row.get(13)?,
        command: {
            let text: Option<String> = row.get(14)?;
            text.and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default()
        },
        template: row.get(15)?,
        exit_code: row.get(16)?,
        external_id: row.get(17)?,
        forked_from: {
            let text: Option<String> = row.get(18)?;
            text.and_then(|t| serde_json::from_str(&t).ok())
        },
        git: {
            let text: Option<String> = row.get(19)?;
            text.and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default()
        },
        cost_usd: row.get(20)?,
    })
}

fn directory_from_row(row: &Row<'_>) -> rusqlite::Result<DirectoryInfo> {
    Ok(DirectoryInfo {
        directory_id: from_sql_text(row, 0)?,
        path: row.get(1)?,
        created_at: row.get(2)?,
    })
}

fn pending_prompts(
    conn: &Connection,
    session_id: Option<&SessionId>,
) -> Result<Vec<PendingPrompt>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT session_id, seq, body FROM pending_prompts
             WHERE ?1 IS NULL OR session_id = ?1 ORDER BY session_id, seq",
        )
        .during("preparing the pending prompt query")?;
    let rows = stmt
        .query_map([session_id.map(SessionId::as_str)], |row| {
            let body: String = row.get(2)?;
            let request = serde_json::from_str(&body).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            Ok(PendingPrompt {
                session_id: from_sql_text(row, 0)?,
                seq: row.get(1)?,
                request,
            })
        })
        .during("reading pending prompts")?;
    rows.collect::<Result<Vec<_>, _>>()
        .during("reading pending prompts")
}

/// The live view of every session, as the projections hold it.
pub(crate) fn load_views(conn: &Connection) -> Result<HashMap<SessionId, SessionView>> {
    let mut views: HashMap<SessionId, SessionView> = HashMap::new();
    let mut stmt = conn
        .prepare(SESSION_COLUMNS)
        .during("preparing the session load")?;
    let rows = stmt
        .query_map([], session_from_row)
        .during("loading sessions")?;
    for summary in rows {
        let summary = summary.during("loading sessions")?;
        views.insert(
            summary.session_id.clone(),
            SessionView {
                summary,
                pending: Default::default(),
            },
        );
    }
    for prompt in pending_prompts(conn, None)? {
        if let Some(view) = views.get_mut(&prompt.session_id) {
            view.pending
                .insert(prompt.request.prompt_id.clone(), prompt);
        }
    }
    Ok(views)
}
