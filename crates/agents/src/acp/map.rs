//! ACP session updates to viewport updates. Pure functions, tested alone.

use agent_client_protocol::v1::schema as acp;
use viewport_protocol::SessionUpdate;
use viewport_protocol::options::{ContextItem, McpServer};
use viewport_protocol::update::{
    AvailableCommand, Cost, MessageText, PermissionOption, PermissionOptionKind, PlanEntry,
    PlanEntryPriority, PlanEntryStatus, StopReason, SystemStatus, TokenUsage, ToolCall,
    ToolCallUpdate, ToolContent, ToolKind, ToolLocation, ToolStatus,
};

/// What one ACP update becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// A piece of the agent's message: stored as a chunk and collected into
    /// the complete message.
    MessageChunk(String),
    Update(SessionUpdate),
    /// Nothing worth storing.
    Nothing,
}

pub fn map_update(update: acp::SessionUpdate) -> Mapped {
    use acp::SessionUpdate as U;
    let mapped = match update {
        U::AgentMessageChunk(chunk) => return Mapped::MessageChunk(content_text(&chunk.content)),
        U::AgentThoughtChunk(chunk) => {
            SessionUpdate::AgentThoughtChunk(viewport_protocol::update::TextChunk {
                text: content_text(&chunk.content),
            })
        }
        U::UserMessageChunk(chunk) => SessionUpdate::UserMessage(MessageText {
            text: content_text(&chunk.content),
        }),
        U::ToolCall(call) => SessionUpdate::ToolCall(tool_call(call)),
        U::ToolCallUpdate(update) => SessionUpdate::ToolCallUpdate(tool_call_update(update)),
        U::Plan(plan) => SessionUpdate::SystemStatus(SystemStatus::Plan {
            entries: plan.entries.into_iter().map(plan_entry).collect(),
        }),
        U::AvailableCommandsUpdate(update) => SessionUpdate::SystemStatus(SystemStatus::Commands {
            commands: update
                .available_commands
                .into_iter()
                .map(|c| AvailableCommand {
                    name: c.name,
                    description: c.description,
                })
                .collect(),
        }),
        U::CurrentModeUpdate(update) => SessionUpdate::SystemStatus(SystemStatus::Mode {
            mode_id: update.current_mode_id.0.to_string(),
        }),
        U::SessionInfoUpdate(info) => match info.title {
            agent_client_protocol::schema::MaybeUndefined::Value(title) => {
                SessionUpdate::SystemStatus(SystemStatus::Title { title })
            }
            _ => return Mapped::Nothing,
        },
        U::UsageUpdate(usage) => SessionUpdate::TokenUsage(TokenUsage {
            context_used: Some(usage.used),
            context_size: Some(usage.size),
            cost: usage.cost.map(|c| Cost {
                amount: c.amount,
                currency: c.currency,
            }),
            ..TokenUsage::default()
        }),
        U::ConfigOptionUpdate(update) => SessionUpdate::SystemStatus(SystemStatus::Config {
            options: update
                .config_options
                .iter()
                .map(super::config::option_view)
                .collect(),
        }),
        U::Notice(notice) => SessionUpdate::SystemStatus(SystemStatus::Notice {
            message: match notice.description {
                Some(description) => format!("{}: {description}", notice.title),
                None => notice.title,
            },
        }),
        other => SessionUpdate::SystemStatus(unknown_status(
            serde_json::to_value(&other).unwrap_or_default(),
        )),
    };
    Mapped::Update(mapped)
}

/// An update kind we have no type for, kept whole. `update` is the ACP
/// update object, tagged by `sessionUpdate`.
pub fn unknown_status(update: serde_json::Value) -> SystemStatus {
    let kind = update
        .get("sessionUpdate")
        .and_then(|k| k.as_str())
        .unwrap_or("unknown")
        .to_owned();
    SystemStatus::Other { kind, data: update }
}

/// A prompt's context item as an ACP block: the content embedded when we
/// have it, a link otherwise.
pub fn context_block(item: &ContextItem) -> acp::ContentBlock {
    match &item.text {
        Some(text) => {
            let mut resource = acp::TextResourceContents::new(text.clone(), item.uri.clone());
            resource = resource.mime_type(item.mime_type.clone());
            acp::ContentBlock::Resource(acp::EmbeddedResource::new(
                acp::EmbeddedResourceResource::TextResourceContents(resource),
            ))
        }
        None => {
            let name = item.uri.rsplit('/').next().unwrap_or(&item.uri).to_owned();
            acp::ContentBlock::ResourceLink(
                acp::ResourceLink::new(name, item.uri.clone()).mime_type(item.mime_type.clone()),
            )
        }
    }
}

