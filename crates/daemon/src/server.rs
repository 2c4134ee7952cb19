//! The HTTP side: `/ws` upgrades to the viewport protocol. On TCP a token is
//! required before anything is read; on the unix socket, file permissions
//! (0600, in a 0700 home) are the auth.

use std::sync::Arc;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use viewport_protocol::limits::MAX_TRANSPORT_MESSAGE_BYTES;

use crate::connection::{self, AppContext};

/// Who may connect through a listener.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer TOKEN` is required.
    Token(Arc<str>),
    /// The peer reached the unix socket, which only the owner can open.
    LocalSocket,
}

#[derive(Clone)]
struct ServerState {
    ctx: Arc<AppContext>,
    auth: Auth,
}

pub fn router(ctx: Arc<AppContext>, auth: Auth) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .route(
            "/",
            get(|| async { format!("vpd {}\n", env!("CARGO_PKG_VERSION")) }),
        )
        .with_state(ServerState { ctx, auth })
}

async fn upgrade(
    State(state): State<ServerState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Auth::Token(token) = &state.auth
        && !bearer_matches(&headers, token)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid token is required: send `Authorization: Bearer TOKEN` (the token is in the data home's `token` file)\n",
        )
            .into_response();
    }
    let ctx = state.ctx.clone();
    ws.max_message_size(MAX_TRANSPORT_MESSAGE_BYTES)
        .max_frame_size(MAX_TRANSPORT_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection::serve(socket, ctx))
}

fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
}

/// Compare without an early exit, so the time taken says nothing about how
/// much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn only_a_bearer_header_with_the_token_passes() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "t0k"));
        headers.insert(header::AUTHORIZATION, "Bearer wrong".parse().unwrap());
        assert!(!bearer_matches(&headers, "t0k"));
        headers.insert(header::AUTHORIZATION, "Bearer t0k".parse().unwrap());
        assert!(bearer_matches(&headers, "t0k"));
    }
}
