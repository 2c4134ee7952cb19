//! `vpd dir add|ls` and `vpd reindex`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::print_json;
use crate::connect::connect;

pub async fn add(path: &Path, json: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let directory = client.add_directory(&path.to_string_lossy()).await?;
    if json {
        print_json(&directory)?;
    } else {
        println!("{}", directory.directory_id);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list(json: bool) -> Result<ExitCode> {
    let mut client = connect().await?;
    let directories = client.list_directories().await?;
    if json {
        print_json(&directories)?;
    } else if directories.is_empty() {
        eprintln!("no registered directories; add one with `vpd dir add PATH`");
    } else {
        for directory in directories {
            println!("{}  {}", directory.directory_id, directory.path);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn reindex() -> Result<ExitCode> {
    let mut client = connect().await?;
    eprintln!("vpd: rebuilding projections from the event log…");
    let done = client.reindex().await?;
    println!(
        "reindexed {} events of {} sessions",
        done.events, done.sessions
    );
    Ok(ExitCode::SUCCESS)
}