pub fn mcp_server(server: &McpServer) -> acp::McpServer {
    let headers = |headers: &std::collections::BTreeMap<String, String>| {
        headers
            .iter()
            .map(|(k, v)| acp::HttpHeader::new(k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    match server {
        McpServer::Stdio {
            name,
            command,
            args,
            env,
        } => acp::McpServer::Stdio(
            acp::McpServerStdio::new(name.clone(), command.clone())
                .args(args.clone())
                .env(
                    env.iter()
                        .map(|(k, v)| acp::EnvVariable::new(k.clone(), v.clone()))
                        .collect(),
                ),
        ),
        McpServer::Http {
            name,
            url,
            headers: h,
        } => acp::McpServer::Http(
            acp::McpServerHttp::new(name.clone(), url.clone()).headers(headers(h)),
        ),
        McpServer::Sse {
            name,
            url,
            headers: h,
        } => acp::McpServer::Sse(
            acp::McpServerSse::new(name.clone(), url.clone()).headers(headers(h)),
        ),
    }
}

/// A way to log in, in words.
pub fn auth_method(method: &acp::AuthMethod) -> String {
    let (name, description) = match method {
        acp::AuthMethod::Agent(m) => (&m.name, &m.description),
        acp::AuthMethod::Terminal(m) => (&m.name, &m.description),
        _ => return "an authentication method of its own".to_owned(),
    };
    match description {
        Some(d) => format!("{name} ({d})"),
        None => name.clone(),
    }
}

/// A content block in words: text as it is, anything else described.
pub fn content_text(block: &acp::ContentBlock) -> String {
    match block {
        acp::ContentBlock::Text(text) => text.text.clone(),
        acp::ContentBlock::Image(image) => format!("[image {}]", image.mime_type),
        acp::ContentBlock::Audio(audio) => format!("[audio {}]", audio.mime_type),
        acp::ContentBlock::ResourceLink(link) => format!("[{}]({})", link.name, link.uri),
        acp::ContentBlock::Resource(_) => "[embedded resource]".to_owned(),
        _ => "[content]".to_owned(),
    }
}

fn tool_call(call: acp::ToolCall) -> ToolCall {
    ToolCall {
        tool_call_id: call.tool_call_id.0.to_string(),
        title: call.title,
        kind: tool_kind(call.kind),
        status: tool_status(call.status),
        locations: call.locations.into_iter().map(location).collect(),
        content: call.content.into_iter().map(tool_content).collect(),
        raw_input: call.raw_input,
    }
}

pub fn tool_call_update(update: acp::ToolCallUpdate) -> ToolCallUpdate {
    let fields = update.fields;
    ToolCallUpdate {
        tool_call_id: update.tool_call_id.0.to_string(),
        status: fields.status.map(tool_status),
        title: fields.title,
        kind: fields.kind.map(tool_kind),
        content: fields
            .content
            .map(|c| c.into_iter().map(tool_content).collect()),
        raw_input: fields.raw_input,
        raw_output: fields.raw_output,
    }
}

fn location(location: acp::ToolCallLocation) -> ToolLocation {
    ToolLocation {
        path: location.path.display().to_string(),
        line: location.line,
    }
}

fn tool_content(content: acp::ToolCallContent) -> ToolContent {
    match content {
        acp::ToolCallContent::Content(content) => ToolContent::Text {
            text: content_text(&content.content),
        },
        acp::ToolCallContent::Diff(diff) => ToolContent::Diff {
            path: diff.path.display().to_string(),
            old_text: diff.old_text,
            new_text: diff.new_text,
        },
        acp::ToolCallContent::Terminal(terminal) => ToolContent::Terminal {
            terminal_id: terminal.terminal_id.0.to_string(),
        },
        _ => ToolContent::Other {
            description: "unsupported tool content".to_owned(),
        },
    }
}

fn tool_kind(kind: acp::ToolKind) -> ToolKind {
    match kind {
        acp::ToolKind::Read => ToolKind::Read,
        acp::ToolKind::Edit => ToolKind::Edit,
        acp::ToolKind::Delete => ToolKind::Delete,
        acp::ToolKind::Move => ToolKind::Move,
        acp::ToolKind::Search => ToolKind::Search,
        acp::ToolKind::Execute => ToolKind::Execute,
        acp::ToolKind::Think => ToolKind::Think,
        acp::ToolKind::Fetch => ToolKind::Fetch,
        acp::ToolKind::SwitchMode => ToolKind::SwitchMode,
        _ => ToolKind::Other,
    }
}

fn tool_status(status: acp::ToolCallStatus) -> ToolStatus {
    match status {
        acp::ToolCallStatus::Pending => ToolStatus::Pending,
        acp::ToolCallStatus::InProgress => ToolStatus::InProgress,
        acp::ToolCallStatus::Completed => ToolStatus::Completed,
        acp::ToolCallStatus::Failed => ToolStatus::Failed,
        _ => ToolStatus::InProgress,
    }
}

fn plan_entry(entry: acp::PlanEntry) -> PlanEntry {
    PlanEntry {
        content: entry.content,
        priority: match entry.priority {
            acp::PlanEntryPriority::High => PlanEntryPriority::High,
            acp::PlanEntryPriority::Low => PlanEntryPriority::Low,
            _ => PlanEntryPriority::Medium,
        },
        status: match entry.status {
            acp::PlanEntryStatus::InProgress => PlanEntryStatus::InProgress,
            acp::PlanEntryStatus::Completed => PlanEntryStatus::Completed,
            _ => PlanEntryStatus::Pending,
        },
    }
}

pub fn permission_option(option: acp::PermissionOption) -> PermissionOption {
    PermissionOption {
        option_id: option.option_id.0.to_string(),
        name: option.name,
        kind: match option.kind {
            acp::PermissionOptionKind::AllowOnce => PermissionOptionKind::AllowOnce,
            acp::PermissionOptionKind::AllowAlways => PermissionOptionKind::AllowAlways,
            acp::PermissionOptionKind::RejectAlways => PermissionOptionKind::RejectAlways,
            _ => PermissionOptionKind::RejectOnce,
        },
    }
}

pub fn stop_reason(reason: acp::StopReason) -> StopReason {
    match reason {
        acp::StopReason::MaxTokens => StopReason::MaxTokens,
        acp::StopReason::MaxTurnRequests => StopReason::MaxTurnRequests,
        acp::StopReason::Refusal => StopReason::Refusal,
        acp::StopReason::Cancelled => StopReason::Cancelled,
        _ => StopReason::EndTurn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_chunks_are_collected_and_thoughts_pass_through() {
        let chunk = acp::SessionUpdate::AgentMessageChunk(acp::ContentChunk::new("hi".into()));
        assert_eq!(map_update(chunk), Mapped::MessageChunk("hi".into()));
        let thought = acp::SessionUpdate::AgentThoughtChunk(acp::ContentChunk::new("hm".into()));
        assert!(
            matches!(map_update(thought), Mapped::Update(SessionUpdate::AgentThoughtChunk(t)) if t.text == "hm")
        );
    }

    #[test]
    fn tool_calls_keep_their_id_kind_status_and_input() {
        let call = acp::ToolCall::new("t1", "Write a")
            .kind(acp::ToolKind::Edit)
            .status(acp::ToolCallStatus::InProgress)
            .raw_input(serde_json::json!({"path": "a"}));
        let Mapped::Update(SessionUpdate::ToolCall(mapped)) =
            map_update(acp::SessionUpdate::ToolCall(call))
        else {
            panic!("not a tool call");
        };
        assert_eq!(mapped.tool_call_id, "t1");
        assert_eq!(mapped.kind, ToolKind::Edit);
        assert_eq!(mapped.status, ToolStatus::InProgress);
        assert_eq!(mapped.raw_input, Some(serde_json::json!({"path": "a"})));
    }

    #[test]
    fn kinds_without_a_type_of_ours_are_kept_whole() {
        let update = acp::SessionUpdate::CompactionUpdate(acp::CompactionUpdate::new(
            "c1",
            acp::CompactionStatus::InProgress,
        ));
        let Mapped::Update(SessionUpdate::SystemStatus(SystemStatus::Other { kind, data })) =
            map_update(update)
        else {
            panic!("dropped");
        };
        assert_eq!(kind, "compaction_update");
        assert_eq!(data["sessionUpdate"], "compaction_update");
    }

    #[test]
    fn usage_becomes_token_usage_with_cost() {
        let usage = acp::UsageUpdate::new(10, 100).cost(acp::Cost::new(0.5, "USD"));
        let Mapped::Update(SessionUpdate::TokenUsage(mapped)) =
            map_update(acp::SessionUpdate::UsageUpdate(usage))
        else {
            panic!("not usage");
        };
        assert_eq!(mapped.context_used, Some(10));
        assert_eq!(mapped.cost.map(|c| c.amount), Some(0.5));
    }
}
