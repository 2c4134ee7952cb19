//! Durable ingest through the daemon against raw batched inserts.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use rusqlite::{Connection, params};
use viewport_protocol::{ServerFrame, SessionState, SessionUpdate};
use viewport_testkit::daemon::TestDaemon;

use crate::{Sizes, rate};

/// Rows per transaction in the raw baseline.
const BASELINE_BATCH: u64 = 1_000;

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    let n = sizes.ingest_updates;
    println!("\n== durable ingest: {n} updates (demo agent `burst {n}`)");
    for (label, durability) in [("FULL", "full"), ("NORMAL", "normal")] {
        let baseline = raw_batched_inserts(n, label)?;
        let (rows, seconds) = through_daemon(vpd, n, durability).await?;
        let ratio = (rows as f64 / seconds) / (n as f64 / baseline);
        println!(
            "synchronous={label:<6} daemon {} ({rows} rows in {seconds:.2}s) | raw batched {} | ratio {ratio:.2}x (target >= 0.7x)",
            rate(rows, seconds),
            rate(n, baseline),
        );
    }
    let baseline = raw_batched_inserts(n, "FULL")?;
    let store = store_writer_batched(n)?;
    println!(
        "store writer alone (batches of {BASELINE_BATCH}, FULL) {} | raw batched {} | ratio {:.2}x",
        rate(n, store),
        rate(n, baseline),
        baseline / store
    );
    let per_row = 2_000;
    let seconds = raw_row_per_transaction(per_row)?;
    println!(
        "reference: one fsync'd transaction per row (synchronous=FULL): {}",
        rate(per_row, seconds)
    );
    Ok(())
}

async fn through_daemon(vpd: &Path, n: u64, durability: &str) -> Result<(u64, f64)> {
    let mut daemon = TestDaemon::unstarted(vpd)?;
    daemon.boot_with(&["--durability", durability]).await?;
    let mut feed = daemon.client().await?;
    feed.subscribe_list().await?;
    let started = Instant::now();
    let session = daemon.launch(&format!("burst {n}")).await?;
    // The list feed carries state changes: idle means the whole burst is committed.
    loop {
        match feed.next_frame().await? {
            Some(ServerFrame::SessionUpdate {
                session_id,
                seq,
                update: SessionUpdate::StateChange(change),
            }) if session_id == session && change.state == SessionState::Idle => {
                return Ok((seq, started.elapsed().as_secs_f64()));
            }
            Some(_) => {}
            None => bail!("the daemon closed the list feed"),
        }
    }
}

fn bench_db(synchronous: &str) -> Result<(tempfile::TempDir, Connection)> {
    let dir = tempfile::tempdir()?;
    let conn = Connection::open(dir.path().join("raw.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.execute_batch(
        "CREATE TABLE events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
         body TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID;",
    )?;
    Ok((dir, conn))
}

fn chunk_body(i: u64) -> String {
    format!(r#"{{"updateType":"agent-message-chunk","text":"chunk {i} "}}"#)
}

/// Seconds to insert `n` rows shaped like the daemon's, in batches.
fn raw_batched_inserts(n: u64, synchronous: &str) -> Result<f64> {
    let (_dir, mut conn) = bench_db(synchronous)?;
    let session = "ses_0123456789abcdef0123456789abcdef";
    let started = Instant::now();
    let mut seq = 0;
    while seq < n {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for _ in 0..BASELINE_BATCH.min(n - seq) {
                seq += 1;
                insert.execute(params![
                    session,
                    seq,
                    "agent-message-chunk",
                    chunk_body(seq),
                    0
                ])?;
            }
        }
        tx.commit()?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Seconds for the event log's own writer to take the same updates in
/// batches: seq assignment, JSON, projections, one transaction per batch.
fn store_writer_batched(n: u64) -> Result<f64> {
    use viewport_store::{Durability, Writer};

    let dir = tempfile::tempdir()?;
    let mut writer = Writer::open(&dir.path().join("store.db"), Durability::Full)?;
    let session = crate::fixtures::start_session(&mut writer)?;
    let started = Instant::now();
    crate::fixtures::append_chunks(&mut writer, &session, n, BASELINE_BATCH)?;
    Ok(started.elapsed().as_secs_f64())
}

fn raw_row_per_transaction(n: u64) -> Result<f64> {
    let (_dir, conn) = bench_db("FULL")?;
    let started = Instant::now();
    for seq in 1..=n {
        conn.execute(
            "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5)",
            params!["ses_0", seq, "agent-message-chunk", chunk_body(seq), 0],
        )?;
    }
    Ok(started.elapsed().as_secs_f64())
}
