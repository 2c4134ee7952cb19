//! A scripted model API on 127.0.0.1 that real agent programs talk to in
//! tests instead of a provider: the Anthropic Messages API (Claude Code),
//! the OpenAI Responses API (Codex) and the Gemini API, all streaming.
//!
//! Every turn follows one script: when the request offers the script's tool
//! and carries no tool result yet, the model calls the tool; otherwise it
//! answers with the script's text. Requests without tools (titles, side
//! questions) get the text too. Each answer reports the script's token usage.
//! With `stall`, the model starts its answer and then never finishes it, for
//! tests that cancel or crash mid-turn.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the model does in every turn.
#[derive(Debug, Clone)]
pub struct Script {
    /// The tool to call: the first offered tool whose name ends with this.
    pub tool: Option<String>,
    /// The tool's input.
    pub tool_input: Value,
    /// The answer once the tool ran (or when no tool is offered).
    pub text: String,
    /// Tokens each answer reports.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Start the answer and never finish it.
    pub stall: bool,
    /// The model name answers carry.
    pub model: String,
}

impl Script {
    /// A turn that calls `tool` with `input`, then says `text`.
    pub fn tool_then_text(tool: &str, input: Value, text: &str) -> Self {
        Self {
            tool: Some(tool.to_owned()),
            tool_input: input,
            text: text.to_owned(),
            input_tokens: 100,
            output_tokens: 20,
            stall: false,
            model: String::new(),
        }
    }

    /// A turn that only says `text`.
    pub fn text(text: &str) -> Self {
        Self {
            tool: None,
            tool_input: Value::Null,
            ..Self::tool_then_text("", Value::Null, text)
        }
    }
}

struct Shared {
    script: Mutex<Script>,
    requests: Mutex<Vec<(String, Value)>>,
}

/// A running scripted model server; stops when dropped.
pub struct ModelServer {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl ModelServer {
    pub async fn start(script: Script) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            script: Mutex::new(script),
            requests: Mutex::default(),
        });
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        Ok(Self {
            address,
            shared,
            stop,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Change what the next turns do.
    pub fn set_script(&self, script: Script) {
        *lock(&self.shared.script) = script;
    }

    /// Every request so far: its path and JSON body.
    pub fn requests(&self) -> Vec<(String, Value)> {
        lock(&self.shared.requests).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

async fn answer(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    lock(&shared.requests).push((path.clone(), body.clone()));
    let script = lock(&shared.script).clone();
    if path.ends_with("/count_tokens") {
        return json_response(json!({ "input_tokens": script.input_tokens }));
    }
    if path.ends_with("/v1/messages") {
        let events = anthropic::answer(&script, &body);
        return stream(events, &script, body["stream"] == json!(true));
    }
    if path.ends_with("/responses") {
        return stream(openai::answer(&script, &body), &script, true);
    }
    if path.contains(":streamGenerateContent") {
        return stream(gemini::answer(&script, &body), &script, true);
    }
    if path.contains(":generateContent") {
        return json_response(gemini::single(&script, &body));
    }
    if path.contains(":countTokens") {
        return json_response(json!({ "totalTokens": script.input_tokens }));
    }
    if path.ends_with("/models") || path.contains("/models") {
        return json_response(json!({ "data": [], "models": [], "object": "list" }));
    }
    let _ = query;
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from(format!("the scripted model has no {path}")))
        .unwrap_or_default()
}

fn json_response(value: Value) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(value.to_string()))
        .unwrap_or_default()
}

