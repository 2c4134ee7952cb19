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
        let [port, ws_port] = free_ports()?;
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("nats.conf"),
            format!("websocket {{\n  listen: \"127.0.0.1:{ws_port}\"\n  no_tls: true\n}}\n"),
        )?;
        let child = spawn(dir.path(), port)?;
        let mut server = Self {
            child,
            dir,
            port,
            ws_port,
        };
        server.wait_until_listening().await?;
        Ok(server)
    }

    /// Stop the server and start it again on the same ports (its clients
    /// see the relay go away and come back).
    pub async fn restart(&mut self) -> Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.dir.path(), self.port)?;
        self.wait_until_listening().await
    }

    async fn wait_until_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        let (port, ws_port) = (self.port, self.ws_port);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
            || tokio::net::TcpStream::connect(("127.0.0.1", ws_port))
                .await
                .is_err()
        {
            if Instant::now() > deadline || self.child.try_wait().ok().flatten().is_some() {
                bail!(
                    "nats-server did not listen on {port} and {ws_port}:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok(())
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

/// nats-server with the config in `dir`, logging there, on `port`.
fn spawn(dir: &Path, port: u16) -> Result<Child> {
    let program = program()?;
    Command::new(&program)
        .arg("-c")
        .arg(dir.join("nats.conf"))
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-V", "-l"])
        .arg(dir.join("nats.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))
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
