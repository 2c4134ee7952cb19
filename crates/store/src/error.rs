use std::path::PathBuf;

/// What went wrong in the store, with the place it happened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this vpd understands ({supported}); upgrade vpd"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("migration {version} failed: {source}")]
    Migration {
        version: u32,
        source: rusqlite::Error,
    },
    #[error("database error while {action}: {source}")]
    Sql {
        action: &'static str,
        source: rusqlite::Error,
    },
    #[error("stored event {session_id}#{seq} is corrupt: {source}")]
    CorruptEvent {
        session_id: String,
        seq: u64,
        source: serde_json::Error,
    },
    #[error("event for unknown session {0}: a session's genesis must come first")]
    UnknownSession(String),
    #[error("session {0} already exists")]
    DuplicateSession(String),
}

impl StoreError {
    /// The disk (or the database's size limit) is full: the same write can
    /// succeed once there is room again.
    pub fn is_full(&self) -> bool {
        matches!(
            self,
            Self::Sql {
                source: rusqlite::Error::SqliteFailure(failure, _),
                ..
            } if failure.code == rusqlite::ErrorCode::DiskFull
        )
    }
}

pub(crate) trait SqlContext<T> {
    fn during(self, action: &'static str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn during(self, action: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql { action, source })
    }
}
