//! Numbered schema migrations and the connection pragmas, chosen on purpose.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Migration N
//! is `migrations/000N_*.sql`; append new ones, never edit old ones.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;
use crate::error::SqlContext;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_terminal_sessions.sql"),
    include_str!("../migrations/0003_jobs.sql"),
    include_str!("../migrations/0004_observed_sessions.sql"),
    include_str!("../migrations/0005_observed_agents.sql"),
    include_str!("../migrations/0006_workflow_runs.sql"),
    include_str!("../migrations/0007_search.sql"),
    include_str!("../migrations/0008_forks.sql"),
    include_str!("../migrations/0009_checkpoints.sql"),
    include_str!("../migrations/0010_git_context.sql"),
    include_str!("../migrations/0011_session_cost.sql"),
    include_str!("../migrations/0012_viewers.sql"),
    include_str!("../migrations/0013_supervised_output.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The schema version of the database at `path`, read without changing
/// anything (no migration, no WAL switch): for checks like `vpd doctor`.
pub fn schema_version_of(path: &Path) -> Result<u32, StoreError> {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })?;
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .during("reading the schema version")
}

/// How hard a commit presses data to disk.
///
/// * `Full` (`synchronous=FULL`): a committed batch survives power loss; one
///   fsync of the WAL per batch.
/// * `Normal` (`synchronous=NORMAL`): a committed batch survives a crash of
///   the process; the last batches may be lost if the machine loses power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Full,
    Normal,
}

/// How long a connection waits on a lock before it reports busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn open(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .during("setting the busy timeout")?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .during("enabling WAL")?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)
        .during("setting synchronous")?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .during("enabling foreign keys")?;
    Ok(conn)
}

pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .during("reading the schema version")?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        let tx = conn
            .transaction()
            .map_err(|source| StoreError::Migration { version, source })?;
        tx.execute_batch(sql)
            .map_err(|source| StoreError::Migration { version, source })?;
        tx.pragma_update(None, "user_version", version)
            .map_err(|source| StoreError::Migration { version, source })?;
        tx.commit()
            .map_err(|source| StoreError::Migration { version, source })?;
    }
    Ok(())
}
