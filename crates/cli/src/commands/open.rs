//! `vpd open` and `vpd pair`: one-time codes that let a browser or another
//! viewport in, and the list of those that were let in.

use std::process::{ExitCode, Stdio};

use anyhow::{Context, Result};
use serde::Serialize;
use viewport_daemon::DataHome;

use std::io::IsTerminal;

use viewport_client::Client;
use viewport_protocol::now_ms;

use super::print_json;
use super::session::age;
use crate::cli::{OpenArgs, PairAction, PairArgs};
use crate::connect::connect;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    url: String,
    code: String,
    expires_at: i64,
    /// The certificate a viewport should see, when the daemon serves TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_fingerprint: Option<String>,
    /// The code as a link for pairing through the daemon's relay.
    #[serde(skip_serializing_if = "Option::is_none")]
    relay_link: Option<String>,
}

/// A fresh code and the login link that carries it.
async fn new_login(client: &mut Client) -> Result<Login> {
    let code = client.create_login_code().await?;
    let info = DataHome::from_env()?.read_info()?;
    let scheme = if info.tls_fingerprint.is_some() {
        "https"
    } else {
        "http"
    };
    Ok(Login {
        url: format!(
            "{scheme}://{}/login?code={}",
            browsable(&info.listen),
            code.code
        ),
        code: code.code,
        expires_at: code.expires_at,
        tls_fingerprint: info.tls_fingerprint,
        relay_link: code.relay_link,
    })
}

pub async fn run(args: OpenArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let login = new_login(&mut client).await?;
    if args.json {
        print_json(&login)?;
    } else if args.code {
        println!("{}", login.code);
    } else if args.print || !open_in_browser(&login.url) {
        println!("{}", login.url);
        if !args.print {
            eprintln!(
                "vpd: no browser to open here: open the link above on this machine (it works once, for 10 minutes)"
            );
        }
    } else {
        eprintln!("vpd: opened {} in your browser", login.url);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn pair(args: PairArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    match args.action {
        None => show_code(&mut client, args.json).await,
        Some(PairAction::Ls(list)) => list_viewers(&mut client, list.json).await,
        Some(PairAction::Revoke { viewer }) => {
            client.revoke_viewer(&viewer).await?;
            eprintln!("vpd: revoked {viewer}; its connections are closed");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn show_code(client: &mut Client, json: bool) -> Result<ExitCode> {
    let login = new_login(client).await?;
    if json {
        print_json(&login)?;
        return Ok(ExitCode::SUCCESS);
    }
    let minutes = (login.expires_at - now_ms()).max(0) / 60_000;
    println!("{}", login.code);
    if std::io::stdout().is_terminal() {
        if let Some(qr) = qr_text(&login.url) {
            println!("\n{qr}");
        }
        println!(
            "Type the code in a viewport's \"Add a daemon\" form (or on this daemon's login page),\nor open {} on this machine.\nIt works once, for {minutes} more minutes.",
            login.url
        );
    }
    if let Some(fingerprint) = &login.tls_fingerprint {
        println!("certificate {fingerprint}");
    }
    if let Some(link) = &login.relay_link {
        println!("relay link {link}");
        if std::io::stdout().is_terminal() {
            println!("On another machine: vpd remote add NAME '{link}'");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn list_viewers(client: &mut Client, json: bool) -> Result<ExitCode> {
    let viewers = client.viewers().await?;
    if json {
        print_json(&viewers)?;
        return Ok(ExitCode::SUCCESS);
    }
    if viewers.is_empty() {
        eprintln!("vpd: nothing is paired; `vpd pair` or `vpd open` lets a viewport in");
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    println!(
        "{:<18} {:<10} {:<12} {:<24} NAME",
        "ID", "PAIRED", "LAST SEEN", "ORIGIN"
    );
    for viewer in viewers {
        let seen = viewer
            .last_seen_at
            .map_or_else(|| "never".to_owned(), |at| format!("{} ago", age(now - at)));
        println!(
            "{:<18} {:<10} {:<12} {:<24} {}",
            viewer.viewer_id,
            format!("{} ago", age(now - viewer.created_at)),
            seen,
            viewer
                .origin
                .as_deref()
                .unwrap_or(if viewer.relay { "(relay)" } else { "-" }),
            viewer.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The login link as a QR code in text, two rows of modules per line.
fn qr_text(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
    )
}

/// The listen address as a browser should reach it: a wildcard address
/// means this machine's loopback.
fn browsable(listen: &str) -> String {
    if let Some(port) = listen.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = listen.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        listen.to_owned()
    }
}

/// Start the desktop's browser on `url`, when there is a desktop.
fn open_in_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        "xdg-open"
    } else {
        return false;
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {opener}"))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_become_loopback() {
        assert_eq!(browsable("0.0.0.0:7707"), "127.0.0.1:7707");
        assert_eq!(browsable("[::]:80"), "[::1]:80");
        assert_eq!(browsable("127.0.0.1:9"), "127.0.0.1:9");
    }
}
