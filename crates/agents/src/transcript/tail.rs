//! Following a JSONL file another program appends to: only the bytes added
//! since the last read are read, a line is handed out only once its newline
//! is written, and a file that shrank or was replaced is read again from the
//! start.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Most bytes taken in one read, so a huge backlog is parsed in pieces.
const READ_LIMIT: u64 = 4 * 1024 * 1024;

/// A position in a file being appended to.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    offset: u64,
    /// Bytes after the last newline: a line still being written.
    partial: Vec<u8>,
    identity: Option<FileIdentity>,
}

/// What tells a replaced file from the one we were reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    Some(FileIdentity {
        device: meta.dev(),
        inode: meta.ino(),
    })
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> Option<FileIdentity> {
    None
}

impl Tail {
    /// Follow `path` from `offset` (0 for the start, or where an earlier
    /// tail stopped: [`Tail::offset`] is always at a line boundary).
    pub fn new(path: impl Into<PathBuf>, offset: u64) -> Self {
        Self {
            path: path.into(),
            offset,
            partial: Vec::new(),
            identity: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The end of the last complete line handed out.
    pub fn offset(&self) -> u64 {
        self.offset - self.partial.len() as u64
    }

    /// The complete lines written since the last call; none while the file
    /// does not exist. `reset` says whether the file was truncated or
    /// replaced, so the lines start over from its beginning.
    pub fn read_lines(&mut self) -> io::Result<NewLines> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(NewLines::default()),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        let now = identity(&meta);
        let replaced = self.identity.is_some() && now != self.identity;
        let truncated = meta.len() < self.offset;
        self.identity = now;
        let reset = replaced || truncated;
        if reset {
            self.offset = 0;
            self.partial.clear();
        }
        let mut fresh = Vec::new();
        file.seek(SeekFrom::Start(self.offset))?;
        file.take(READ_LIMIT).read_to_end(&mut fresh)?;
        self.offset += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(NewLines {
                lines: Vec::new(),
                reset,
                more: fresh.len() as u64 == READ_LIMIT,
            });
        };
        let rest = self.partial.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        let lines = complete
            .split(|&b| b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(|line| {
                String::from_utf8_lossy(line)
                    .trim_end_matches('\r')
                    .to_owned()
            })
            .collect();
        Ok(NewLines {
            lines,
            reset,
            more: fresh.len() as u64 == READ_LIMIT,
        })
    }
}

/// What one read found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NewLines {
    pub lines: Vec<String>,
    /// The file was truncated or replaced: these lines are from its start.
    pub reset: bool,
    /// The read stopped at its size limit; more is waiting.
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn append(path: &Path, bytes: &[u8]) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(bytes).unwrap();
    }

    /// A cheap deterministic generator, so a failure can be replayed.
    fn piece_sizes(seed: u64, total: usize) -> Vec<usize> {
        let mut state = seed;
        let mut sizes = Vec::new();
        let mut left = total;
        while left > 0 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let size = ((state >> 33) % 17 + 1) as usize;
            sizes.push(size.min(left));
            left -= size.min(left);
        }
        sizes
    }

    #[test]
    fn lines_written_in_random_small_pieces_come_out_whole_and_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let text: String = (0..200)
            .map(|i| format!("{{\"n\":{i},\"text\":\"line é {i}\"}}\n"))
            .collect();
        for seed in 1..6 {
            std::fs::remove_file(&path).ok();
            let mut tail = Tail::new(&path, 0);
            let mut seen = Vec::new();
            let mut at = 0;
            for size in piece_sizes(seed, text.len()) {
                append(&path, &text.as_bytes()[at..at + size]);
                at += size;
                seen.extend(tail.read_lines().unwrap().lines);
            }
            let expected: Vec<String> = text.lines().map(str::to_owned).collect();
            assert_eq!(seen, expected, "seed {seed}");
            assert_eq!(tail.offset(), text.len() as u64);
        }
    }

    #[test]
    fn a_missing_file_gives_nothing_until_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.jsonl");
        let mut tail = Tail::new(&path, 0);
        assert_eq!(tail.read_lines().unwrap(), NewLines::default());
        append(&path, b"{}\n");
        assert_eq!(tail.read_lines().unwrap().lines, vec!["{}"]);
    }

    #[test]
    fn truncation_and_replacement_start_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, b"one\ntwo\n");
        let mut tail = Tail::new(&path, 0);
        assert_eq!(tail.read_lines().unwrap().lines.len(), 2);

        std::fs::write(&path, b"new\n").unwrap();
        let after_truncation = tail.read_lines().unwrap();
        assert!(after_truncation.reset);
        assert_eq!(after_truncation.lines, vec!["new"]);

        let other = dir.path().join("rotated.jsonl");
        std::fs::write(&other, b"rotated one\nrotated two\nrotated three\n").unwrap();
        std::fs::rename(&other, &path).unwrap();
        let after_rotation = tail.read_lines().unwrap();
        assert!(after_rotation.reset);
        assert_eq!(after_rotation.lines.len(), 3);
    }

    #[test]
    fn a_tail_resumes_at_a_saved_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, b"one\ntw");
        let mut tail = Tail::new(&path, 0);
        assert_eq!(tail.read_lines().unwrap().lines, vec!["one"]);
        let saved = tail.offset();
        append(&path, b"o\n");
        let mut resumed = Tail::new(&path, saved);
        assert_eq!(resumed.read_lines().unwrap().lines, vec!["two"]);
    }
}
