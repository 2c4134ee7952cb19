//! The read-only HTTP API against a real daemon, over raw HTTP: listing,
//! one session, JSON lines of stored updates, the Server-Sent Events stream
//! resumed with `Last-Event-ID` in the middle of a burst, and the same
//! credential rules as the WebSocket.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::Value;
use viewport_protocol::SessionId;

use super::*;

/// A GET with the owner's token (or `extra` headers); the status code, the
/// content type and the body.
fn get(daemon: &TestDaemon, path: &str, extra: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(&daemon.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {}\r\n{extra}\r\n",
        daemon.address
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|line| line.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    (status, content_type, body.to_owned())
}

fn bearer(daemon: &TestDaemon) -> String {
    format!("Authorization: Bearer {}\r\n", daemon.token)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Server-Sent Events read off one response, a line at a time (HTTP/1.0,
/// so the body is not chunked).
struct EventReader(BufReader<TcpStream>);

#[derive(Debug, Default)]
struct SseEvent {
    event: String,
    id: Option<u64>,
    data: String,
}

impl EventReader {
    fn open(daemon: &TestDaemon, path: &str, extra: &str) -> Self {
        let mut stream = TcpStream::connect(&daemon.address).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let request = format!(
            "GET {path} HTTP/1.0\r\nHost: {}\r\n{}{extra}\r\n",
            daemon.address,
            bearer(daemon)
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.contains(" 200 "), "{status}");
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
            line.clear();
        }
        Self(reader)
    }

    /// The next event with a name (comments and keep-alives are skipped);
    /// `None` when the stream ends.
    fn next(&mut self) -> Option<SseEvent> {
        let mut event = SseEvent::default();
        let mut line = String::new();
        loop {
            line.clear();
            if self.0.read_line(&mut line).unwrap() == 0 {
                return None;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !event.event.is_empty() {
                    return Some(event);
                }
                continue;
            }
            match line.split_once(": ") {
                Some(("event", name)) => event.event = name.to_owned(),
                Some(("id", id)) => event.id = Some(id.parse().unwrap()),
                Some(("data", data)) => event.data.push_str(data),
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_their_stored_updates_are_read_over_http() {
    let daemon = daemon().await;
    let session = launched(&daemon, "burst 20", SessionState::Idle).await;
    let auth = bearer(&daemon);

    let (status, kind, body) = get(&daemon, "/api/sessions", &auth);
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    assert_eq!(json(&body)["sessions"][0]["sessionId"], session.as_str());

    let (status, _, body) = get(&daemon, &format!("/api/sessions/{session}"), &auth);
    assert_eq!(status, 200);
    let detail = json(&body);
    assert_eq!(detail["session"]["state"], "idle");
    let last = detail["session"]["lastSeq"].as_u64().unwrap();
    assert!(detail["pendingPrompts"].as_array().unwrap().is_empty());

    let page = |after: u64, limit: u32| {
        let path = format!("/api/sessions/{session}/events?after={after}&limit={limit}");
        let (status, kind, body) = get(&daemon, &path, &auth);
        assert_eq!((status, kind.as_str()), (200, "application/x-ndjson"));
        body.lines().map(json).collect::<Vec<_>>()
    };
    let first = page(0, 5);
    let seqs: Vec<u64> = first.iter().map(|u| u["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert!(first[0]["update"]["updateType"].is_string());
    let rest = page(5, 5000);
    assert_eq!(rest.first().unwrap()["seq"], 6);
    assert_eq!(rest.last().unwrap()["seq"], last);
    assert!(page(last, 10).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_refuses_what_the_websocket_refuses_and_names_bad_input() {
    let daemon = daemon().await;
    let session = launched(&daemon, "burst 3", SessionState::Idle).await;
    let auth = bearer(&daemon);

    let (status, _, body) = get(&daemon, "/api/sessions", "");
    assert_eq!(
        (status, json(&body)["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let wrong = "Authorization: Bearer not-the-token\r\n";
    assert_eq!(get(&daemon, "/api/sessions", wrong).0, 401);
    // The owner's token from another page is refused, as on the WebSocket.
    let elsewhere = format!("{auth}Origin: http://evil.example\r\n");
    assert_eq!(get(&daemon, "/api/sessions", &elsewhere).0, 401);

    let (status, _, body) = get(&daemon, "/api/sessions/nope", &auth);
    assert_eq!(status, 400);
    assert!(
        json(&body)["message"].as_str().unwrap().contains("`nope`"),
        "{body}"
    );
    let (status, _, body) = get(&daemon, "/api/sessions/ses_0000", &auth);
    assert_eq!(
        (status, json(&body)["code"].as_str()),
        (404, Some("unknown-session"))
    );
    let path = format!("/api/sessions/{session}/events?limit=many");
    let (status, _, body) = get(&daemon, &path, &auth);
    assert_eq!(status, 400);
    assert!(
        json(&body)["message"].as_str().unwrap().contains("limit"),
        "{body}"
    );
    let path = format!("/api/sessions/{session}/events/stream");
    let (status, _, body) = get(&daemon, &path, &format!("{auth}Last-Event-ID: x\r\n"));
    assert_eq!(status, 400);
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap()
            .contains("Last-Event-ID")
    );

    // The document describes the API without a credential.
    let (status, _, body) = get(&daemon, "/api/openapi.json", "");
    assert_eq!(status, 200);
    let document = json(&body);
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/api/sessions/{sessionId}/events/stream"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_resumes_after_last_event_id_mid_burst() {
    let daemon = daemon().await;
    let session = daemon.launch("burst 3000").await.unwrap();
    let path = format!("/api/sessions/{session}/events/stream");
    let mut seen = Vec::new();

    // Read part of the burst, then drop the connection as a network would.
    let mut stream = EventReader::open(&daemon, &path, "");
    while seen.len() < 500 {
        let event = stream.next().expect("the stream goes on");
        assert_eq!(event.event, "update");
        let data = json(&event.data);
        assert_eq!(data["seq"].as_u64(), event.id);
        seen.push(event.id.unwrap());
    }
    drop(stream);

    // Resume from the last id, as a reconnecting EventSource does.
    let resume = format!("Last-Event-ID: {}\r\n", seen.last().unwrap());
    let mut stream = EventReader::open(&daemon, &format!("{path}?after=1"), &resume);
    loop {
        let event = stream.next().expect("the stream goes on");
        let data = json(&event.data);
        seen.push(event.id.unwrap());
        if data["update"]["updateType"] == "state-change" && data["update"]["state"] == "idle" {
            break;
        }
    }
    drop(stream);
    assert_every_seq_once(&daemon, &session, &seen);

    // Once the session is over, a stream past its end says so and closes.
    let mut client = daemon.client().await.unwrap();
    client.close(&session).await.unwrap();
    daemon
        .wait_for_state(&session, SessionState::Ended)
        .await
        .unwrap();
    let mut stream = EventReader::open(&daemon, &path, "Last-Event-ID: 1\r\n");
    let mut last = None;
    while let Some(event) = stream.next() {
        last = Some(event);
    }
    let ended = last.expect("an event before the stream closed");
    assert_eq!(ended.event, "ended");
    assert_eq!(json(&ended.data)["reason"], "completed");
    let head = json(
        &get(
            &daemon,
            &format!("/api/sessions/{session}"),
            &bearer(&daemon),
        )
        .2,
    );
    let mut stream = EventReader::open(
        &daemon,
        &path,
        &format!("Last-Event-ID: {}\r\n", head["session"]["lastSeq"]),
    );
    let only = stream.next().expect("the end is announced");
    assert_eq!(only.event, "ended");
    assert!(stream.next().is_none());
}

/// `seen` is 1, 2, … up to some seq, each once, and every one of them is
/// what the store holds.
fn assert_every_seq_once(daemon: &TestDaemon, session: &SessionId, seen: &[u64]) {
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "an update came twice");
    let last = *seen.last().unwrap();
    assert_eq!(unique, (1..=last).collect(), "an update is missing");
    let (_, _, body) = get(
        daemon,
        &format!("/api/sessions/{session}/events?limit=5000"),
        &bearer(daemon),
    );
    assert!(body.lines().count() as u64 >= last);
}
