//! The session manager: launches sessions, routes commands to the task that
//! owns each live session, and answers for sessions that are no longer live
//! from the store. WebSocket connections call it; they own nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use viewport_agents::acp::config::ConfigRequest;
use viewport_agents::profile::ProgramSearch;
use viewport_agents::pty::{TermSize, Terminal, template_command};
use viewport_agents::spawn::{LineMask, SpawnSpec};
use viewport_agents::{AcpSession, Sourced};
use viewport_protocol::frames::{ListSessionsResult, ReindexResult, SearchHit, UpdateAt};
use viewport_protocol::limits::{DEFAULT_UPDATE_PAGE, MAX_SESSION_PAGE, MAX_UPDATE_PAGE};
use viewport_protocol::options::{AgentInfo, ConfigOverrides, ContextItem};
use viewport_protocol::state::{DirectoryInfo, SessionKind, SessionSummary, check_session_name};
use viewport_protocol::update::{MessageText, PermissionOutcome, PermissionResolved, SystemStatus};
use viewport_protocol::{
    DirectoryId, EndReason, ErrorCode, FrameError, PromptId, SessionId, SessionState, SessionUpdate,
};
use viewport_store::{EventBody, NewEvent, SessionGenesis, StoredUpdate};

use crate::checkpoints::Checkpointer;
use crate::configured::{self, Configured};
use crate::home::DataHome;
use crate::ingest::Ingest;
use crate::jobs::JobQueue;
use crate::launch::{self, LaunchPlan, SessionRules, StoredLaunch};
use crate::observed::ObservedSessions;
use crate::outputs::LargeOutputs;
use crate::readers::ReaderPool;
use crate::session::{Reply, SessionCommand, SessionFiles, SessionTask, state_change};
use crate::terminal::TerminalTask;

/// Driver events buffered per session before the agent feels backpressure.
const DRIVER_QUEUE: usize = 1024;

pub struct Manager {
    home: DataHome,
    ingest: Ingest,
    readers: Arc<ReaderPool>,
    live: Mutex<HashMap<SessionId, mpsc::UnboundedSender<SessionCommand>>>,
    /// The terminals of live terminal sessions, for attach, input and resize.
    terminals: Mutex<HashMap<SessionId, Terminal>>,
    /// Held while a named session is checked and created.
    naming: tokio::sync::Mutex<()>,
    jobs: JobQueue,
    /// Sessions started out of band that report through hooks.
    observed: ObservedSessions,
    checkpointer: Checkpointer,
    /// Tool output text above this many bytes is kept as a file.
    large_output_bytes: usize,
}

/// Hits a search returns unless it asks for another number, and at most.
const DEFAULT_SEARCH_HITS: u32 = 20;
const MAX_SEARCH_HITS: u32 = 500;

/// Which page of a session's stored updates to read.
#[derive(Debug, Clone, Copy)]
pub enum UpdatePage {
    /// The last ones with a seq below this.
    Before(u64),
    /// The first ones with a seq above this.
    After(u64),
}

impl UpdatePage {
    /// The page a `readUpdates` frame asks for: `beforeSeq` or `afterSeq`,
    /// not both; neither is the tail.
    pub fn of(before_seq: Option<u64>, after_seq: Option<u64>) -> Result<Self, FrameError> {
        match (before_seq, after_seq) {
            (Some(_), Some(_)) => Err(FrameError::new(
                ErrorCode::InvalidFrame,
                "readUpdates takes beforeSeq or afterSeq, not both",
            )),
            (None, Some(after)) => Ok(Self::After(after)),
            (before, None) => Ok(Self::Before(before.unwrap_or(u64::MAX))),
        }
    }
}

/// Seconds without output after which a terminal session counts as idle.
const DEFAULT_IDLE_AFTER_SECS: u64 = 10;

/// What `newTerminal` asks for, besides its directory.
pub struct NewTerminal {
    pub name: String,
    pub template: Option<String>,
    pub command: Option<String>,
    pub cols: Option<u16>,
    pub rows: Option<u16>,
    pub env: std::collections::BTreeMap<String, String>,
    pub idle_after_secs: Option<u64>,
}

/// Variables a template sets for its program.
type TemplateEnv = Vec<(String, String)>;

fn invalid(message: String) -> FrameError {
    FrameError::new(ErrorCode::InvalidFrame, message)
}

fn cannot_resume(id: &SessionId, why: &str) -> FrameError {
    FrameError::new(
        ErrorCode::InvalidFrame,
        format!("session {id} cannot be resumed: {why}"),
    )
}

fn internal(context: &str, error: impl std::fmt::Display) -> FrameError {
    FrameError::new(ErrorCode::Internal, format!("{context}: {error}"))
}

impl Manager {
    pub fn new(
        home: DataHome,
        ingest: Ingest,
        readers: Arc<ReaderPool>,
        jobs_max_parallel: Option<usize>,
        hook_answer_wait: Duration,
        large_output_bytes: usize,
    ) -> Arc<Self> {
        let checkpointer = Checkpointer::start(ingest.clone(), readers.clone(), home.clone());
        Arc::new(Self {
            home,
            ingest,
            readers,
            live: Mutex::default(),
            terminals: Mutex::default(),
            naming: tokio::sync::Mutex::new(()),
            jobs: JobQueue::new(jobs_max_parallel),
            observed: ObservedSessions::new(hook_answer_wait),
            checkpointer,
            large_output_bytes,
        })
    }

