//! Serving viewports through a NATS relay (`relay.url` in the user's
//! config), for machines no viewport can reach directly. The daemon
//! connects out, answers handshakes for its own id, and serves each
//! admitted viewer exactly as it serves a WebSocket: same frames, same
//! replay and live, same prompts. Admission is the [`Gate`]'s: a pairing
//! code once, then the viewer's key; revoking the viewer closes its relay
//! connections as it closes its sockets.

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::ws::Message;
use viewport_config::model::RelayConfig;
use viewport_relay::{Incoming, PairingLink, StaticKey};

use crate::connection::{self, AppContext};
use crate::home::{DataHome, write_private};
use crate::web::Credential;

/// This daemon's place on a relay.
pub struct Relay {
    /// Where the daemon connects.
    url: String,
    /// Where viewports connect (put in pairing links).
    viewer_url: String,
    daemon_id: String,
    key: StaticKey,
}

impl Relay {
    /// The relay of `config`, with the daemon's key (made on first use).
    pub fn load(home: &DataHome, config: RelayConfig, daemon_id: &str) -> Result<Self> {
        Ok(Self {
            viewer_url: config.viewer_url.unwrap_or_else(|| config.url.clone()),
            url: config.url,
            daemon_id: daemon_id.to_owned(),
            key: load_key(home)?,
        })
    }

    /// A login code as a link a viewport pairs through the relay with.
    pub fn link(&self, code: &str) -> String {
        PairingLink {
            relay_url: self.viewer_url.clone(),
            daemon_id: self.daemon_id.clone(),
            daemon_key: self.key.public().clone(),
            code: code.to_owned(),
        }
        .to_string()
    }

    /// Connect to the relay (in the background while it is down) and admit
    /// viewers until the daemon stops.
    pub async fn serve(self: Arc<Self>, ctx: Arc<AppContext>) -> Result<()> {
        let nats = viewport_relay::dial_retrying(&self.url).await?;
        let mut listener = viewport_relay::listen(nats.clone(), &self.daemon_id, self.key.clone())
            .await
            .with_context(|| format!("cannot listen on the relay {}", self.url))?;
        tokio::spawn(announce(nats, self.url.clone()));
        let shutdown = ctx.shutdown.clone();
        loop {
            let incoming = tokio::select! {
                incoming = listener.next() => incoming,
                () = shutdown.cancelled() => None,
            };
            let Some(incoming) = incoming else { break };
            tokio::spawn(admit(incoming, ctx.clone()));
        }
        Ok(())
    }
}

/// How long the relay may take to answer before the log says it cannot be reached.
const RELAY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// Say in the log when the relay has our subscription (it has once it
/// answers a flush: a viewport that connects after that is answered), and
/// say so once if it cannot be reached yet.
async fn announce(nats: viewport_relay::async_nats::Client, url: String) {
    let mut warned = false;
    loop {
        match tokio::time::timeout(RELAY_PATIENCE, nats.flush()).await {
            Ok(Ok(())) => {
                tracing::info!("serving viewports through the relay {url}");
                return;
            }
            Ok(Err(_)) | Err(_) if !warned => {
                tracing::warn!(
                    "the relay {url} cannot be reached yet; vpd keeps trying in the background"
                );
                warned = true;
            }
            _ => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The daemon's relay key, from `relay.key` in the data home.
fn load_key(home: &DataHome) -> Result<StaticKey> {
    let path = home.relay_key_file();
    match std::fs::read_to_string(&path) {
        Ok(text) => StaticKey::from_secret_text(&text)
            .with_context(|| format!("{} is not a relay key; delete it to make a new one (paired relay viewers must then pair again)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = StaticKey::generate();
            write_private(&path, key.to_secret_text().as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Pair or recognise a viewer, then serve it.
async fn admit(incoming: Incoming, ctx: Arc<AppContext>) {
    let key = incoming.viewer_key.to_string();
    let admitted = match &incoming.hello.pair {
        Some(pair) => ctx
            .gate
            .redeem_relay(&pair.code, &pair.name, &key)
            .map_err(|e| e.to_string()),
        None => ctx.gate.relay_viewer(&key).ok_or_else(|| {
            "this viewport is not paired with the daemon (or was revoked): pair again with a link from `vpd pair`".to_owned()
        }),
    };
    let viewer_id = match admitted {
        Ok(viewer_id) => viewer_id,
        Err(message) => {
            tracing::info!("refused a relay viewport: {message}");
            if let Err(e) = incoming.refuse(&message).await {
                tracing::debug!("cannot answer a refused relay viewport: {e}");
            }
            return;
        }
    };
    let hostname = crate::web::DaemonAbout::of(&ctx.gate).hostname;
    let channel = match incoming.accept(&viewer_id, &hostname).await {
        Ok(channel) => channel,
        Err(e) => {
            tracing::warn!("cannot answer relay viewer {viewer_id}: {e}");
            return;
        }
    };
    tracing::info!("relay viewer {viewer_id} connected");
    serve_channel(channel, ctx, viewer_id).await;
}

/// A relay channel dressed as a WebSocket for [`connection::serve_messages`].
async fn serve_channel(channel: viewport_relay::Channel, ctx: Arc<AppContext>, viewer_id: String) {
    let viewport_relay::Channel { sender, receiver } = channel;
    let closer = sender.clone();
    let sink = futures_util::sink::unfold(sender, |sender, message: Message| async move {
        match message {
            Message::Text(text) => sender.send_text(text.as_str()).await?,
            Message::Ping(_) => sender.ping().await?,
            Message::Close(_) => sender.close().await?,
            Message::Binary(_) | Message::Pong(_) => {}
        }
        Ok::<_, viewport_relay::RelayError>(sender)
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        match receiver.next_text().await {
            Ok(Some(text)) => Some((Ok(Message::text(text)), receiver)),
            Ok(None) => None,
            Err(error) => Some((Err(error), receiver)),
        }
    });
    connection::serve_messages(
        Box::pin(sink),
        Box::pin(stream),
        ctx,
        Credential::Viewer(viewer_id.clone()),
    )
    .await;
    let _ = closer.close().await;
    tracing::info!("relay viewer {viewer_id} left");
}
