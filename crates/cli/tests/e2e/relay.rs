//! A viewport through a real nats-server on loopback: pairing with the
//! link `createLoginCode` gives, replay then live with no gap, a prompt
//! answered, revocation, and a relay that never sees plaintext.

use viewport_client::RelayPairing;
use viewport_protocol::{ErrorCode, SessionState, SessionUpdate};
use viewport_testkit::nats::NatsServer;

use super::*;

/// Words the session's transcript carries, which the relay must not see.
const SECRET_PROMPT: &str = "tell me about the pelican-cipher-4711 please";

async fn relayed_daemon(nats: &NatsServer) -> TestDaemon {
    relayed_daemon_with(nats, "").await
}

/// A daemon on the relay; `extra` is more of its `relay:` config.
async fn relayed_daemon_with(nats: &NatsServer, extra: &str) -> TestDaemon {
    let mut daemon = TestDaemon::unstarted(vpd()).unwrap();
    std::fs::write(
        daemon.home().join("config.yaml"),
        format!("relay:\n  url: {}\n{extra}", nats.url()),
    )
    .unwrap();
    daemon.boot_with(&[]).await.unwrap();
    daemon
        .wait_for_log("serving viewports through the relay")
        .await
        .unwrap();
    daemon
}

async fn pair(daemon: &TestDaemon, name: &str) -> (RelayPairing, Client) {
    let mut owner = daemon.client().await.unwrap();
    let code = owner.create_login_code().await.unwrap();
    let link = code.relay_link.expect("a daemon with a relay gives a link");
    assert!(link.ends_with(&code.code), "{link}");
    Client::pair_relay(&link, name).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewport_through_the_relay_replays_goes_live_and_answers_a_prompt() {
    let nats = NatsServer::start().await.unwrap();
    let daemon = relayed_daemon(&nats).await;
    let (pairing, mut remote) = pair(&daemon, "laptop over nats").await;

    // The session asks before it acts; nobody is watching yet.
    let first = launched(&daemon, SECRET_PROMPT, SessionState::Awaiting).await;
    let sessions = remote.list_sessions().await.unwrap();
    assert!(sessions.iter().any(|s| s.session_id == first));

    // Replay of what happened so far, the prompt still open, then live as
    // the relay viewport answers it.
    let state = remote.subscribe(&first, 0).await.unwrap();
    let replayed = updates_until(&mut remote, |seq, _| seq == state.session.last_seq)
        .await
        .unwrap();
    let text = serde_json::to_string(&replayed).unwrap();
    assert!(
        text.contains("pelican-cipher-4711"),
        "the transcript came through the relay"
    );
    let prompt = &state.pending_prompts[0].request;
    remote
        .respond(&first, &prompt.prompt_id, Some("allow"))
        .await
        .unwrap();
    let live = updates_until(&mut remote, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    assert!(
        live.iter()
            .any(|(_, u)| matches!(u, SessionUpdate::PermissionResolved(_)))
    );
    let seqs: Vec<u64> = replayed.iter().chain(&live).map(|(seq, _)| *seq).collect();
    assert_dense(&seqs, 1, *seqs.last().unwrap());

    // A second connection with the same pairing follows a streaming turn.
    let mut again = Client::connect_relay(&pairing).await.unwrap();
    let last = *seqs.last().unwrap();
    again.subscribe(&first, last).await.unwrap();
    again.prompt(&first, "stream 40 400").await.unwrap();
    let streamed = updates_until(&mut again, |_, u| is_state(u, SessionState::Idle))
        .await
        .unwrap();
    let seqs: Vec<u64> = streamed.iter().map(|(seq, _)| *seq).collect();
    assert_dense(&seqs, last + 1, *seqs.last().unwrap());
    assert!(seqs.len() > 40, "{} updates", seqs.len());

    // What only the owner may do stays the owner's.
    let refused = again.create_login_code().await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Forbidden), "{refused}");

    let log = nats.log();
    assert!(log.contains("MSG_PAYLOAD"), "the relay traced its messages");
    for plain in [
        "pelican-cipher-4711",
        "laptop over nats",
        "stream 40",
        "allow",
    ] {
        assert!(!log.contains(plain), "the relay saw {plain:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_relay_viewport_closes_it_and_its_code_works_once() {
    let nats = NatsServer::start().await.unwrap();
    let daemon = relayed_daemon(&nats).await;
    let mut owner = daemon.client().await.unwrap();
    let code = owner.create_login_code().await.unwrap();
    let link = code.relay_link.unwrap();
    let (pairing, mut remote) = Client::pair_relay(&link, "phone").await.unwrap();
    let reused = Client::pair_relay(&link, "thief").await.err().unwrap();
    assert!(
        reused.to_string().contains("wrong, used or expired"),
        "{reused}"
    );

    let viewers = owner.viewers().await.unwrap();
    let viewer = viewers.iter().find(|v| v.name == "phone").unwrap();
    assert!(viewer.relay, "{viewer:?}");
    remote.list_sessions().await.unwrap();
    owner.revoke_viewer(&viewer.viewer_id).await.unwrap();
    let closed = tokio::time::timeout(WAIT, remote.next_frame())
        .await
        .unwrap();
    assert!(matches!(closed, Ok(None) | Err(_)), "{closed:?}");
    let refused = Client::connect_relay(&pairing).await.err().unwrap();
    assert!(refused.to_string().contains("not paired"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_pairs_with_a_remote_and_drives_it_through_the_relay() {
    let nats = NatsServer::start().await.unwrap();
    // Viewports reach the relay by its WebSocket listener, as browsers must.
    let daemon = relayed_daemon_with(&nats, &format!("  viewerUrl: {}\n", nats.ws_url())).await;
    let session = launched(&daemon, "ask", SessionState::Awaiting).await;
    let pair = json(&run(&daemon, &["pair", "--json"]));
    let link = pair["relayLink"]
        .as_str()
        .expect("vpd pair prints the relay link");
    assert!(link.starts_with(&nats.ws_url()), "{link}");

    // The viewport's own data home, on "another machine".
    let elsewhere = tempfile::tempdir().unwrap();
    let remote_vpd = |args: &[&str]| {
        std::process::Command::new(vpd())
            .args(args)
            .env("VIEWPORT_HOME", elsewhere.path().join("home"))
            .env_remove("VIEWPORT_REMOTE")
            .output()
            .unwrap()
    };
    let added = remote_vpd(&["remote", "add", "box", link, "--as", "ci laptop"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let again = remote_vpd(&["remote", "add", "box", link]);
    assert!(!again.status.success(), "a name is taken once");

    let remotes = json(&remote_vpd(&["remote", "ls", "--json"]));
    assert_eq!(remotes[0]["name"], "box");
    let listed = json(&remote_vpd(&["--remote", "box", "ls", "--json"]));
    let text = listed.to_string();
    assert!(text.contains(session.as_str()), "{text}");
    let approved = remote_vpd(&["--remote", "box", "approve", session.as_str()]);
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    daemon
        .wait_for_state(&session, SessionState::Idle)
        .await
        .unwrap();
    let viewers = json(&run(&daemon, &["pair", "ls", "--json"]));
    assert!(viewers.to_string().contains("ci laptop"), "{viewers}");

    let unknown = remote_vpd(&["--remote", "nope", "ls"]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success() && stderr.contains("no remote named nope"),
        "{stderr}"
    );
    let removed = remote_vpd(&["remote", "rm", "box"]);
    assert!(removed.status.success());
    assert_eq!(
        json(&remote_vpd(&["remote", "ls", "--json"])),
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_relay_restarts_the_daemon_is_reached_again() {
    let mut nats = NatsServer::start().await.unwrap();
    let daemon = relayed_daemon(&nats).await;
    let (pairing, mut remote) = pair(&daemon, "laptop").await;
    remote.list_sessions().await.unwrap();

    nats.restart().await.unwrap();
    // The open connection is gone with the relay; the daemon reconnects by
    // itself, and a new connection (once its subscription is back) works.
    let deadline = std::time::Instant::now() + WAIT * 2;
    let mut again = loop {
        match Client::connect_relay(&pairing).await {
            Ok(client) => break client,
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "never reached again: {e}"
                );
                tokio::time::sleep(SHORT * 20).await;
            }
        }
    };
    again.list_sessions().await.unwrap();
}
