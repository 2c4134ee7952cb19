//! The data home: `~/.viewport`, or `VIEWPORT_HOME`.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use viewport_protocol::SessionId;

/// Where the daemon keeps everything.
#[derive(Debug, Clone)]
pub struct DataHome {
    root: PathBuf,
}

/// What a running daemon tells its clients about itself (`daemon.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonInfo {
    pub pid: u32,
    /// The address the WebSocket server really listens on.
    pub listen: String,
    pub socket: String,
    pub version: String,
    pub started_at: i64,
    /// The TLS certificate's fingerprint, when the TCP listener speaks TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
    /// The arguments it was started with, for `vpd daemon restart`.
    #[serde(default)]
    pub args: Vec<String>,
}

impl DataHome {
    /// `VIEWPORT_HOME` if set, else `~/.viewport`.
    pub fn from_env() -> Result<Self> {
        if let Some(home) = std::env::var_os("VIEWPORT_HOME").filter(|h| !h.is_empty()) {
            return Ok(Self::at(PathBuf::from(home)));
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .context("cannot find the data home: neither VIEWPORT_HOME nor HOME is set")?;
        Ok(Self::at(PathBuf::from(home).join(".viewport")))
    }

    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn database(&self) -> PathBuf {
        self.root.join("viewport.db")
    }

    pub fn socket(&self) -> PathBuf {
        self.root.join("daemon.sock")
    }

    pub fn token_file(&self) -> PathBuf {
        self.root.join("token")
    }

    /// The daemon's private relay key (see [`crate::relay`]).
    pub fn relay_key_file(&self) -> PathBuf {
        self.root.join("relay.key")
    }

    /// Where agent adapters installed for this data home put their programs
    /// (searched after `PATH`).
    pub fn agent_programs(&self) -> PathBuf {
        self.root.join("agents/node_modules/.bin")
    }

    pub fn info_file(&self) -> PathBuf {
        self.root.join("daemon.json")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("daemon.log")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join("daemon.lock")
    }

    pub fn session_dir(&self, session_id: &SessionId) -> PathBuf {
        self.root.join("sessions").join(session_id.as_str())
    }

    /// Create the home (0700) if it is missing. An existing one that others
    /// could write to, or whose secrets others could read, is refused with
    /// the command that fixes it: the daemon does not quietly trust it.
    pub fn ensure(&self) -> Result<()> {
        let existed = self.root.exists();
        fs::create_dir_all(self.root.join("sessions"))
            .with_context(|| format!("cannot create the data home {}", self.root.display()))?;
        if existed {
            self.check_permissions()?;
        }
        fs::set_permissions(&self.root, Permissions::from_mode(0o700))
            .with_context(|| format!("cannot set permissions on {}", self.root.display()))?;
        Ok(())
    }

    fn check_permissions(&self) -> Result<()> {
        match self.loose_permissions().first() {
            Some(loose) => bail!("{loose}"),
            None => Ok(()),
        }
    }

    /// The files whose modes let others in where the daemon will not start:
    /// the home, the log and the config writable by others, secrets open to
    /// them.
    pub fn loose_permissions(&self) -> Vec<LoosePermission> {
        let writable = [
            self.root.clone(),
            self.database(),
            self.root.join("config.yaml"),
        ];
        let secret = [
            self.token_file(),
            self.root.join("viewers.json"),
            self.relay_key_file(),
        ];
        let writable = writable
            .into_iter()
            .filter_map(|path| loose(path, 0o022, "writable by others", "go-w"));
        let secret = secret
            .into_iter()
            .filter_map(|path| loose(path, 0o077, "open to others", "go-rwx"));
        writable.chain(secret).collect()
    }

    /// The auth token, created (0600, 256 random bits) on first use.
    pub fn token(&self) -> Result<String> {
        read_or_create_random(&self.token_file(), 32)
    }

    /// This daemon's stable id (`dmn_` and 64 random bits), created on first
    /// use: viewports that show several daemons tell them apart by it.
    pub fn daemon_id(&self) -> Result<String> {
        let id = read_or_create_random(&self.root.join("daemon-id"), 8)?;
        Ok(format!("dmn_{id}"))
    }

    /// Take the daemon lock, so two daemons never share a home. The lock is
    /// held while the returned file is open.
    pub fn lock(&self) -> Result<File> {
        let path = self.lock_file();
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => bail!(
                "another vpd daemon is already running on {} (it holds {})",
                self.root.display(),
                path.display()
            ),
            Err(fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    pub fn write_info(&self, info: &DaemonInfo) -> Result<()> {
        let path = self.info_file();
        let text = serde_json::to_string_pretty(info)?;
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn read_info(&self) -> Result<DaemonInfo> {
        let path = self.info_file();
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
    }
}

/// A file of the data home others may change or read, as they must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoosePermission {
    pub path: PathBuf,
    pub mode: u32,
    /// `writable by others` or `open to others`.
    pub what: &'static str,
    /// The `chmod` mode that fixes it.
    pub chmod: &'static str,
}

impl LoosePermission {
    /// The command that fixes it.
    pub fn fix(&self) -> String {
        format!("chmod {} {}", self.chmod, self.path.display())
    }
}

impl std::fmt::Display for LoosePermission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is {} (mode {:o}); vpd will not use it. Fix it with `{}`",
            self.path.display(),
            self.what,
            self.mode,
            self.fix()
        )
    }
}

