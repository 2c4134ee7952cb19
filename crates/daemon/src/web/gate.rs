//! Who may use the daemon over TCP or its relay: the owner's token (the
//! `token` file), and viewers: browsers that logged in with a one-time
//! code, viewports paired with one (a token, kept only as a SHA-256 hash),
//! and viewports paired through the relay (a public key).

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use viewport_protocol::now_ms;
use viewport_protocol::pairing::ViewerInfo;
use viewport_store::{StoredViewer, ViewerStore};

use crate::home::{DataHome, random_hex, read_json};

/// Where an older vpd kept viewers, before they moved into the database.
const LEGACY_VIEWERS_FILE: &str = "viewers.json";
/// How long a login code may be used.
pub const LOGIN_CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Codes outstanding at once; the oldest goes first.
const MAX_OPEN_CODES: usize = 16;
/// Wrong codes before every open code is dropped (guessing gets nowhere).
const MAX_WRONG_CODES: u32 = 20;
/// Last-seen times are kept to the minute, so a busy viewer does not
/// write to the database on every request.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;
/// Letters that cannot be mistaken for one another when typed from a phone.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A one-time login code.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginCode {
    pub code: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// A viewer as an older vpd kept it in `viewers.json`, read once to move
/// it into the database.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyViewer {
    id: String,
    name: String,
    token_sha256: String,
    created_at: i64,
    #[serde(default)]
    last_seen_at: Option<i64>,
    #[serde(default)]
    origin: Option<String>,
}

fn new_viewer(name: &str) -> StoredViewer {
    StoredViewer {
        viewer_id: format!("vwr_{}", random_hex(6)),
        name: name.chars().take(80).collect(),
        token_sha256: None,
        relay_key: None,
        origin: None,
        created_at: now_ms(),
        last_seen_at: None,
    }
}

