//! A pool of read connections, used off the async runtime's threads.

use std::path::PathBuf;
use std::sync::Mutex;

use viewport_store::{Reader, StoreError};

/// Idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 16;

pub struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a read task failed: {0}")]
    Task(String),
}

impl ReaderPool {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::default(),
        }
    }

    /// Run `read` with a connection on a blocking thread.
    pub async fn read<T, F>(self: &std::sync::Arc<Self>, read: F) -> Result<T, ReadError>
    where
        T: Send + 'static,
        F: FnOnce(&Reader) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let reader = match pool.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
                Some(reader) => reader,
                None => Reader::open(&pool.path)?,
            };
            let result = read(&reader);
            let mut idle = pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(reader);
            }
            Ok(result?)
        })
        .await
        .map_err(|e| ReadError::Task(e.to_string()))?
    }
}
