//! A real `vpd daemon` on a temp `VIEWPORT_HOME` and a free loopback port,
//! killed and cleaned up on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;
use viewport_client::Client;
use viewport_protocol::options::ConfigOverrides;
use viewport_protocol::{DirectoryId, SessionId, SessionState};

/// How long a daemon may take to come up, or a test condition to hold.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct TestDaemon {
    vpd: PathBuf,
    root: TempDir,
    child: Option<Child>,
    extra_args: Vec<String>,
    /// Variables set for the daemon (and so, where allowed, its agents).
    env: Vec<(String, String)>,
    /// Processes a hard-killed daemon left behind, ended with the test.
    orphans: Vec<u32>,
    /// `ADDR:PORT` of the WebSocket server.
    pub address: String,
    pub token: String,
}

impl TestDaemon {
    /// Start a daemon of the `vpd` binary at `vpd`.
    pub async fn start(vpd: &Path) -> Result<Self> {
        let mut daemon = Self::unstarted(vpd)?;
        daemon.boot().await?;
        Ok(daemon)
    }

    /// A temp home and work directory, with no daemon yet: seed the home,
    /// then [`boot_with`](Self::boot_with).
    pub fn unstarted(vpd: &Path) -> Result<Self> {
        let root = tempfile::tempdir()?;
        std::fs::create_dir_all(root.path().join("work"))?;
        std::fs::create_dir_all(root.path().join("home"))?;
        Ok(Self {
            vpd: vpd.to_owned(),
            root,
            child: None,
            orphans: Vec::new(),
            extra_args: Vec::new(),
            env: Vec::new(),
            address: String::new(),
            token: String::new(),
        })
    }

    /// Start the daemon with extra `vpd daemon` arguments.
    pub async fn boot_with(&mut self, extra_args: &[&str]) -> Result<()> {
        self.extra_args = extra_args.iter().map(|a| a.to_string()).collect();
        self.boot().await
    }

    /// Set a variable for the daemon; takes effect at the next boot.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// The temp directory everything of this daemon lives in.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// A directory sessions can run in.
    pub fn work_dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// A `vpd` command aimed at this daemon's home.
    pub fn vpd(&self) -> Command {
        let mut command = Command::new(&self.vpd);
        command
            .env("VIEWPORT_HOME", self.home())
            .env("VIEWPORT_LISTEN", "127.0.0.1:0")
            .current_dir(self.work_dir());
        command
    }

    async fn boot(&mut self) -> Result<()> {
        let _ = std::fs::remove_file(self.home().join("daemon.json"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.path().join("daemon.log"))?;
        let child = self
            .vpd()
            .args(["daemon", "--listen", "127.0.0.1:0"])
            .args(&self.extra_args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start vpd daemon")?;
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(text) = std::fs::read_to_string(self.home().join("daemon.json"))
                && let Ok(info) = serde_json::from_str::<serde_json::Value>(&text)
                && info["pid"].as_u64() == Some(u64::from(pid))
                && Client::connect_unix(&self.home().join("daemon.sock"))
                    .await
                    .is_ok()
            {
                self.address = info["listen"].as_str().unwrap_or_default().to_owned();
                self.token = std::fs::read_to_string(self.home().join("token"))?
                    .trim()
                    .to_owned();
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the daemon did not come up; its log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The daemon's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What the daemon wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("daemon.log")).unwrap_or_default()
    }

    /// Wait until the daemon's log says `line` (such as that it reached
    /// its relay, which it does in the background).
    pub async fn wait_for_log(&self, line: &str) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        while !self.log().contains(line) {
            if Instant::now() > deadline {
                bail!("the daemon never logged {line:?}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Kill the daemon with SIGKILL: no shutdown code runs. Its agents live
    /// on as a crash leaves them (until the test ends: see `Drop`).
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.orphans.extend(descendants(child.id()));
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The pid of the supervisor of `session`, from `/proc`.
    pub fn supervisor_pid(&self, session: &SessionId) -> Option<u32> {
        let wanted = format!(
            "supervise\0{}",
            self.home()
                .join("sessions")
                .join(session.as_str())
                .display()
        );
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .find_map(|entry| {
                let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
                let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                String::from_utf8_lossy(&cmdline)
                    .contains(&wanted)
                    .then_some(pid)
            })
    }

    /// Kill what sessions a daemon left running (a restart, a kill) with
    /// no daemon to end them: their programs, then their supervisors.
    pub fn kill_supervisors(&self) {
        for supervisor in supervisors_under(&self.home()) {
            kill_all(&descendants(supervisor));
            kill_all(&[supervisor]);
        }
    }

    /// Start the daemon again on the same home.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill_hard();
        self.boot().await
    }

    /// A client over the unix socket.
    pub async fn client(&self) -> Result<Client> {
        Ok(Client::connect_unix(&self.home().join("daemon.sock")).await?)
    }

    /// A client over TCP with the token.
    pub async fn tcp_client(&self) -> Result<Client> {
        Ok(Client::connect_tcp(&self.address, &self.token).await?)
    }

    /// Register the work directory.
    pub async fn work_directory(&self) -> Result<DirectoryId> {
        let mut client = self.client().await?;
        Ok(client
            .add_directory(&self.work_dir().to_string_lossy())
            .await?
            .directory_id)
    }

    /// Launch a demo session in the work directory.
    pub async fn launch(&self, prompt: &str) -> Result<SessionId> {
        let directory = self.work_directory().await?;
        let mut client = self.client().await?;
        Ok(client.launch(directory, prompt, Some("demo")).await?)
    }

    /// Launch in the work directory with every session option, and follow
    /// the session from its start on the returned client.
    pub async fn launch_following(
        &self,
        prompt: &str,
        overrides: ConfigOverrides,
    ) -> Result<(Client, SessionId)> {
        let directory = self.work_directory().await?;
        let mut client = self.client().await?;
        let session = client
            .launch_with(directory, prompt, None, overrides)
            .await?;
        client.subscribe(&session, 0).await?;
        Ok((client, session))
    }

    /// Wait until the session is in `state`, polling the session list.
    pub async fn wait_for_state(&self, session_id: &SessionId, state: SessionState) -> Result<()> {
        let mut client = self.client().await?;
        let deadline = Instant::now() + WAIT;
        loop {
            let sessions = client.list_sessions().await?;
            if sessions
                .iter()
                .any(|s| &s.session_id == session_id && s.state == state)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{session_id} never reached {state}; sessions: {sessions:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A polite stop first, so the daemon can end its agents.
            // Whatever the daemon started and did not end (an adapter's own
            // child, say) goes too: a test leaves no process behind.
            let left = descendants(child.id());
            if let Ok(pid) = i32::try_from(child.id()) {
                let pid = nix::unistd::Pid::from_raw(pid);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
            kill_all(&left);
        }
        kill_all(&self.orphans);
        self.kill_supervisors();
    }
}

/// The supervisors of sessions under `dir`, from `/proc`.
fn supervisors_under(dir: &Path) -> Vec<u32> {
    let wanted = format!("supervise\0{}", dir.display());
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(&wanted)
                .then_some(pid)
        })
        .collect()
}

/// Every process below `pid` (children, theirs, and so on), from `/proc`.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let after_comm = stat.rsplit_once(')')?.1;
            let parent = after_comm.split_whitespace().nth(1)?.parse().ok()?;
            Some((child, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        index += 1;
    }
    found.split_off(1)
}

fn kill_all(pids: &[u32]) {
    for pid in pids {
        if let Ok(pid) = i32::try_from(*pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
