//! The sparse layout model: a size plus ordered extents, and its one text notation.
//!
//! `"D4K H1M Z64K D10"` reads left to right from offset 0: `D` is data (the deterministic
//! [`pattern`] bytes), `H` a hole, `Z` written zeros (allocated, so a filesystem reports them
//! as data). Lengths take binary suffixes `K`, `M`, `G`, `T`, `P`. The empty layout is `-`.

use std::fmt;
use std::str::FromStr;

use crate::{Error, ErrorKind};

/// What an extent holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fill {
    /// The deterministic [`pattern`] bytes (never zero).
    Data,
    /// Zeros that were written, so they occupy blocks (unlike a hole).
    Zeros,
}

/// One allocated run of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Extent {
    /// Where it starts.
    pub offset: u64,
    /// How long it is (≥ 1).
    pub length: u64,
    /// What it holds.
    pub fill: Fill,
}

impl Extent {
    /// One past its last byte. An extent that would end past `u64::MAX` (one no [`Layout`]
    /// accepts) ends at `u64::MAX`.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}

/// A volume's or a file's shape: its size and its allocated extents, sorted, disjoint, non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Layout {
    size: u64,
    extents: Vec<Extent>,
}

/// Why a layout was refused: the rule it broke, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad layout notation {notation:?}: {rule}")]
pub struct LayoutError {
    /// The text that was refused (or a description of the extents).
    pub notation: String,
    /// The rule it broke, naming the offending token.
    pub rule: String,
}

impl From<LayoutError> for Error {
    fn from(error: LayoutError) -> Error {
        Error::new(ErrorKind::InvalidArgument, error.to_string())
    }
}

impl Layout {
    /// The largest size a layout may have: `i64::MAX`, as libvirt's offsets are `off_t`.
    pub const MAX_SIZE: u64 = i64::MAX as u64;

    /// A layout of `size` bytes with these extents; refuses a size past [`Layout::MAX_SIZE`] and
    /// overlapping, unsorted, empty or out-of-range extents. Adjacent extents of the same fill
    /// are merged.
    pub fn new(
        size: u64,
        extents: impl IntoIterator<Item = Extent>,
    ) -> Result<Layout, LayoutError> {
        if size > Layout::MAX_SIZE {
            return Err(LayoutError {
                notation: format!("size {size}"),
                rule: format!(
                    "size must be at most {} (i64::MAX, libvirt's largest offset)",
                    Layout::MAX_SIZE
                ),
            });
        }
        let mut merged: Vec<Extent> = Vec::new();
        for extent in extents {
            let refuse = |rule: String| LayoutError {
                notation: format!("size {size}"),
                rule,
            };
            if extent.length == 0 {
                return Err(refuse(format!("extent at {} has length 0", extent.offset)));
            }
            let end = extent
                .offset
                .checked_add(extent.length)
                .filter(|&end| end <= size);
            let Some(end) = end else {
                return Err(refuse(format!(
                    "extent at {} runs past the size",
                    extent.offset
                )));
            };
            match merged.last_mut() {
                Some(last) if last.end() > extent.offset => {
                    return Err(refuse(format!(
                        "extent at {} overlaps or is out of order",
                        extent.offset
                    )));
                }
                Some(last) if last.end() == extent.offset && last.fill == extent.fill => {
                    last.length = end - last.offset;
                }
                _ => merged.push(extent),
            }
        }
        Ok(Layout {
            size,
            extents: merged,
        })
    }

    /// A layout whose every byte is a hole. (`size` is taken as given: keep it at most
    /// [`Layout::MAX_SIZE`], which [`Layout::new`] and [`Layout::parse`] enforce.)
    pub fn hole(size: u64) -> Layout {
        Layout {
            size,
            extents: Vec::new(),
        }
    }

    /// A layout whose every byte is pattern data (`size` taken as given, as [`Layout::hole`]).
    pub fn data(size: u64) -> Layout {
        let extents = (size > 0).then_some(Extent {
            offset: 0,
            length: size,
            fill: Fill::Data,
        });
        Layout {
            size,
            extents: extents.into_iter().collect(),
        }
    }

