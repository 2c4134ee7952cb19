//! A connection through the daemon's NATS relay: the relay channel dressed
//! as a WebSocket, so the rest of the client cannot tell the difference.

use std::pin::Pin;

use futures_util::{Sink, Stream};
use tokio_tungstenite::tungstenite::{self, Message};
use viewport_relay::{Channel, PairingLink, RelayError, Sender};

use crate::{Client, ClientError, RelayPairing, Result};

/// What a relay connection holds beyond its frames.
pub(crate) struct Relay {
    goodbye: Sender,
    keep_alive: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    /// The daemon learns at once that this viewport left, rather than
    /// after its idle limit.
    fn drop(&mut self) {
        self.keep_alive.abort();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let goodbye = self.goodbye.clone();
            runtime.spawn(async move { goodbye.close().await });
        }
    }
}

impl Client {
    /// Pair through the relay with a link from the daemon's `vpd pair`,
    /// under `name`. Keep the pairing (it holds this viewport's private key,
    /// so somewhere only its owner reads) to [`Client::connect_relay`] later;
    /// the client returned is connected already.
    pub async fn pair_relay(link: &str, name: &str) -> Result<(RelayPairing, Self)> {
        let link: PairingLink = link.parse().map_err(relay_error)?;
        let (paired, channel) = viewport_relay::pair(&link, name)
            .await
            .map_err(relay_error)?;
        Ok((paired, Self::over_relay(channel)))
    }

    /// Connect through the relay as a viewport that paired before.
    pub async fn connect_relay(pairing: &RelayPairing) -> Result<Self> {
        let channel = viewport_relay::connect(pairing)
            .await
            .map_err(relay_error)?;
        Ok(Self::over_relay(channel))
    }

    fn over_relay(channel: Channel) -> Self {
        let Channel { sender, receiver } = channel;
        let relay = Relay {
            goodbye: sender.clone(),
            keep_alive: sender.keep_alive(),
        };
        let outgoing = futures_util::sink::unfold(sender, |sender, message: Message| async move {
            match message {
                Message::Text(text) => sender.send_text(text.as_str()).await,
                Message::Close(_) => sender.close().await,
                _ => Ok(()),
            }
            .map_err(transport_error)?;
            Ok::<_, tungstenite::Error>(sender)
        });
        let incoming = futures_util::stream::unfold(receiver, |mut receiver| async move {
            match receiver.next_text().await {
                Ok(Some(text)) => Some((Ok(Message::text(text)), receiver)),
                Ok(None) => None,
                Err(error) => Some((Err(transport_error(error)), receiver)),
            }
        });
        let outgoing: Pin<Box<dyn Sink<Message, Error = tungstenite::Error> + Send>> =
            Box::pin(outgoing);
        let incoming: Pin<Box<dyn Stream<Item = _> + Send>> = Box::pin(incoming);
        Self {
            outgoing,
            incoming,
            backlog: Default::default(),
            _relay: Some(relay),
        }
    }
}

fn relay_error(error: RelayError) -> ClientError {
    ClientError::Relay(error)
}

fn transport_error(error: RelayError) -> tungstenite::Error {
    tungstenite::Error::Io(std::io::Error::other(error))
}
