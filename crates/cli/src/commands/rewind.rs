//! `vpd checkpoints` and `vpd rewind`: the working tree as it was after each
//! step, and going back to one.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};
use viewport_protocol::now_ms;

use super::session::age;
use super::{print_json, resolve_session};
use crate::connect::connect;

pub async fn list(session: &str, json: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let id = resolve_session(&mut client, session).await?;
    let checkpoints = client.checkpoints(&id).await?;
    if json {
        print_json(&checkpoints)?;
        return Ok(ExitCode::SUCCESS);
    }
    if checkpoints.is_empty() {
        println!("no checkpoints yet: one is taken after each step of the session");
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    for checkpoint in &checkpoints {
        let note = checkpoint
            .note
            .as_deref()
            .map(|n| format!("  ({n})"))
            .unwrap_or_default();
        println!(
            "#{:<3} update {:<6} {:<5} {:>4} ago  {} files{note}",
            checkpoint.number,
            checkpoint.seq,
            checkpoint.kind.as_str(),
            age(now - checkpoint.created_at),
            checkpoint.files.len()
        );
        for file in &checkpoint.files {
            println!("       {file}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rewind(session: &str, to: u64, yes: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let id = resolve_session(&mut client, session).await?;
    let preview = client.rewind(&id, to, true).await?;
    if preview.changes.is_empty() {
        println!("the working tree is already as it was at update {to}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("rewinding to update {to} changes:");
    for change in &preview.changes {
        let (what, path) = change.split_at(2);
        let verb = match what.trim() {
            "M" => "restore",
            "A" => "bring back",
            "D" => "remove",
            _ => "change",
        };
        println!("  {verb:<10} {path}");
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("not rewinding without a yes: run again with --yes");
        }
        print!("rewind? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing changed");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let done = client.rewind(&id, to, false).await?;
    if let Some(saved) = done.saved {
        println!(
            "rewound; the tree as it was is checkpoint #{} (undo: vpd rewind {id} --to {})",
            saved.number, saved.seq
        );
    }
    Ok(ExitCode::SUCCESS)
}
