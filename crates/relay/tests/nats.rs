//! The relay transport through a real nats-server on loopback.

use std::time::Duration;

use anyhow::{Context, Result};
use viewport_relay::{Channel, Listener, PairingLink, RelayError, StaticKey};
use viewport_testkit::nats::NatsServer;

const DAEMON_ID: &str = "dmn_0badc0ffee";
const SECRET: &str = "the transcript says hunter2 in plain words";

async fn daemon(nats: &NatsServer) -> Result<(StaticKey, Listener)> {
    let key = StaticKey::generate();
    let client = viewport_relay::dial(&nats.url()).await?;
    let listener = viewport_relay::listen(client, DAEMON_ID, key.clone()).await?;
    Ok((key, listener))
}

fn link(nats: &NatsServer, key: &StaticKey, code: &str) -> PairingLink {
    PairingLink {
        relay_url: nats.url(),
        daemon_id: DAEMON_ID.into(),
        daemon_key: key.public().clone(),
        code: code.into(),
    }
}

async fn next(channel: &mut Channel) -> Result<String> {
    tokio::time::timeout(Duration::from_secs(10), channel.receiver.next_text())
        .await
        .context("no frame within 10 s")??
        .context("closed")
}

#[tokio::test]
async fn a_paired_viewer_talks_to_the_daemon_and_the_relay_sees_only_ciphertext() -> Result<()> {
    let nats = NatsServer::start().await?;
    let (key, mut listener) = daemon(&nats).await?;

    let daemon_side = tokio::spawn(async move {
        let incoming = listener.next().await.context("no handshake")?;
        let pair = incoming.hello.pair.clone().context("not a pairing")?;
        assert_eq!(
            (pair.code.as_str(), pair.name.as_str()),
            ("ABCD-EFGH", "phone")
        );
        let viewer_key = incoming.viewer_key.clone();
        let channel = incoming.accept("vwr_1", "host").await?;
        anyhow::Ok((viewer_key, channel, listener))
    });
    let (paired, mut viewer) =
        viewport_relay::pair(&link(&nats, &key, "ABCD-EFGH"), "phone").await?;
    let (viewer_key, mut daemon, mut listener) = daemon_side.await??;
    assert_eq!(paired.viewer_id, "vwr_1");
    assert_eq!(
        &viewer_key,
        paired.viewer_key.public(),
        "the daemon learned the viewer's key"
    );

    // Both ways, a frame larger than one Noise message included.
    let big = SECRET.repeat(10_000);
    viewer.sender.send_text(SECRET).await?;
    viewer.sender.send_text(&big).await?;
    viewer.sender.send_text("").await?;
    assert_eq!(next(&mut daemon).await?, SECRET);
    assert_eq!(next(&mut daemon).await?, big);
    assert_eq!(next(&mut daemon).await?, "");
    daemon.sender.ping().await?;
    daemon.sender.send_text(SECRET).await?;
    assert_eq!(next(&mut viewer).await?, SECRET);

    // A second connection with the keys pairing left.
    let daemon_side = tokio::spawn(async move {
        let incoming = listener.next().await.context("no handshake")?;
        assert!(incoming.hello.pair.is_none());
        Ok::<_, anyhow::Error>(incoming.accept("vwr_1", "host").await?)
    });
    let again = viewport_relay::connect(&paired).await?;
    let mut daemon_again = daemon_side.await??;
    again.sender.send_text("again").await?;
    assert_eq!(next(&mut daemon_again).await?, "again");

    viewer.sender.close().await?;
    assert_eq!(
        daemon.receiver.next_text().await?,
        None,
        "a close ends the stream"
    );

    let log = nats.log();
    assert!(
        log.contains("MSG_PAYLOAD"),
        "the relay traced the messages it carried:\n{log}"
    );
    for plain in [SECRET, "ABCD-EFGH", "phone", "vwr_1", "again"] {
        assert!(!log.contains(plain), "the relay saw {plain:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_refusal_reaches_the_viewer_and_a_forged_record_ends_the_connection() -> Result<()> {
    let nats = NatsServer::start().await?;
    let (key, mut listener) = daemon(&nats).await?;
    let daemon_side = tokio::spawn(async move {
        let incoming = listener.next().await.context("no handshake")?;
        incoming.refuse("the code is wrong").await?;
        let incoming = listener.next().await.context("no second handshake")?;
        Ok::<_, anyhow::Error>(incoming.accept("vwr_2", "host").await?)
    });
    let refused = viewport_relay::pair(&link(&nats, &key, "WRONG"), "x").await;
    assert!(
        matches!(&refused, Err(RelayError::Refused(message)) if message == "the code is wrong"),
        "{:?}",
        refused.err()
    );

    let (_, _viewer) = viewport_relay::pair(&link(&nats, &key, "RIGHT"), "x").await?;
    let mut daemon = daemon_side.await??;
    // Anyone on the relay can publish to the daemon's subjects; nothing
    // they send opens.
    let intruder = viewport_relay::dial(&nats.url()).await?;
    let log = nats.log();
    let up = log
        .lines()
        .rev()
        .find_map(|line| {
            let start = line.find(&format!("vp.{DAEMON_ID}.up."))?;
            line[start..].split_whitespace().next().map(str::to_owned)
        })
        .context("the relay's log names the last connection's subject")?;
    intruder.publish(up, "forged".into()).await?;
    intruder.flush().await?;
    let forged = daemon.receiver.next_text().await;
    assert!(matches!(forged, Err(RelayError::Decrypt)), "{forged:?}");
    Ok(())
}
