//! An established relay connection: text frames in and out, each sealed
//! with the session's Noise keys and cut into records that fit one Noise
//! message. Nonces are implicit and counted on each side, so a record that
//! is lost, replayed or reordered fails to open and ends the connection,
//! as a broken socket would.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use snow::StatelessTransportState;
use viewport_protocol::limits::MAX_TRANSPORT_MESSAGE_BYTES;

use crate::{MAX_NOISE_MESSAGE, RelayError, Result, TAG_BYTES, nats_error};

/// A record's first plaintext byte says what it is.
mod kind {
    /// The last (or only) piece of a text frame.
    pub const FINAL: u8 = 0;
    /// A piece of a text frame; more follow.
    pub const MORE: u8 = 1;
    /// Nothing but "still here".
    pub const PING: u8 = 2;
    /// The sender is done.
    pub const CLOSE: u8 = 3;
}

/// How often a quiet side says it is still there.
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// Silence after which the peer is taken for gone (three missed pings).
pub const IDLE_LIMIT: Duration = Duration::from_secs(65);
/// The most text one record carries.
const MAX_PIECE: usize = MAX_NOISE_MESSAGE - TAG_BYTES - 1;

/// Both halves of a connection.
pub struct Channel {
    pub sender: Sender,
    pub receiver: Receiver,
}

impl Channel {
    pub(crate) fn new(
        nats: async_nats::Client,
        outgoing: String,
        incoming: impl Stream<Item = Bytes> + Send + 'static,
        noise: StatelessTransportState,
    ) -> Self {
        let noise = Arc::new(noise);
        Self {
            sender: Sender(Arc::new(SenderInner {
                nats,
                subject: outgoing,
                noise: noise.clone(),
                next_nonce: tokio::sync::Mutex::new(0),
            })),
            receiver: Receiver {
                incoming: Box::pin(incoming),
                noise,
                next_nonce: 0,
                partial: Vec::new(),
            },
        }
    }
}

/// The sending half; clones share one nonce counter, so records go out
/// whole and in order whoever sends them.
#[derive(Clone)]
pub struct Sender(Arc<SenderInner>);

struct SenderInner {
    nats: async_nats::Client,
    subject: String,
    noise: Arc<StatelessTransportState>,
    next_nonce: tokio::sync::Mutex<u64>,
}

impl Sender {
    pub async fn send_text(&self, text: &str) -> Result<()> {
        let mut nonce = self.0.next_nonce.lock().await;
        let mut pieces = text.as_bytes().chunks(MAX_PIECE).peekable();
        if pieces.peek().is_none() {
            return self.send_record(&mut nonce, kind::FINAL, b"").await;
        }
        while let Some(piece) = pieces.next() {
            let kind = match pieces.peek() {
                Some(_) => kind::MORE,
                None => kind::FINAL,
            };
            self.send_record(&mut nonce, kind, piece).await?;
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        let mut nonce = self.0.next_nonce.lock().await;
        self.send_record(&mut nonce, kind::PING, b"").await
    }

    /// Tell the peer this side is done, and wait until the relay has it.
    pub async fn close(&self) -> Result<()> {
        let mut nonce = self.0.next_nonce.lock().await;
        self.send_record(&mut nonce, kind::CLOSE, b"").await?;
        self.0.nats.flush().await.map_err(nats_error)
    }

    /// Ping every [`PING_INTERVAL`] until the connection fails; abort the
    /// task to stop.
    pub fn keep_alive(&self) -> tokio::task::JoinHandle<()> {
        let sender = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PING_INTERVAL).await;
                if sender.ping().await.is_err() {
                    break;
                }
            }
        })
    }

    async fn send_record(&self, nonce: &mut u64, kind: u8, body: &[u8]) -> Result<()> {
        let mut plain = Vec::with_capacity(body.len() + 1);
        plain.push(kind);
        plain.extend_from_slice(body);
        let mut sealed = vec![0; plain.len() + TAG_BYTES];
        let len = self
            .0
            .noise
            .write_message(*nonce, &plain, &mut sealed)
            .map_err(|e| RelayError::Handshake(e.to_string()))?;
        *nonce += 1;
        sealed.truncate(len);
        self.0
            .nats
            .publish(self.0.subject.clone(), sealed.into())
            .await
            .map_err(nats_error)
    }
}

/// The receiving half.
pub struct Receiver {
    incoming: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
    noise: Arc<StatelessTransportState>,
    next_nonce: u64,
    /// Pieces of a text frame still arriving.
    partial: Vec<u8>,
}

impl Receiver {
    /// The next text frame; `None` once the peer closed.
    pub async fn next_text(&mut self) -> Result<Option<String>> {
        loop {
            let record = match tokio::time::timeout(IDLE_LIMIT, self.incoming.next()).await {
                Err(_) => return Err(RelayError::Idle(IDLE_LIMIT.as_secs())),
                Ok(None) => return Ok(None),
                Ok(Some(record)) => record,
            };
            let mut plain = vec![0; record.len()];
            let len = self
                .noise
                .read_message(self.next_nonce, &record, &mut plain)
                .map_err(|_| RelayError::Decrypt)?;
            self.next_nonce += 1;
            let Some((&kind, body)) = plain[..len].split_first() else {
                return Err(RelayError::Decrypt);
            };
            match kind {
                kind::PING => {}
                kind::CLOSE => return Ok(None),
                kind::MORE | kind::FINAL => {
                    if self.partial.len() + body.len() > MAX_TRANSPORT_MESSAGE_BYTES {
                        return Err(RelayError::TooLarge {
                            limit: MAX_TRANSPORT_MESSAGE_BYTES,
                        });
                    }
                    self.partial.extend_from_slice(body);
                    if kind == kind::FINAL {
                        let text = String::from_utf8(std::mem::take(&mut self.partial))
                            .map_err(|_| RelayError::Protocol("a frame is not UTF-8".into()))?;
                        return Ok(Some(text));
                    }
                }
                other => return Err(RelayError::Protocol(format!("unknown record kind {other}"))),
            }
        }
    }
}
