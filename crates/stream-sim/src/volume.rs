//! A raw volume as an extent map: memory grows with the number of extents, never with the size.
//!
//! Pattern and written-zero extents from a [`Layout`] hold no bytes at all; uploaded data is kept
//! in shared buffers, so a download's snapshot is a cheap clone of the map.

use std::collections::BTreeMap;
use std::sync::Arc;

use stream_core::layout::pattern;
use stream_core::{Extent, Fill, Layout};

#[derive(Debug, Clone)]
enum Content {
    /// The layout pattern, a function of the absolute offset.
    Pattern,
    /// Written zeros: allocated, but all zero.
    Zeros,
    /// Uploaded bytes: `bytes[start..start + len]`.
    Bytes { bytes: Arc<[u8]>, start: usize },
}

#[derive(Debug, Clone)]
struct Piece {
    len: u64,
    content: Content,
}

impl Piece {
    /// The part of this piece (which starts at `at`) from `from` on.
    fn tail(&self, at: u64, from: u64) -> Piece {
        let skip = from - at;
        let content = match &self.content {
            Content::Bytes { bytes, start } => Content::Bytes {
                bytes: bytes.clone(),
                start: start + skip as usize,
            },
            other => other.clone(),
        };
        Piece {
            len: self.len - skip,
            content,
        }
    }
}

/// A volume's bytes: a size and disjoint allocated pieces keyed by offset.
#[derive(Debug, Clone, Default)]
pub struct Volume {
    size: u64,
    pieces: BTreeMap<u64, Piece>,
}

