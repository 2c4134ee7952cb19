//! Who may use the daemon besides its owner: browser logins and paired
//! viewports, a primary record beside the event log. The daemon's gate keeps
//! them in memory for its checks and writes every change through here; this
//! connection writes only the `viewers` table, rarely (a pairing, a
//! revocation, a last-seen time to the minute), so it does not contend with
//! the event writer.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;
use crate::error::SqlContext;
use crate::migrations::{self, Durability};

/// One row of `viewers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredViewer {
    pub viewer_id: String,
    pub name: String,
    /// SHA-256 of its token (hex); none for a relay viewport.
    pub token_sha256: Option<String>,
    /// A relay viewport's public key.
    pub relay_key: Option<String>,
    /// The web origin it paired from.
    pub origin: Option<String>,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
}

pub struct ViewerStore {
    conn: Mutex<Connection>,
}

impl ViewerStore {
    /// Open (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = migrations::open(path, Durability::Full)?;
        migrations::migrate(&mut conn, path)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    pub fn all(&self) -> Result<Vec<StoredViewer>> {
        let conn = self.conn();
        let mut select = conn
            .prepare(
                "SELECT viewer_id, name, token_sha256, relay_key, origin, created_at, last_seen_at
                 FROM viewers ORDER BY created_at, viewer_id",
            )
            .during("listing viewers")?;
        let rows = select
            .query_map([], |row| {
                Ok(StoredViewer {
                    viewer_id: row.get(0)?,
                    name: row.get(1)?,
                    token_sha256: row.get(2)?,
                    relay_key: row.get(3)?,
                    origin: row.get(4)?,
                    created_at: row.get(5)?,
                    last_seen_at: row.get(6)?,
                })
            })
            .during("listing viewers")?;
        rows.collect::<Result<_, _>>().during("reading a viewer")
    }

    pub fn insert(&self, viewer: &StoredViewer) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO viewers
                 (viewer_id, name, token_sha256, relay_key, origin, created_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    viewer.viewer_id,
                    viewer.name,
                    viewer.token_sha256,
                    viewer.relay_key,
                    viewer.origin,
                    viewer.created_at,
                    viewer.last_seen_at
                ],
            )
            .during("adding a viewer")?;
        Ok(())
    }

    pub fn seen(&self, viewer_id: &str, at: i64) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE viewers SET last_seen_at = ?2 WHERE viewer_id = ?1",
                params![viewer_id, at],
            )
            .during("noting when a viewer was seen")?;
        Ok(())
    }

    /// Forget a viewer; whether it was there.
    pub fn remove(&self, viewer_id: &str) -> Result<bool> {
        let removed = self
            .conn()
            .execute("DELETE FROM viewers WHERE viewer_id = ?1", [viewer_id])
            .during("removing a viewer")?;
        Ok(removed > 0)
    }

    /// Whether any viewer is stored (an import from an older home is done
    /// only into an empty table).
    pub fn is_empty(&self) -> Result<bool> {
        let any: Option<i64> = self
            .conn()
            .query_row("SELECT 1 FROM viewers LIMIT 1", [], |row| row.get(0))
            .optional()
            .during("counting viewers")?;
        Ok(any.is_none())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(id: &str, token: Option<&str>, key: Option<&str>) -> StoredViewer {
        StoredViewer {
            viewer_id: id.into(),
            name: "phone".into(),
            token_sha256: token.map(Into::into),
            relay_key: key.map(Into::into),
            origin: None,
            created_at: 1,
            last_seen_at: None,
        }
    }

    #[test]
    fn viewers_are_added_seen_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = ViewerStore::open(&dir.path().join("v.db")).unwrap();
        assert!(store.is_empty().unwrap());
        store.insert(&viewer("vwr_a", Some("h1"), None)).unwrap();
        store.insert(&viewer("vwr_b", None, Some("k1"))).unwrap();
        store.seen("vwr_a", 42).unwrap();
        let all = store.all().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].last_seen_at, Some(42));
        assert_eq!(all[1].relay_key.as_deref(), Some("k1"));
        assert!(store.remove("vwr_a").unwrap());
        assert!(!store.remove("vwr_a").unwrap());
        assert_eq!(store.all().unwrap().len(), 1);
    }

    #[test]
    fn a_viewer_needs_a_token_or_a_key_and_neither_is_shared() {
        let dir = tempfile::tempdir().unwrap();
        let store = ViewerStore::open(&dir.path().join("v.db")).unwrap();
        assert!(store.insert(&viewer("vwr_a", None, None)).is_err());
        store.insert(&viewer("vwr_a", Some("h1"), None)).unwrap();
        assert!(store.insert(&viewer("vwr_b", Some("h1"), None)).is_err());
    }
}
