//! The daemon's side: one subscription to `vp.D.up.*`, routed by
//! connection id. A message on an unknown connection is a handshake; it
//! becomes an [`Incoming`] the daemon accepts or refuses.

use std::collections::HashMap;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::link::valid_daemon_id;
use crate::{
    Answer, Channel, Hello, MAX_NOISE_MESSAGE, PublicKey, RelayError, Result, StaticKey,
    nats_error, noise_builder, subject,
};

/// Connections served at once through the relay; handshakes beyond it are
/// ignored until one ends.
pub const MAX_CONNECTIONS: usize = 256;
/// Records queued for one connection before it counts as stuck and is dropped.
const CONNECTION_QUEUE: usize = 256;

/// Handshakes as they arrive.
pub struct Listener {
    incoming: mpsc::Receiver<Incoming>,
}

impl Listener {
    pub async fn next(&mut self) -> Option<Incoming> {
        self.incoming.recv().await
    }
}

/// Start answering handshakes for `daemon_id` on the relay.
pub async fn listen(nats: async_nats::Client, daemon_id: &str, key: StaticKey) -> Result<Listener> {
    if !valid_daemon_id(daemon_id) {
        return Err(RelayError::Handshake(format!(
            "{daemon_id:?} is not a daemon id"
        )));
    }
    let subscriber = nats
        .subscribe(subject(daemon_id, "up", "*"))
        .await
        .map_err(nats_error)?;
    let (found, incoming) = mpsc::channel(16);
    let router = Router {
        nats,
        daemon_id: daemon_id.to_owned(),
        key,
        live: HashMap::new(),
        found,
    };
    tokio::spawn(router.run(subscriber));
    Ok(Listener { incoming })
}

struct Router {
    nats: async_nats::Client,
    daemon_id: String,
    key: StaticKey,
    /// Records for each open connection, by connection id.
    live: HashMap<String, mpsc::Sender<Bytes>>,
    found: mpsc::Sender<Incoming>,
}

impl Router {
    async fn run(mut self, mut subscriber: async_nats::Subscriber) {
        while let Some(message) = subscriber.next().await {
            let Some(connection) = message.subject.rsplit('.').next() else {
                continue;
            };
            if let Some(records) = self.live.get(connection) {
                if records.try_send(message.payload).is_err() {
                    tracing::warn!("relay connection {connection} is closed or stuck; dropping it");
                    self.live.remove(connection);
                }
                continue;
            }
            let connection = connection.to_owned();
            match self.handshake(&connection, &message.payload) {
                Ok(incoming) => {
                    if self.found.send(incoming).await.is_err() {
                        return;
                    }
                }
                Err(error) => tracing::debug!("ignored a relay handshake on {connection}: {error}"),
            }
        }
    }

    fn handshake(&mut self, connection: &str, first: &[u8]) -> Result<Incoming> {
        self.live.retain(|_, records| !records.is_closed());
        if self.live.len() >= MAX_CONNECTIONS {
            return Err(RelayError::Handshake(format!(
                "{MAX_CONNECTIONS} relay connections are open already"
            )));
        }
        let mut noise = noise_builder()
            .local_private_key(self.key.private_bytes())
            .and_then(|builder| builder.build_responder())
            .map_err(|e| RelayError::Handshake(e.to_string()))?;
        let mut payload = vec![0; MAX_NOISE_MESSAGE];
        let len = noise
            .read_message(first, &mut payload)
            .map_err(|e| RelayError::Handshake(e.to_string()))?;
        let hello: Hello = serde_json::from_slice(&payload[..len])
            .map_err(|e| RelayError::Handshake(format!("the hello is not understood: {e}")))?;
        let viewer_key = noise
            .get_remote_static()
            .map(PublicKey::from_bytes)
            .transpose()?
            .ok_or_else(|| RelayError::Handshake("the viewer sent no key".into()))?;
        let (records, queue) = mpsc::channel(CONNECTION_QUEUE);
        self.live.insert(connection.to_owned(), records);
        Ok(Incoming {
            nats: self.nats.clone(),
            reply_to: subject(&self.daemon_id, "down", connection),
            noise,
            queue,
            hello,
            viewer_key,
        })
    }
}

/// A viewer that completed the first half of a handshake: its key is
/// proven, its hello decrypted. Accept or refuse it.
pub struct Incoming {
    nats: async_nats::Client,
    reply_to: String,
    noise: snow::HandshakeState,
    queue: mpsc::Receiver<Bytes>,
    pub hello: Hello,
    pub viewer_key: PublicKey,
}

impl Incoming {
    /// Finish the handshake as `viewer_id`, telling it the daemon's
    /// `hostname`; the connection is open.
    pub async fn accept(mut self, viewer_id: &str, hostname: &str) -> Result<Channel> {
        let answer = Answer::Welcome {
            viewer_id: viewer_id.to_owned(),
            hostname: hostname.to_owned(),
        };
        self.answer(&answer).await?;
        let noise = self
            .noise
            .into_stateless_transport_mode()
            .map_err(|e| RelayError::Handshake(e.to_string()))?;
        let records = futures_util::stream::unfold(self.queue, |mut queue| async move {
            queue.recv().await.map(|record| (record, queue))
        });
        Ok(Channel::new(self.nats, self.reply_to, records, noise))
    }

    /// Finish the handshake with a reason the viewer sees, and no connection.
    pub async fn refuse(mut self, message: &str) -> Result<()> {
        let answer = Answer::Refused {
            message: message.to_owned(),
        };
        self.answer(&answer).await
    }

    async fn answer(&mut self, answer: &Answer) -> Result<()> {
        let payload =
            serde_json::to_vec(answer).map_err(|e| RelayError::Handshake(e.to_string()))?;
        let mut message = vec![0; MAX_NOISE_MESSAGE];
        let len = self
            .noise
            .write_message(&payload, &mut message)
            .map_err(|e| RelayError::Handshake(e.to_string()))?;
        message.truncate(len);
        self.nats
            .publish(self.reply_to.clone(), message.into())
            .await
            .map_err(nats_error)?;
        self.nats.flush().await.map_err(nats_error)
    }
}