/// One server-sent event: an optional `event:` name and its JSON data.
type Event = (Option<&'static str>, Value);

fn sse(event: &Event) -> Bytes {
    let mut text = String::new();
    if let Some(name) = event.0 {
        text.push_str(&format!("event: {name}\n"));
    }
    text.push_str(&format!("data: {}\n\n", event.1));
    Bytes::from(text)
}

/// Stream `events`; a stalled script sends the first few and then holds
/// the connection open until the client goes away.
fn stream(events: Vec<Event>, script: &Script, streaming: bool) -> Response {
    if !streaming {
        // The Anthropic API without `stream`: the final message as JSON.
        return json_response(anthropic::collect(&events));
    }
    let stall = script.stall;
    let keep = if stall {
        3.min(events.len())
    } else {
        events.len()
    };
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        events.iter().take(keep).map(|e| Ok(sse(e))).collect();
    let body = futures_util::stream::iter(chunks);
    let body: futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>> = if stall {
        use futures_util::StreamExt;
        Box::pin(body.chain(futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Bytes::new())
        })))
    } else {
        Box::pin(body)
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_default()
}

/// The name of the offered tool the script wants, if it is offered.
fn wanted_tool<'a>(script: &Script, offered: impl Iterator<Item = &'a str>) -> Option<String> {
    let suffix = script.tool.as_deref()?;
    let offered: Vec<&str> = offered.collect();
    offered
        .iter()
        .find(|name| **name == suffix)
        .or_else(|| offered.iter().find(|name| name.ends_with(suffix)))
        .map(|name| (*name).to_owned())
}

mod anthropic {
    use super::*;

    /// A fresh message id per answer, as the real API gives.
    fn message_id() -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("msg_scripted_{n}")
    }

    pub fn answer(script: &Script, body: &Value) -> Vec<Event> {
        let offered = body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str());
        let tool = wanted_tool(script, offered).filter(|_| !has_tool_result(body));
        let model = if script.model.is_empty() {
            body["model"]
                .as_str()
                .unwrap_or("claude-sonnet-4-5")
                .to_owned()
        } else {
            script.model.clone()
        };
        let mut events: Vec<Event> = vec![(
            Some("message_start"),
            json!({"type": "message_start", "message": {
                "id": message_id(), "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": script.input_tokens, "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
        )];
        let (text, stop_reason) = match &tool {
            Some(_) => ("I will use a tool.".to_owned(), "tool_use"),
            None => (script.text.clone(), "end_turn"),
        };
        events.push((
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ));
        for piece in pieces(&text) {
            events.push((
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        events.push((
            Some("content_block_stop"),
            json!({"type": "content_block_stop", "index": 0}),
        ));
        if let Some(name) = tool {
            events.push((
                Some("content_block_start"),
                json!({"type": "content_block_start", "index": 1, "content_block":
                    {"type": "tool_use", "id": format!("toolu_{}", body["messages"].as_array().map_or(0, Vec::len)), "name": name, "input": {}}}),
            ));
            events.push((
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": 1, "delta":
                    {"type": "input_json_delta", "partial_json": script.tool_input.to_string()}}),
            ));
            events.push((
                Some("content_block_stop"),
                json!({"type": "content_block_stop", "index": 1}),
            ));
        }
        events.push((
            Some("message_delta"),
            json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                   "usage": {"output_tokens": script.output_tokens}}),
        ));
        events.push((Some("message_stop"), json!({"type": "message_stop"})));
        events
    }

    fn has_tool_result(body: &Value) -> bool {
        let Some(last) = body["messages"].as_array().and_then(|m| m.last()) else {
            return false;
        };
        last["content"]
            .as_array()
            .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"))
    }

    /// The whole message, for a request that did not ask to stream.
    pub fn collect(events: &[Event]) -> Value {
        let mut message = json!({});
        let mut text = String::new();
        for (_, data) in events {
            match data["type"].as_str() {
                Some("message_start") => message = data["message"].clone(),
                Some("content_block_delta") => {
                    text.push_str(data["delta"]["text"].as_str().unwrap_or(""))
                }
                Some("message_delta") => {
                    message["stop_reason"] = data["delta"]["stop_reason"].clone();
                    message["usage"]["output_tokens"] = data["usage"]["output_tokens"].clone();
                }
                _ => {}
            }
        }
        message["content"] = json!([{"type": "text", "text": text}]);
        message
    }
}

mod openai {
    use super::*;

