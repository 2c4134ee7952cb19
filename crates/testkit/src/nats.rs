//! A real `nats-server` (Debian's package; `./scripts/test` installs it) on
//! a free loopback port, with its WebSocket listener (what browsers use) on
//! another, and tracing on: its log holds every message it relays, payload
//! included, so a test can check what a relay could see.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::daemon::WAIT;

pub struct NatsServer {
    child: Child,
    dir: TempDir,
    pub port: u16,
    pub ws_port: u16,
}

/// Tries at starting on fresh ports: a port found free can be taken by
/// another process before nats-server binds it.
const START_ATTEMPTS: usize = 3;

impl NatsServer {
    pub async fn start() -> Result<Self> {
        let mut failure = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once().await {
                Ok(server) => return Ok(server),
                Err(error) => failure = Some(error),
            }
        }
        Err(failure.unwrap_or_else(|| anyhow::anyhow!("nats-server did not start")))
    }

    async fn start_once() -> Result<Self> {
        let program = program()?;
        let [port, ws_port] = free_ports()?;
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("nats.conf");
        std::fs::write(
            &config,
            format!("websocket {{\n  listen: \"127.0.0.1:{ws_port}\"\n  no_tls: true\n}}\n"),
        )?;
        let child = Command::new(&program)
            .arg("-c")
            .arg(&config)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-V", "-l"])
            .arg(dir.path().join("nats.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let mut server = Self {
            child,
            dir,
            port,
            ws_port,
        };
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
            || tokio::net::TcpStream::connect(("127.0.0.1", ws_port))
                .await
                .is_err()
        {
            if Instant::now() > deadline || server.child.try_wait().ok().flatten().is_some() {
                bail!(
                    "nats-server did not listen on {port} and {ws_port}:\n{}",
                    server.log()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The WebSocket listener, as browsers reach it.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ws_port)
    }

    /// Everything the server logged, with each message it carried.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nats-server` on the PATH, or where Debian puts it (`/usr/sbin`, often
/// not on a user's PATH).
fn program() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("nats-server"));
    on_path
        .chain([Path::new("/usr/sbin/nats-server").to_owned()])
        .find(|candidate| candidate.is_file())
        .context(
            "nats-server is not installed: `apt-get install nats-server` (./scripts/test does it)",
        )
}

/// Two distinct free ports (both held while they are read, so not the same one twice).
fn free_ports() -> Result<[u16; 2]> {
    let first = std::net::TcpListener::bind("127.0.0.1:0")?;
    let second = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok([first.local_addr()?.port(), second.local_addr()?.port()])
}