/// `path`, when it exists with any of the `bits` set.
fn loose(
    path: PathBuf,
    bits: u32,
    what: &'static str,
    chmod: &'static str,
) -> Option<LoosePermission> {
    let mode = fs::symlink_metadata(&path).ok()?.permissions().mode() & 0o777;
    (mode & bits != 0).then_some(LoosePermission {
        path,
        mode,
        what,
        chmod,
    })
}

/// The hex text of `path`, or, when it is missing or empty, `bytes` fresh
/// random bytes written there as hex (0600).
fn read_or_create_random(path: &Path, bytes: usize) -> Result<String> {
    match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let text = random_hex(bytes);
    write_private(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(text)
}

/// Write `bytes` to `path` (its directory made if missing), readable by the
/// owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

/// Write `value` as pretty JSON to `dir/name`, readable by the owner only
/// (launch options and manifests may hold keys in `env`).
pub fn write_private_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(value)?;
    write_private(&dir.join(name), &json)
}

/// Read `dir/name` as JSON; none when it is not there.
pub fn read_json<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> Result<Option<T>, String> {
    let path = dir.join(name);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is damaged: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let home = DataHome::at(dir.path().join("home"));
        home.ensure().unwrap();
        let first = home.token().unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(home.token().unwrap(), first);
        let mode = fs::metadata(home.token_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = fs::metadata(home.root()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_home_others_can_write_to_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let home = DataHome::at(dir.path().join("home"));
        home.ensure().unwrap();
        fs::set_permissions(home.root(), Permissions::from_mode(0o777)).unwrap();
        let err = home.ensure().unwrap_err().to_string();
        assert!(
            err.contains("writable by others") && err.contains("chmod go-w"),
            "{err}"
        );

        fs::set_permissions(home.root(), Permissions::from_mode(0o755)).unwrap();
        home.ensure().unwrap();
        let mode = fs::metadata(home.root()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "a readable home is tightened");

        home.token().unwrap();
        fs::set_permissions(home.token_file(), Permissions::from_mode(0o644)).unwrap();
        let err = home.ensure().unwrap_err().to_string();
        assert!(
            err.contains("token") && err.contains("chmod go-rwx"),
            "{err}"
        );
    }

    #[test]
    fn a_second_daemon_cannot_take_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let home = DataHome::at(dir.path().to_owned());
        home.ensure().unwrap();
        let _held = home.lock().unwrap();
        let err = home.lock().unwrap_err().to_string();
        assert!(err.contains("already running"), "{err}");
    }
}
