//! Pure folds from events to views. No SQL here: the writer stores what these
//! compute, and `reindex` runs the same folds over the whole log, so the live
//! projection and a rebuilt one cannot disagree.

use std::collections::BTreeMap;

use viewport_protocol::frames::PendingPrompt;
use viewport_protocol::state::SessionSummary;
use viewport_protocol::update::{StateChange, SystemStatus};
use viewport_protocol::{PromptId, SessionId, SessionState, SessionUpdate};

use crate::event::SessionGenesis;

/// Longest title taken from a first prompt, in characters.
const TITLE_CHARS: usize = 80;

/// A session as its events describe it so far.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub summary: SessionSummary,
    pub pending: BTreeMap<PromptId, PendingPrompt>,
}

/// What one event changed in the pending prompts, for the writer to store.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptChange {
    None,
    Opened(PendingPrompt),
    Closed(PromptId),
}

impl SessionView {
    pub fn from_genesis(session_id: SessionId, genesis: &SessionGenesis, at: i64) -> Self {
        let summary = SessionSummary {
            session_id,
            directory_id: genesis.directory_id.clone(),
            kind: genesis.kind,
            agent: genesis.agent.clone(),
            cwd: genesis.cwd.clone(),
            title: None,
            state: SessionState::Active,
            disconnected: false,
            end_reason: None,
            created_at: at,
            updated_at: at,
            last_seq: 0,
            pending_prompts: 0,
            name: genesis.name.clone(),
            command: genesis.command.clone(),
            template: genesis.template.clone(),
            exit_code: None,
            external_id: genesis.external_id.clone(),
            forked_from: genesis.forked_from.clone(),
            git: genesis.git.clone(),
            cost_usd: None,
        };
        Self {
            summary,
            pending: BTreeMap::new(),
        }
    }

    /// Fold one update into the view.
    pub fn apply(&mut self, seq: u64, update: &SessionUpdate, at: i64) -> PromptChange {
        let summary = &mut self.summary;
        summary.last_seq = seq;
        summary.updated_at = at;
        let change = match update {
            SessionUpdate::StateChange(StateChange {
                state,
                disconnected,
                reason,
                exit_code,
                ..
            }) => {
                summary.state = *state;
                summary.disconnected = *disconnected;
                summary.end_reason = *reason;
                summary.exit_code = *exit_code;
                PromptChange::None
            }
            SessionUpdate::UserMessage(message) if summary.title.is_none() => {
                summary.title = Some(title_of(&message.text));
                PromptChange::None
            }
            SessionUpdate::TokenUsage(usage) => {
                if let Some(cost) = usage.cost.as_ref().filter(|c| c.currency == "USD") {
                    summary.cost_usd = Some(cost.amount);
                }
                PromptChange::None
            }
            SessionUpdate::SystemStatus(SystemStatus::Git { repos }) => {
                summary.git = repos.clone();
                PromptChange::None
            }
            // A title a person or the agent gave replaces the first prompt's.
            SessionUpdate::SystemStatus(SystemStatus::Title { title }) => {
                summary.title = Some(title_of(title));
                PromptChange::None
            }
            SessionUpdate::PermissionRequest(request) => {
                let pending = PendingPrompt {
                    session_id: summary.session_id.clone(),
                    seq,
                    request: request.clone(),
                };
                self.pending
                    .insert(request.prompt_id.clone(), pending.clone());
                PromptChange::Opened(pending)
            }
            SessionUpdate::PermissionResolved(resolved) => {
                self.pending.remove(&resolved.prompt_id);
                PromptChange::Closed(resolved.prompt_id.clone())
            }
            _ => PromptChange::None,
        };
        self.summary.pending_prompts = u32::try_from(self.pending.len()).unwrap_or(u32::MAX);
        change
    }
}

fn title_of(prompt: &str) -> String {
    let line = prompt
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() <= TITLE_CHARS {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(TITLE_CHARS - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use viewport_protocol::state::{EndReason, SessionKind};
    use viewport_protocol::update::{
        MessageText, PermissionOutcome, PermissionRequest, PermissionResolved,
    };

    use super::*;

    fn view() -> SessionView {
        let genesis =
            SessionGenesis::new("dir_1".parse().unwrap(), SessionKind::Acp, "demo", "/tmp");
        SessionView::from_genesis("ses_1".parse().unwrap(), &genesis, 10)
    }

    fn request(id: &str) -> SessionUpdate {
        SessionUpdate::PermissionRequest(PermissionRequest {
            prompt_id: id.parse().unwrap(),
            tool_call_id: None,
            title: "write".into(),
            options: vec![],
        })
    }

    #[test]
    fn the_first_user_message_becomes_the_title() {
        let mut v = view();
        let first = SessionUpdate::UserMessage(MessageText {
            text: "\n  fix the tests\nplease".into(),
        });
        let second = SessionUpdate::UserMessage(MessageText {
            text: "other".into(),
        });
        v.apply(1, &first, 11);
        v.apply(2, &second, 12);
        assert_eq!(v.summary.title.as_deref(), Some("fix the tests"));
        assert_eq!((v.summary.last_seq, v.summary.updated_at), (2, 12));
    }

    #[test]
    fn long_titles_are_cut_on_a_character_boundary() {
        let title = title_of(&"é".repeat(200));
        assert_eq!(title.chars().count(), TITLE_CHARS);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn prompts_open_and_close() {
        let mut v = view();
        assert!(matches!(v.apply(1, &request("prm_a"), 1), PromptChange::Opened(p) if p.seq == 1));
        v.apply(2, &request("prm_b"), 2);
        assert_eq!(v.summary.pending_prompts, 2);
        let resolved = SessionUpdate::PermissionResolved(PermissionResolved {
            prompt_id: "prm_a".parse().unwrap(),
            outcome: PermissionOutcome::Cancelled,
            reason: None,
        });
        assert_eq!(
            v.apply(3, &resolved, 3),
            PromptChange::Closed("prm_a".parse().unwrap())
        );
        assert_eq!(v.summary.pending_prompts, 1);
        assert!(
            v.pending
                .contains_key(&"prm_b".parse::<PromptId>().unwrap())
        );
    }

    #[test]
    fn state_changes_carry_the_end_reason() {
        let mut v = view();
        let ended = SessionUpdate::StateChange(StateChange {
            state: SessionState::Ended,
            disconnected: false,
            reason: Some(EndReason::DaemonLost),
            detail: None,
            exit_code: None,
        });
        v.apply(1, &ended, 5);
        assert_eq!(v.summary.state, SessionState::Ended);
        assert_eq!(v.summary.end_reason, Some(EndReason::DaemonLost));
    }
}
