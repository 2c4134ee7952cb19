//! History: full-text search over 1M indexed messages (p50/p99 of a query),
//! `reindex` rate, forking a 100k-update session, and a checkpoint of a
//! 10k-file git repository against `git stash create` on the same tree.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use viewport_protocol::update::MessageText;
use viewport_protocol::{SessionId, SessionUpdate};
use viewport_store::{Durability, EventBody, NewEvent, Reader, Writer};
use viewport_testkit::daemon::TestDaemon;

use crate::fixtures::{append_chunks, start_session};
use crate::{Sizes, rate};

const WORDS: &[&str] = &[
    "refactor",
    "parser",
    "flaky",
    "test",
    "network",
    "timeout",
    "config",
    "daemon",
    "session",
    "viewport",
    "index",
    "query",
    "rewind",
    "checkpoint",
    "agent",
    "permission",
    "terminal",
    "schema",
    "migration",
    "commit",
];

/// A message of eight words picked by `i`.
fn message(i: u64) -> String {
    (0..8)
        .map(|k| WORDS[((i * 7 + k * 13 + i / 3) % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
        + &format!(" #{i}")
}

fn append_messages(writer: &mut Writer, session: &SessionId, n: u64) -> Result<()> {
    let mut i = 0;
    while i < n {
        let events = (0..10_000.min(n - i))
            .map(|_| {
                i += 1;
                NewEvent {
                    session_id: session.clone(),
                    body: EventBody::Update(SessionUpdate::AgentMessage(MessageText {
                        text: message(i),
                    })),
                }
            })
            .collect();
        writer.append(events)?;
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

pub async fn run(vpd: &Path, sizes: &Sizes) -> Result<()> {
    let messages = sizes.search_messages;
    println!("\n== history: search over {messages} messages, reindex, fork, checkpoint");
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("viewport.db");
    let mut writer = Writer::open(&db, Durability::Normal)?;
    let session = start_session(&mut writer)?;
    let started = Instant::now();
    append_messages(&mut writer, &session, messages)?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "index while storing       {} messages {}",
        messages,
        rate(messages, took)
    );

    let reader = Reader::open(&db)?;
    let queries = [
        "flaky test",
        "refact*",
        "parser timeout network",
        "\"quoted\" checkpoint",
        "NEAR rewind",
    ];
    let mut times = Vec::new();
    for round in 0..40 {
        for query in queries {
            let started = Instant::now();
            let hits = reader.search(query, None, None, 20)?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            if round == 0 && hits.is_err() {
                bail!("`{query}` failed: {hits:?}");
            }
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "search (top 20)           p50 {:.2} ms  p99 {:.2} ms over {} queries",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.len()
    );

    let started = Instant::now();
    let done = writer.reindex(&mut |_| {})?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "reindex                   {} events {}",
        done.events,
        rate(done.events, took)
    );
    drop(writer);
    fork(vpd, sizes.fork_updates).await?;
    checkpoint(sizes.checkpoint_files)?;
    Ok(())
}

/// Fork a session of `n` updates through the daemon.
async fn fork(vpd: &Path, n: u64) -> Result<()> {
    let daemon = TestDaemon::unstarted(vpd)?;
    {
        std::fs::create_dir_all(daemon.home())?;
        let mut writer = Writer::open(&daemon.home().join("viewport.db"), Durability::Normal)?;
        let session = start_session(&mut writer)?;
        append_chunks(&mut writer, &session, n, 10_000)?;
    }
    let mut daemon = daemon;
    daemon.boot_with(&[]).await?;
    let mut client = daemon.client().await?;
    let session = client.list_sessions().await?.remove(0).session_id;
    let started = Instant::now();
    let fork = client.fork(&session, None).await?;
    let took = started.elapsed().as_secs_f64();
    let copied = client.subscribe(&fork, 0).await?.session.last_seq;
    println!(
        "fork of {n} updates     {:.2} s ({copied} updates in the fork, {})",
        took,
        rate(n, took)
    );
    Ok(())
}

fn sh(dir: &Path, script: &str) -> Result<String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()?;
    if !output.status.success() {
        bail!("{script}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A checkpoint of a repository of `files` files with a few changes, against
/// `git stash create` (which does a similar job through the real index).
fn checkpoint(files: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let repo = dir.path().join("repo");
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&repo)?;
    for i in 0..files {
        let sub = repo.join(format!("d{}", i % 100));
        std::fs::create_dir_all(&sub)?;
        std::fs::write(sub.join(format!("f{i}.txt")), format!("file {i}\n"))?;
    }
    sh(
        &repo,
        "git init -q && git add -A && git -c user.email=b@b -c user.name=b commit -qm init",
    )?;
    sh(
        &repo,
        "for i in 1 2 3 4 5; do echo changed >> d$i/f$i.txt; done; echo new > new.txt",
    )?;
    let root = viewport_daemon::checkpoints::git::repo_root(&repo).context("no repo")?;
    let mut ours = Vec::new();
    let mut stash = Vec::new();
    for n in 0..5 {
        let started = Instant::now();
        viewport_daemon::checkpoints::git::snapshot(
            &root,
            &scratch,
            &format!("refs/viewport/bench/{n}"),
            "bench",
        )
        .map_err(anyhow::Error::msg)?;
        ours.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        sh(&repo, "git stash create >/dev/null")?;
        stash.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ours.sort_by(f64::total_cmp);
    stash.sort_by(f64::total_cmp);
    let (ours, stash) = (percentile(&ours, 0.5), percentile(&stash, 0.5));
    println!(
        "checkpoint of {files} files  {ours:.1} ms (median of 5); git stash create {stash:.1} ms: {:.2}x",
        ours / stash
    );
    Ok(())
}
