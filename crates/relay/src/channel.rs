//! An established relay connection: text frames in and out, each sealed
//! with the session's Noise keys and cut into records that fit one Noise
//! message, several records to a NATS message. Nonces are implicit and counted on each side, so a record that
//! is lost, replayed or reordered fails to open and ends the connection,
//! as a broken socket would.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use snow::StatelessTransportState;
use tokio::sync::Notify;
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

/// Records are packed, each after its length (two bytes, big-endian),
/// into NATS messages of at most this many bytes: the relay's cost is per
/// message, so a burst of small frames travels in a few.
const MAX_PAYLOAD: usize = 256 * 1024;
/// Sealed bytes queued for the relay before senders wait for it.
const MAX_QUEUED: usize = 4 * 1024 * 1024;

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
        let queue = Arc::new(Queue::default());
        tokio::spawn(publish(queue.clone(), nats.clone(), outgoing));
        Self {
            sender: Sender(Arc::new(SenderInner {
                nats,
                noise: noise.clone(),
                queue,
            })),
            receiver: Receiver {
                incoming: Box::pin(incoming),
                noise,
                next_nonce: 0,
                unread: Bytes::new(),
                partial: Vec::new(),
            },
        }
    }
}

/// Sealed records on their way to the relay.
#[derive(Default)]
struct Queue {
    state: Mutex<Queued>,
    /// Records were queued, or the senders are gone.
    work: Notify,
    /// Records left for the relay (or publishing failed).
    drained: Notify,
}

#[derive(Default)]
struct Queued {
    next_nonce: u64,
    payloads: VecDeque<Vec<u8>>,
    bytes: usize,
    failed: Option<String>,
    senders_gone: bool,
}

impl Queued {
    fn push(&mut self, record: &[u8]) {
        let fits = self
            .payloads
            .back()
            .is_some_and(|last| last.len() + 2 + record.len() <= MAX_PAYLOAD);
        if !fits {
            self.payloads
                .push_back(Vec::with_capacity(MAX_PAYLOAD.min(4096)));
        }
        if let Some(last) = self.payloads.back_mut() {
            // A record is at most a Noise message, 65,535 bytes.
            last.extend_from_slice(&(record.len() as u16).to_be_bytes());
            last.extend_from_slice(record);
        }
        self.bytes += record.len() + 2;
    }
}

/// Publish queued payloads, in order, until the senders are gone.
async fn publish(queue: Arc<Queue>, nats: async_nats::Client, subject: String) {
    loop {
        let (batch, done) = {
            let mut state = lock(&queue.state);
            (std::mem::take(&mut state.payloads), state.senders_gone)
        };
        if batch.is_empty() {
            if done {
                return;
            }
            queue.work.notified().await;
            continue;
        }
        let mut published = 0;
        for payload in batch {
            published += payload.len();
            if let Err(error) = nats.publish(subject.clone(), payload.into()).await {
                lock(&queue.state).failed = Some(error.to_string());
                queue.drained.notify_waiters();
                return;
            }
        }
        lock(&queue.state).bytes -= published;
        queue.drained.notify_waiters();
    }
}

fn lock(mutex: &Mutex<Queued>) -> std::sync::MutexGuard<'_, Queued> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The sending half. Sending queues sealed records and returns; a task
/// publishes them in order, so clones may send at once and records still
/// go out whole and in nonce order.
#[derive(Clone)]
pub struct Sender(Arc<SenderInner>);

struct SenderInner {
    nats: async_nats::Client,
    noise: Arc<StatelessTransportState>,
    queue: Arc<Queue>,
}

impl Drop for SenderInner {
    fn drop(&mut self) {
        lock(&self.queue.state).senders_gone = true;
        self.queue.work.notify_one();
    }
}

