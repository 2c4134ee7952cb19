//! Any text a viewport sends: the decoder never panics, and a frame it
//! accepts survives a round trip through its own JSON unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use viewport_protocol::parse_client_frame;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = parse_client_frame(text) {
        let again = serde_json::to_string(&frame).expect("an accepted frame serializes");
        let reparsed = parse_client_frame(&again).expect("its own JSON parses");
        assert_eq!(frame, reparsed);
    }
});