    /// Parse the notation (see the module docs).
    pub fn parse(notation: &str) -> Result<Layout, LayoutError> {
        let refuse = |rule: String| LayoutError {
            notation: notation.to_string(),
            rule,
        };
        let trimmed = notation.trim();
        if trimmed == "-" {
            return Ok(Layout::default());
        }
        if trimmed.is_empty() {
            return Err(refuse("empty; write `-` for the empty layout".into()));
        }
        let mut size = 0u64;
        let mut extents = Vec::new();
        for (index, token) in trimmed.split_whitespace().enumerate() {
            let mut chars = token.chars();
            let fill = match chars.next() {
                Some('D') => Some(Fill::Data),
                Some('Z') => Some(Fill::Zeros),
                Some('H') => None,
                _ => {
                    return Err(refuse(format!(
                        "token {} `{token}` must start with D (data), H (hole) or Z (zeros)",
                        index + 1
                    )));
                }
            };
            let length = parse_length(chars.as_str())
                .map_err(|why| refuse(format!("token {} `{token}`: {why}", index + 1)))?;
            if length == 0 {
                return Err(refuse(format!(
                    "token {} `{token}`: length must be at least 1",
                    index + 1
                )));
            }
            if let Some(fill) = fill {
                extents.push(Extent {
                    offset: size,
                    length,
                    fill,
                });
            }
            size = size
                .checked_add(length)
                .filter(|&size| size <= Layout::MAX_SIZE)
                .ok_or_else(|| {
                    refuse(format!(
                        "token {} `{token}`: total size overflows",
                        index + 1
                    ))
                })?;
        }
        Layout::new(size, extents).map_err(|error| refuse(error.rule))
    }

    /// Total size in bytes, holes included.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The allocated extents, sorted and disjoint.
    pub fn extents(&self) -> &[Extent] {
        &self.extents
    }

    /// Bytes in extents (data and written zeros).
    pub fn allocated_bytes(&self) -> u64 {
        self.extents.iter().map(|extent| extent.length).sum()
    }

    /// The layout as a filesystem with `block`-byte blocks reports it through SEEK_DATA /
    /// SEEK_HOLE: each extent widened to whole blocks (clipped to the size), touching runs merged,
    /// every run reported as data. `block` of 0 or 1 means byte-exact.
    pub fn block_aligned(&self, block: u64) -> Layout {
        let block = block.max(1);
        let mut runs: Vec<Extent> = Vec::new();
        for extent in &self.extents {
            let start = extent.offset / block * block;
            let end = extent
                .end()
                .div_ceil(block)
                .saturating_mul(block)
                .min(self.size);
            match runs.last_mut() {
                Some(last) if last.end() >= start => {
                    last.length = end.max(last.end()) - last.offset
                }
                _ => runs.push(Extent {
                    offset: start,
                    length: end - start,
                    fill: Fill::Data,
                }),
            }
        }
        Layout {
            size: self.size,
            extents: runs,
        }
    }

    /// The same layout with every extent marked as data: what a hole map can tell apart.
    pub fn hole_map(&self) -> Layout {
        let runs = self.extents.iter().map(|extent| Extent {
            fill: Fill::Data,
            ..*extent
        });
        Layout::new(self.size, runs).unwrap_or_else(|_| self.clone())
    }

    /// Fill `buf` with the bytes at `offset`: pattern for data, zeros for holes, written
    /// zeros and anything past the end.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) {
        buf.fill(0);
        let end = offset.saturating_add(buf.len() as u64);
        let first = self
            .extents
            .partition_point(|extent| extent.end() <= offset);
        for extent in self.extents[first..]
            .iter()
            .take_while(|extent| extent.offset < end)
        {
            if extent.fill == Fill::Zeros {
                continue;
            }
            let from = extent.offset.max(offset);
            let to = extent.end().min(end);
            pattern::fill(
                from,
                &mut buf[(from - offset) as usize..(to - offset) as usize],
            );
        }
    }

    /// Every byte of the layout (for tests and small fixtures: it allocates `size` bytes, so a
    /// layout larger than memory aborts the process as any failed allocation does).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0; self.size as usize];
        self.read_at(0, &mut bytes);
        bytes
    }
}

/// A length in the notation's units: decimal digits with an optional binary suffix `K`, `M`,
/// `G`, `T` or `P` (`4096`, `64K`, `1G`); the one size syntax of layouts and the command line.
pub fn parse_length(text: &str) -> Result<u64, String> {
    let (digits, multiplier) = match text.char_indices().last() {
        Some((at, suffix)) if suffix.is_ascii_alphabetic() => {
            let multiplier = match suffix {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'P' => 1 << 50,
                other => {
                    return Err(format!(
                        "unknown size suffix `{other}` (use K, M, G, T or P)"
                    ));
                }
            };
            (&text[..at], multiplier)
        }
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err("length must be decimal digits with an optional K, M, G, T or P".into());
    }
    let number: u64 = digits
        .parse()
        .map_err(|_| "length is too large".to_string())?;
    number
        .checked_mul(multiplier)
        .ok_or_else(|| "length is too large".into())
}

