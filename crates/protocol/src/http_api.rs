//! The read-only HTTP API for scripts and `curl` (`GET /api/sessions…`):
//! its query parameters, its error body, and its OpenAPI document. The
//! document is built from these types and the protocol's own, so what it
//! promises is what the daemon parses and sends. `schema/openapi.json` is
//! the checked-in copy; a test fails when it drifts.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::frames::{ErrorCode, ListSessionsResult, SessionSubscribeResult, UpdateAt};
use crate::ids::SessionId;
use crate::limits::{DEFAULT_SESSION_PAGE, DEFAULT_UPDATE_PAGE, MAX_SESSION_PAGE, MAX_UPDATE_PAGE};
use crate::schema::sorted;
use crate::state::EndReason;

/// The largest seq a query may name (SQLite's largest integer).
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// `GET /api/sessions`: one page of sessions, newest first.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionsQuery {
    /// How many sessions (default 100, at most 1000).
    #[schemars(range(min = 1, max = MAX_SESSION_PAGE))]
    pub limit: Option<u32>,
    /// The `next` of the previous page: the sessions older than this one.
    pub after: Option<SessionId>,
}

/// `GET /api/sessions/{sessionId}/events`: stored updates after a seq.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only updates with a seq above this (default 0: from the start).
    #[schemars(range(max = MAX_SEQ))]
    pub after: Option<u64>,
    /// How many updates (default 500, at most 5000).
    #[schemars(range(min = 1, max = MAX_UPDATE_PAGE))]
    pub limit: Option<u32>,
}

/// `GET /api/sessions/{sessionId}/events/stream`: where the stream starts.
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Only updates with a seq above this (default 0). A `Last-Event-ID`
    /// header, sent by a reconnecting `EventSource`, takes precedence.
    #[schemars(range(max = MAX_SEQ))]
    pub after: Option<u64>,
}

impl SessionsQuery {
    /// The page size asked for, or why it is out of range.
    pub fn page_size(&self) -> Result<u32, String> {
        within("limit", self.limit, DEFAULT_SESSION_PAGE, MAX_SESSION_PAGE)
    }
}

impl EventsQuery {
    /// The page size asked for, or why it is out of range.
    pub fn page_size(&self) -> Result<u32, String> {
        within("limit", self.limit, DEFAULT_UPDATE_PAGE, MAX_UPDATE_PAGE)
    }

    /// Where the page starts, or why that is out of range.
    pub fn start(&self) -> Result<u64, String> {
        seq_within("after", self.after)
    }
}

impl StreamQuery {
    /// Where the stream starts, or why that is out of range.
    pub fn start(&self) -> Result<u64, String> {
        seq_within("after", self.after)
    }
}

fn within(name: &str, value: Option<u32>, default: u32, max: u32) -> Result<u32, String> {
    match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(format!("{name} is {n}; it must be from 1 to {max}")),
    }
}

fn seq_within(name: &str, value: Option<u64>) -> Result<u64, String> {
    match value {
        Some(n) if n > MAX_SEQ => Err(format!("{name} is {n}; a seq is at most {MAX_SEQ}")),
        n => Ok(n.unwrap_or(0)),
    }
}

/// The data of the `ended` event that closes an event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StreamEnded {
    pub reason: Option<EndReason>,
    pub detail: Option<String>,
}

/// The body of every error the API answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiError {
    pub code: ErrorCode,
    /// What was wrong, and where.
    pub message: String,
}

/// The OpenAPI 3.1 document, as pretty JSON ending in a newline.
pub fn openapi_json() -> String {
    let mut text = serde_json::to_string_pretty(&sorted(openapi())).unwrap_or_default();
    text.push('\n');
    text
}

