//! Any ACP `session/update` an agent may send: mapping it never panics,
//! and what it becomes is a viewport update that round-trips as JSON.
#![no_main]

use agent_client_protocol::v1::schema as acp;
use libfuzzer_sys::fuzz_target;
use viewport_agents::acp::map::{Mapped, map_update};
use viewport_protocol::SessionUpdate;

fuzz_target!(|data: &[u8]| {
    let Ok(update) = serde_json::from_slice::<acp::SessionUpdate>(data) else {
        return;
    };
    if let Mapped::Update(update) = map_update(update) {
        let json = serde_json::to_string(&update).expect("a mapped update serializes");
        let again: SessionUpdate = serde_json::from_str(&json).expect("its own JSON parses");
        assert_eq!(update, again);
    }
});