fn format_length(length: u64) -> String {
    const SUFFIXES: [(u32, char); 5] = [(50, 'P'), (40, 'T'), (30, 'G'), (20, 'M'), (10, 'K')];
    for (shift, suffix) in SUFFIXES {
        if length >= 1 << shift && length % (1 << shift) == 0 {
            return format!("{}{suffix}", length >> shift);
        }
    }
    length.to_string()
}

impl fmt::Display for Layout {
    /// The canonical notation: largest exact suffix, adjacent runs of one kind merged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.size == 0 {
            return f.write_str("-");
        }
        let mut at = 0;
        let mut tokens = Vec::new();
        for extent in &self.extents {
            if extent.offset > at {
                tokens.push(format!("H{}", format_length(extent.offset - at)));
            }
            let letter = if extent.fill == Fill::Data { 'D' } else { 'Z' };
            tokens.push(format!("{letter}{}", format_length(extent.length)));
            at = extent.end();
        }
        if self.size > at {
            tokens.push(format!("H{}", format_length(self.size - at)));
        }
        f.write_str(&tokens.join(" "))
    }
}

impl FromStr for Layout {
    type Err = LayoutError;

    fn from_str(notation: &str) -> Result<Layout, LayoutError> {
        Layout::parse(notation)
    }
}

/// The deterministic bytes of data extents: byte at absolute offset `o` is `o % 251 + 1`.
///
/// Never zero (so data and holes differ), not block-periodic (251 is prime), and cheap: filling
/// a buffer is a `memcpy` from a table.
pub mod pattern {
    const PERIOD: usize = 251;
    const CHUNK: usize = 64 * 1024;
    static TABLE: [u8; CHUNK + PERIOD] = table();

    const fn table() -> [u8; CHUNK + PERIOD] {
        let mut table = [0u8; CHUNK + PERIOD];
        let mut index = 0;
        while index < table.len() {
            table[index] = (index % PERIOD) as u8 + 1;
            index += 1;
        }
        table
    }

    /// The pattern byte at `offset`.
    pub fn byte_at(offset: u64) -> u8 {
        (offset % PERIOD as u64) as u8 + 1
    }

    /// Fill `buf` with the pattern bytes starting at `offset`.
    pub fn fill(offset: u64, buf: &mut [u8]) {
        let mut phase = (offset % PERIOD as u64) as usize;
        for chunk in buf.chunks_mut(CHUNK) {
            chunk.copy_from_slice(&TABLE[phase..phase + chunk.len()]);
            phase = (phase + chunk.len()) % PERIOD;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_notation() {
        let layout = Layout::parse("D4K H1M Z64K D10").unwrap();
        assert_eq!(layout.size(), 4096 + (1 << 20) + 65536 + 10);
        assert_eq!(layout.extents().len(), 3);
        assert_eq!(layout.to_string(), "D4K H1M Z64K D10");
        assert_eq!(
            Layout::parse("D2K D2K H1 H1").unwrap().to_string(),
            "D4K H2"
        );
        assert_eq!(Layout::parse("-").unwrap(), Layout::default());
        assert_eq!(Layout::default().to_string(), "-");
    }

    #[test]
    fn refuses_bad_notation_naming_the_rule() {
        let cases = [
            ("", "empty"),
            ("X4K", "must start with D"),
            ("D4X", "unknown size suffix `X`"),
            ("D0", "at least 1"),
            ("D", "decimal digits"),
            ("D-4", "decimal digits"),
            ("D99999999999999999999", "too large"),
            ("D8000P D8000P", "overflows"),
        ];
        for (notation, rule) in cases {
            let error = Layout::parse(notation).unwrap_err();
            assert!(error.to_string().contains(rule), "{notation}: {error}");
        }
    }

    #[test]
    fn block_alignment_widens_and_merges() {
        let layout = Layout::parse("D10 H100 D10 H8K D1 H5").unwrap();
        assert_eq!(layout.block_aligned(4096).to_string(), "D4K H4K D126");
        assert_eq!(
            layout.block_aligned(1).to_string(),
            layout.hole_map().to_string()
        );
    }

    #[test]
    fn reads_pattern_zeros_and_holes() {
        let layout = Layout::parse("D3 H2 Z2 D1").unwrap();
        assert_eq!(layout.to_bytes(), vec![1, 2, 3, 0, 0, 0, 0, 8]);
        let mut buf = [9u8; 4];
        layout.read_at(6, &mut buf);
        assert_eq!(buf, [0, 8, 0, 0]);
    }

    #[test]
    fn pattern_fill_matches_byte_at_across_chunks() {
        let mut buf = vec![0u8; 200_000];
        pattern::fill(1_000_003, &mut buf);
        for (index, byte) in buf.iter().enumerate() {
            assert_eq!(*byte, pattern::byte_at(1_000_003 + index as u64));
        }
    }
}