impl Volume {
    /// A volume holding `layout`.
    pub fn from_layout(layout: &Layout) -> Volume {
        let pieces = layout.extents().iter().map(|extent| {
            let content = match extent.fill {
                Fill::Data => Content::Pattern,
                Fill::Zeros => Content::Zeros,
            };
            (
                extent.offset,
                Piece {
                    len: extent.length,
                    content,
                },
            )
        });
        Volume {
            size: layout.size(),
            pieces: pieces.collect(),
        }
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its allocated extents, exactly (byte-granular, before any block rounding).
    pub fn layout(&self) -> Layout {
        let extents = self.pieces.iter().map(|(&offset, piece)| Extent {
            offset,
            length: piece.len,
            fill: if matches!(piece.content, Content::Zeros) {
                Fill::Zeros
            } else {
                Fill::Data
            },
        });
        // Pieces are kept disjoint and inside the size, so this cannot fail.
        Layout::new(self.size, extents).unwrap_or_else(|_| Layout::hole(self.size))
    }

    /// Write `data` at `offset`, growing the volume if it ends past the size.
    pub fn write(&mut self, offset: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let end = offset + data.len() as u64;
        if self.overwrite_in_place(offset, data) {
            return;
        }
        self.punch(offset, end);
        let mut storage = Arc::<[u8]>::new_uninit_slice(data.len());
        let bytes: Arc<[u8]> = match Arc::get_mut(&mut storage) {
            Some(uninit) => {
                // SAFETY: `u8` has no invalid bit patterns and every byte is written just below
                // before `assume_init`.
                let slice =
                    unsafe { &mut *(uninit as *mut [std::mem::MaybeUninit<u8>] as *mut [u8]) };
                crate::copy::copy_to_storage(slice, data);
                // SAFETY: fully initialised above.
                unsafe { storage.assume_init() }
            }
            None => Arc::from(data),
        };
        self.pieces.insert(
            offset,
            Piece {
                len: data.len() as u64,
                content: Content::Bytes { bytes, start: 0 },
            },
        );
        self.size = self.size.max(end);
    }

    /// Rewrite an uploaded piece that covers exactly `offset..offset + data.len()` without
    /// allocating: the common case of uploading a volume again.
    fn overwrite_in_place(&mut self, offset: u64, data: &[u8]) -> bool {
        let Some(piece) = self.pieces.get_mut(&offset) else {
            return false;
        };
        if piece.len != data.len() as u64 {
            return false;
        }
        let Content::Bytes { bytes, start: 0 } = &mut piece.content else {
            return false;
        };
        match Arc::get_mut(bytes) {
            Some(buffer) if buffer.len() == data.len() => {
                crate::copy::copy_to_storage(buffer, data);
                true
            }
            _ => false,
        }
    }

    /// Set the size, dropping what lies past it or adding a hole (`ftruncate`).
    pub fn truncate(&mut self, size: u64) {
        if size < self.size {
            self.punch(size, self.size);
        }
        self.size = size;
    }

    /// Make `start..end` a hole.
    fn punch(&mut self, start: u64, end: u64) {
        self.split_at(start);
        self.split_at(end);
        let inside: Vec<u64> = self.pieces.range(start..end).map(|(&at, _)| at).collect();
        for at in inside {
            self.pieces.remove(&at);
        }
    }

    /// Make sure no piece crosses `at`.
    fn split_at(&mut self, at: u64) {
        let Some((&piece_at, piece)) = self.pieces.range(..at).next_back() else {
            return;
        };
        if piece_at + piece.len <= at {
            return;
        }
        let tail = piece.tail(piece_at, at);
        if let Some(head) = self.pieces.get_mut(&piece_at) {
            head.len = at - piece_at;
        }
        self.pieces.insert(at, tail);
    }

    /// Read into `buf` from `offset`; returns how many bytes were inside the volume.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        let available = self.size.saturating_sub(offset).min(buf.len() as u64) as usize;
        let buf = &mut buf[..available];
        let end = offset + available as u64;
        let mut filled = 0usize;
        let first = self
            .pieces
            .range(..=offset)
            .next_back()
            .map_or(offset, |(&at, _)| at);
        for (&at, piece) in self.pieces.range(first..end) {
            let from = at.max(offset);
            let to = (at + piece.len).min(end);
            if from >= to {
                continue;
            }
            let (lo, hi) = ((from - offset) as usize, (to - offset) as usize);
            buf[filled..lo].fill(0);
            match &piece.content {
                Content::Pattern => pattern::fill(from, &mut buf[lo..hi]),
                Content::Zeros => buf[lo..hi].fill(0),
                Content::Bytes { bytes, start } => {
                    let skip = start + (from - at) as usize;
                    buf[lo..hi].copy_from_slice(&bytes[skip..skip + (hi - lo)]);
                }
            }
            filled = hi;
        }
        buf[filled..].fill(0);
        available
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(volume: &Volume) -> Vec<u8> {
        let mut buf = vec![0xEE; volume.size() as usize];
        assert_eq!(volume.read(0, &mut buf), buf.len());
        buf
    }

    #[test]
    fn writes_split_and_replace_pieces() {
        let mut volume = Volume::from_layout(&Layout::parse("D8 H8").unwrap());
        volume.write(4, &[0xAA; 6]);
        let mut expected = Layout::parse("D8 H8").unwrap().to_bytes();
        expected[4..10].fill(0xAA);
        assert_eq!(bytes(&volume), expected);
        assert_eq!(volume.layout().to_string(), "D10 H6");
    }

    #[test]
    fn truncate_drops_and_extends() {
        let mut volume = Volume::from_layout(&Layout::parse("D8").unwrap());
        volume.truncate(3);
        volume.truncate(6);
        assert_eq!(bytes(&volume), vec![1, 2, 3, 0, 0, 0]);
        assert_eq!(volume.layout().to_string(), "D3 H3");
    }

    #[test]
    fn writing_past_the_end_grows_with_a_hole() {
        let mut volume = Volume::default();
        volume.write(5, b"ab");
        assert_eq!(bytes(&volume), b"\0\0\0\0\0ab");
        assert_eq!(volume.layout().to_string(), "H5 D2");
    }

    #[test]
    fn overwrite_in_place_keeps_snapshots_intact() {
        let mut volume = Volume::default();
        volume.write(0, b"abcd");
        let snapshot = volume.clone();
        volume.write(0, b"wxyz");
        assert_eq!(bytes(&snapshot), b"abcd");
        assert_eq!(bytes(&volume), b"wxyz");
        volume.write(0, b"1234");
        assert_eq!(bytes(&volume), b"1234");
    }

    #[test]
    fn reads_are_short_at_the_end() {
        let volume = Volume::from_layout(&Layout::parse("D4").unwrap());
        let mut buf = [0u8; 8];
        assert_eq!(volume.read(2, &mut buf), 2);
        assert_eq!(volume.read(9, &mut buf), 0);
    }
}
