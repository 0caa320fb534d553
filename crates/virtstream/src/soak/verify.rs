//! The checker: bytes that came back from a transfer (in order, as data runs and holes) compared
//! chunk by chunk with the source layout's bytes, reporting the first offset that differs.

use std::fmt;

use stream_core::Layout;

/// How much of the expected bytes is materialised at once: the checker's memory does not grow
/// with the volume.
const WINDOW: usize = 1 << 20;

/// Where a transfer's bytes first differed from its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The first differing byte's offset.
    pub offset: u64,
    /// What differed there.
    pub what: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first difference at offset {}: {}",
            self.offset, self.what
        )
    }
}

/// Compares a stream of data and holes with `expected`, in order.
#[derive(Debug)]
pub struct Checker<'a> {
    expected: &'a Layout,
    at: u64,
    first: Option<Mismatch>,
    window: Vec<u8>,
    /// A byte to take as flipped when it arrives: `--inject-mismatch` plants a difference
    /// through the real path, to prove a corrupted transfer is reported.
    planted: Option<u64>,
}

impl<'a> Checker<'a> {
    pub fn new(expected: &'a Layout) -> Checker<'a> {
        Checker {
            expected,
            at: 0,
            first: None,
            window: vec![0; WINDOW],
            planted: None,
        }
    }

    /// Take the byte at `offset` as flipped (every bit) when it arrives.
    pub fn plant(&mut self, offset: u64) {
        self.planted = Some(offset);
    }

    /// Bytes so far.
    pub fn position(&self) -> u64 {
        self.at
    }

    /// The next `data.len()` bytes arrived as data.
    pub fn data(&mut self, data: &[u8]) {
        for chunk in data.chunks(WINDOW) {
            self.compare(Some(chunk), chunk.len() as u64);
        }
    }

    /// The next `length` bytes arrived as a hole (zeros).
    pub fn hole(&mut self, length: u64) {
        let mut left = length;
        while left > 0 {
            let step = left.min(WINDOW as u64);
            self.compare(None, step);
            left -= step;
        }
    }

    fn compare(&mut self, got: Option<&[u8]>, length: u64) {
        let start = self.at;
        self.at += length;
        if self.first.is_some() {
            return;
        }
        if start + length > self.expected.size() {
            let offset = start.max(self.expected.size());
            self.first = Some(Mismatch {
                offset,
                what: format!(
                    "{} bytes past the source's end ({})",
                    start + length - offset,
                    self.expected.size()
                ),
            });
            return;
        }
        let want = &mut self.window[..length as usize];
        self.expected.read_at(start, want);
        let planted = self
            .planted
            .filter(|&p| (start..start + length).contains(&p))
            .map(|p| (p - start) as usize);
        let differs = |index: usize, byte: u8| {
            let byte = if Some(index) == planted { !byte } else { byte };
            (byte != want[index]).then_some((byte, want[index]))
        };
        let found = match got {
            Some(bytes) => bytes
                .iter()
                .enumerate()
                .find_map(|(index, &byte)| differs(index, byte).map(|pair| (index, pair, "data"))),
            None => (0..want.len())
                .find_map(|index| differs(index, 0).map(|pair| (index, pair, "hole"))),
        };
        if let Some((index, (byte, wanted), how)) = found {
            self.first = Some(Mismatch {
                offset: start + index as u64,
                what: format!("got {byte:#04x} (in {how}), source has {wanted:#04x}"),
            });
        }
    }

    /// The end of the received stream: every byte matched and none was missing.
    pub fn finish(self) -> Result<u64, Mismatch> {
        if let Some(mismatch) = self.first {
            return Err(mismatch);
        }
        if self.at < self.expected.size() {
            return Err(Mismatch {
                offset: self.at,
                what: format!(
                    "ended after {} bytes, the source has {}",
                    self.at,
                    self.expected.size()
                ),
            });
        }
        Ok(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(notation: &str) -> Layout {
        Layout::parse(notation).expect("layout")
    }

    #[test]
    fn identical_bytes_pass_as_data_or_holes() {
        let source = layout("D5000 H3M Z10 D1");
        let mut checker = Checker::new(&source);
        let bytes = source.to_bytes();
        checker.data(&bytes[..5000]);
        checker.hole(3 << 20);
        checker.data(&bytes[5000 + (3 << 20)..]);
        assert_eq!(checker.finish(), Ok(source.size()));
    }

    #[test]
    fn a_planted_difference_is_found_at_its_offset() {
        let source = layout("D3M");
        let bytes = source.to_bytes();
        let mut corrupted = bytes.clone();
        corrupted[2_000_001] ^= 0x40;
        let mut checker = Checker::new(&source);
        checker.data(&corrupted);
        let mismatch = checker.finish().expect_err("a difference");
        assert_eq!(mismatch.offset, 2_000_001);

        let mut checker = Checker::new(&source);
        checker.plant(17);
        checker.data(&bytes);
        assert_eq!(checker.finish().expect_err("planted").offset, 17);
    }

    #[test]
    fn a_hole_over_data_short_and_long_streams_are_caught() {
        let source = layout("H4K D4K");
        let mut checker = Checker::new(&source);
        checker.hole(8192);
        assert_eq!(checker.finish().expect_err("hole over data").offset, 4096);

        let mut checker = Checker::new(&source);
        checker.hole(4096);
        let short = checker.finish().expect_err("short");
        assert_eq!(short.offset, 4096);
        assert!(short.what.contains("ended after 4096"), "{short}");

        let mut checker = Checker::new(&source);
        checker.data(&source.to_bytes());
        checker.data(&[0]);
        assert_eq!(checker.finish().expect_err("long").offset, 8192);
    }
}
