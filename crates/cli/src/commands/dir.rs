//! `vpd dir add|ls|rm` and `vpd reindex`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

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

pub async fn remove(given: &str) -> Result<ExitCode> {
    let mut client = connect().await?;
    let directories = client.list_directories().await?;
    let canonical = std::fs::canonicalize(given)
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let found = directories.iter().find(|d| {
        d.directory_id.as_str() == given || Some(&d.path) == canonical.as_ref() || d.path == given
    });
    let Some(directory) = found else {
        bail!("`{given}` is not a registered directory (see `vpd dir ls`)");
    };
    client.remove_directory(&directory.directory_id).await?;
    eprintln!(
        "vpd: unregistered {} ({}); its sessions stay",
        directory.path, directory.directory_id
    );
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