impl Sender {
    pub async fn send_text(&self, text: &str) -> Result<()> {
        let mut pieces: Vec<&[u8]> = text.as_bytes().chunks(MAX_PIECE).collect();
        if pieces.is_empty() {
            pieces.push(b"");
        }
        let last = pieces.len() - 1;
        let records = pieces.into_iter().enumerate().map(|(index, piece)| {
            let kind = if index == last {
                kind::FINAL
            } else {
                kind::MORE
            };
            (kind, piece)
        });
        self.send_records(records, true).await
    }

    pub async fn ping(&self) -> Result<()> {
        self.send_records([(kind::PING, &b""[..])], true).await
    }

    /// Tell the peer this side is done, and wait until the relay has it.
    pub async fn close(&self) -> Result<()> {
        self.send_records([(kind::CLOSE, &b""[..])], false).await?;
        self.wait_until(|state| state.bytes == 0).await?;
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

    /// Seal and queue `records` together (waiting first for room, when
    /// `bounded`).
    async fn send_records<'a>(
        &self,
        records: impl IntoIterator<Item = (u8, &'a [u8])>,
        bounded: bool,
    ) -> Result<()> {
        if bounded {
            self.wait_until(|state| state.bytes < MAX_QUEUED).await?;
        }
        let mut state = lock(&self.0.queue.state);
        for (kind, body) in records {
            let record = self.seal(state.next_nonce, kind, body)?;
            state.next_nonce += 1;
            state.push(&record);
        }
        drop(state);
        self.0.queue.work.notify_one();
        Ok(())
    }

    /// Wait until the queue is as `ready` says, or publishing failed.
    async fn wait_until(&self, ready: impl Fn(&Queued) -> bool) -> Result<()> {
        let queue = &self.0.queue;
        loop {
            let drained = queue.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            {
                let state = lock(&queue.state);
                if let Some(error) = &state.failed {
                    return Err(RelayError::Nats(error.clone()));
                }
                if ready(&state) {
                    return Ok(());
                }
            }
            drained.await;
        }
    }

    fn seal(&self, nonce: u64, kind: u8, body: &[u8]) -> Result<Vec<u8>> {
        let mut plain = Vec::with_capacity(body.len() + 1);
        plain.push(kind);
        plain.extend_from_slice(body);
        let mut sealed = vec![0; plain.len() + TAG_BYTES];
        let len = self
            .0
            .noise
            .write_message(nonce, &plain, &mut sealed)
            .map_err(|e| RelayError::Handshake(e.to_string()))?;
        sealed.truncate(len);
        Ok(sealed)
    }
}

/// The receiving half.
pub struct Receiver {
    incoming: Pin<Box<dyn Stream<Item = Bytes> + Send>>,
    noise: Arc<StatelessTransportState>,
    next_nonce: u64,
    /// Records of the last NATS message not read yet.
    unread: Bytes,
    /// Pieces of a text frame still arriving.
    partial: Vec<u8>,
}

impl Receiver {
    /// The next text frame; `None` once the peer closed.
    pub async fn next_text(&mut self) -> Result<Option<String>> {
        loop {
            let Some(record) = self.next_record().await? else {
                return Ok(None);
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

    /// The next sealed record, from what is left of the last message or
    /// from the next one.
    async fn next_record(&mut self) -> Result<Option<Bytes>> {
        while self.unread.is_empty() {
            self.unread = match tokio::time::timeout(IDLE_LIMIT, self.incoming.next()).await {
                Err(_) => return Err(RelayError::Idle(IDLE_LIMIT.as_secs())),
                Ok(None) => return Ok(None),
                Ok(Some(message)) => message,
            };
        }
        if self.unread.len() < 2 {
            return Err(RelayError::Decrypt);
        }
        let len = usize::from(u16::from_be_bytes([self.unread[0], self.unread[1]]));
        if self.unread.len() < 2 + len {
            return Err(RelayError::Decrypt);
        }
        let mut record = self.unread.split_to(2 + len);
        Ok(Some(record.split_off(2)))
    }
}
