//! The HTTP side. On the unix socket, `/ws` is the viewport protocol and
//! file permissions (0600, in a 0700 home) are the auth. On TCP, the same
//! `/ws` needs a credential before anything is read (see [`crate::web`]),
//! and the rest is the browser UI and its login. The read-only HTTP API
//! ([`crate::api`]) is on both.

use std::sync::Arc;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use viewport_protocol::limits::MAX_TRANSPORT_MESSAGE_BYTES;

use crate::api;
use crate::connection::{self, AppContext};
use crate::web::{self, BrowserState, Credential, Gate};

/// Who may connect through a listener.
#[derive(Clone)]
pub enum Listener {
    /// TCP: a token, or a browser login, is required.
    Tcp(Arc<Gate>),
    /// The peer reached the unix socket, which only the owner can open.
    LocalSocket,
}

#[derive(Clone)]
struct ServerState {
    ctx: Arc<AppContext>,
    listener: Listener,
}

pub fn router(ctx: Arc<AppContext>, listener: Listener) -> Router {
    let home = ctx.manager.home_dir().clone();
    let ws = Router::new()
        .route("/ws", get(upgrade))
        .with_state(ServerState {
            ctx: ctx.clone(),
            listener: listener.clone(),
        })
        .merge(api::routes(ctx, listener.clone()));
    match listener {
        Listener::LocalSocket => ws,
        Listener::Tcp(gate) => ws
            .merge(browser_routes(BrowserState {
                gate: gate.clone(),
                home,
            }))
            .layer(axum::middleware::from_fn_with_state(gate, web::check_host)),
    }
}

fn browser_routes(state: BrowserState) -> Router {
    Router::new()
        .route("/login", get(web::login_link))
        .route("/api/login", post(web::login_form))
        .route("/api/logout", post(web::logout))
        .route("/api/pair", post(web::pair).options(web::preflight))
        .route("/api/info", get(web::info).options(web::preflight))
        .route(
            "/api/sessions/{session}/console.log",
            get(web::files::console_log).options(web::preflight),
        )
        .route(
            "/api/sessions/{session}/artifacts",
            get(web::files::list_artifacts).options(web::preflight),
        )
        .route(
            "/api/sessions/{session}/artifacts/{*path}",
            get(web::files::artifact).options(web::preflight),
        )
        .fallback(get(|uri: Uri, headers: HeaderMap| async move {
            web::assets::serve(uri.path(), &headers)
        }))
        .with_state(state)
}

async fn upgrade(
    State(state): State<ServerState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let credential = match &state.listener {
        Listener::LocalSocket => Credential::Owner,
        Listener::Tcp(gate) => match web::credential(gate, &headers) {
            Some(credential) => credential,
            None => return web::unauthorized(),
        },
    };
    let ctx = state.ctx.clone();
    ws.protocols([web::SUBPROTOCOL])
        .max_message_size(MAX_TRANSPORT_MESSAGE_BYTES)
        .max_frame_size(MAX_TRANSPORT_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection::serve(socket, ctx, credential))
}