    pub fn readers(&self) -> &Arc<ReaderPool> {
        &self.readers
    }

    pub(crate) fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    pub(crate) fn job_queue(&self) -> &JobQueue {
        &self.jobs
    }

    pub(crate) fn checkpointer(&self) -> &Checkpointer {
        &self.checkpointer
    }

    /// Where a session's large outputs go.
    pub(crate) fn large_outputs(&self, id: &SessionId) -> LargeOutputs {
        LargeOutputs::new(&self.home.session_dir(id), self.large_output_bytes)
    }

    /// A large output a session kept as a file.
    pub async fn read_output(&self, id: &SessionId, name: &str) -> Result<String, FrameError> {
        self.summary(id).await?;
        crate::outputs::read(&self.home.session_dir(id), name)
    }

    /// A page of a session's stored updates (at most `limit`), in order.
    pub async fn read_updates(
        &self,
        id: &SessionId,
        page: UpdatePage,
        limit: Option<u32>,
    ) -> Result<Vec<UpdateAt>, FrameError> {
        self.read_stored_updates(id, page, limit)
            .await?
            .into_iter()
            .map(|stored| {
                serde_json::from_str(&stored.json)
                    .map(|update| UpdateAt {
                        seq: stored.seq,
                        update,
                    })
                    .map_err(|e| internal("reading a stored update", e))
            })
            .collect()
    }

    /// The same page with each update as its stored JSON, for whoever
    /// passes it on as it is.
    pub async fn read_stored_updates(
        &self,
        id: &SessionId,
        page: UpdatePage,
        limit: Option<u32>,
    ) -> Result<Vec<StoredUpdate>, FrameError> {
        self.summary(id).await?;
        let limit = limit
            .unwrap_or(DEFAULT_UPDATE_PAGE)
            .clamp(1, MAX_UPDATE_PAGE) as usize;
        let session_id = id.clone();
        self.readers
            .read(move |r| match page {
                UpdatePage::Before(seq) => r.updates_before(&session_id, seq, limit),
                UpdatePage::After(seq) => r.updates_after(&session_id, seq, limit),
            })
            .await
            .map_err(|e| internal("reading updates", e))
    }

    pub fn home_dir(&self) -> &DataHome {
        &self.home
    }

    pub(crate) fn observed(&self) -> &ObservedSessions {
        &self.observed
    }

    pub(crate) fn home_root(&self) -> &Path {
        self.home.root()
    }

    /// Where agent programs are looked for: `PATH`, then the data home's
    /// `agents/node_modules/.bin` (`npm install --prefix ~/.viewport/agents …`).
    fn program_search(&self) -> ProgramSearch {
        ProgramSearch::from_env([self.home.agent_programs()])
    }

    /// Every agent profile, with whether its program is installed.
    pub fn agents(&self) -> Vec<AgentInfo> {
        viewport_agents::profile::builtin_infos(&self.program_search())
    }

    /// Start a session in a registered directory and run `prompt` as its first turn.
    pub async fn launch(
        self: &Arc<Self>,
        directory_id: DirectoryId,
        prompt: String,
        model: Option<String>,
        overrides: ConfigOverrides,
    ) -> Result<SessionId, FrameError> {
        let directory = self.directory(&directory_id).await?;
        let Configured {
            model,
            overrides,
            manifest,
            context,
            problems,
        } = configured::configure(self.home.root(), &directory, model, overrides)?;
        let mut plan = launch::plan(
            &self.program_search(),
            &directory,
            model.clone(),
            &overrides,
        )?;
        let id = SessionId::generate();
        let stored = StoredLaunch {
            model: model.clone(),
            overrides,
        };
        self.prepare_session_dir(&id, &mut plan, &stored)?;
        configured::save(&self.home.session_dir(&id), &manifest)
            .map_err(|e| internal("keeping the session's manifest", e))?;
        let cwd = plan.spec.cwd.clone();
        let git = tokio::task::spawn_blocking(move || crate::checkpoints::git::contexts(&cwd))
            .await
            .unwrap_or_default();
        let genesis = SessionGenesis {
            directory_id,
            kind: SessionKind::Acp,
            agent: plan.profile.name.to_owned(),
            cwd: plan.spec.cwd.display().to_string(),
            model,
            name: None,
            command: Vec::new(),
            template: None,
            external_id: None,
            forked_from: None,
            git,
        };
        let first = SessionUpdate::UserMessage(MessageText {
            text: prompt.clone(),
        });
        let mut opening = vec![EventBody::Genesis(genesis), EventBody::Update(first)];
        opening.extend(context_notices(&context, problems).map(EventBody::Update));
        self.store_all(&id, opening).await?;
        let active = state_change(SessionState::Active, None, None);
        if let Err(e) = self
            .start_agent(&id, plan, Some((prompt, context)), active)
            .await
        {
            let end = state_change(SessionState::Ended, Some(EndReason::Failed), Some(e));
            self.store_all(&id, vec![EventBody::Update(end)]).await?;
        }
        Ok(id)
    }

