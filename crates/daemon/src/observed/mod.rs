//! Observed sessions: agents started out of band (`claude` typed in a
//! terminal) whose hooks report to the daemon. The first event of an unknown
//! agent session id under a registered directory creates the session; every
//! event becomes updates in its log like any other session's.
//!
//! When the hooks name a transcript, [`watch`] follows it: then the
//! transcript tells what was said and done, and the hooks only what state
//! the session is in, what needs attention and what needs permission.
//!
//! While a viewport follows the session, a `PreToolUse` becomes a permission
//! prompt it can answer; the hook returns the decision to Claude Code.
//! Nobody answering in time (`--hook-answer-secs`, a minute by default)
//! gives `ask`: the terminal decides, and the agent is never stuck on vpd.
//! With nobody following, the hook returns at once and says nothing.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use viewport_agents::hooks::{Decision, HookAgent, context, hook_updates};
use viewport_protocol::frames::HookResult;
use viewport_protocol::state::{DirectoryInfo, SessionKind, SessionSummary};
use viewport_protocol::{ErrorCode, FrameError, SessionId, SessionUpdate};
use viewport_store::{EventBody, SessionGenesis};

use tokio::sync::oneshot;
use viewport_protocol::update::{
    Attention, AttentionReason, PermissionOption, PermissionOptionKind, PermissionOutcome,
    PermissionRequest, PermissionResolved,
};
use viewport_protocol::{PromptId, SessionState};

use crate::hub::Hub;
use crate::manager::Manager;
use crate::session::state_change;

mod watch;

use watch::Watches;

/// What the daemon keeps of observed sessions besides their logs.
pub struct ObservedSessions {
    /// Held while a hook event finds or creates its session, so two first
    /// events of one session do not create it twice.
    creating: tokio::sync::Mutex<()>,
    /// Permission prompts waiting for a viewport.
    prompts: std::sync::Mutex<std::collections::HashMap<PromptId, ObservedPrompt>>,
    /// How long a hooked tool call waits for a viewport's answer.
    answer_wait: Duration,
    watches: Watches,
}

impl ObservedSessions {
    pub fn new(answer_wait: Duration) -> Self {
        Self {
            creating: tokio::sync::Mutex::new(()),
            prompts: Default::default(),
            answer_wait,
            watches: Watches::default(),
        }
    }