    pub fn answer(script: &Script, body: &Value) -> Vec<Event> {
        let offered = body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["name"].as_str().or(t["function"]["name"].as_str()));
        let tool = wanted_tool(script, offered).filter(|_| !has_tool_output(body));
        let id = format!("resp_{}", body["input"].as_array().map_or(0, Vec::len));
        let mut events: Vec<Event> = vec![(
            Some("response.created"),
            json!({"type": "response.created", "response": {"id": id}}),
        )];
        match tool {
            Some(name) => {
                let item = json!({"type": "function_call", "id": "fc_1", "call_id": format!("call_{id}"),
                    "name": name, "arguments": script.tool_input.to_string(), "status": "completed"});
                events.push((
                    Some("response.output_item.added"),
                    json!({"type": "response.output_item.added", "output_index": 0, "item": item}),
                ));
                events.push((
                    Some("response.output_item.done"),
                    json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
                ));
            }
            None => {
                events.push((
                    Some("response.output_item.added"),
                    json!({"type": "response.output_item.added", "output_index": 0, "item":
                        {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}}),
                ));
                for piece in pieces(&script.text) {
                    events.push((
                        Some("response.output_text.delta"),
                        json!({"type": "response.output_text.delta", "item_id": "msg_1",
                               "output_index": 0, "content_index": 0, "delta": piece}),
                    ));
                }
                events.push((
                    Some("response.output_item.done"),
                    json!({"type": "response.output_item.done", "output_index": 0, "item":
                        {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                         "content": [{"type": "output_text", "text": script.text, "annotations": []}]}}),
                ));
            }
        }
        events.push((
            Some("response.completed"),
            json!({"type": "response.completed", "response": {"id": id, "usage": {
                "input_tokens": script.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": script.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": script.input_tokens + script.output_tokens}}}),
        ));
        events
    }

    fn has_tool_output(body: &Value) -> bool {
        body["input"]
            .as_array()
            .and_then(|items| items.last())
            .is_some_and(|item| item["type"] == "function_call_output")
    }
}

mod gemini {
    use super::*;

    fn tool(script: &Script, body: &Value) -> Option<String> {
        let offered = body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
            .filter_map(|f| f["name"].as_str());
        let answered = body["contents"]
            .as_array()
            .and_then(|c| c.last())
            .and_then(|c| c["parts"].as_array())
            .is_some_and(|parts| parts.iter().any(|p| p.get("functionResponse").is_some()));
        wanted_tool(script, offered).filter(|_| !answered)
    }

    fn usage(script: &Script) -> Value {
        json!({"promptTokenCount": script.input_tokens, "candidatesTokenCount": script.output_tokens,
               "totalTokenCount": script.input_tokens + script.output_tokens})
    }

    pub fn answer(script: &Script, body: &Value) -> Vec<Event> {
        if let Some(name) = tool(script, body) {
            return vec![(
                None,
                json!({"candidates": [{"content": {"role": "model", "parts": [
                    {"functionCall": {"name": name, "args": script.tool_input}}]},
                    "finishReason": "STOP", "index": 0}], "usageMetadata": usage(script)}),
            )];
        }
        let parts = pieces(&script.text);
        let last = parts.len().saturating_sub(1);
        parts
            .into_iter()
            .enumerate()
            .map(|(i, piece)| {
                let mut chunk = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}]});
                if i == last {
                    chunk["candidates"][0]["finishReason"] = json!("STOP");
                    chunk["usageMetadata"] = usage(script);
                }
                (None, chunk)
            })
            .collect()
    }

    /// A non-streaming answer (Gemini's model router asks this way).
    pub fn single(script: &Script, body: &Value) -> Value {
        let wants_json = body["generationConfig"]["responseMimeType"] == "application/json";
        let text = if wants_json {
            json!({"reasoning": "scripted", "model_choice": "flash"}).to_string()
        } else {
            script.text.clone()
        };
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
               "finishReason": "STOP", "index": 0}], "usageMetadata": usage(script)})
    }
}

/// Text in a few pieces, so that answers stream.
fn pieces(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    if words.is_empty() {
        return vec![String::new()];
    }
    words.chunks(3).map(|chunk| chunk.concat()).collect()
}
