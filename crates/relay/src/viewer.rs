//! The viewer's side: pair once with a link, then connect with the keys
//! that pairing left.

use std::time::Duration;

use futures_util::StreamExt;

use crate::{
    Answer, Channel, Hello, MAX_NOISE_MESSAGE, PairRequest, PairingLink, PublicKey, RelayError,
    Result, StaticKey, nats_error, noise_builder, subject,
};

/// How long a daemon may take to answer a handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a viewer keeps after pairing, to connect again. It holds the
/// viewer's private key: store it where only its owner can read it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paired {
    pub relay_url: String,
    pub daemon_id: String,
    pub daemon_key: PublicKey,
    pub viewer_id: String,
    pub viewer_key: StaticKey,
    /// The daemon's machine, as it said when pairing.
    #[serde(default)]
    pub hostname: String,
}

/// Reach the relay at `url`.
pub async fn dial(url: &str) -> Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .name("viewport")
        .connect(url)
        .await
        .map_err(|e| RelayError::Connect {
            url: url.to_owned(),
            reason: e.to_string(),
        })
}

/// Reach the relay at `url` for a daemon: it comes up whether or not the
/// relay is, keeps trying in the background, and reconnects (subscriptions
/// and all) whenever the relay drops.
pub async fn dial_retrying(url: &str) -> Result<async_nats::Client> {
    let relay = url.to_owned();
    async_nats::ConnectOptions::new()
        .name("vpd")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(move |event| {
            let relay = relay.clone();
            async move {
                match event {
                    // Retries while the relay is down would fill the log.
                    async_nats::Event::ClientError(_) => tracing::debug!("relay {relay}: {event}"),
                    _ => tracing::info!("relay {relay}: {event}"),
                }
            }
        })
        .connect(url)
        .await
        .map_err(|e| RelayError::Connect {
            url: url.to_owned(),
            reason: e.to_string(),
        })
}

/// Pair through the relay with a link from `vpd pair --relay`, under `name`.
/// The connection it opens is returned too, ready for frames.
pub async fn pair(link: &PairingLink, name: &str) -> Result<(Paired, Channel)> {
    let nats = dial(&link.relay_url).await?;
    let viewer_key = StaticKey::generate();
    let hello = Hello {
        pair: Some(PairRequest {
            code: link.code.clone(),
            name: name.to_owned(),
        }),
    };
    let (welcome, channel) =
        handshake(nats, &link.daemon_id, &link.daemon_key, &viewer_key, &hello).await?;
    let paired = Paired {
        relay_url: link.relay_url.clone(),
        daemon_id: link.daemon_id.clone(),
        daemon_key: link.daemon_key.clone(),
        viewer_id: welcome.viewer_id,
        viewer_key,
        hostname: welcome.hostname,
    };
    Ok((paired, channel))
}

/// Open a connection as a viewer that paired before.
pub async fn connect(paired: &Paired) -> Result<Channel> {
    let nats = dial(&paired.relay_url).await?;
    let (_, channel) = handshake(
        nats,
        &paired.daemon_id,
        &paired.daemon_key,
        &paired.viewer_key,
        &Hello::default(),
    )
    .await?;
    Ok(channel)
}

async fn handshake(
    nats: async_nats::Client,
    daemon_id: &str,
    daemon_key: &PublicKey,
    viewer_key: &StaticKey,
    hello: &Hello,
) -> Result<(Welcome, Channel)> {
    let connection = connection_id();
    let mut answers = nats
        .subscribe(subject(daemon_id, "down", &connection))
        .await
        .map_err(nats_error)?;
    let mut noise = noise_builder()
        .local_private_key(viewer_key.private_bytes())
        .and_then(|builder| builder.remote_public_key(daemon_key.as_bytes()))
        .and_then(|builder| builder.build_initiator())
        .map_err(|e| RelayError::Handshake(e.to_string()))?;
    let payload = serde_json::to_vec(hello).map_err(|e| RelayError::Handshake(e.to_string()))?;
    let mut first = vec![0; MAX_NOISE_MESSAGE];
    let len = noise
        .write_message(&payload, &mut first)
        .map_err(|e| RelayError::Handshake(e.to_string()))?;
    first.truncate(len);
    let up = subject(daemon_id, "up", &connection);
    nats.publish(up.clone(), first.into())
        .await
        .map_err(nats_error)?;
    nats.flush().await.map_err(nats_error)?;

    let reply = tokio::time::timeout(HANDSHAKE_TIMEOUT, answers.next())
        .await
        .ok()
        .flatten()
        .ok_or_else(|| RelayError::NoAnswer {
            daemon_id: daemon_id.to_owned(),
        })?;
    let mut answer = vec![0; MAX_NOISE_MESSAGE];
    let len = noise
        .read_message(&reply.payload, &mut answer)
        .map_err(|_| RelayError::Decrypt)?;
    let answer: Answer = serde_json::from_slice(&answer[..len])
        .map_err(|e| RelayError::Protocol(format!("the daemon's answer: {e}")))?;
    let welcome = match answer {
        Answer::Welcome {
            viewer_id,
            hostname,
        } => Welcome {
            viewer_id,
            hostname,
        },
        Answer::Refused { message } => return Err(RelayError::Refused(message)),
    };
    let noise = noise
        .into_stateless_transport_mode()
        .map_err(|e| RelayError::Handshake(e.to_string()))?;
    let records = answers.map(|message| message.payload);
    Ok((welcome, Channel::new(nats, up, records, noise)))
}

/// What the daemon said when it let the viewer in.
struct Welcome {
    viewer_id: String,
    hostname: String,
}

/// A fresh connection id: one subject token, unguessable.
fn connection_id() -> String {
    let mut bytes = [0u8; 12];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
