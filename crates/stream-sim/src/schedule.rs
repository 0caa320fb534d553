//! When a NONBLOCK stream finds nothing ready: a deterministic, seedable would-block schedule.
//!
//! Real libvirt returns `-2` whenever the event loop has not yet delivered data; how often that
//! happens is timing. The simulator makes it a setting, so tests can put `-2` everywhere, nowhere,
//! or at reproducible pseudo-random points.

/// How often a NONBLOCK call with nothing ready returns would-block before data arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WouldBlock {
    /// Data is always there when asked for: never `-2`.
    Never,
    /// `-2` exactly `n` times before each arrival.
    Times(u32),
    /// `-2` with probability `per_mille / 1000`, from a seeded generator.
    Seeded {
        /// The generator's seed: the same seed gives the same schedule.
        seed: u64,
        /// Chance of `-2` in thousandths.
        per_mille: u16,
    },
}

/// The running state of a [`WouldBlock`] schedule for one stream.
#[derive(Debug, Clone)]
pub struct Schedule {
    plan: WouldBlock,
    state: u64,
    blocked: u32,
}

impl Schedule {
    /// Start `plan`.
    pub fn new(plan: WouldBlock) -> Schedule {
        let state = match plan {
            WouldBlock::Seeded { seed, .. } => seed ^ 0x9E37_79B9_7F4A_7C15,
            _ => 0,
        };
        Schedule {
            plan,
            state,
            blocked: 0,
        }
    }

    /// Should this NONBLOCK call find nothing ready?
    pub fn would_block(&mut self) -> bool {
        let block = match self.plan {
            WouldBlock::Never => false,
            WouldBlock::Times(n) => self.blocked < n,
            WouldBlock::Seeded { per_mille, .. } => {
                self.next_random() % 1000 < u64::from(per_mille)
            }
        };
        self.blocked = if block { self.blocked + 1 } else { 0 };
        block
    }

    /// splitmix64: small, fast, and the same everywhere.
    fn next_random(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_blocks_n_times_before_each_arrival() {
        let mut schedule = Schedule::new(WouldBlock::Times(2));
        let got: Vec<bool> = (0..6).map(|_| schedule.would_block()).collect();
        assert_eq!(got, [true, true, false, true, true, false]);
    }

    #[test]
    fn seeded_is_reproducible_and_near_its_rate() {
        let plan = WouldBlock::Seeded {
            seed: 7,
            per_mille: 300,
        };
        let run = |plan| {
            let mut schedule = Schedule::new(plan);
            (0..10_000)
                .map(|_| schedule.would_block())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(plan), run(plan));
        let blocked = run(plan).iter().filter(|&&b| b).count();
        assert!((2_700..3_300).contains(&blocked), "{blocked}");
    }
}
