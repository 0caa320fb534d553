//! Recognising the one difference real libvirt's timing makes in a recorded download: a blocking
//! `recv` hands over every packet already queued, so when the daemon gets ahead of the client (a
//! loaded machine) a `recv` recorded as one packet comes back larger (measured:
//! fixtures/libvirt-9.0/q1.loop.out). A mismatch of exactly that shape is worth playing again;
//! any other is a real difference.

use super::format::Op;

/// How many more times a scenario is played after a mismatch that is packet coalescing.
pub const TIMING_RETRIES: usize = 3;

/// Whether `actual` differs from `expected` for `op` only as coalesced packets would: at the
/// first token that differs, both are byte counts and `actual` got more.
pub fn is_packet_coalescing(op: &Op, expected: &str, actual: &str) -> bool {
    if !matches!(
        op,
        Op::Recv { .. } | Op::RecvFlags { .. } | Op::Drain { .. }
    ) {
        return false;
    }
    let (expected, actual) = (tokens(expected), tokens(actual));
    let Some((want, got)) = expected.iter().zip(&actual).find(|(want, got)| want != got) else {
        return false;
    };
    matches!((want.parse::<u64>(), got.parse::<u64>()), (Ok(want), Ok(got)) if got > want)
}

/// Whether a `drain` with `buffer`-byte receives that gave `actual` where `expected` was recorded
/// differs only by packets taken together: the same holes, errors and end, the same bytes in each
/// data run, and every receive shorter than the buffer ending where a recorded one ended (a
/// blocking `recv` stops short only where the queued packets run out, which is a packet end).
/// Where a `drain` ends, both are at the same place again, so later steps still compare exactly.
pub fn drain_is_coalesced(buffer: usize, expected: &str, actual: &str) -> bool {
    let (expected, actual) = (runs(&tokens(expected)), runs(&tokens(actual)));
    expected.len() == actual.len()
        && expected
            .iter()
            .zip(&actual)
            .all(|(want, got)| match (want, got) {
                (Piece::Data(want), Piece::Data(got)) => coarser(buffer, want, got),
                (want, got) => want == got,
            })
}

#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    /// The byte counts of consecutive receives.
    Data(Vec<u64>),
    /// Anything else (`H4096`, `eof`, `would-block`, an error).
    Other(&'a str),
}

fn runs<'a>(tokens: &[&'a str]) -> Vec<Piece<'a>> {
    let mut pieces = Vec::new();
    for token in tokens {
        match (token.parse::<u64>(), pieces.last_mut()) {
            (Ok(n), Some(Piece::Data(run))) => run.push(n),
            (Ok(n), _) => pieces.push(Piece::Data(vec![n])),
            (Err(_), _) => pieces.push(Piece::Other(token)),
        }
    }
    pieces
}

/// `got` covers the same bytes as `want`, and each of its receives shorter than `buffer` ends at
/// one of `want`'s ends.
fn coarser(buffer: usize, want: &[u64], got: &[u64]) -> bool {
    let ends: std::collections::BTreeSet<u64> = want
        .iter()
        .scan(0u64, |at, n| {
            *at = at.saturating_add(*n);
            Some(*at)
        })
        .collect();
    let mut at = 0u64;
    for &n in got {
        at = at.saturating_add(n);
        if n != buffer as u64 && !ends.contains(&at) {
            return false;
        }
    }
    want.iter().sum::<u64>() == at
}

/// A drain's `a*3 b` expanded to `a a a b`.
fn tokens(result: &str) -> Vec<&str> {
    result
        .split_whitespace()
        .flat_map(|token| match token.split_once('*') {
            Some((value, count)) => {
                std::iter::repeat_n(value, count.parse().unwrap_or(1).min(1 << 20))
            }
            None => std::iter::repeat_n(token, 1),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECV: Op = Op::Recv {
        len: 65536,
        flags: 0,
    };
    const DRAIN: Op = Op::Drain {
        len: 262144,
        stop_at_hole: false,
        digest: false,
    };

    #[test]
    fn a_larger_recv_is_coalescing() {
        assert!(is_packet_coalescing(&RECV, "48552", "48576"));
        assert!(is_packet_coalescing(
            &DRAIN,
            "262120*3 1000 eof",
            "262120 262144 262096 1000 eof"
        ));
    }

    #[test]
    fn a_drain_of_packets_taken_together_is_coalesced() {
        // As measured under load: the client fell behind, one receive took every packet.
        assert!(drain_is_coalesced(
            1 << 20,
            "48552 24 262120 24 262120 eof",
            "572840 eof"
        ));
        assert!(drain_is_coalesced(
            100_000,
            "48552 24 100000 100000 62120 24 eof",
            "48576 100000 100000 62144 eof"
        ));
        assert!(drain_is_coalesced(
            4096,
            "4096*3 H8192 100 eof",
            "4096*3 H8192 100 eof"
        ));
    }

    #[test]
    fn a_drain_cut_elsewhere_or_of_other_bytes_is_a_real_difference() {
        // A short receive ending where no recorded one did: other packets, not coalescing.
        assert!(!drain_is_coalesced(
            1 << 20,
            "48552 24 262120 eof",
            "262144 48552 eof"
        ));
        // Fewer bytes.
        assert!(!drain_is_coalesced(1 << 20, "48552 24 eof", "48552 eof"));
        // A hole elsewhere.
        assert!(!drain_is_coalesced(
            4096,
            "100 H4096 100 eof",
            "200 H4096 eof"
        ));
        assert!(!drain_is_coalesced(4096, "100 eof", "100 error"));
    }

    #[test]
    fn anything_else_is_a_real_difference() {
        assert!(!is_packet_coalescing(&RECV, "48576", "48552"));
        assert!(!is_packet_coalescing(&RECV, "4096", "eof"));
        assert!(!is_packet_coalescing(&RECV, "4096", "4096"));
        assert!(!is_packet_coalescing(
            &DRAIN,
            "262120*2 eof",
            "262120*2 H4096 eof"
        ));
        assert!(!is_packet_coalescing(
            &Op::RecvHole { flags: 0 },
            "100",
            "200"
        ));
    }
}