    /// Give a session a title, stored as an update like any other.
    pub async fn set_title(&self, id: &SessionId, title: String) -> Result<(), FrameError> {
        let title = title.trim().to_owned();
        if title.is_empty() {
            return Err(invalid("the title is empty".to_owned()));
        }
        self.summary(id).await?;
        let update = SessionUpdate::SystemStatus(SystemStatus::Title { title });
        self.store_updates(id, vec![update]).await
    }

    /// Updates matching a person's query, best first.
    pub async fn search(
        &self,
        query: String,
        session_id: Option<SessionId>,
        directory_id: Option<DirectoryId>,
        limit: Option<u32>,
    ) -> Result<Vec<SearchHit>, FrameError> {
        let limit = limit
            .unwrap_or(DEFAULT_SEARCH_HITS)
            .clamp(1, MAX_SEARCH_HITS);
        let found = self
            .readers
            .read(move |r| r.search(&query, session_id.as_ref(), directory_id.as_ref(), limit))
            .await
            .map_err(|e| internal("searching", e))?;
        found.map_err(invalid)
    }

    /// The manifest a launch in `directory_id` would use now.
    pub async fn resolve_config(
        &self,
        directory_id: &DirectoryId,
    ) -> Result<serde_json::Value, FrameError> {
        let directory = self.directory(directory_id).await?;
        let root = std::path::PathBuf::from(&directory.path);
        let manifest =
            viewport_config::manifest(self.home.root(), Some(&root), &root).map_err(|errors| {
                invalid(format!(
                    "the config for {} has problems (`vpd config validate` shows them):\n{errors}",
                    root.display()
                ))
            })?;
        serde_json::to_value(&manifest).map_err(|e| internal("writing the manifest", e))
    }

    /// The manifest a session started with, if it kept one.
    pub async fn session_manifest(
        &self,
        id: &SessionId,
    ) -> Result<Option<serde_json::Value>, FrameError> {
        self.summary(id).await?;
        configured::load(&self.home.session_dir(id))
            .map_err(|e| internal("reading the session's manifest", e))
    }

    /// Start an ended session's agent again and continue its conversation.
    pub async fn resume(self: &Arc<Self>, id: &SessionId) -> Result<(), FrameError> {
        if self.lock_live().contains_key(id) {
            return Err(FrameError::new(
                ErrorCode::InvalidFrame,
                format!("session {id} is running; there is nothing to resume"),
            ));
        }
        let summary = self.summary(id).await?;
        if let Some(parent) = &summary.forked_from {
            let why = format!(
                "it is a fork of {} at update {}; continuing a fork with its agent is not supported yet",
                parent.session_id, parent.seq
            );
            return Err(cannot_resume(id, &why));
        }
        let stored = launch::load(&self.home.session_dir(id))
            .map_err(|e| internal("reading the launch options", e))?
            .ok_or_else(|| cannot_resume(id, "its launch options were not kept"))?;
        let (agent_session, can_resume) = self
            .agent_session(id)
            .await?
            .ok_or_else(|| cannot_resume(id, "its agent never started a conversation"))?;
        if !can_resume {
            let why = format!(
                "the {} agent cannot load a stored conversation (it does not offer session/load)",
                summary.agent
            );
            return Err(cannot_resume(id, &why));
        }
        let directory = self.directory(&summary.directory_id).await?;
        let mut plan = launch::plan(
            &self.program_search(),
            &directory,
            stored.model.clone(),
            &stored.overrides,
        )?;
        plan.setup.resume = Some(agent_session);
        plan.setup.instructions = None;
        self.prepare_session_dir(id, &mut plan, &stored)?;
        let idle = state_change(SessionState::Idle, None, Some("resumed".to_owned()));
        self.start_agent(id, plan, None, idle)
            .await
            .map_err(|e| FrameError::new(ErrorCode::AgentUnavailable, e))
    }

    /// Keep the launch options and point the agent's stderr into the
    /// session's own directory.
    fn prepare_session_dir(
        &self,
        id: &SessionId,
        plan: &mut LaunchPlan,
        stored: &StoredLaunch,
    ) -> Result<(), FrameError> {
        let session_dir = self.home.session_dir(id);
        launch::save(&session_dir, stored)
            .map_err(|e| internal("keeping the launch options", e))?;
        plan.spec.stderr_log = Some(session_dir.join("agent.stderr.log"));
        // Read at every launch, so an edit counts for the next session.
        match viewport_config::user_config(self.home.root()) {
            Ok(config) => {
                if let Some(redaction) = config.redaction {
                    plan.rules.redactor =
                        std::mem::take(&mut plan.rules.redactor).configured(&redaction);
                }
            }
            Err(e) => tracing::warn!("{e}; redacting with the defaults"),
        }
        let redactor = plan.rules.redactor.clone();
        plan.spec.stderr_mask = Some(LineMask::new(move |line| redactor.log_line(line)));
        Ok(())
    }

