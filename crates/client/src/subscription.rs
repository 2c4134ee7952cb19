//! A session's updates that outlive the connection: when it drops (a
//! network loss, `vpd daemon restart`), the subscription dials again with
//! backoff and subscribes after the last seq it gave out, so every update
//! comes once, in order, with no gap. The TypeScript SDK's `subscribe` does
//! the same.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use viewport_protocol::frames::{SessionSubscribeResult, UpdateAt};
use viewport_protocol::{EndReason, ServerFrame, SessionId};

use crate::{Client, ClientError, Result};

/// How a subscription reaches the daemon again.
pub type Dial = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = Result<Client>> + Send>> + Send>;

const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What a subscription gives out next.
#[derive(Debug)]
pub enum Event {
    /// The next update: its seq is above the last one given out (the
    /// daemon sends them dense, so one above).
    Update(UpdateAt),
    /// The session ended after its last update; nothing more comes.
    Ended {
        reason: EndReason,
        detail: Option<String>,
    },
    /// The connection was lost; the next call dials again until it can.
    Lost(ClientError),
    /// The connection is back and the subscription goes on after the last
    /// seq; the result is the session as it is now, with its open prompts.
    Resumed(Box<SessionSubscribeResult>),
}

pub struct Subscription {
    dial: Dial,
    client: Client,
    session_id: SessionId,
    last_seq: u64,
    lost: bool,
}

impl Subscription {
    /// Subscribe to `session_id` after `after_seq` over `client` (and over
    /// what `dial` returns after a loss): the session and its open prompts,
    /// and the subscription to read the rest from.
    pub async fn open(
        mut client: Client,
        dial: Dial,
        session_id: SessionId,
        after_seq: u64,
    ) -> Result<(Self, SessionSubscribeResult)> {
        let subscribed = client.subscribe(&session_id, after_seq).await?;
        let subscription = Self {
            dial,
            client,
            session_id,
            last_seq: after_seq,
            lost: false,
        };
        Ok((subscription, subscribed))
    }

    /// The connection, for requests about the session (answers, prompts).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The seq of the last update given out.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The next event. A refusal by the daemon (the session was destroyed,
    /// say) is an error; a lost connection is not.
    pub async fn next(&mut self) -> Result<Event> {
        if self.lost {
            let resumed = self.resume().await?;
            self.lost = false;
            return Ok(Event::Resumed(Box::new(resumed)));
        }
        loop {
            let frame = match self.client.next_frame().await {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(self.lose(ClientError::Closed)),
                Err(e @ (ClientError::Transport(_) | ClientError::Closed)) => {
                    return Ok(self.lose(e));
                }
                Err(e) => return Err(e),
            };
            match frame {
                ServerFrame::SessionUpdate {
                    session_id,
                    seq,
                    update,
                } if session_id == self.session_id && seq > self.last_seq => {
                    self.last_seq = seq;
                    return Ok(Event::Update(UpdateAt { seq, update }));
                }
                ServerFrame::SessionEnded {
                    session_id,
                    reason,
                    detail,
                } if session_id == self.session_id => {
                    return Ok(Event::Ended { reason, detail });
                }
                ServerFrame::Error {
                    request_id: None,
                    code,
                    message,
                } => return Err(ClientError::Server { code, message }),
                _ => {}
            }
        }
    }

    fn lose(&mut self, why: ClientError) -> Event {
        self.lost = true;
        Event::Lost(why)
    }

    /// Dial until the daemon answers, then subscribe after the last seq.
    async fn resume(&mut self) -> Result<SessionSubscribeResult> {
        let mut wait = RETRY_MIN;
        loop {
            match (self.dial)().await {
                Ok(mut client) => match client.subscribe(&self.session_id, self.last_seq).await {
                    Ok(subscribed) => {
                        self.client = client;
                        return Ok(subscribed);
                    }
                    Err(e @ ClientError::Server { .. }) => return Err(e),
                    Err(_) => {}
                },
                Err(e @ ClientError::Server { .. }) => return Err(e),
                Err(_) => {}
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_MAX);
        }
    }
}
