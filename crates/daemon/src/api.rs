//! The read-only HTTP API for scripts and `curl`: sessions, one session,
//! its stored updates as JSON lines, and its updates as Server-Sent Events
//! that resume from `Last-Event-ID`. The same credentials as the WebSocket
//! (and, on the unix socket, none); the OpenAPI document, built in
//! `viewport_protocol::http_api` from the types these handlers parse and
//! send, is served at `/api/openapi.json`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::task::AbortHandle;
use viewport_protocol::frames::SessionSubscribeResult;
use viewport_protocol::http_api::{ApiError, EventsQuery, SessionsQuery, StreamEnded, StreamQuery};
use viewport_protocol::{ErrorCode, FrameError, ServerFrame, SessionId, SessionState};

use crate::connection::{AppContext, OUTBOX_CAPACITY};
use crate::follow::{Outbox, SessionFollower};
use crate::frames::{Frame, split_update_frame};
use crate::manager::UpdatePage;
use crate::server::Listener;
use crate::web::{self, Credential};

/// How soon a disconnected `EventSource` comes back (its default is 3 s).
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct ApiState {
    ctx: Arc<AppContext>,
    listener: Listener,
}

pub fn routes(ctx: Arc<AppContext>, listener: Listener) -> Router {
    Router::new()
        .route("/api/openapi.json", get(openapi).options(web::preflight))
        .route("/api/sessions", get(list_sessions).options(web::preflight))
        .route(
            "/api/sessions/{session}",
            get(session).options(web::preflight),
        )
        .route(
            "/api/sessions/{session}/events",
            get(events).options(web::preflight),
        )
        .route(
            "/api/sessions/{session}/events/stream",
            get(stream).options(web::preflight),
        )
        .with_state(ApiState { ctx, listener })
}

/// An error answered as `{"code","message"}` with its HTTP status.
struct Refused(StatusCode, ApiError);

impl Refused {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self(
            status,
            ApiError {
                code,
                message: message.into(),
            },
        )
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidFrame, message)
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        let message = error.to_string();
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            message,
        )
    }
}

impl From<FrameError> for Refused {
    fn from(error: FrameError) -> Self {
        let status = match error.code {
            ErrorCode::UnknownSession => StatusCode::NOT_FOUND,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, error.code, error.message)
    }
}

impl From<QueryRejection> for Refused {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = (self.0, axum::Json(self.1)).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type Answer = Result<Response, Refused>;

/// Run `answer` for a request that proved who it is; a bearer request may
/// come from any origin (CORS), as with the session files.
async fn authorized<F>(state: &ApiState, headers: &HeaderMap, answer: F) -> Response
where
    F: Future<Output = Answer>,
{
    let allowed = match &state.listener {
        Listener::LocalSocket => Some(Credential::Owner),
        Listener::Tcp(gate) => web::credential(gate, headers),
    };
    let response = match allowed {
        Some(_) => answer.await.unwrap_or_else(IntoResponse::into_response),
        None => Refused::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "send `Authorization: Bearer TOKEN` (the data home's `token` file, or a paired viewport's token)",
        )
        .into_response(),
    };
    web::allow_bearer_origin(headers, response)
}

fn session_id(text: &str) -> Result<SessionId, Refused> {
    text.parse()
        .map_err(|e| Refused::bad_request(format!("sessionId in the path: {e}")))
}

fn json<T: Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

/// `GET /api/openapi.json`: open to anyone who reaches the daemon; it
/// describes the API, not what is in it.
async fn openapi() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let document = DOCUMENT.get_or_init(viewport_protocol::http_api::openapi_json);
    let mut response = document.as_str().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `GET /api/sessions[?limit=N&after=ID]`
async fn list_sessions(
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Query<SessionsQuery>, QueryRejection>,
) -> Response {
    let manager = state.ctx.manager.clone();
    authorized(&state, &headers, async move {
        let Query(query) = query?;
        let limit = query.page_size().map_err(Refused::bad_request)?;
        Ok(json(&manager.sessions_page(limit, query.after).await?))
    })
    .await
}

/// `GET /api/sessions/{id}`: the session and its open prompts.
async fn session(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(session): Path<String>,
) -> Response {
    let manager = state.ctx.manager.clone();
    authorized(&state, &headers, async move {
        let id = session_id(&session)?;
        let session = manager.summary(&id).await?;
        let pending_prompts = manager
            .readers()
            .read(move |r| r.pending_prompts(&id))
            .await
            .map_err(Refused::internal)?;
        Ok(json(&SessionSubscribeResult {
            session,
            pending_prompts,
        }))
    })
    .await
}

