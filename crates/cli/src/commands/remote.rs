//! `vpd remote`: daemons on other machines, paired through their relay.
//! Each pairing (the daemon's id and key, this viewport's private key) is
//! kept in `remotes.json` in the data home, readable only by its owner.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use viewport_client::{Client, RelayPairing};
use viewport_daemon::DataHome;
use viewport_daemon::home::{read_json, write_private_json};

use super::print_json;
use crate::cli::RemoteCommand;

const REMOTES_FILE: &str = "remotes.json";

pub async fn run(command: RemoteCommand) -> Result<ExitCode> {
    match command {
        RemoteCommand::Add {
            name,
            link,
            viewer_name,
        } => add(&name, &link, viewer_name).await,
        RemoteCommand::Ls(args) => list(args.json),
        RemoteCommand::Rm { name } => remove(&name),
    }
}

async fn add(name: &str, link: &str, viewer_name: Option<String>) -> Result<ExitCode> {
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        bail!("a remote's name must be one word, such as `laptop`; got {name:?}");
    }
    let home = DataHome::from_env()?;
    let mut remotes = load(&home)?;
    if remotes.contains_key(name) {
        bail!(
            "a remote named {name} exists already: `vpd remote rm {name}` first, or choose another name"
        );
    }
    let viewer_name =
        viewer_name.unwrap_or_else(|| format!("vpd on {}", viewport_daemon::web::hostname()));
    let (pairing, mut client) = Client::pair_relay(link, &viewer_name)
        .await
        .context("cannot pair through the relay")?;
    // Kept before anything else can fail: the code is spent already.
    remotes.insert(name.to_owned(), pairing.clone());
    save(&home, &remotes)?;
    let sessions = client.list_sessions().await?;
    eprintln!(
        "vpd: paired with {} through {} as {}; it has {} sessions. Try `vpd --remote {name} ls`.",
        pairing.daemon_id,
        pairing.relay_url,
        pairing.viewer_id,
        sessions.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn list(json: bool) -> Result<ExitCode> {
    let remotes = load(&DataHome::from_env()?)?;
    if json {
        let listed: Vec<serde_json::Value> = remotes
            .iter()
            .map(|(name, p)| {
                serde_json::json!({
                    "name": name,
                    "daemonId": p.daemon_id,
                    "relayUrl": p.relay_url,
                    "viewerId": p.viewer_id,
                })
            })
            .collect();
        print_json(&listed)?;
        return Ok(ExitCode::SUCCESS);
    }
    if remotes.is_empty() {
        eprintln!(
            "vpd: no remotes; `vpd remote add NAME LINK` pairs with one (`vpd pair` on its machine prints the link)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<16} {:<22} {:<18} RELAY", "NAME", "DAEMON", "AS");
    for (name, p) in &remotes {
        println!(
            "{name:<16} {:<22} {:<18} {}",
            p.daemon_id, p.viewer_id, p.relay_url
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(name: &str) -> Result<ExitCode> {
    let home = DataHome::from_env()?;
    let mut remotes = load(&home)?;
    let Some(pairing) = remotes.remove(name) else {
        bail!("no remote named {name}; `vpd remote ls` lists them");
    };
    save(&home, &remotes)?;
    eprintln!(
        "vpd: forgot {name}; its daemon still lists this viewport as {} until `vpd pair revoke {}` there",
        pairing.viewer_id, pairing.viewer_id
    );
    Ok(ExitCode::SUCCESS)
}

/// A connection to the remote called `name`.
pub async fn connect(name: &str) -> Result<Client> {
    let remotes = load(&DataHome::from_env()?)?;
    let Some(pairing) = remotes.get(name) else {
        bail!("no remote named {name}; `vpd remote ls` lists them, `vpd remote add` pairs one");
    };
    Client::connect_relay(pairing).await.with_context(|| {
        format!(
            "cannot reach remote {name} ({}) through {}",
            pairing.daemon_id, pairing.relay_url
        )
    })
}

fn load(home: &DataHome) -> Result<BTreeMap<String, RelayPairing>> {
    let remotes = read_json(home.root(), REMOTES_FILE).map_err(anyhow::Error::msg)?;
    Ok(remotes.unwrap_or_default())
}

fn save(home: &DataHome, remotes: &BTreeMap<String, RelayPairing>) -> Result<()> {
    home.ensure()?;
    write_private_json(home.root(), REMOTES_FILE, remotes)
        .with_context(|| format!("cannot write {}", home.root().join(REMOTES_FILE).display()))
}