    /// Spawn the agent, record `state`, send `prompt` if there is one and
    /// hand the session to its task. An agent that cannot start is an error
    /// in words, for the caller to record.
    async fn start_agent(
        self: &Arc<Self>,
        id: &SessionId,
        plan: LaunchPlan,
        prompt: Option<(String, Vec<ContextItem>)>,
        state: SessionUpdate,
    ) -> Result<(), String> {
        let (events_tx, events_rx) = mpsc::channel(DRIVER_QUEUE);
        let session_dir = self.home.session_dir(id);
        let agent = AcpSession::start(&plan.spec, &session_dir, plan.setup, events_tx)
            .await
            .map_err(|e| e.to_string())?;
        let turn_running = prompt.is_some();
        if let Some((prompt, context)) = prompt {
            agent.prompt(prompt, &context);
        }
        self.store_all(id, vec![EventBody::Update(state)])
            .await
            .map_err(|e| e.message)?;
        let files = SessionFiles {
            stderr_log: plan.spec.stderr_log.clone(),
            checkpoints: Some((self.checkpointer.clone(), plan.spec.cwd.clone())),
            outputs: Some(self.large_outputs(id)),
        };
        let task = self.session_task(id, agent, plan.rules, turn_running, files);
        self.run_session(id.clone(), task, events_rx);
        Ok(())
    }

    /// The task for a session, registered as live (it takes commands from now).
    fn session_task(
        &self,
        id: &SessionId,
        agent: AcpSession,
        rules: SessionRules,
        turn_running: bool,
        files: SessionFiles,
    ) -> (SessionTask, mpsc::UnboundedReceiver<SessionCommand>) {
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let myself = commands_tx.downgrade();
        self.lock_live().insert(id.clone(), commands_tx);
        let task = SessionTask::new(
            id.clone(),
            self.ingest.clone(),
            agent,
            rules,
            turn_running,
            myself,
            files,
        );
        (task, commands_rx)
    }

    /// Hand the session to its own task; if that task dies, the session ends
    /// `failed` and the daemon goes on.
    fn run_session(
        self: &Arc<Self>,
        id: SessionId,
        (task, commands_rx): (SessionTask, mpsc::UnboundedReceiver<SessionCommand>),
        events: mpsc::Receiver<Sourced>,
    ) {
        let handle = tokio::spawn(task.run(commands_rx, events));
        let manager = self.clone();
        tokio::spawn(async move {
            if let Err(e) = handle.await {
                tracing::error!(session = %id, "session task failed: {e}");
                manager.end_after_failure(&id, &e.to_string()).await;
            }
            manager.lock_live().remove(&id);
        });
    }

    /// Start a terminal session under a unique name.
    pub async fn new_terminal(
        self: &Arc<Self>,
        directory_id: DirectoryId,
        request: NewTerminal,
    ) -> Result<SessionId, FrameError> {
        check_session_name(&request.name).map_err(invalid)?;
        let template = request
            .template
            .clone()
            .unwrap_or_else(|| "bash".to_owned());
        let directory = self.directory(&directory_id).await?;
        let (command, template_env) =
            self.resolve_template(&template, request.command.as_deref(), &directory)?;
        // One creation at a time: the name check and the genesis commit
        // must not interleave with another's.
        let _naming = self.naming.lock().await;
        if let Some(existing) = self.session_named(&request.name).await? {
            return Err(invalid(format!(
                "a session named `{}` already exists ({existing}); `vpd rm {}` removes it",
                request.name, request.name
            )));
        }
        let id = SessionId::generate();
        let session_dir = self.home.session_dir(&id);
        let artifacts = session_dir.join("artifacts");
        std::fs::create_dir_all(&artifacts)
            .map_err(|e| internal("creating the session directory", e))?;
        let (program, args) = command
            .split_first()
            .ok_or_else(|| invalid("the command is empty".to_owned()))?;
        let search = self.program_search();
        let program = search.find(program).ok_or_else(|| {
            FrameError::new(
                ErrorCode::AgentUnavailable,
                format!("`{program}` was not found on the daemon's PATH"),
            )
        })?;
        let mut env: Vec<(String, String)> = template_env.into_iter().chain(request.env).collect();
        env.push((
            "VIEWPORT_ARTIFACTS".to_owned(),
            artifacts.display().to_string(),
        ));
        let spec = SpawnSpec {
            program,
            args: args.to_vec(),
            cwd: PathBuf::from(&directory.path),
            env,
            stderr_log: None,
            stderr_mask: None,
        };
        let size = TermSize {
            cols: request.cols.unwrap_or(TermSize::default().cols),
            rows: request.rows.unwrap_or(TermSize::default().rows),
        };
        let terminal = Terminal::start(&spec, size, &session_dir, &session_dir.join("console.log"))
            .await
            .map_err(|e| FrameError::new(ErrorCode::AgentUnavailable, e.to_string()))?;
        let genesis = SessionGenesis {
            directory_id,
            kind: SessionKind::Terminal,
            agent: template.clone(),
            cwd: directory.path.clone(),
            model: None,
            name: Some(request.name),
            command,
            template: Some(template),
            external_id: None,
            forked_from: None,
            git: Vec::new(),
        };
        let active = state_change(SessionState::Active, None, None);
        self.store_all(
            &id,
            vec![EventBody::Genesis(genesis), EventBody::Update(active)],
        )
        .await?;
        drop(_naming);
        self.run_terminal(id.clone(), terminal, request.idle_after_secs);
        Ok(id)
    }

