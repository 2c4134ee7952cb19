//! The client filesystem methods (`fs/read_text_file`, `fs/write_text_file`),
//! confined to the session's working directory: a path that leads outside
//! it, by `..` or through a symlink, is refused.

use std::path::{Component, Path, PathBuf};

/// Why a file request was refused.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("`{0}` is outside the session's working directory")]
    Outside(String),
    #[error("`{0}` is not an absolute path")]
    Relative(String),
    #[error("Resource not found: `{0}` does not exist")]
    NotFound(String),
    #[error("{action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// The session root files may be read and written under.
#[derive(Debug, Clone)]
pub struct FileRoot {
    root: PathBuf,
}

impl FileRoot {
    /// `root` is canonicalized once, so comparisons see through symlinks.
    pub fn new(root: &Path) -> Self {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Lines `line..line+limit` (1-based) of a text file, or all of it.
    pub async fn read(
        &self,
        path: &Path,
        line: Option<u32>,
        limit: Option<u32>,
    ) -> Result<String, FsError> {
        let path = self.confine(path)?;
        let text = tokio::fs::read_to_string(&path)
            .await
            .map_err(|source| io("cannot read", &path, source))?;
        Ok(slice_lines(&text, line, limit))
    }

    /// Write a text file whole, creating its parent directories.
    pub async fn write(&self, path: &Path, content: &str) -> Result<(), FsError> {
        let path = self.confine(path)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| io("cannot create directory", parent, source))?;
        }
        tokio::fs::write(&path, content)
            .await
            .map_err(|source| io("cannot write", &path, source))
    }

    /// The real path `path` names, if it lies under the root.
    pub fn confine(&self, path: &Path) -> Result<PathBuf, FsError> {
        let shown = || path.display().to_string();
        if !path.is_absolute() {
            return Err(FsError::Relative(shown()));
        }
        let resolved = resolve(path).ok_or_else(|| FsError::Outside(shown()))?;
        if resolved.starts_with(&self.root) {
            Ok(resolved)
        } else {
            Err(FsError::Outside(shown()))
        }
    }
}

/// `path` with `.` and `..` worked out and the longest existing prefix
/// canonicalized (so a symlink inside the root cannot point out of it).
fn resolve(path: &Path) -> Option<PathBuf> {
    let mut lexical = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !lexical.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut missing = Vec::new();
    while !existing.exists() {
        missing.push(existing.file_name()?.to_owned());
        existing = existing.parent()?;
    }
    let mut real = std::fs::canonicalize(existing).ok()?;
    real.extend(missing.iter().rev());
    Some(real)
}

fn slice_lines(text: &str, line: Option<u32>, limit: Option<u32>) -> String {
    if line.is_none() && limit.is_none() {
        return text.to_owned();
    }
    let skip = line.map_or(0, |l| l.saturating_sub(1) as usize);
    let take = limit.map_or(usize::MAX, |l| l as usize);
    text.split_inclusive('\n').skip(skip).take(take).collect()
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> FsError {
    if source.kind() == std::io::ErrorKind::NotFound {
        return FsError::NotFound(path.display().to_string());
    }
    FsError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_inside_the_root_are_read_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let root = FileRoot::new(dir.path());
        let file = dir.path().join("sub/new.txt");
        root.write(&file, "one\ntwo\nthree\n").await.unwrap();
        assert_eq!(
            root.read(&file, None, None).await.unwrap(),
            "one\ntwo\nthree\n"
        );
        assert_eq!(root.read(&file, Some(2), Some(1)).await.unwrap(), "two\n");
        let missing = root.read(&dir.path().join("nope"), None, None).await;
        assert!(matches!(missing, Err(FsError::NotFound(_))));
    }

    #[tokio::test]
    async fn paths_outside_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path(), inner.join("escape")).unwrap();
        let root = FileRoot::new(&inner);
        for path in [
            dir.path().join("secret"),
            inner.join("../secret"),
            inner.join("escape/secret"),
            inner.join("escape/new-file"),
        ] {
            let err = root.read(&path, None, None).await.unwrap_err();
            assert!(matches!(err, FsError::Outside(_)), "{path:?}: {err}");
            assert!(root.write(&path, "x").await.is_err(), "{path:?}");
        }
        assert!(matches!(
            root.confine(Path::new("relative")),
            Err(FsError::Relative(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("secret")).unwrap(),
            "s"
        );
    }
}
