//! Sessions written straight to the event log, for the benchmarks that need
//! a log to exist before they measure.

use anyhow::Result;
use viewport_protocol::state::SessionKind;
use viewport_protocol::update::TextChunk;
use viewport_protocol::{SessionId, SessionUpdate};
use viewport_store::{EventBody, NewEvent, SessionGenesis, Writer};

/// Store the genesis of a new demo session.
pub fn start_session(writer: &mut Writer) -> Result<SessionId> {
    let session = SessionId::generate();
    let genesis = SessionGenesis::new("dir_0".parse()?, SessionKind::Acp, "demo", "/");
    let body = EventBody::Genesis(genesis);
    writer.append(vec![NewEvent {
        session_id: session.clone(),
        body,
    }])?;
    Ok(session)
}

/// Append `n` message chunks to the session, `batch` per transaction.
pub fn append_chunks(writer: &mut Writer, session: &SessionId, n: u64, batch: u64) -> Result<()> {
    let mut i = 0;
    while i < n {
        let events = (0..batch.min(n - i))
            .map(|_| {
                i += 1;
                let chunk = TextChunk {
                    text: format!("chunk {i} "),
                };
                let body = EventBody::Update(SessionUpdate::AgentMessageChunk(chunk));
                NewEvent {
                    session_id: session.clone(),
                    body,
                }
            })
            .collect();
        writer.append(events)?;
    }
    Ok(())
}
