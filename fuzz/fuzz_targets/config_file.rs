//! Any `.viewport/config.yaml`: checking never panics, whatever the YAML
//! (aliases, depth and size are bounded by the loader itself).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use viewport_config::check::check_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = check_text(Path::new("fuzz/config.yaml"), text);
});
