//! The durable event log of viewport and its projections, in one SQLite file.
//!
//! The `events` table is the source of truth: every session's updates with a
//! dense per-session `seq`. Everything else that describes sessions (the
//! session list, pending prompts) is a projection folded from events, kept up
//! to date in the same transaction as the events it derives from, and rebuilt
//! from events alone by [`Writer::reindex`].
//!
//! # Layout
//! - [`event`]: what is stored: a session's genesis record and its updates.
//! - [`projection`]: pure folds from events to the session view; no SQL.
//! - [`migrations`]: the numbered schema migrations and the pragmas.
//! - [`writer`]: the single writer: assigns seqs and commits batches.
//! - [`reader`]: read connections for replay, listings and lookups.
//! - [`viewers`]: browser logins and paired viewports (a primary record).
//!
//! The store knows nothing of agents or viewports.

mod error;
pub mod event;
pub mod migrations;
pub mod projection;
pub mod reader;
pub mod search;
pub mod viewers;
pub mod writer;

pub use error::StoreError;
pub use event::{
    CommittedEvent, EventBody, NewEvent, ObservedAgent, OutputMark, SessionGenesis, StoredUpdate,
};
pub use migrations::Durability;
pub use reader::Reader;
pub use viewers::{StoredViewer, ViewerStore};
pub use writer::{FailedBatch, ReindexProgress, Writer};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