    fn run_terminal(self: &Arc<Self>, id: SessionId, terminal: Terminal, idle_after: Option<u64>) {
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        self.lock_live().insert(id.clone(), commands_tx);
        self.lock_terminals().insert(id.clone(), terminal.clone());
        let task = TerminalTask {
            id: id.clone(),
            ingest: self.ingest.clone(),
            terminal,
            idle_after: Duration::from_secs(idle_after.unwrap_or(DEFAULT_IDLE_AFTER_SECS).max(1)),
        };
        let handle = tokio::spawn(task.run(commands_rx));
        let manager = self.clone();
        tokio::spawn(async move {
            if let Err(e) = handle.await {
                tracing::error!(session = %id, "terminal task failed: {e}");
                manager.end_after_failure(&id, &e.to_string()).await;
            }
            manager.lock_live().remove(&id);
            manager.lock_terminals().remove(&id);
            manager.on_terminal_end(&id).await;
        });
    }

    /// What a template runs: a command given with the request, a template
    /// from the config (the user's or the directory's), or a built-in.
    fn resolve_template(
        &self,
        template: &str,
        command: Option<&str>,
        directory: &DirectoryInfo,
    ) -> Result<(Vec<String>, TemplateEnv), FrameError> {
        let root = Path::new(&directory.path);
        let manifest = viewport_config::manifest(self.home.root(), Some(root), root)
            .map_err(|e| invalid(e.to_string()))?;
        if command.is_none() {
            if let Some(conflict) = manifest.conflict(viewport_config::Section::Templates, template)
            {
                return Err(invalid(conflict.to_string()));
            }
            if let Some(configured) = manifest.templates.get(template) {
                let configured = &configured.definition;
                let argv =
                    template_command("script", Some(&configured.command)).map_err(invalid)?;
                return Ok((argv, configured.env.clone().into_iter().collect()));
            }
        }
        template_command(template, command)
            .map(|argv| (argv, Vec::new()))
            .map_err(|message| {
                if manifest.templates.is_empty() {
                    invalid(message)
                } else {
                    let configured: Vec<&str> =
                        manifest.templates.keys().map(String::as_str).collect();
                    invalid(format!("{message}; from config: {}", configured.join(", ")))
                }
            })
    }

    /// The live terminal of a session, or why there is none.
    pub async fn terminal(&self, id: &SessionId) -> Result<Terminal, FrameError> {
        if let Some(terminal) = self.lock_terminals().get(id) {
            return Ok(terminal.clone());
        }
        let summary = self.summary(id).await?;
        Err(match summary.kind {
            SessionKind::Terminal => FrameError::new(
                ErrorCode::SessionEnded,
                format!("session {id} has ended; `vpd logs {id}` shows its output"),
            ),
            _ => FrameError::new(
                ErrorCode::InvalidFrame,
                format!("session {id} is not a terminal session"),
            ),
        })
    }

    pub async fn terminal_input(&self, id: &SessionId, data: &str) -> Result<(), FrameError> {
        let terminal = self.terminal(id).await?;
        terminal.write(data.as_bytes()).map_err(|e| {
            FrameError::new(ErrorCode::Internal, format!("typing into {id} failed: {e}"))
        })
    }

    pub async fn resize(&self, id: &SessionId, size: TermSize) -> Result<(), FrameError> {
        let terminal = self.terminal(id).await?;
        terminal
            .resize(size)
            .map_err(|e| FrameError::new(ErrorCode::Internal, format!("resizing {id} failed: {e}")))
    }

    /// The id of the stored session with this name, if any.
    pub(crate) async fn session_named(&self, name: &str) -> Result<Option<SessionId>, FrameError> {
        let name = name.to_owned();
        let found = self
            .readers
            .read(move |r| r.session_named(&name))
            .await
            .map_err(|e| internal("reading sessions", e))?;
        Ok(found.map(|s| s.session_id))
    }

    fn lock_terminals(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Terminal>> {
        self.terminals.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn prompt(
        &self,
        id: &SessionId,
        text: String,
        context: Vec<ContextItem>,
    ) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::Prompt {
            text,
            context,
            reply,
        })
        .await
    }