/// `GET /api/sessions/{id}/events[?after=SEQ&limit=N]`: JSON lines.
async fn events(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(session): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let manager = state.ctx.manager.clone();
    authorized(&state, &headers, async move {
        let id = session_id(&session)?;
        let Query(query) = query?;
        let limit = query.page_size().map_err(Refused::bad_request)?;
        let page = UpdatePage::After(query.start().map_err(Refused::bad_request)?);
        let updates = manager.read_stored_updates(&id, page, Some(limit)).await?;
        let mut lines = String::with_capacity(updates.iter().map(|u| u.json.len() + 32).sum());
        for update in &updates {
            // The stored JSON as it is: what `UpdateAt` would serialize to.
            lines.push_str(&update_line(update.seq, &update.json));
            lines.push('\n');
        }
        Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], lines).into_response())
    })
    .await
}

/// `GET /api/sessions/{id}/events/stream[?after=SEQ]`: stored updates,
/// then live ones, as Server-Sent Events; `Last-Event-ID` resumes.
async fn stream(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(session): Path<String>,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Response {
    let ctx = state.ctx.clone();
    let resume = last_event_id(&headers);
    authorized(&state, &headers, async move {
        let id = session_id(&session)?;
        let Query(query) = query?;
        let start = query.start().map_err(Refused::bad_request)?;
        let after = resume?.unwrap_or(start);
        let summary = ctx.manager.summary(&id).await?;
        let events = if summary.state == SessionState::Ended && after >= summary.last_seq {
            // Nothing more will come: say so, rather than leave a reconnecting
            // `EventSource` waiting on a session that is over.
            event_stream(None, Some(ended_event(summary.end_reason, None)))
        } else {
            event_stream(Some(follow(&ctx, id, after)), None)
        };
        Ok(Sse::new(events)
            .keep_alive(KeepAlive::default())
            .into_response())
    })
    .await
}

/// The seq a reconnecting `EventSource` last got, from `Last-Event-ID`.
fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, Refused> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        Refused::bad_request(format!(
            "Last-Event-ID must be a seq (a whole number), not {text:?}"
        ))
    })
}

/// A follower feeding an outbox; stopped when the response is dropped (the
/// client left), whether or not the session has anything more to say.
struct Following {
    frames: tokio::sync::mpsc::Receiver<Vec<Frame>>,
    follower: AbortHandle,
}

impl Drop for Following {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

fn follow(ctx: &AppContext, session_id: SessionId, after: u64) -> Following {
    let (out, frames) = Outbox::new(OUTBOX_CAPACITY);
    let follower = SessionFollower {
        hub: ctx.hub.clone(),
        readers: ctx.manager.readers().clone(),
        session_id,
        request_id: None,
        out,
    };
    let follower = tokio::spawn(follower.run(after)).abort_handle();
    Following { frames, follower }
}

/// The opening comment, then what the follower sends (if one follows), then
/// `closing` (if any).
fn event_stream(
    following: Option<Following>,
    closing: Option<Event>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    // The first event goes out at once, so the client sees the response
    // (and `EventSource` its `open`) before anything happens in the session.
    let opening = Event::default()
        .comment("viewport events")
        .retry(RECONNECT_AFTER);
    let followed = futures_util::stream::unfold(following, |following| async move {
        let mut following = following?;
        let run = following.frames.recv().await?;
        let events: Vec<_> = run
            .iter()
            .map(|frame| Ok(sse_event(frame.as_str())))
            .collect();
        Some((futures_util::stream::iter(events), Some(following)))
    })
    .flatten();
    futures_util::stream::once(async { Ok(opening) })
        .chain(followed)
        .chain(futures_util::stream::iter(closing.map(Ok)))
}

/// One frame of the follower as an event: `update` with its seq as `id`,
/// `ended`, or `error`.
fn sse_event(frame: &str) -> Event {
    if let Some((seq, update)) = split_update_frame(frame) {
        return Event::default()
            .event("update")
            .id(seq.to_string())
            .data(update_line(seq, update));
    }
    match serde_json::from_str::<ServerFrame>(frame) {
        Ok(ServerFrame::SessionEnded { reason, detail, .. }) => ended_event(Some(reason), detail),
        Ok(ServerFrame::Error { code, message, .. }) => Event::default()
            .event("error")
            .data(serde_json::to_string(&ApiError { code, message }).unwrap_or_default()),
        _ => Event::default().comment("unexpected frame"),
    }
}

/// `{"seq":N,"update":…}` around an update's JSON: a line of the JSON
/// lines and the data of an event.
fn update_line(seq: u64, update_json: &str) -> String {
    format!(r#"{{"seq":{seq},"update":{update_json}}}"#)
}

fn ended_event(reason: Option<viewport_protocol::EndReason>, detail: Option<String>) -> Event {
    let ended = StreamEnded { reason, detail };
    Event::default()
        .event("ended")
        .data(serde_json::to_string(&ended).unwrap_or_default())
}
