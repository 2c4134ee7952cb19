//! `vpd open`: a login link for the browser UI that the daemon serves.

use std::process::{ExitCode, Stdio};

use anyhow::{Context, Result};
use serde::Serialize;
use viewport_daemon::DataHome;

use super::print_json;
use crate::cli::OpenArgs;
use crate::connect::connect;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    url: String,
    code: String,
    expires_at: i64,
}

pub async fn run(args: OpenArgs) -> Result<ExitCode> {
    let mut client = connect().await?;
    let code = client.create_login_code().await?;
    let info = DataHome::from_env()?.read_info()?;
    let login = Login {
        url: format!(
            "http://{}/login?code={}",
            browsable(&info.listen),
            code.code
        ),
        code: code.code,
        expires_at: code.expires_at,
    };
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
