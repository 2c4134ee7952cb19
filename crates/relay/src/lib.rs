//! Viewports through a relay: a daemon behind NAT connects out to a NATS
//! server and serves the viewport protocol to paired viewports through it.
//!
//! Every connection is a Noise IK session (X25519, ChaCha20-Poly1305,
//! SHA-256) between the daemon's static key and the viewer's. The viewer
//! learns the daemon's key from the pairing link; the daemon learns the
//! viewer's in the first handshake, which carries a one-time code. The relay
//! sees subject names and ciphertext, nothing else.
//!
//! Subjects, for a daemon `D` and a connection id `C` the viewer picks:
//! `vp.D.up.C` carries viewer → daemon, `vp.D.down.C` daemon → viewer.

mod channel;
mod daemon;
mod keys;
mod link;
mod viewer;

/// The NATS client this crate speaks through, for callers that hold one.
pub use async_nats;
pub use channel::{Channel, Receiver, Sender};
pub use daemon::{Incoming, Listener, listen};
pub use keys::{PublicKey, StaticKey};
pub use link::PairingLink;
pub use viewer::{Paired, connect, dial, dial_retrying, pair};

use serde::{Deserialize, Serialize};

/// The Noise protocol every relay connection speaks.
const NOISE_PARAMS: &str = "Noise_IK_25519_ChaChaPoly_SHA256";
/// The largest Noise message (the spec's limit).
const MAX_NOISE_MESSAGE: usize = 65_535;
/// What ChaCha20-Poly1305 adds to each message.
const TAG_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot reach the relay at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the relay connection failed: {0}")]
    Nats(String),
    #[error(
        "daemon {daemon_id} did not answer through the relay: is it running with `relay.url` set to this relay?"
    )]
    NoAnswer { daemon_id: String },
    #[error("the handshake failed: {0}")]
    Handshake(String),
    #[error("the daemon refused: {0}")]
    Refused(String),
    #[error("a message could not be decrypted: the connection is not to the paired peer")]
    Decrypt,
    #[error("the peer sent a message larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("nothing heard from the peer for {0} s")]
    Idle(u64),
    #[error("the peer broke the relay protocol: {0}")]
    Protocol(String),
    #[error("not a pairing link ({0}); `vpd pair --relay` prints one")]
    BadLink(String),
    #[error("not a relay key: {0}")]
    BadKey(String),
}

pub type Result<T, E = RelayError> = std::result::Result<T, E>;

fn nats_error(error: impl std::fmt::Display) -> RelayError {
    RelayError::Nats(error.to_string())
}

/// The first handshake message's payload: who the viewer is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hello {
    /// Present when pairing: the code from `vpd pair --relay` and a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<PairRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PairRequest {
    pub code: String,
    pub name: String,
}

/// The second handshake message's payload: the daemon's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "answer")]
pub enum Answer {
    Welcome {
        viewer_id: String,
        /// The daemon's machine, for the viewport to show.
        #[serde(default)]
        hostname: String,
    },
    Refused {
        message: String,
    },
}

fn subject(daemon_id: &str, direction: &str, connection: &str) -> String {
    format!("vp.{daemon_id}.{direction}.{connection}")
}

fn noise_builder<'a>() -> snow::Builder<'a> {
    // The pattern is a constant this crate's tests parse.
    snow::Builder::new(NOISE_PARAMS.parse().unwrap_or_else(|_| unreachable!()))
}
