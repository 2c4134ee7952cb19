//! The spool: the program's output from the first byte a daemon has not
//! acknowledged to the last byte read, addressed by offset. It is bounded by
//! refusing to read more (the program then blocks on its next write), never
//! by dropping bytes.

use std::collections::VecDeque;

/// Bytes held for a daemon before the supervisor stops reading the program.
pub const SPOOL_LIMIT: u64 = 16 * 1024 * 1024;

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

    pub fn push(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.held += bytes.len() as u64;
            self.chunks.push_back(bytes);
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
        spool.push(b"hello ".to_vec());
        spool.push(b"world".to_vec());
        assert_eq!(spool.end(), 11);
        assert_eq!(spool.read_at(0, 100), Some(&b"hello "[..]));
        assert_eq!(spool.read_at(3, 2), Some(&b"lo"[..]));
        assert_eq!(spool.read_at(6, 100), Some(&b"world"[..]));
        assert_eq!(spool.read_at(11, 100), None);
        // A release inside a chunk keeps the chunk.
        spool.release(8);
        assert_eq!(spool.start(), 6);
        assert_eq!(spool.read_at(8, 100), Some(&b"rld"[..]));
        spool.release(11);
        assert_eq!((spool.start(), spool.end()), (11, 11));
        assert_eq!(spool.read_at(8, 100), None);
    }
}
