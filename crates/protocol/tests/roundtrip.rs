#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests: whatever text, numbers and ids a frame carries, it
//! survives a trip through JSON unchanged, and the decoder that viewports'
//! frames go through accepts what our own clients send.

use proptest::prelude::*;
use viewport_protocol::frames::ClientFrame;
use viewport_protocol::update::{
    MessageText, PermissionOption, PermissionOptionKind, PermissionRequest, TextChunk, ToolCall,
    ToolContent, ToolKind, ToolStatus,
};
use viewport_protocol::{PromptId, RequestId, SessionId, SessionUpdate, parse_client_frame};

fn session_id() -> impl Strategy<Value = SessionId> {
    "ses_[0-9a-z]{1,32}".prop_map(|id| id.parse().unwrap())
}

fn prompt_id() -> impl Strategy<Value = PromptId> {
    "prm_[0-9a-z]{1,32}".prop_map(|id| id.parse().unwrap())
}

fn request_id() -> impl Strategy<Value = RequestId> {
    "[A-Za-z0-9_-]{1,128}".prop_map(|id| serde_json::from_value(id.into()).unwrap())
}

/// Any text but blank: the decoder refuses a prompt with nothing in it.
fn prompt_text() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("a prompt has text", |t| !t.trim().is_empty())
}

fn tool_kind() -> impl Strategy<Value = ToolKind> {
    prop_oneof![
        Just(ToolKind::Read),
        Just(ToolKind::Edit),
        Just(ToolKind::Execute),
        Just(ToolKind::Other),
    ]
}

fn tool_status() -> impl Strategy<Value = ToolStatus> {
    prop_oneof![
        Just(ToolStatus::Pending),
        Just(ToolStatus::InProgress),
        Just(ToolStatus::Completed),
        Just(ToolStatus::Failed),
    ]
}

fn tool_content() -> impl Strategy<Value = ToolContent> {
    prop_oneof![
        any::<String>().prop_map(|text| ToolContent::Text { text }),
        (
            any::<String>(),
            proptest::option::of(any::<String>()),
            any::<String>()
        )
            .prop_map(|(path, old_text, new_text)| ToolContent::Diff {
                path,
                old_text,
                new_text,
            }),
    ]
}

fn update() -> impl Strategy<Value = SessionUpdate> {
    prop_oneof![
        any::<String>().prop_map(|text| SessionUpdate::AgentMessage(MessageText { text })),
        any::<String>().prop_map(|text| SessionUpdate::UserMessage(MessageText { text })),
        any::<String>().prop_map(|text| SessionUpdate::AgentMessageChunk(TextChunk { text })),
        any::<String>().prop_map(|text| SessionUpdate::AgentThoughtChunk(TextChunk { text })),
        (
            any::<String>(),
            any::<String>(),
            tool_kind(),
            tool_status(),
            proptest::collection::vec(tool_content(), 0..3)
        )
            .prop_map(|(tool_call_id, title, kind, status, content)| {
                SessionUpdate::ToolCall(ToolCall {
                    tool_call_id,
                    title,
                    kind,
                    status,
                    locations: Vec::new(),
                    content,
                    raw_input: None,
                })
            }),
        (prompt_id(), any::<String>(), any::<String>()).prop_map(|(prompt_id, title, name)| {
            SessionUpdate::PermissionRequest(PermissionRequest {
                prompt_id,
                tool_call_id: None,
                title,
                options: vec![PermissionOption {
                    option_id: "allow".into(),
                    name,
                    kind: PermissionOptionKind::AllowOnce,
                }],
            })
        }),
    ]
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (
            proptest::option::of(request_id()),
            session_id(),
            any::<u32>()
        )
            .prop_map(|(request_id, session_id, after)| ClientFrame::Subscribe {
                request_id,
                session_id: Some(session_id),
                after_seq: Some(u64::from(after)),
            }),
        (session_id(), prompt_text()).prop_map(|(session_id, text)| ClientFrame::Prompt {
            request_id: None,
            session_id,
            text,
            context: Vec::new(),
        }),
        (request_id(), session_id(), prompt_id(), "[a-z-]{1,20}").prop_map(
            |(request_id, session_id, prompt_id, option_id)| ClientFrame::RespondToPrompt {
                request_id: Some(request_id),
                session_id,
                prompt_id,
                option_id: Some(option_id),
                cancelled: None,
            }
        ),
        (
            request_id(),
            session_id(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(1u32..5000)
        )
            .prop_map(|(request_id, session_id, before, after, limit)| {
                ClientFrame::ReadUpdates {
                    request_id,
                    session_id,
                    before_seq: before.map(u64::from),
                    after_seq: after.map(u64::from),
                    limit,
                }
            }),
    ]
}

proptest! {
    #[test]
    fn updates_round_trip_through_json(update in update()) {
        let json = serde_json::to_string(&update).unwrap();
        let again: SessionUpdate = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(update, again);
    }

    #[test]
    fn client_frames_round_trip_through_the_decoder(frame in client_frame()) {
        let json = serde_json::to_string(&frame).unwrap();
        let decoded = parse_client_frame(&json).map_err(|e| TestCaseError::fail(format!("{e:?}: {json}")))?;
        prop_assert_eq!(frame, decoded);
    }

    #[test]
    fn a_blank_prompt_is_refused_by_name(session_id in session_id(), blank in "[ \t\n\u{3000}]{0,8}") {
        let frame = ClientFrame::Prompt { request_id: None, session_id, text: blank, context: Vec::new() };
        let error = parse_client_frame(&serde_json::to_string(&frame).unwrap()).unwrap_err();
        prop_assert!(format!("{error:?}").contains("prompt text is empty"), "{:?}", error);
    }
}
