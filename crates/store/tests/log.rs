#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The event log against real SQLite files.

use viewport_protocol::state::SessionKind;
use viewport_protocol::update::{MessageText, PermissionRequest, StateChange, TextChunk};
use viewport_protocol::{SessionId, SessionState, SessionUpdate};
use viewport_store::{Durability, EventBody, NewEvent, Reader, SessionGenesis, StoreError, Writer};

fn genesis(id: &SessionId) -> NewEvent {
    NewEvent {
        session_id: id.clone(),
        body: EventBody::Genesis(SessionGenesis::new(
            "dir_1".parse().unwrap(),
            SessionKind::Acp,
            "demo",
            "/tmp",
        )),
    }
}

fn chunk(id: &SessionId, text: &str) -> NewEvent {
    NewEvent {
        session_id: id.clone(),
        body: EventBody::Update(SessionUpdate::AgentMessageChunk(TextChunk {
            text: text.into(),
        })),
    }
}

fn update(id: &SessionId, update: SessionUpdate) -> NewEvent {
    NewEvent {
        session_id: id.clone(),
        body: EventBody::Update(update),
    }
}

#[test]
fn seqs_are_dense_per_session_across_batches_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let (a, b) = (SessionId::generate(), SessionId::generate());
    {
        let mut w = Writer::open(&path, Durability::Normal).unwrap();
        let results = w
            .append(vec![
                genesis(&a),
                chunk(&a, "1"),
                genesis(&b),
                chunk(&b, "1"),
                chunk(&a, "2"),
            ])
            .unwrap();
        let seqs: Vec<u64> = results.iter().map(|r| r.as_ref().unwrap().seq).collect();
        assert_eq!(seqs, vec![0, 1, 0, 1, 2]);
    }
    let mut w = Writer::open(&path, Durability::Full).unwrap();
    let results = w.append(vec![chunk(&a, "3"), chunk(&b, "2")]).unwrap();
    assert_eq!(results[0].as_ref().unwrap().seq, 3);
    assert_eq!(results[1].as_ref().unwrap().seq, 2);
    let reader = Reader::open(&path).unwrap();
    let replay: Vec<u64> = reader
        .updates_after(&a, 0, 100)
        .unwrap()
        .iter()
        .map(|u| u.seq)
        .collect();
    assert_eq!(replay, vec![1, 2, 3]);
    assert_eq!(reader.updates_after(&a, 2, 100).unwrap().len(), 1);
}

#[test]
fn an_invalid_event_is_refused_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(&dir.path().join("v.db"), Durability::Normal).unwrap();
    let (a, ghost) = (SessionId::generate(), SessionId::generate());
    let results = w
        .append(vec![
            genesis(&a),
            chunk(&ghost, "x"),
            genesis(&a),
            chunk(&a, "ok"),
        ])
        .unwrap();
    assert!(matches!(results[1], Err(StoreError::UnknownSession(_))));
    assert!(matches!(results[2], Err(StoreError::DuplicateSession(_))));
    assert_eq!(results[3].as_ref().unwrap().seq, 1);
}

#[test]
fn reindex_rebuilds_the_same_projections_from_events_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let mut w = Writer::open(&path, Durability::Normal).unwrap();
    let a = SessionId::generate();
    let request = PermissionRequest {
        prompt_id: "prm_1".parse().unwrap(),
        tool_call_id: None,
        title: "write hello.txt".into(),
        options: vec![],
    };
    w.append(vec![
        genesis(&a),
        update(
            &a,
            SessionUpdate::UserMessage(MessageText {
                text: "fix it".into(),
            }),
        ),
        update(&a, SessionUpdate::PermissionRequest(request)),
        update(
            &a,
            SessionUpdate::StateChange(StateChange {
                state: SessionState::Awaiting,
                disconnected: false,
                reason: None,
                detail: None,
                exit_code: None,
            }),
        ),
    ])
    .unwrap();
    let reader = Reader::open(&path).unwrap();
    let before = (
        reader.sessions().unwrap(),
        reader.pending_prompts(&a).unwrap(),
    );
    assert_eq!(before.0[0].title.as_deref(), Some("fix it"));
    assert_eq!(before.0[0].state, SessionState::Awaiting);
    assert_eq!(before.1.len(), 1);

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DELETE FROM sessions; DELETE FROM pending_prompts;")
        .unwrap();
    assert!(reader.sessions().unwrap().is_empty());

    let mut reports = 0;
    let done = w.reindex(&mut |_| reports += 1).unwrap();
    assert_eq!((done.sessions, done.events), (1, 4));
    assert!(reports >= 1);
    assert_eq!(
        (
            reader.sessions().unwrap(),
            reader.pending_prompts(&a).unwrap()
        ),
        before
    );
}

#[test]
fn a_database_from_a_newer_vpd_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Writer::open(&path, Durability::Normal).err().unwrap();
    assert!(err.to_string().contains("newer than this vpd"), "{err}");
}

#[test]
fn directories_have_stable_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(&dir.path().join("v.db"), Durability::Normal).unwrap();
    let first = w.add_directory(dir.path()).unwrap();
    let again = w.add_directory(dir.path()).unwrap();
    assert_eq!(first, again);
    let reader = Reader::open(&dir.path().join("v.db")).unwrap();
    assert_eq!(reader.directory(&first.directory_id).unwrap(), Some(first));
}
