//! Subscribe-from-zero replay of a large session against a plain ordered scan.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use rusqlite::Connection;
use viewport_client::Client;
use viewport_protocol::update::StateChange;
use viewport_protocol::{EndReason, SessionId, SessionState, SessionUpdate};
use viewport_store::{Durability, EventBody, NewEvent, Writer};
use viewport_testkit::daemon::TestDaemon;

use crate::{Sizes, rate};

const SEED_BATCH: u64 = 10_000;

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    let n = sizes.replay_updates;
    println!("\n== replay from seq 0 of a {n}-update session over WebSocket");
    let mut daemon = TestDaemon::unstarted(vpd)?;
    let database = daemon.home().join("viewport.db");
    let seeded = Instant::now();
    let session = seed(&database, n)?;
    println!("seeded in {:.2}s", seeded.elapsed().as_secs_f64());
    daemon.boot_with(&[]).await?;

    // Best of three for both sides: the figures are about the code, not
    // about what else the machine was doing at that instant.
    let mut scan = f64::MAX;
    let mut seconds = f64::MAX;
    let mut frames = 0;
    for _ in 0..3 {
        scan = scan.min(ordered_scan(&database, &session)?);
        let (delivered, took) = replay_once(&daemon, &session).await?;
        frames = delivered;
        seconds = seconds.min(took);
    }
    if frames != n + 1 {
        bail!("replay delivered {frames} updates, expected {}", n + 1);
    }
    let ratio = (frames as f64 / seconds) / (frames as f64 / scan);
    println!(
        "replay {} ({frames} frames in {seconds:.2}s, best of 3) | plain ordered scan {} | ratio {ratio:.2}x (target >= 0.5x)",
        rate(frames, seconds),
        rate(frames, scan)
    );
    http_replays(&daemon, &session, frames, seconds).await
}

/// The same replay over the read-only HTTP API: Server-Sent Events from
/// seq 0, and JSON lines a page (5000) at a time; each against the
/// WebSocket replay measured above.
async fn http_replays(daemon: &TestDaemon, session: &SessionId, n: u64, ws: f64) -> Result<()> {
    // `n` counts every update, the ended state-change included.
    let mut sse = f64::MAX;
    let mut pages = f64::MAX;
    for _ in 0..3 {
        let (events, took) = sse_once(daemon, session).await?;
        if events != n {
            bail!("the event stream delivered {events} updates, expected {n}");
        }
        sse = sse.min(took);
        let (lines, took) = pages_once(daemon, session).await?;
        if lines != n {
            bail!("the JSON lines held {lines} updates, expected {n}");
        }
        pages = pages.min(took);
    }
    println!(
        "HTTP event stream {} (best of 3) | ratio to WebSocket {:.2}x",
        rate(n, sse),
        ws / sse
    );
    println!(
        "HTTP JSON lines, 5000 a page {} (best of 3) | ratio to WebSocket {:.2}x",
        rate(n, pages),
        ws / pages
    );
    Ok(())
}

/// One GET over HTTP/1.0 (the body ends with the connection), its body
/// read a line at a time by `line`.
async fn get_lines(daemon: &TestDaemon, path: &str, mut line: impl FnMut(&str)) -> Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut stream = tokio::net::TcpStream::connect(&daemon.address).await?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        daemon.address, daemon.token
    );
    stream.write_all(request.as_bytes()).await?;
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut text = String::new();
    reader.read_line(&mut text).await?;
    if !text.contains(" 200 ") {
        bail!("GET {path}: {}", text.trim());
    }
    loop {
        text.clear();
        if reader.read_line(&mut text).await? == 0 {
            return Ok(());
        }
        line(&text);
    }
}

async fn sse_once(daemon: &TestDaemon, session: &SessionId) -> Result<(u64, f64)> {
    let started = Instant::now();
    let mut events = 0;
    let path = format!("/api/sessions/{session}/events/stream");
    get_lines(daemon, &path, |line| {
        if line.starts_with("event: update") {
            events += 1;
        }
    })
    .await?;
    Ok((events, started.elapsed().as_secs_f64()))
}

async fn pages_once(daemon: &TestDaemon, session: &SessionId) -> Result<(u64, f64)> {
    let started = Instant::now();
    let mut after = 0u64;
    loop {
        let mut lines = 0u64;
        let path = format!("/api/sessions/{session}/events?after={after}&limit=5000");
        get_lines(daemon, &path, |line| {
            if line.starts_with("{\"seq\"") {
                lines += 1;
            }
        })
        .await?;
        after += lines;
        if lines < 5000 {
            return Ok((after, started.elapsed().as_secs_f64()));
        }
    }
}

/// Frames delivered and seconds taken by one subscribe from seq 0.
async fn replay_once(daemon: &TestDaemon, session: &SessionId) -> Result<(u64, f64)> {
    replay_over(daemon.tcp_client().await?, session).await
}

/// Frames delivered and seconds taken by one subscribe from seq 0 over `client`.
pub async fn replay_over(mut client: Client, session: &SessionId) -> Result<(u64, f64)> {
    let started = Instant::now();
    client.subscribe(session, 0).await?;
    let mut frames = 0u64;
    loop {
        let Some(text) = client.next_text().await? else {
            bail!("the daemon closed the connection")
        };
        if text.starts_with(r#"{"type":"session-update""#) {
            frames += 1;
        } else if text.starts_with(r#"{"type":"session-ended""#) {
            break;
        }
    }
    Ok((frames, started.elapsed().as_secs_f64()))
}

/// One ended session of `n` chunks plus its end, written straight to the log.
pub fn seed(database: &Path, n: u64) -> Result<SessionId> {
    let mut writer = Writer::open(database, Durability::Normal)?;
    let session = crate::fixtures::start_session(&mut writer)?;
    crate::fixtures::append_chunks(&mut writer, &session, n, SEED_BATCH)?;
    let end = SessionUpdate::StateChange(StateChange {
        state: SessionState::Ended,
        disconnected: false,
        reason: Some(EndReason::Completed),
        detail: None,
        exit_code: None,
    });
    writer.append(vec![NewEvent {
        session_id: session.clone(),
        body: EventBody::Update(end),
    }])?;
    Ok(session)
}

/// Seconds for one ordered scan of every update of the session.
fn ordered_scan(database: &Path, session: &SessionId) -> Result<f64> {
    let conn = Connection::open(database)?;
    let started = Instant::now();
    let mut stmt = conn.prepare(
        "SELECT seq, kind, body FROM events WHERE session_id = ?1 AND seq > 0 ORDER BY seq",
    )?;
    let mut rows = stmt.query([session.as_str()])?;
    let mut bytes = 0usize;
    while let Some(row) = rows.next()? {
        let kind: String = row.get(1)?;
        let body: String = row.get(2)?;
        bytes += kind.len() + body.len();
    }
    std::hint::black_box(bytes);
    Ok(started.elapsed().as_secs_f64())
}
