//! What each soak transfer does, drawn from a seed: layout, direction, sparse or not, blocking
//! or NONBLOCK, chunk size and how it ends. Transfer `i` depends only on `(seed, i)`, so a seed
//! replays the same plan whatever happened to earlier transfers.

use std::fmt;

use stream_core::{Extent, Fill, Layout};

/// A small, fast, seedable generator (SplitMix64). The soak needs reproducible plans, not
/// cryptographic randomness, and a few lines here spare a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high` (`low` when `high < low`). The modulo bias is irrelevant here.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        let span = high - low;
        match span.checked_add(1) {
            Some(n) => low + self.next_u64() % n,
            None => self.next_u64(),
        }
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// Log-uniform in `low..=high` (both ≥ 1): small and large values equally likely per
    /// order of magnitude, so a run sees many small transfers and still some large ones.
    pub fn log_range(&mut self, low: u64, high: u64) -> u64 {
        let (low, high) = (low.max(1), high.max(1));
        if high <= low {
            return low;
        }
        let (lo_bits, hi_bits) = (64 - low.leading_zeros(), 64 - high.leading_zeros());
        let bits = self.range(u64::from(lo_bits), u64::from(hi_bits)) as u32;
        let top = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let bottom = if bits <= 1 { 1 } else { 1u64 << (bits - 1) };
        self.range(bottom.max(low), top.min(high))
    }
}

/// Which way the bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Upload,
    Download,
}

/// How the daemon goes away in a restart transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stop {
    /// SIGTERM (libvirtd's orderly shutdown), then a new libvirtd.
    Term,
    /// SIGKILL, then a new libvirtd: the connection dies without a goodbye.
    Kill,
}

/// How a transfer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ending {
    /// Runs to the end, then is checked against its source.
    Complete,
    /// `abort` once `at` bytes of the stream have passed.
    Abort { at: u64 },
    /// The daemon is restarted once `at` bytes have passed; the transfer must then fail.
    Restart { at: u64, stop: Stop },
}

/// One transfer of the soak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub index: u32,
    pub layout: Layout,
    pub direction: Direction,
    pub sparse: bool,
    pub nonblock: bool,
    /// Bytes per send / receive buffer.
    pub chunk: usize,
    pub ending: Ending,
}

impl Plan {
    /// The plan of transfer `index` of the run seeded `seed`.
    pub fn draw(seed: u64, index: u32, max_size: u64) -> Plan {
        // Mixing the index through the generator once gives each transfer an unrelated stream.
        let mut rng = Rng::new(Rng::new(seed ^ u64::from(index).rotate_left(32)).next_u64());
        let layout = layout(&mut rng, max_size);
        let direction = if rng.percent(50) {
            Direction::Upload
        } else {
            Direction::Download
        };
        let sparse = rng.percent(50);
        let nonblock = rng.percent(40);
        let chunk = match rng.range(0, 5) {
            0 => 4096,
            1 => 65_536,
            2 => 262_120, // one libvirt packet
            3 => 262_144,
            4 => 1 << 20,
            _ => rng.range(1, 1 << 20) as usize,
        };
        let roll = rng.range(0, 99);
        let at = rng.range(0, layout.size());
        let ending = match roll {
            0..=4 => Ending::Abort { at },
            5..=6 => Ending::Restart {
                at,
                stop: if rng.percent(50) {
                    Stop::Term
                } else {
                    Stop::Kill
                },
            },
            _ => Ending::Complete,
        };
        Plan {
            index,
            layout,
            direction,
            sparse,
            nonblock,
            chunk,
            ending,
        }
    }

    /// `upload sparse nonblock`-style key for the per-kind table.
    pub fn kind(&self) -> String {
        format!(
            "{} {} {}",
            match self.direction {
                Direction::Upload => "upload",
                Direction::Download => "download",
            },
            if self.sparse { "sparse" } else { "plain" },
            if self.nonblock {
                "nonblock"
            } else {
                "blocking"
            }
        )
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} chunk {} ", self.index, self.kind(), self.chunk)?;
        match self.ending {
            Ending::Complete => f.write_str("complete")?,
            Ending::Abort { at } => write!(f, "abort at {at}")?,
            Ending::Restart { at, stop } => write!(f, "restart ({stop:?}) at {at}")?,
        }
        write!(f, " layout \"{}\"", self.layout)
    }
}

/// A random layout of 0 to `max_size` bytes: data, holes and written zeros of random lengths,
/// mostly block-aligned (as disk images are) with some unaligned edges (which a filesystem
/// stores as partial blocks, the hard case for hole detection).
fn layout(rng: &mut Rng, max_size: u64) -> Layout {
    let size = match rng.range(0, 99) {
        0..=4 => 0,
        5..=19 => rng.range(1, 65_536.min(max_size)),
        _ => rng.log_range(65_536.min(max_size), max_size),
    }
    .min(max_size);
    let mut extents = Vec::new();
    let mut at = 0;
    while at < size {
        let left = size - at;
        let length = if rng.percent(70) {
            rng.log_range(1, (left / 4096).max(1)) * 4096
        } else {
            rng.range(1, 65_536)
        }
        .min(left);
        let fill = match rng.range(0, 19) {
            0..=9 => Some(Fill::Data),
            10..=16 => None,
            _ => Some(Fill::Zeros),
        };
        if let Some(fill) = fill {
            extents.push(Extent {
                offset: at,
                length,
                fill,
            });
        }
        at += length;
    }
    // Built extent by extent, sorted, disjoint and inside the size: `new` cannot refuse them,
    // but a refusal still must not panic; a plain data layout is a fine stand-in.
    Layout::new(size, extents).unwrap_or_else(|_| Layout::data(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_plan() {
        for index in 0..50 {
            assert_eq!(Plan::draw(7, index, 1 << 24), Plan::draw(7, index, 1 << 24));
        }
        assert_ne!(Plan::draw(7, 1, 1 << 24), Plan::draw(8, 1, 1 << 24));
    }

    #[test]
    fn layouts_stay_within_the_maximum_and_draw_every_ending() {
        let plans: Vec<Plan> = (0..1000).map(|i| Plan::draw(1, i, 1 << 20)).collect();
        assert!(plans.iter().all(|plan| plan.layout.size() <= 1 << 20));
        let aborts = plans
            .iter()
            .filter(|p| matches!(p.ending, Ending::Abort { .. }))
            .count();
        let restarts = plans
            .iter()
            .filter(|p| matches!(p.ending, Ending::Restart { .. }))
            .count();
        assert!((25..=80).contains(&aborts), "{aborts} aborts");
        assert!((8..=35).contains(&restarts), "{restarts} restarts");
        assert!(plans.iter().any(|p| p.layout.size() == 0));
        assert!(
            plans
                .iter()
                .any(|p| p.layout.extents().iter().any(|e| e.length % 4096 != 0))
        );
    }

    #[test]
    fn log_range_stays_in_bounds() {
        let mut rng = Rng::new(3);
        for _ in 0..10_000 {
            let value = rng.log_range(10, 5000);
            assert!((10..=5000).contains(&value), "{value}");
        }
        assert_eq!(rng.log_range(9, 9), 9);
    }
}
