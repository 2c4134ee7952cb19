//! The JSON Schema of the protocol: every frame and request result under
//! `$defs`, generated from these types. `schema/protocol.json` is the checked-in
//! copy; a test fails when it drifts (run with `VIEWPORT_UPDATE_SCHEMA=1` to
//! rewrite it).

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::frames::{
    ClientFrame, LaunchResult, ListDirectoriesResult, ListSessionsResult, ListSubscribeResult,
    ReindexResult, ServerFrame, SessionManifestResult, SessionSubscribeResult,
};

fn add<T: JsonSchema>(generator: &mut SchemaGenerator) {
    generator.subschema_for::<T>();
}

/// The whole protocol schema as pretty JSON, ending in a newline.
pub fn protocol_schema_json() -> String {
    let mut generator = SchemaGenerator::default();
    add::<ClientFrame>(&mut generator);
    add::<ServerFrame>(&mut generator);
    add::<LaunchResult>(&mut generator);
    add::<SessionSubscribeResult>(&mut generator);
    add::<ListSubscribeResult>(&mut generator);
    add::<ListSessionsResult>(&mut generator);
    add::<ListDirectoriesResult>(&mut generator);
    add::<ReindexResult>(&mut generator);
    add::<SessionManifestResult>(&mut generator);
    add::<crate::frames::ReadOutputResult>(&mut generator);
    add::<crate::frames::ReadUpdatesResult>(&mut generator);
    add::<crate::frames::LoginCodeResult>(&mut generator);
    add::<crate::checkpoints::ListCheckpointsResult>(&mut generator);
    add::<crate::checkpoints::RewindResult>(&mut generator);
    add::<crate::frames::SearchResult>(&mut generator);
    add::<crate::workflows::RunWorkflowResult>(&mut generator);
    add::<crate::workflows::ListWorkflowRunsResult>(&mut generator);
    add::<crate::workflows::ListPlansResult>(&mut generator);
    add::<crate::jobs::ListJobsResult>(&mut generator);
    add::<crate::pairing::ListViewersResult>(&mut generator);
    add::<crate::options::ListAgentsResult>(&mut generator);
    let defs: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "viewport protocol",
        "description": "Frames exchanged between the vpd daemon and its viewports. ClientFrame goes to the daemon, ServerFrame comes from it; *Result types are the `result` of a `response` frame.",
        "$defs": defs,
    });
    let mut text = serde_json::to_string_pretty(&sorted(schema)).unwrap_or_default();
    text.push('\n');
    text
}

/// The value with every object's keys in sorted order. serde_json keeps
/// insertion order when another crate in the build turns on its
/// `preserve_order` feature; sorting makes the file the same either way.
pub fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Fails when `schema/NAME`, the checked-in copy, differs from what the
/// code generates; with `VIEWPORT_UPDATE_SCHEMA` set it rewrites it first.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn assert_checked_in(name: &str, generated: &str) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../schema")
        .join(name);
    if std::env::var_os("VIEWPORT_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schema/{name} is out of date with crates/protocol; \
         run `VIEWPORT_UPDATE_SCHEMA=1 cargo test -p viewport-protocol` and commit the result"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_schema_matches_the_code() {
        assert_checked_in("protocol.json", &protocol_schema_json());
    }

    #[test]
    fn every_client_frame_type_is_accepted() {
        let schema: Value = serde_json::from_str(&protocol_schema_json()).unwrap();
        let mut in_schema: Vec<&str> = schema["$defs"]["ClientFrame"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|variant| variant["properties"]["type"]["const"].as_str())
            .collect();
        let mut accepted = crate::frames::CLIENT_FRAME_TYPES.to_vec();
        in_schema.sort_unstable();
        accepted.sort_unstable();
        assert_eq!(in_schema, accepted, "CLIENT_FRAME_TYPES is out of date");
    }

    #[test]
    fn every_update_type_is_in_the_schema() {
        let schema = protocol_schema_json();
        for update_type in [
            "agent-message",
            "agent-message-chunk",
            "agent-thought-chunk",
            "user-message",
            "tool-call",
            "tool-call-update",
            "permission-request",
            "permission-resolved",
            "state-change",
            "step-committed",
            "token-usage",
            "system-status",
            "attention",
            "streaming-state",
        ] {
            assert!(
                schema.contains(&format!("\"{update_type}\"")),
                "{update_type} missing"
            );
        }
    }
}
