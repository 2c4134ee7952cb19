//! The JSON-RPC messages the driver reads and writes itself, past the SDK:
//! the ones a restarted daemon must be able to pick up from the middle. A
//! prompt's answer ends a turn whichever daemon sent the prompt; a
//! permission request is answered by whoever holds its id when a person
//! decides; and any other request of the agent is remembered (by id, with
//! the supervisor) until it is answered, so that a daemon that comes back
//! answers what its predecessor left open instead of leaving the agent
//! waiting forever.

use agent_client_protocol::v1::schema::{
    CancelNotification, PromptRequest, PromptResponse, RequestPermissionOutcome,
    RequestPermissionRequest, RequestPermissionResponse,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Ids of our prompt requests start so; their answers are recognised by it.
const PROMPT_ID_PREFIX: &str = "vp-prompt-";

/// The JSON-RPC id of an agent's request, as its exact JSON text.
pub type RawId = String;

/// What a line the SDK would otherwise see is, when it is ours to handle.
pub enum Intercepted {
    /// The answer to one of our prompts.
    PromptAnswer(Result<PromptResponse, agent_client_protocol::Error>),
    /// The agent asks permission.
    Permission(RawId, Box<RequestPermissionRequest>),
    /// Another request of the agent (its id and method), for the SDK to answer.
    Request(RawId, String),
    /// Anything else: a notification, or the answer to an SDK request.
    Other,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<Value>,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<agent_client_protocol::Error>,
}

/// Sort a line from the agent that the fast path did not take.
pub fn intercept(line: &str) -> Intercepted {
    let Ok(envelope) = serde_json::from_str::<Envelope>(line) else {
        return Intercepted::Other;
    };
    let Some(id) = envelope.id else {
        return Intercepted::Other;
    };
    match envelope.method.as_deref() {
        Some("session/request_permission") => {
            let params = envelope.params.unwrap_or(Value::Null);
            match serde_json::from_value(params) {
                Ok(request) => Intercepted::Permission(id.to_string(), Box::new(request)),
                // Malformed: the SDK answers it with the right error.
                Err(_) => Intercepted::Request(id.to_string(), "session/request_permission".into()),
            }
        }
        Some(method) => Intercepted::Request(id.to_string(), method.to_owned()),
        None if id
            .as_str()
            .is_some_and(|id| id.starts_with(PROMPT_ID_PREFIX)) =>
        {
            let answer = match (envelope.error, envelope.result) {
                (Some(error), _) => Err(error),
                (None, Some(result)) => serde_json::from_value(result).map_err(|e| {
                    agent_client_protocol::Error::new(
                        agent_client_protocol::ErrorCode::INTERNAL_ERROR,
                        format!("the agent's answer to a prompt was malformed: {e}"),
                    )
                }),
                (None, None) => Err(agent_client_protocol::Error::new(
                    agent_client_protocol::ErrorCode::INTERNAL_ERROR,
                    "the agent answered a prompt with neither a result nor an error",
                )),
            };
            Intercepted::PromptAnswer(answer)
        }
        None => Intercepted::Other,
    }
}

/// The id of a response we write (to forget the request it answers).
pub fn answered_id(line: &str) -> Option<RawId> {
    if !line.contains("\"result\"") && !line.contains("\"error\"") {
        return None;
    }
    let envelope: Envelope = serde_json::from_str(line).ok()?;
    match (envelope.method, envelope.id) {
        (None, Some(id)) => Some(id.to_string()),
        _ => None,
    }
}

/// A `session/prompt` request; `id` must be unique for the agent's run.
pub fn prompt_request(id: &str, request: &PromptRequest) -> String {
    json!({
        "jsonrpc": "2.0",
        "id": format!("{PROMPT_ID_PREFIX}{id}"),
        "method": "session/prompt",
        "params": request,
    })
    .to_string()
}

pub fn cancel(notification: &CancelNotification) -> String {
    json!({
        "jsonrpc": "2.0",
        "method": "session/cancel",
        "params": notification,
    })
    .to_string()
}

pub fn permission_answer(id: &str, outcome: RequestPermissionOutcome) -> String {
    response(id, json!(RequestPermissionResponse::new(outcome)))
}

/// What a daemon that came back says to a request its predecessor never
/// answered.
pub fn abandoned(id: &str, method: &str) -> String {
    let id: Value = serde_json::from_str(id).unwrap_or(Value::Null);
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": i32::from(agent_client_protocol::ErrorCode::INTERNAL_ERROR),
            "message": format!("vpd restarted while handling {method}; please try again"),
        },
    })
    .to_string()
}

fn response(id: &str, result: Value) -> String {
    let id: Value = serde_json::from_str(id).unwrap_or(Value::Null);
    json!({ "jsonrpc": "2.0", "id": id, "result": result }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_sorted_by_what_they_are() {
        let answer = r#"{"jsonrpc":"2.0","id":"vp-prompt-3","result":{"stopReason":"end_turn"}}"#;
        assert!(matches!(
            intercept(answer),
            Intercepted::PromptAnswer(Ok(_))
        ));
        let failed =
            r#"{"jsonrpc":"2.0","id":"vp-prompt-4","error":{"code":-32603,"message":"boom"}}"#;
        let Intercepted::PromptAnswer(Err(error)) = intercept(failed) else {
            panic!("not a failed prompt")
        };
        assert_eq!(error.message, "boom");
        let sdk = r#"{"jsonrpc":"2.0","id":"5c1e","result":{}}"#;
        assert!(matches!(intercept(sdk), Intercepted::Other));
        let ask = r#"{"jsonrpc":"2.0","id":7,"method":"session/request_permission","params":{"sessionId":"s","toolCall":{"toolCallId":"t"},"options":[{"optionId":"a","name":"Allow","kind":"allow_once"}]}}"#;
        let Intercepted::Permission(id, request) = intercept(ask) else {
            panic!("not a permission request")
        };
        assert_eq!(id, "7");
        assert_eq!(request.options.len(), 1);
        let read = r#"{"jsonrpc":"2.0","id":"r1","method":"fs/read_text_file","params":{}}"#;
        assert!(
            matches!(intercept(read), Intercepted::Request(id, method) if id == "\"r1\"" && method == "fs/read_text_file")
        );
        assert!(matches!(intercept("not json"), Intercepted::Other));
    }

    #[test]
    fn answers_carry_the_request_id_exactly() {
        let line = permission_answer("\"r1\"", RequestPermissionOutcome::Cancelled);
        assert_eq!(answered_id(&line).as_deref(), Some("\"r1\""));
        let line = abandoned("12", "fs/read_text_file");
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["id"], 12);
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap()
                .contains("restarted")
        );
        assert_eq!(
            answered_id(r#"{"jsonrpc":"2.0","method":"x","params":{}}"#),
            None
        );
    }
}