    pub async fn set_config(
        &self,
        id: &SessionId,
        request: ConfigRequest,
    ) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::SetConfig { request, reply })
            .await
    }

    pub async fn close(&self, id: &SessionId) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::Close { reply })
            .await
    }

    /// Delete a session and everything stored of it. A running session is
    /// refused unless `force`, which stops it first.
    pub async fn destroy(&self, id: &SessionId, force: bool) -> Result<(), FrameError> {
        let running = self.lock_live().contains_key(id);
        if running && !force {
            return Err(invalid(format!(
                "session {id} is running; stop it first (`vpd kill`) or remove it anyway with --force"
            )));
        }
        if running {
            self.kill(id).await?;
        }
        let checkpoints = self.checkpoints(id).await.unwrap_or_default();
        let existed = self
            .ingest
            .delete_session(id.clone())
            .await
            .map_err(|e| internal("deleting the session", e))?;
        if !existed {
            return Err(FrameError::new(
                ErrorCode::UnknownSession,
                format!("no session {id}"),
            ));
        }
        crate::checkpoints::forget(id, &checkpoints);
        match std::fs::remove_dir_all(self.home.session_dir(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(internal("deleting the session's files", e)),
        }
    }

    pub async fn cancel(&self, id: &SessionId) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::Cancel { reply })
            .await
    }

    pub async fn respond(
        &self,
        id: &SessionId,
        prompt_id: PromptId,
        outcome: PermissionOutcome,
    ) -> Result<(), FrameError> {
        if let Some(answered) = self.answer_observed(id, &prompt_id, &outcome).await {
            return answered;
        }
        self.command(id, |reply| SessionCommand::Respond {
            prompt_id,
            outcome,
            reply,
        })
        .await
    }

    pub async fn kill(&self, id: &SessionId) -> Result<(), FrameError> {
        self.command(id, |reply| SessionCommand::Kill {
            reason: EndReason::Killed,
            detail: None,
            reply,
        })
        .await
    }

    pub async fn sessions(&self) -> Result<Vec<SessionSummary>, FrameError> {
        self.readers
            .read(|r| r.sessions())
            .await
            .map_err(|e| internal("listing sessions", e))
    }

    /// A page of sessions, newest first, and the cursor to the next.
    pub async fn sessions_page(
        &self,
        limit: u32,
        after: Option<SessionId>,
    ) -> Result<ListSessionsResult, FrameError> {
        let limit = limit.clamp(1, MAX_SESSION_PAGE);
        let (sessions, more) = self
            .readers
            .read(move |r| r.sessions_page(limit, after.as_ref()))
            .await
            .map_err(|e| internal("listing sessions", e))?;
        let next = more
            .then(|| sessions.last().map(|s| s.session_id.clone()))
            .flatten();
        Ok(ListSessionsResult { sessions, next })
    }

    pub async fn directories(&self) -> Result<Vec<DirectoryInfo>, FrameError> {
        self.readers
            .read(|r| r.directories())
            .await
            .map_err(|e| internal("listing directories", e))
    }

    /// Register a directory; the path must exist and is stored canonical.
    pub async fn add_directory(&self, path: &str) -> Result<DirectoryInfo, FrameError> {
        let canonical = std::fs::canonicalize(path).map_err(|e| {
            FrameError::new(
                ErrorCode::InvalidFrame,
                format!("cannot register directory `{path}`: {e}"),
            )
        })?;
        if !canonical.is_dir() {
            return Err(FrameError::new(
                ErrorCode::InvalidFrame,
                format!("`{path}` is not a directory"),
            ));
        }
        self.ingest
            .add_directory(canonical)
            .await
            .map_err(|e| internal("registering the directory", e))
    }

    /// Unregister a directory; its sessions and their history stay.
    pub async fn remove_directory(&self, id: &DirectoryId) -> Result<(), FrameError> {
        let removed = self
            .ingest
            .remove_directory(id.clone())
            .await
            .map_err(|e| internal("removing the directory", e))?;
        if removed {
            Ok(())
        } else {
            Err(FrameError::new(
                ErrorCode::UnknownDirectory,
                format!("no registered directory {id} (see `vpd dir ls`)"),
            ))
        }
    }

    pub async fn reindex(&self) -> Result<ReindexResult, FrameError> {
        let done = self
            .ingest
            .reindex()
            .await
            .map_err(|e| internal("reindexing", e))?;
        Ok(ReindexResult {
            sessions: done.sessions,
            events: done.events,
        })
    }

    /// End every live session, recording that the daemon stopped under it.
    pub async fn shutdown(&self) {
        let live: Vec<SessionId> = self.lock_live().keys().cloned().collect();
        for id in live {
            let detail = Some("the daemon was stopped".to_owned());
            let _ = self
                .command(&id, |reply| SessionCommand::Kill {
                    reason: EndReason::DaemonLost,
                    detail,
                    reply,
                })
                .await;
        }
    }

    /// The daemon goes and the next one takes over: each live session
    /// records that it is out of reach meanwhile. How many run on.
    pub async fn detach(&self) -> usize {
        let live: Vec<SessionId> = self.lock_live().keys().cloned().collect();
        let mut kept = 0;
        for id in &live {
            if let Err(e) = self
                .command(id, |reply| SessionCommand::Detach { reply })
                .await
            {
                tracing::warn!(session = %id, "cannot record that the session is out of reach: {e}");
            } else {
                kept += 1;
            }
        }
        kept
    }

    /// Take over the sessions the last daemon left running: an agent whose
    /// supervisor still runs goes on under this daemon, from where the log
    /// ends; any other session is recorded as ended with the daemon,
    /// answering its open prompts `cancelled`.
    pub async fn take_over(self: &Arc<Self>, orphans: Vec<SessionSummary>) {
        for orphan in orphans {
            let id = orphan.session_id.clone();
            let taken = match orphan.kind {
                SessionKind::Acp => self.adopt(&orphan).await,
                SessionKind::Terminal => self.adopt_terminal(&orphan).await,
                SessionKind::Observed => Err("observed sessions are followed, not run".to_owned()),
            };
            match taken {
                Ok(()) => tracing::info!(session = %id, "took over the running agent"),
                Err(why) => {
                    tracing::warn!(session = %id, "cannot take the session over: {why}");
                    viewport_supervisor::link::abandon(&self.home.session_dir(&id)).await;
                    let detail = format!(
                        "the daemon stopped while the session ran, and it could not be taken over: {why}"
                    );
                    self.end_with(&id, EndReason::DaemonLost, &detail).await;
                }
            }
        }
    }

    /// Connect to the supervisor of a terminal session an earlier daemon
    /// ran: its screen is rebuilt from the console log, its output goes on.
    async fn adopt_terminal(self: &Arc<Self>, summary: &SessionSummary) -> Result<(), String> {
        let id = &summary.session_id;
        let session_dir = self.home.session_dir(id);
        if !viewport_supervisor::link::socket(&session_dir).exists() {
            return Err("its supervisor is gone".to_owned());
        }
        let terminal = Terminal::adopt(&session_dir, &session_dir.join("console.log"))
            .await
            .map_err(|e| e.to_string())?;
        let (away, back) = taken_over(summary.state);
        self.store_updates(id, vec![away, back])
            .await
            .map_err(|e| e.message)?;
        self.run_terminal(id.clone(), terminal, None);
        Ok(())
    }

    /// Whether a session has a task in this daemon.
    pub(crate) fn is_live(&self, id: &SessionId) -> bool {
        self.lock_live().contains_key(id)
    }

    /// Connect to the supervisor of an ACP session an earlier daemon ran
    /// and hand the session to a task of this daemon.
    async fn adopt(self: &Arc<Self>, summary: &SessionSummary) -> Result<(), String> {
        let id = &summary.session_id;
        let session_dir = self.home.session_dir(id);
        if !viewport_supervisor::link::socket(&session_dir).exists() {
            return Err("its supervisor is gone".to_owned());
        }
        let stored = launch::load(&session_dir)
            .map_err(|e| format!("its launch options are unreadable: {e}"))?
            .ok_or_else(|| "its launch options were not kept".to_owned())?;
        let directory = self
            .directory(&summary.directory_id)
            .await
            .map_err(|e| e.message)?;
        let mut plan = launch::plan(
            &self.program_search(),
            &directory,
            stored.model.clone(),
            &stored.overrides,
        )
        .map_err(|e| e.message)?;
        self.prepare_session_dir(id, &mut plan, &stored)
            .map_err(|e| e.message)?;
        let lookup = id.clone();
        let (resume_from, pending) = self
            .readers
            .read(move |r| Ok((r.output_offset(&lookup)?, r.pending_prompts(&lookup)?)))
            .await
            .map_err(|e| format!("its log is unreadable: {e}"))?;
        let open_message = self
            .open_message(id)
            .await
            .map_err(|e| format!("its log is unreadable: {}", e.message))?;
        let (events_tx, events_rx) = mpsc::channel(DRIVER_QUEUE);
        let agent = AcpSession::adopt(
            &plan.spec,
            &session_dir,
            resume_from,
            open_message,
            events_tx,
        )
        .await
        .map_err(|e| e.to_string())?;
        let files = SessionFiles {
            stderr_log: plan.spec.stderr_log.clone(),
            checkpoints: Some((self.checkpointer.clone(), plan.spec.cwd.clone())),
            outputs: Some(self.large_outputs(id)),
        };
        let (task, commands) = self.session_task(id, agent, plan.rules, false, files);
        let task = task.taking_over(summary.state, pending);
        self.run_session(id.clone(), (task, commands), events_rx);
        Ok(())
    }

    async fn end_after_failure(&self, id: &SessionId, error: &str) {
        self.end_with(id, EndReason::Failed, &format!("internal error: {error}"))
            .await;
    }

    async fn end_with(&self, id: &SessionId, reason: EndReason, detail: &str) {
        let lookup = id.clone();
        let pending = self
            .readers
            .read(move |r| r.pending_prompts(&lookup))
            .await
            .unwrap_or_default();
        let mut updates: Vec<EventBody> = pending
            .into_iter()
            .map(|prompt| {
                EventBody::Update(SessionUpdate::PermissionResolved(PermissionResolved {
                    prompt_id: prompt.request.prompt_id,
                    outcome: PermissionOutcome::Cancelled,
                    reason: Some(detail.to_owned()),
                }))
            })
            .collect();
        let end = state_change(SessionState::Ended, Some(reason), Some(detail.to_owned()));
        updates.push(EventBody::Update(end));
        if let Err(e) = self.store_all(id, updates).await {
            tracing::error!(session = %id, "cannot record the end of the session: {e}");
        }
    }

    /// Store events of one session in one commit.
    /// Store updates of a session, if there are any.
    pub(crate) async fn store_updates(
        &self,
        id: &SessionId,
        updates: Vec<SessionUpdate>,
    ) -> Result<(), FrameError> {
        if updates.is_empty() {
            return Ok(());
        }
        let bodies = updates.into_iter().map(EventBody::Update).collect();
        self.store_all(id, bodies).await.map(|_| ())
    }

    pub(crate) async fn store_all(
        &self,
        id: &SessionId,
        bodies: Vec<EventBody>,
    ) -> Result<u64, FrameError> {
        let events = bodies
            .into_iter()
            .map(|body| NewEvent {
                session_id: id.clone(),
                body,
            })
            .collect();
        self.ingest
            .commit(events)
            .await
            .map_err(|e| internal("storing the session", e))
    }

    pub(crate) async fn summary(&self, id: &SessionId) -> Result<SessionSummary, FrameError> {
        let lookup = id.clone();
        match self.readers.read(move |r| r.session(&lookup)).await {
            Ok(Some(summary)) => Ok(summary),
            Ok(None) => Err(FrameError::new(
                ErrorCode::UnknownSession,
                format!("no session {id}"),
            )),
            Err(e) => Err(internal("reading the session", e)),
        }
    }

    /// The text so far of the agent message the session's log leaves
    /// streaming (the chunks after the last `streaming-state` on), if any.
    /// Read backwards from the end: it costs the open message, not the log.
    async fn open_message(&self, id: &SessionId) -> Result<Option<String>, FrameError> {
        let lookup = id.clone();
        self.readers
            .read(move |r| {
                let mut chunks = Vec::new();
                let mut before = u64::MAX;
                loop {
                    let page = r.updates_before(&lookup, before, 4096)?;
                    let Some(first) = page.first() else {
                        return Ok(None);
                    };
                    before = first.seq;
                    for update in page.iter().rev() {
                        let parsed = match update.kind.as_str() {
                            "streaming-state" | "agent-message-chunk" => {
                                serde_json::from_str(&update.json).ok()
                            }
                            _ => None,
                        };
                        match parsed {
                            Some(SessionUpdate::StreamingState(state)) => {
                                let text = chunks.iter().rev().map(String::as_str).collect();
                                return Ok(state.streaming.then_some(text));
                            }
                            Some(SessionUpdate::AgentMessageChunk(chunk)) => {
                                chunks.push(chunk.text)
                            }
                            _ => {}
                        }
                    }
                }
            })
            .await
            .map_err(|e| internal("reading the session", e))
    }

    /// The agent's own session id, the last one the session recorded, and
    /// whether the agent said it can load it again.
    async fn agent_session(&self, id: &SessionId) -> Result<Option<(String, bool)>, FrameError> {
        self.fold_updates(id, None, |found, kind, json| {
            if kind == "system-status"
                && let Ok(SessionUpdate::SystemStatus(SystemStatus::Agent {
                    agent_session_id,
                    can_resume,
                    ..
                })) = serde_json::from_str(json)
            {
                *found = Some((agent_session_id, can_resume));
            }
        })
        .await
    }

    /// Fold every stored update of a session (its kind and JSON), in order,
    /// into `state`, on a reader thread.
    async fn fold_updates<T: Send + 'static>(
        &self,
        id: &SessionId,
        mut state: T,
        mut fold: impl FnMut(&mut T, &str, &str) + Send + 'static,
    ) -> Result<T, FrameError> {
        let lookup = id.clone();
        self.readers
            .read(move |r| {
                let mut after = 0;
                loop {
                    let mut last = after;
                    r.visit_updates_after(&lookup, after, 4096, |seq, kind, json| {
                        last = seq;
                        fold(&mut state, kind, json);
                    })?;
                    if last == after {
                        return Ok(state);
                    }
                    after = last;
                }
            })
            .await
            .map_err(|e| internal("reading the session", e))
    }

    pub(crate) async fn directory(&self, id: &DirectoryId) -> Result<DirectoryInfo, FrameError> {
        let lookup = id.clone();
        match self.readers.read(move |r| r.directory(&lookup)).await {
            Ok(Some(directory)) => Ok(directory),
            Ok(None) => Err(FrameError::new(
                ErrorCode::UnknownDirectory,
                format!("no registered directory {id}; register one with `vpd dir add PATH`"),
            )),
            Err(e) => Err(internal("reading the directory", e)),
        }
    }

    fn lock_live(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<SessionId, mpsc::UnboundedSender<SessionCommand>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn command(
        &self,
        id: &SessionId,
        make: impl FnOnce(Reply) -> SessionCommand,
    ) -> Result<(), FrameError> {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .lock_live()
            .get(id)
            .map(|tx| tx.send(make(reply)).is_ok())
            .unwrap_or(false);
        if sent && let Ok(result) = answer.await {
            return result;
        }
        Err(self.not_live(id).await)
    }

    /// The error for a command to a session that has no live task.
    async fn not_live(&self, id: &SessionId) -> FrameError {
        let lookup = id.clone();
        match self.readers.read(move |r| r.session(&lookup)).await {
            Ok(Some(_)) => {
                FrameError::new(ErrorCode::SessionEnded, format!("session {id} has ended"))
            }
            Ok(None) => FrameError::new(ErrorCode::UnknownSession, format!("no session {id}")),
            Err(e) => internal("reading the session", e),
        }
    }
}

/// What the session log says of the config's contexts: which the first
/// prompt carries, and which could not be read.
fn context_notices(
    context: &[ContextItem],
    problems: Vec<String>,
) -> impl Iterator<Item = SessionUpdate> {
    let carried = (!context.is_empty()).then(|| {
        let uris: Vec<&str> = context.iter().map(|c| c.uri.as_str()).collect();
        format!(
            "the first prompt carries context from the config: {}",
            uris.join(", ")
        )
    });
    carried
        .into_iter()
        .chain(problems)
        .map(|message| SessionUpdate::SystemStatus(SystemStatus::Notice { message }))
}

/// What a session that was taken over records: that it was out of reach
/// while no daemon ran, then that it is reachable again, in `state`.
pub fn taken_over(state: SessionState) -> (SessionUpdate, SessionUpdate) {
    let mut away = state_change(
        state,
        None,
        Some("the daemon stopped while the session ran".to_owned()),
    );
    if let SessionUpdate::StateChange(change) = &mut away {
        change.disconnected = true;
    }
    let back = state_change(
        state,
        None,
        Some("taken over by the restarted daemon".to_owned()),
    );
    (away, back)
}
