//! `vpd search`: full-text search over every session, ranked.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use viewport_protocol::now_ms;

use super::print_json;
use super::resolve_session;
use super::session::age;
use crate::cli::SearchArgs;
use crate::connect::connect;

pub async fn run(args: SearchArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = match &args.session {
        Some(given) => Some(resolve_session(&mut client, given).await?),
        None => None,
    };
    let directory_id = match &args.dir {
        Some(dir) => Some(directory_holding(&mut client, dir).await?),
        None => None,
    };
    let hits = client
        .search(&args.query, session_id, directory_id, Some(args.limit))
        .await?;
    if args.json {
        print_json(&hits)?;
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        eprintln!("vpd: nothing matches `{}`", args.query);
        return Ok(ExitCode::SUCCESS);
    }
    let color = std::io::stdout().is_terminal();
    let now = now_ms();
    for hit in &hits {
        println!(
            "{}  #{:<6} {:<15} {} ago",
            hit.session_id,
            hit.seq,
            hit.kind,
            age(now - hit.at)
        );
        let snippet = hit.snippet.replace('\n', " ");
        let snippet = if color {
            snippet.replace('«', "\x1b[1m").replace('»', "\x1b[0m")
        } else {
            snippet
        };
        println!("    {snippet}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The registered directory a path is in.
async fn directory_holding(
    client: &mut viewport_client::Client,
    dir: &std::path::Path,
) -> Result<viewport_protocol::DirectoryId> {
    let dir =
        std::fs::canonicalize(dir).with_context(|| format!("cannot use {}", dir.display()))?;
    client
        .list_directories()
        .await?
        .into_iter()
        .filter(|d| dir.starts_with(PathBuf::from(&d.path)))
        .max_by_key(|d| d.path.len())
        .map(|d| d.directory_id)
        .with_context(|| {
            format!(
                "{} is in no registered directory (`vpd dir ls`)",
                dir.display()
            )
        })
}
