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
    if !matches!(op, Op::Recv { .. } | Op::Drain { .. }) {
        return false;
    }
    let (expected, actual) = (tokens(expected), tokens(actual));
    let Some((want, got)) = expected.iter().zip(&actual).find(|(want, got)| want != got) else {
        return false;
    };
    matches!((want.parse::<u64>(), got.parse::<u64>()), (Ok(want), Ok(got)) if got > want)
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
