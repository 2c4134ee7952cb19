//! Observed sessions: agents started out of band (`claude` typed in a
//! terminal) whose hooks report to the daemon. The first event of an unknown
//! agent session id under a registered directory creates the session; every
//! event becomes updates in its log like any other session's.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use viewport_agents::hooks::{claude_updates, context};
use viewport_protocol::frames::HookResult;
use viewport_protocol::state::{DirectoryInfo, SessionKind, SessionSummary};
use viewport_protocol::{ErrorCode, FrameError, SessionId, SessionUpdate};
use viewport_store::{EventBody, SessionGenesis};

use crate::manager::Manager;

impl Manager {
    /// Record one hook event, creating its session on the first.
    pub async fn hook_event(
        self: &Arc<Self>,
        agent: &str,
        event: Value,
    ) -> Result<HookResult, FrameError> {
        if agent != "claude" {
            return Err(FrameError::new(
                ErrorCode::InvalidFrame,
                format!("hooks from `{agent}` are not understood; vpd reads `claude` hooks"),
            ));
        }
        let hook = context(&event).map_err(|m| FrameError::new(ErrorCode::InvalidFrame, m))?;
        let external_id = format!("{agent}:{}", hook.session_id);
        // One event at a time per daemon: two first events of one session
        // must not create it twice.
        let _creating = self.observing().lock().await;
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
                    agent: "claude-code".to_owned(),
                    cwd: cwd.to_owned(),
                    model: None,
                    name: None,
                    command: Vec::new(),
                    template: None,
                    external_id: Some(external_id),
                };
                self.store_all(&id, vec![EventBody::Genesis(genesis)])
                    .await?;
                (id, None)
            }
        };
        // Hooks say what state an event implies; only changes are stored.
        let updates = claude_updates(&event)
            .into_iter()
            .filter(|update| match update {
                SessionUpdate::StateChange(change) if state == Some(change.state) => false,
                SessionUpdate::StateChange(change) => {
                    state = Some(change.state);
                    true
                }
                _ => true,
            })
            .map(EventBody::Update)
            .collect();
        self.store_all(&session_id, updates).await?;
        Ok(HookResult {
            session_id: Some(session_id),
        })
    }

    async fn session_with_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<SessionSummary>, FrameError> {
        Ok(self
            .sessions()
            .await?
            .into_iter()
            .find(|s| s.external_id.as_deref() == Some(external_id)))
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
