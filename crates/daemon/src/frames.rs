//! Rendering stored events as wire frames. Live publishing and replay use the
//! same functions, so a replayed frame is byte for byte the live one.

use axum::extract::ws::Utf8Bytes;
use viewport_protocol::update::StateChange;
use viewport_protocol::{ServerFrame, SessionId, SessionState};
use viewport_store::SessionGenesis;

/// A frame ready to send; cloning it shares the bytes.
pub type Frame = Utf8Bytes;

/// The `session-update` frame of a stored update, built around the stored
/// JSON so that nothing is serialized twice.
pub fn update_frame(session_id: &SessionId, seq: u64, update_json: &str) -> Frame {
    // Session ids are `ses_` plus [0-9a-z]: nothing in them needs escaping.
    const HEAD: &str = r#"{"type":"session-update","sessionId":""#;
    let seq = seq.to_string();
    let mut text = String::with_capacity(HEAD.len() + 64 + seq.len() + update_json.len());
    text.push_str(HEAD);
    text.push_str(session_id.as_str());
    text.push_str(r#"","seq":"#);
    text.push_str(&seq);
    text.push_str(r#","update":"#);
    text.push_str(update_json);
    text.push('}');
    Frame::from(text)
}

/// The seq and the update JSON of a frame [`update_frame`] built; `None`
/// for any other frame.
pub fn split_update_frame(frame: &str) -> Option<(u64, &str)> {
    let rest = frame.strip_prefix(r#"{"type":"session-update","sessionId":""#)?;
    let (_, rest) = rest.split_once(r#"","seq":"#)?;
    let (seq, rest) = rest.split_once(r#","update":"#)?;
    Some((seq.parse().ok()?, rest.strip_suffix('}')?))
}

/// Any other server frame.
pub fn frame(frame: &ServerFrame) -> Frame {
    Frame::from(serde_json::to_string(frame).unwrap_or_default())
}

pub fn started_frame(session_id: &SessionId, genesis: &SessionGenesis) -> Frame {
    frame(&ServerFrame::SessionStarted {
        session_id: session_id.clone(),
        directory_id: genesis.directory_id.clone(),
        kind: genesis.kind,
        agent: genesis.agent.clone(),
        cwd: genesis.cwd.clone(),
        git: genesis.git.clone(),
    })
}

/// The `session-ended` frame that follows an update, if the update ends the session.
pub fn ended_frame(session_id: &SessionId, kind: &str, update_json: &str) -> Option<Frame> {
    if kind != "state-change" {
        return None;
    }
    let change: StateChange = serde_json::from_str(update_json).ok()?;
    (change.state == SessionState::Ended).then(|| {
        frame(&ServerFrame::SessionEnded {
            session_id: session_id.clone(),
            reason: change
                .reason
                .unwrap_or(viewport_protocol::EndReason::Completed),
            detail: change.detail,
        })
    })
}

#[cfg(test)]
mod tests {
    use viewport_protocol::SessionUpdate;

    use super::*;

    #[test]
    fn an_update_frame_splits_into_its_seq_and_update() {
        let id: SessionId = "ses_abc".parse().unwrap();
        let update = r#"{"updateType":"agent-message-chunk","text":"}\"seq\":9"}"#;
        let text = update_frame(&id, 42, update);
        assert_eq!(split_update_frame(text.as_str()), Some((42, update)));
        let ended = frame(&ServerFrame::SessionEnded {
            session_id: id,
            reason: viewport_protocol::EndReason::Completed,
            detail: None,
        });
        assert_eq!(split_update_frame(ended.as_str()), None);
    }

    #[test]
    fn an_update_frame_is_the_protocol_frame() {
        let id: SessionId = "ses_abc".parse().unwrap();
        let text = update_frame(
            &id,
            7,
            r#"{"updateType":"agent-message-chunk","text":"hi"}"#,
        );
        let parsed: ServerFrame = serde_json::from_str(text.as_str()).unwrap();
        let ServerFrame::SessionUpdate {
            session_id,
            seq,
            update,
        } = parsed
        else {
            panic!("wrong frame")
        };
        assert_eq!((session_id, seq), (id, 7));
        assert!(matches!(update, SessionUpdate::AgentMessageChunk(c) if c.text == "hi"));
    }

    #[test]
    fn only_an_ended_state_change_makes_an_ended_frame() {
        let id: SessionId = "ses_abc".parse().unwrap();
        let ended = r#"{"updateType":"state-change","state":"ended","reason":"killed"}"#;
        let idle = r#"{"updateType":"state-change","state":"idle"}"#;
        let frame = ended_frame(&id, "state-change", ended).unwrap();
        assert!(frame.as_str().contains(r#""reason":"killed""#));
        assert!(ended_frame(&id, "state-change", idle).is_none());
        assert!(ended_frame(&id, "agent-message", ended).is_none());
    }
}