    fn prompts(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<PromptId, ObservedPrompt>> {
        self.prompts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether a hook's update says what the permission prompt says itself.
fn prompt_tells(update: &SessionUpdate) -> bool {
    matches!(update, SessionUpdate::Attention(_))
        || matches!(update, SessionUpdate::StateChange(c) if c.state == SessionState::Awaiting)
}

/// Whether a hook's update says what the transcript says better.
fn transcript_tells(update: &SessionUpdate) -> bool {
    matches!(
        update,
        SessionUpdate::UserMessage(_)
            | SessionUpdate::AgentMessage(_)
            | SessionUpdate::ToolCall(_)
            | SessionUpdate::ToolCallUpdate(_)
    )
}

/// How long a tool call waits for a viewport's answer unless configured.
pub const DEFAULT_ANSWER_WAIT: Duration = Duration::from_secs(60);

/// A permission prompt of an observed session, waiting for a viewport.
pub struct ObservedPrompt {
    pub session_id: SessionId,
    pub options: Vec<PermissionOption>,
    pub reply: oneshot::Sender<PermissionOutcome>,
}

impl Manager {
    /// Record one hook event, creating its session on the first.
    pub async fn hook_event(
        self: &Arc<Self>,
        agent: &str,
        event: Value,
        agent_pid: Option<u32>,
        hub: &Hub,
    ) -> Result<HookResult, FrameError> {
        let Some(agent) = HookAgent::parse(agent) else {
            return Err(FrameError::new(
                ErrorCode::InvalidFrame,
                format!(
                    "hooks from `{agent}` are not understood; vpd reads `claude` and `codex` hooks"
                ),
            ));
        };
        let hook = context(&event).map_err(|m| FrameError::new(ErrorCode::InvalidFrame, m))?;
        tracing::debug!(event = %hook.event_name, session = %hook.session_id, "hook event");
        let external_id = format!("{}:{}", agent.as_str(), hook.session_id);
        let _creating = self.observed().creating.lock().await;
        let (session_id, mut state) = match self.session_with_external_id(&external_id).await? {
            Some(summary) => (summary.session_id, Some(summary.state)),
            None => {
                let Some(cwd) = hook.cwd.as_deref() else {
                    return Ok(HookResult::default());
                };
                let Some(directory) = self.directory_containing(Path::new(cwd)).await? else {
                    return Ok(HookResult::default());
                };
                let id = SessionId::generate();
                let genesis = SessionGenesis {
                    directory_id: directory.directory_id,
                    kind: SessionKind::Observed,
                    agent: agent.profile().to_owned(),
                    cwd: cwd.to_owned(),
                    model: None,
                    name: None,
                    command: Vec::new(),
                    template: None,
                    external_id: Some(external_id),
                    forked_from: None,
                    git: Vec::new(),
                };
                self.store_all(&id, vec![EventBody::Genesis(genesis)])
                    .await?;
                (id, None)
            }
        };
        let watch = self
            .watch(
                &session_id,
                agent,
                hook.transcript_path.as_deref(),
                agent_pid,
            )
            .await?;
        let mut watch = watch.lock().await;
        // What the transcript gained comes first: the hook event follows it.
        self.catch_up(&mut watch).await?;
        if let Some(settled) = self.settle(&mut watch).await? {
            state = Some(settled);
        }
        let follows_transcript = watch.follows_transcript();
        let asking = hook.event_name == agent.permission_event() && hub.is_followed(&session_id);
        // Hooks say what state an event implies; only changes are stored.
        let updates: Vec<SessionUpdate> = hook_updates(agent, &event)
            .into_iter()
            .filter(|update| !(follows_transcript && transcript_tells(update)))
            .filter(|update| !(asking && prompt_tells(update)))
            .filter(|update| match update {
                SessionUpdate::StateChange(change) if state == Some(change.state) => false,
                SessionUpdate::StateChange(change) => {
                    state = Some(change.state);
                    true
                }
                _ => true,
            })
            .collect();
        self.record_hook_updates(&mut watch, updates).await?;
        drop(watch);
        drop(_creating);
        let output = if asking {
            let wait = self.observed().answer_wait;
            let decision = self.ask_viewports(agent, &session_id, &event, wait).await?;
            agent.decision(decision)
        } else {
            None
        };
        Ok(HookResult {
            session_id: Some(session_id),
            output,
        })
    }

    /// A permission prompt for a tool call; the decision Claude Code gets.
    async fn ask_viewports(
        &self,
        agent: HookAgent,
        session_id: &SessionId,
        event: &Value,
        wait: Duration,
    ) -> Result<Decision, FrameError> {
        let tool = event
            .get("tool_name")
            .and_then(Value::as_str)
            .unwrap_or("a tool");
        let prompt_id = PromptId::generate();
        let options = vec![
            PermissionOption {
                option_id: "allow".to_owned(),
                name: "Allow".to_owned(),
                kind: PermissionOptionKind::AllowOnce,
            },
            PermissionOption {
                option_id: "deny".to_owned(),
                name: "Deny".to_owned(),
                kind: PermissionOptionKind::RejectOnce,
            },
        ];
        let (reply, answer) = oneshot::channel();
        self.observed().prompts().insert(
            prompt_id.clone(),
            ObservedPrompt {
                session_id: session_id.clone(),
                options: options.clone(),
                reply,
            },
        );
        let request = PermissionRequest {
            prompt_id: prompt_id.clone(),
            tool_call_id: event
                .get("tool_use_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            title: format!("{} wants to use {tool}", agent.display_name()),
            options,
        };
        let asked = vec![
            EventBody::Update(SessionUpdate::PermissionRequest(request)),
            EventBody::Update(state_change(SessionState::Awaiting, None, None)),
            EventBody::Update(SessionUpdate::Attention(Attention {
                reason: AttentionReason::PermissionPending,
                message: format!("Permission needed: {tool}"),
            })),
        ];
        self.store_all(session_id, asked).await?;
        let outcome = tokio::time::timeout(wait, answer).await;
        let output = match outcome {
            Ok(Ok(PermissionOutcome::Selected { option_id })) if option_id == "allow" => {
                Decision::Allow
            }
            Ok(Ok(PermissionOutcome::Selected { .. })) => Decision::Deny,
            _ => {
                let unanswered = self.observed().prompts().remove(&prompt_id).is_some();
                if unanswered {
                    let reason = format!(
                        "nobody answered within {}s; {} asks in its terminal",
                        wait.as_secs(),
                        agent.display_name()
                    );
                    let resolved = PermissionResolved {
                        prompt_id,
                        outcome: PermissionOutcome::Cancelled,
                        reason: Some(reason),
                    };
                    self.store_all(
                        session_id,
                        vec![EventBody::Update(SessionUpdate::PermissionResolved(
                            resolved,
                        ))],
                    )
                    .await?;
                }
                Decision::Ask
            }
        };
        let active = state_change(SessionState::Active, None, None);
        self.store_all(session_id, vec![EventBody::Update(active)])
            .await?;
        Ok(output)
    }

    /// Answer a prompt of an observed session, if `prompt_id` is one.
    pub async fn answer_observed(
        &self,
        session_id: &SessionId,
        prompt_id: &PromptId,
        outcome: &PermissionOutcome,
    ) -> Option<Result<(), FrameError>> {
        let open = {
            let mut prompts = self.observed().prompts();
            let belongs = prompts
                .get(prompt_id)
                .is_some_and(|p| &p.session_id == session_id);
            if !belongs {
                return None;
            }
            if let PermissionOutcome::Selected { option_id } = outcome
                && !prompts
                    .get(prompt_id)
                    .is_some_and(|p| p.options.iter().any(|o| &o.option_id == option_id))
            {
                return Some(Err(FrameError::new(
                    ErrorCode::InvalidFrame,
                    format!(
                        "prompt {prompt_id} has no option `{option_id}`; its options are: allow, deny"
                    ),
                )));
            }
            prompts.remove(prompt_id)?
        };
        let resolved = PermissionResolved {
            prompt_id: prompt_id.clone(),
            outcome: outcome.clone(),
            reason: None,
        };
        let stored = self
            .store_all(
                session_id,
                vec![EventBody::Update(SessionUpdate::PermissionResolved(
                    resolved,
                ))],
            )
            .await
            .map(|_| ());
        let _ = open.reply.send(outcome.clone());
        Some(stored)
    }

    async fn session_with_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<SessionSummary>, FrameError> {
        let external_id = external_id.to_owned();
        self.readers()
            .read(move |r| r.session_with_external_id(&external_id))
            .await
            .map_err(|e| FrameError::new(ErrorCode::Internal, format!("reading sessions: {e}")))
    }

    /// The registered directory `cwd` is in (the innermost, when nested).
    async fn directory_containing(&self, cwd: &Path) -> Result<Option<DirectoryInfo>, FrameError> {
        let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_owned());
        Ok(self
            .directories()
            .await?
            .into_iter()
            .filter(|d| cwd.starts_with(&d.path))
            .max_by_key(|d| d.path.len()))
    }
}
