//! Limits shared by the daemon and its clients. Every limit gives a clear error
//! when crossed, never a silent drop.

/// Largest client frame the daemon acts on. A bigger one gets a
/// `frame-too-large` error frame and the connection stays open.
pub const MAX_CLIENT_FRAME_BYTES: usize = 1024 * 1024;

/// Largest WebSocket message the transport reads at all. Beyond this the
/// connection is closed with code 1009 (message too big), because reading it
/// would mean buffering an unbounded amount of memory for one peer.
pub const MAX_TRANSPORT_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Longest prompt text accepted in `launch` or `prompt`.
pub const MAX_PROMPT_BYTES: usize = 256 * 1024;

/// Longest client-chosen `requestId`.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Most sessions one connection may subscribe to at once.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 1024;

/// Sessions in one page of `GET /api/sessions` unless `limit` says otherwise.
pub const DEFAULT_SESSION_PAGE: u32 = 100;
/// Most sessions in one page of a listing.
pub const MAX_SESSION_PAGE: u32 = 1000;
/// Updates in one page of stored history (`readUpdates`, `GET
/// /api/sessions/{id}/events`) unless `limit` says otherwise.
pub const DEFAULT_UPDATE_PAGE: u32 = 500;
/// Most updates in one page of stored history.
pub const MAX_UPDATE_PAGE: u32 = 5000;