/// The OpenAPI 3.1 document of the read-only HTTP API.
pub fn openapi() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let sessions = generator.subschema_for::<ListSessionsResult>().to_value();
    let session = generator
        .subschema_for::<SessionSubscribeResult>()
        .to_value();
    let update = generator.subschema_for::<UpdateAt>().to_value();
    let error = generator.subschema_for::<ApiError>().to_value();
    let ended = generator.subschema_for::<StreamEnded>().to_value();
    let session_id = generator.subschema_for::<SessionId>().to_value();
    let sessions_query = query_parameters::<SessionsQuery>(&mut generator);
    let events_query = query_parameters::<EventsQuery>(&mut generator);
    let mut stream_query = query_parameters::<StreamQuery>(&mut generator);
    stream_query.push(json!({
        "name": "Last-Event-ID",
        "in": "header",
        "required": false,
        "description": "The `id` of the last event received: the stream resumes after that seq. Empty is the same as absent.",
        "schema": {"type": "string", "pattern": "^[0-9]{0,19}$"},
    }));
    let path_id = json!({
        "name": "sessionId",
        "in": "path",
        "required": true,
        "schema": session_id,
    });
    let errors = |codes: &[(&str, &str)]| -> Map<String, Value> {
        codes
            .iter()
            .map(|(status, why)| {
                let body =
                    json!({"description": why, "content": {"application/json": {"schema": error}}});
                ((*status).to_owned(), body)
            })
            .collect()
    };
    let read_errors = |extra: &[(&str, &str)]| {
        let mut all = vec![
            ("400", "A parameter is malformed; the message names it."),
            ("401", "No credential, or one this daemon does not accept."),
        ];
        all.extend_from_slice(extra);
        errors(&all)
    };
    let no_session = [("404", "No such session.")];
    let with_id = |id: &Value, query: Vec<Value>| {
        let mut all = vec![id.clone()];
        all.extend(query);
        all
    };
    let with_ok = |mut responses: Map<String, Value>, ok: Value| {
        responses.insert("200".into(), ok);
        Value::Object(responses)
    };
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "vpd read-only HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Sessions and their stored updates, for scripts and curl. Writing (launch, prompt, answer) goes through the WebSocket protocol (docs/protocol.md). Every request needs the same credential as the WebSocket: `Authorization: Bearer TOKEN` (the owner's token file, or a paired viewport's token), or the daemon's login cookie from its own page. Over the daemon's unix socket no credential is needed.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The data home's `token` file, or a token from `POST /api/pair`."},
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/sessions": {"get": {
                "operationId": "listSessions",
                "summary": "Sessions, newest first, a page at a time.",
                "parameters": sessions_query,
                "responses": with_ok(read_errors(&[]), json!({
                    "description": "One page; `next`, when present, is the `after` of the next page.",
                    "content": {"application/json": {"schema": sessions}},
                })),
            }},
            "/api/sessions/{sessionId}": {"get": {
                "operationId": "getSession",
                "summary": "One session and the permission prompts still open in it.",
                "parameters": [path_id],
                "responses": with_ok(read_errors(&no_session), json!({
                    "description": "The session.",
                    "content": {"application/json": {"schema": session}},
                })),
            }},
            "/api/sessions/{sessionId}/events": {"get": {
                "operationId": "getEvents",
                "summary": "Stored updates after a seq, in order, one JSON object per line.",
                "parameters": with_id(&path_id, events_query),
                "responses": with_ok(read_errors(&no_session), json!({
                    "description": "JSON lines, each `{\"seq\", \"update\"}`; fewer than `limit` lines means the end of what is stored.",
                    "content": {"application/x-ndjson": {"schema": update}},
                })),
            }},
            "/api/sessions/{sessionId}/events/stream": {"get": {
                "operationId": "streamEvents",
                "summary": "Stored updates after a seq, then live ones, as Server-Sent Events.",
                "description": "Each update is an `update` event whose `id` is its seq and whose data is `{\"seq\", \"update\"}`. Seqs arrive in order with no gap and no repeat. When the session ends, an `ended` event (data `{\"reason\", \"detail\"}`) closes the stream. A reconnecting `EventSource` sends `Last-Event-ID` and resumes after it.",
                "parameters": with_id(&path_id, stream_query),
                "responses": with_ok(read_errors(&no_session), json!({
                    "description": "The event stream.",
                    "content": {"text/event-stream": {"schema": {
                        "description": "One event: `update` (its `id` the seq), `ended` or `error`.",
                        "type": "object",
                        "required": ["data"],
                        "properties": {
                            "event": {"enum": ["update", "ended", "error"]},
                            "id": {"type": "string", "pattern": "^[0-9]+$"},
                            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": {"anyOf": [update, ended, error]}},
                        },
                    }}},
                })),
            }},
            "/api/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document.",
                "security": [],
                "responses": {"200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }},
            }},
        },
    });
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    document["components"]["schemas"] = Value::Object(schemas);
    document
}

/// Each property of a query struct's schema as an OpenAPI query parameter.
fn query_parameters<T: JsonSchema>(generator: &mut SchemaGenerator) -> Vec<Value> {
    let schema = generator.root_schema_for::<T>().to_value();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    // By name: the properties' order depends on whether another crate in
    // the build turns on serde_json's `preserve_order`.
    let mut properties: Vec<_> = properties.iter().collect();
    properties.sort_by_key(|(name, _)| name.as_str());
    properties
        .into_iter()
        .map(|(name, property)| {
            let mut property = property.clone();
            let description = property
                .as_object_mut()
                .and_then(|p| p.remove("description"))
                .unwrap_or(Value::Null);
            json!({
                "name": name,
                "in": "query",
                "required": false,
                "description": description,
                "schema": without_null(property),
            })
        })
        .collect()
}

/// An optional field's schema says `"type": ["integer", "null"]`; a query
/// parameter is absent instead of null.
fn without_null(mut schema: Value) -> Value {
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            schema["type"] = only;
        }
    }
    if let Some(any_of) = schema.get("anyOf").and_then(Value::as_array) {
        let rest: Vec<&Value> = any_of.iter().filter(|s| s["type"] != "null").collect();
        if let [only] = rest.as_slice() {
            return (*only).clone();
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_openapi_matches_the_code() {
        crate::schema::assert_checked_in("openapi.json", &openapi_json());
    }

    #[test]
    fn every_reference_resolves() {
        let document = openapi();
        let text = document.to_string();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                schemas.contains_key(name),
                "{name} is referenced but not defined"
            );
        }
        assert!(
            !text.contains("#/$defs/"),
            "a reference points outside components"
        );
    }

    #[test]
    fn query_parameters_come_from_the_query_types() {
        let document = openapi();
        let parameters = document["paths"]["/api/sessions/{sessionId}/events"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = parameters
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["sessionId", "after", "limit"]);
        assert_eq!(parameters[2]["schema"]["maximum"], 5000);
        assert_eq!(parameters[1]["schema"]["type"], "integer");
    }
}