/// What a request proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The owner's token: everything, including minting login codes.
    Owner,
    /// A logged-in browser or paired viewport, by viewer id.
    Viewer(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedeemError {
    #[error("the code is wrong, used or expired: run `vpd open` for a new one")]
    Invalid,
    #[error("too many wrong codes: every open code was dropped; run `vpd open` for a new one")]
    TooManyWrong,
    #[error("cannot store the login: {0}")]
    Store(String),
}

struct OpenCode {
    code: String,
    expires: Instant,
}

#[derive(Default)]
struct Codes {
    open: Vec<OpenCode>,
    wrong: u32,
}

pub struct Gate {
    owner_token: String,
    daemon_id: String,
    /// Where viewers are kept: every change is written through.
    store: ViewerStore,
    /// The viewers, for checks that need no query.
    viewers: Mutex<Vec<StoredViewer>>,
    codes: Mutex<Codes>,
    /// Viewer ids as they are revoked, so their connections close.
    revoked: broadcast::Sender<String>,
    /// Whether the TCP listener speaks TLS (login cookies are then `Secure`).
    tls: std::sync::atomic::AtomicBool,
    /// Host names allowed besides addresses and `localhost`.
    hosts: std::sync::OnceLock<Vec<String>>,
}

impl Gate {
    pub fn load(home: &DataHome) -> anyhow::Result<Self> {
        let store = ViewerStore::open(&home.database())?;
        import_legacy_viewers(home.root(), &store)?;
        let viewers = store.all()?;
        Ok(Self {
            owner_token: home.token()?,
            daemon_id: home.daemon_id()?,
            store,
            viewers: Mutex::new(viewers),
            codes: Mutex::default(),
            revoked: broadcast::channel(16).0,
            tls: std::sync::atomic::AtomicBool::new(false),
            hosts: std::sync::OnceLock::new(),
        })
    }

    pub fn daemon_id(&self) -> &str {
        &self.daemon_id
    }

    /// The cookie a browser login sets: one name per daemon, because
    /// browsers share cookies between ports of one host.
    pub fn cookie_name(&self) -> String {
        format!("vpd_{}", self.daemon_id.trim_start_matches("dmn_"))
    }

    pub fn create_code(&self) -> LoginCode {
        self.create_code_valid_for(LOGIN_CODE_TTL)
    }

    fn create_code_valid_for(&self, ttl: Duration) -> LoginCode {
        let mut codes = lock(&self.codes);
        let now = Instant::now();
        codes.open.retain(|c| c.expires > now);
        if codes.open.len() >= MAX_OPEN_CODES {
            codes.open.remove(0);
        }
        let code = random_code();
        let expires_at = now_ms() + ttl.as_millis() as i64;
        codes.open.push(OpenCode {
            code: code.clone(),
            expires: now + ttl,
        });
        LoginCode { code, expires_at }
    }

    /// Trade a code for a new viewer token (shown once, stored hashed).
    pub fn redeem(
        &self,
        code: &str,
        name: &str,
        origin: Option<&str>,
    ) -> Result<String, RedeemError> {
        self.take_code(code)?;
        let token = random_hex(32);
        let viewer = StoredViewer {
            token_sha256: Some(sha256_hex(&token)),
            origin: origin.map(str::to_owned),
            ..new_viewer(name)
        };
        self.add(viewer)?;
        Ok(token)
    }

    /// Trade a code, offered through the relay, for a place among the
    /// viewers for `key`; returns the new viewer's id.
    pub fn redeem_relay(&self, code: &str, name: &str, key: &str) -> Result<String, RedeemError> {
        self.take_code(code)?;
        let viewer = StoredViewer {
            relay_key: Some(key.to_owned()),
            ..new_viewer(name)
        };
        let id = viewer.viewer_id.clone();
        self.add(viewer)?;
        Ok(id)
    }

    /// The id of the relay viewer with `key`, if it is still paired.
    pub fn relay_viewer(&self, key: &str) -> Option<String> {
        let mut viewers = lock(&self.viewers);
        let index = viewers
            .iter()
            .position(|v| v.relay_key.as_deref() == Some(key))?;
        Some(self.seen(&mut viewers, index))
    }

    fn take_code(&self, code: &str) -> Result<(), RedeemError> {
        let wanted = normalize_code(code);
        let mut codes = lock(&self.codes);
        let now = Instant::now();
        codes.open.retain(|c| c.expires > now);
        match codes.open.iter().position(|c| c.code == wanted) {
            Some(index) => {
                codes.open.remove(index);
                Ok(())
            }
            None => {
                codes.wrong += 1;
                if codes.wrong >= MAX_WRONG_CODES {
                    codes.open.clear();
                    codes.wrong = 0;
                    return Err(RedeemError::TooManyWrong);
                }
                Err(RedeemError::Invalid)
            }
        }
    }

    fn add(&self, viewer: StoredViewer) -> Result<(), RedeemError> {
        let mut viewers = lock(&self.viewers);
        self.store
            .insert(&viewer)
            .map_err(|e| RedeemError::Store(e.to_string()))?;
        viewers.push(viewer);
        Ok(())
    }

    /// Note that the viewer at `index` was seen now (to the minute).
    fn seen(&self, viewers: &mut [StoredViewer], index: usize) -> String {
        let now = now_ms();
        let viewer = &mut viewers[index];
        if viewer
            .last_seen_at
            .is_none_or(|seen| now - seen > LAST_SEEN_RESOLUTION_MS)
        {
            viewer.last_seen_at = Some(now);
            if let Err(error) = self.store.seen(&viewer.viewer_id, now) {
                tracing::warn!(
                    "cannot note when {} was last seen: {error}",
                    viewer.viewer_id
                );
            }
        }
        viewer.viewer_id.clone()
    }

    /// Names besides addresses and `localhost` that requests may carry in
    /// `Host` (`daemon.hosts`); set once at start-up.
    pub fn set_hosts(&self, names: Vec<String>) {
        let _ = self.hosts.set(names);
    }

    pub fn hosts(&self) -> &[String] {
        self.hosts.get().map_or(&[], Vec::as_slice)
    }

    /// The TCP listener speaks TLS.
    pub fn set_over_tls(&self) {
        self.tls.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn over_tls(&self) -> bool {
        self.tls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether `token` is the owner's.
    pub fn is_owner(&self, token: &str) -> bool {
        constant_time_eq(token.as_bytes(), self.owner_token.as_bytes())
    }

    /// Who `token` belongs to, if anyone.
    pub fn check(&self, token: &str) -> Option<Credential> {
        if constant_time_eq(token.as_bytes(), self.owner_token.as_bytes()) {
            return Some(Credential::Owner);
        }
        let hash = sha256_hex(token);
        let mut viewers = lock(&self.viewers);
        let index = viewers.iter().position(|v| {
            v.token_sha256
                .as_ref()
                .is_some_and(|stored| constant_time_eq(stored.as_bytes(), hash.as_bytes()))
        })?;
        Some(Credential::Viewer(self.seen(&mut viewers, index)))
    }

    /// The web origin a viewer paired from, if it paired from one.
    pub fn origin_of(&self, viewer_id: &str) -> Option<String> {
        lock(&self.viewers)
            .iter()
            .find(|v| v.viewer_id == viewer_id)
            .and_then(|v| v.origin.clone())
    }

    pub fn viewers(&self) -> Vec<ViewerInfo> {
        lock(&self.viewers)
            .iter()
            .map(|v| ViewerInfo {
                viewer_id: v.viewer_id.clone(),
                name: v.name.clone(),
                created_at: v.created_at,
                last_seen_at: v.last_seen_at,
                origin: v.origin.clone(),
                relay: v.relay_key.is_some(),
            })
            .collect()
    }

    /// Ids of viewers as they are revoked.
    pub fn revocations(&self) -> broadcast::Receiver<String> {
        self.revoked.subscribe()
    }

    /// Forget a viewer: its token stops working at once.
    pub fn revoke(&self, viewer_id: &str) -> Result<bool, String> {
        let mut viewers = lock(&self.viewers);
        if !self.store.remove(viewer_id).map_err(|e| e.to_string())? {
            return Ok(false);
        }
        viewers.retain(|v| v.viewer_id != viewer_id);
        let _ = self.revoked.send(viewer_id.to_owned());
        Ok(true)
    }
}

/// Move the viewers an older vpd kept in `viewers.json` into the database,
/// then remove the file (it holds token hashes: one copy is enough).
fn import_legacy_viewers(dir: &Path, store: &ViewerStore) -> anyhow::Result<()> {
    let Some(legacy) =
        read_json::<Vec<LegacyViewer>>(dir, LEGACY_VIEWERS_FILE).map_err(anyhow::Error::msg)?
    else {
        return Ok(());
    };
    if store.is_empty()? {
        for viewer in legacy {
            store.insert(&StoredViewer {
                viewer_id: viewer.id,
                name: viewer.name,
                token_sha256: Some(viewer.token_sha256),
                relay_key: None,
                origin: viewer.origin,
                created_at: viewer.created_at,
                last_seen_at: viewer.last_seen_at,
            })?;
        }
    }
    let path = dir.join(LEGACY_VIEWERS_FILE);
    std::fs::remove_file(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot remove {} after moving it into the database: {e}",
            path.display()
        )
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `ABCD-EFGH`: 40 random bits, easy to read out and type.
fn random_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let letters: String = (0..8)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// Codes are compared without case, spaces or dashes.
fn normalize_code(code: &str) -> String {
    let letters: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compare without an early exit, so the time taken says nothing about how
/// much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> (tempfile::TempDir, Gate) {
        let dir = tempfile::tempdir().unwrap();
        let home = DataHome::at(dir.path().join("home"));
        home.ensure().unwrap();
        let gate = Gate::load(&home).unwrap();
        (dir, gate)
    }

    #[test]
    fn a_code_is_used_once_and_gives_a_token_that_survives_a_restart() {
        let (dir, gate) = gate();
        let code = gate.create_code().code;
        let token = gate
            .redeem(&code.to_lowercase().replace('-', " "), "phone", None)
            .unwrap();
        assert!(matches!(gate.check(&token), Some(Credential::Viewer(_))));
        assert_eq!(gate.redeem(&code, "again", None), Err(RedeemError::Invalid));

        let reloaded = Gate::load(&DataHome::at(dir.path().join("home"))).unwrap();
        assert_eq!(reloaded.check(&token), gate.check(&token));
        let stored = everything_in(&dir.path().join("home"));
        assert!(
            stored.contains(&sha256_hex(&token)),
            "the hash is in the database"
        );
        assert!(!stored.contains(&token), "the token is stored hashed");
    }

    #[test]
    fn an_expired_code_is_refused_on_either_path() {
        let (_dir, gate) = gate();
        let code = gate.create_code_valid_for(Duration::ZERO).code;
        assert_eq!(gate.redeem(&code, "late", None), Err(RedeemError::Invalid));
        let code = gate.create_code_valid_for(Duration::ZERO).code;
        assert_eq!(
            gate.redeem_relay(&code, "late", "KEY"),
            Err(RedeemError::Invalid)
        );
        assert!(gate.viewers().is_empty());
    }

    #[test]
    fn guessing_drops_every_open_code() {
        let (_dir, gate) = gate();
        let code = gate.create_code().code;
        for _ in 1..MAX_WRONG_CODES {
            assert_eq!(
                gate.redeem("AAAA-AAAA", "x", None),
                Err(RedeemError::Invalid)
            );
        }
        assert_eq!(
            gate.redeem("AAAA-AAAA", "x", None),
            Err(RedeemError::TooManyWrong)
        );
        assert_eq!(gate.redeem(&code, "x", None), Err(RedeemError::Invalid));
    }

    #[test]
    fn the_owner_token_and_revoked_viewers() {
        let (dir, gate) = gate();
        let owner = std::fs::read_to_string(dir.path().join("home/token")).unwrap();
        assert_eq!(gate.check(&owner), Some(Credential::Owner));
        assert_eq!(gate.check("nope"), None);
        let token = gate.redeem(&gate.create_code().code, "tab", None).unwrap();
        let Some(Credential::Viewer(id)) = gate.check(&token) else {
            panic!("not a viewer")
        };
        assert!(gate.revoke(&id).unwrap());
        assert_eq!(gate.check(&token), None);
    }

    #[test]
    fn a_relay_viewer_is_known_by_its_key_until_revoked() {
        let (dir, gate) = gate();
        let id = gate
            .redeem_relay(&gate.create_code().code, "laptop", "KEY")
            .unwrap();
        assert_eq!(gate.relay_viewer("KEY"), Some(id.clone()));
        assert_eq!(gate.relay_viewer("OTHER"), None);
        assert!(gate.viewers().iter().any(|v| v.viewer_id == id && v.relay));
        let reloaded = Gate::load(&DataHome::at(dir.path().join("home"))).unwrap();
        assert_eq!(reloaded.relay_viewer("KEY"), Some(id.clone()));
        assert!(gate.revoke(&id).unwrap());
        assert_eq!(gate.relay_viewer("KEY"), None);
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    /// Every file of the data home (the database and its WAL included), as text.
    fn everything_in(dir: &Path) -> String {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap_or_default())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect()
    }

    #[test]
    fn viewers_an_older_vpd_kept_in_a_file_move_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let home = DataHome::at(dir.path().join("home"));
        home.ensure().unwrap();
        let hash = sha256_hex("old-token");
        std::fs::write(
            home.root().join("viewers.json"),
            format!(r#"[{{"id":"vwr_old","name":"tab","tokenSha256":"{hash}","createdAt":5,"origin":"http://127.0.0.1:9"}}]"#),
        )
        .unwrap();
        let gate = Gate::load(&home).unwrap();
        assert_eq!(
            gate.check("old-token"),
            Some(Credential::Viewer("vwr_old".into()))
        );
        assert_eq!(
            gate.origin_of("vwr_old").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert!(!home.root().join("viewers.json").exists());
        let again = Gate::load(&home).unwrap();
        assert_eq!(again.viewers().len(), 1);
    }
}
