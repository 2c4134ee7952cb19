//! The spool: the program's output from the first byte a daemon has not
//! acknowledged to the last byte read, addressed by offset. It is bounded by
//! refusing to read more (the program then blocks on its next write), never
//! by dropping bytes.

use std::collections::VecDeque;

/// Bytes held for a daemon before the supervisor stops reading the program.
pub const SPOOL_LIMIT: u64 = 16 * 1024 * 1024;

/// Reads join the last chunk while it stays below this size.
const JOIN_BELOW: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct Spool {
    /// The offset of the first byte held.
    start: u64,
    chunks: VecDeque<Vec<u8>>,
    held: u64,
}

impl Spool {
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The offset after the last byte held.
    pub fn end(&self) -> u64 {
        self.start + self.held
    }

    /// Hold `bytes`; small reads join the last chunk, so that a daemon
    /// that falls behind gets fewer, larger frames.
    pub fn push(&mut self, bytes: Vec<u8>) {
        self.held += bytes.len() as u64;
        match self.chunks.back_mut() {
            Some(last) if last.len() + bytes.len() <= JOIN_BELOW => last.extend_from_slice(&bytes),
            _ if !bytes.is_empty() => self.chunks.push_back(bytes),
            _ => {}
        }
    }

    /// Forget whole chunks before `offset`.
    pub fn release(&mut self, offset: u64) {
        while let Some(first) = self.chunks.front() {
            let end = self.start + first.len() as u64;
            if end > offset {
                break;
            }
            self.start = end;
            self.held -= first.len() as u64;
            self.chunks.pop_front();
        }
    }

    /// Up to `max` bytes from `offset`, which must lie in `start..end`.
    pub fn read_at(&self, offset: u64, max: usize) -> Option<&[u8]> {
        let mut chunk_start = self.start;
        for chunk in &self.chunks {
            let chunk_end = chunk_start + chunk.len() as u64;
            if offset < chunk_end && offset >= chunk_start {
                let from = usize::try_from(offset - chunk_start).ok()?;
                let to = chunk.len().min(from + max);
                return Some(&chunk[from..to]);
            }
            chunk_start = chunk_end;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_read_back_by_offset_until_released() {
        let mut spool = Spool::default();
        let big = vec![b'x'; JOIN_BELOW];
        spool.push(big.clone());
        spool.push(b"hello ".to_vec());
        spool.push(b"world".to_vec());
        let at = JOIN_BELOW as u64;
        assert_eq!(spool.end(), at + 11);
        assert_eq!(
            spool.read_at(at, 100),
            Some(&b"hello world"[..]),
            "small reads join"
        );
        assert_eq!(spool.read_at(at + 3, 2), Some(&b"lo"[..]));
        assert_eq!(
            spool.read_at(at - 1, 100),
            Some(&b"x"[..]),
            "a read stops at a chunk's end"
        );
        assert_eq!(spool.read_at(at + 11, 100), None);
        // A release inside a chunk keeps the chunk.
        spool.release(at + 8);
        assert_eq!(spool.start(), at);
        assert_eq!(spool.read_at(at + 8, 100), Some(&b"rld"[..]));
        spool.release(at + 11);
        assert_eq!((spool.start(), spool.end()), (at + 11, at + 11));
        assert_eq!(spool.read_at(at + 8, 100), None);
    }
}
