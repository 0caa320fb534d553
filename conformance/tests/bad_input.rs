//! Bad input to the scenario format (`stream_conformance::scenario::parse`): every malformed
//! length, offset, flags value, event set, layout or word is refused with its line and the rule,
//! never ignored, never a panic, and a refused file yields no scenario at all.
//!
//! Covered, one line per function:
//! - `parse(text)` setup: `kind` (missing, unknown), `volume` (bad / overflowing notation),
//!   `open` (unknown kind, unknown word, offset / length not a number, negative, past u64)
//! - `parse(text)` operations: unknown operation, missing argument, lengths not numbers, negative
//!   or past their type, buffer sizes past the runner's limit, `byte=` past 255, bad `flags=`,
//!   unknown or misspelt words, extra positional words, bad event sets, results without an
//!   operation, two results
//! - `Op` Display: unknown event bits round-trip

use stream_conformance::scenario::{Op, parse};
use stream_core::EventSet;

fn refused(text: &str, line: usize, rule: &str) {
    let error = parse(text).unwrap_err();
    assert_eq!(error.line, line, "{text:?}: {error}");
    assert!(
        error.rule.contains(rule),
        "{text:?}: {error} should name {rule:?}"
    );
}

const HEAD: &str = "kind remote\nvolume D4K\nopen upload sparse\n";

#[test]
fn bad_setup_lines_name_the_rule() {
    refused("open download\n", 1, "no `kind remote|local` line");
    refused("kind remote\n", 1, "no `open …` or `new` line");
    refused("kind sideways\nnew\n", 1, "kind is `remote` or `local`");
    refused(
        "kind remote\nvolume D4K Q1\nnew\n",
        2,
        "token 2 `Q1` must start with D",
    );
    refused("kind remote\nvolume\nnew\n", 2, "empty; write `-`");
    refused(
        "kind remote\nvolume D8192P\nnew\n",
        2,
        "total size overflows",
    );
    refused(
        "kind remote\nopen sideways\n",
        2,
        "open upload|download|screenshot",
    );
    refused(
        "kind remote\nopen upload sprase\n",
        2,
        "unknown word `sprase` in open",
    );
    for (word, what) in [
        ("offset=-1", "offset must be a number, got `-1`"),
        ("offset=", "offset must be a number, got ``"),
        ("offset=18446744073709551616", "offset must be a number"),
        ("length=1K", "length must be a number, got `1K`"),
    ] {
        refused(&format!("kind remote\nopen download {word}\n"), 2, what);
    }
}

#[test]
fn bad_operations_name_the_rule() {
    let cases = [
        ("frobnicate", "unknown operation `frobnicate`"),
        ("send", "send needs a length"),
        ("send -1", "send length must be a number, got `-1`"),
        ("send 99999999999999999999", "send length must be a number"),
        ("send 67108865", "send length must be at most 67108864"),
        (
            "recv 18446744073709551615",
            "buffer size must be at most 67108864",
        ),
        (
            "drain 67108865 stop-at-hole",
            "buffer size must be at most 67108864",
        ),
        (
            "send 4 byte=256",
            "byte (0 to 255) must be a number, got `256`",
        ),
        ("send-hole", "send-hole needs a length"),
        ("send-hole 9223372036854775808", "length must be a number"),
        ("send-hole 4 flags=0xZZ", "bad flags `0xZZ`"),
        ("send-hole 4 flags=4294967296", "bad flags `4294967296`"),
        ("recv 10 stop-at-hol", "unknown word `stop-at-hol` for recv"),
        ("recv 10 20", "unknown word `20` for recv"),
        (
            "send 10 flags=1",
            "unknown word `flags=1` for send (it takes byte=)",
        ),
        ("drain 10 flags=1", "unknown word `flags=1` for drain"),
        (
            "finish now",
            "unknown word `now` for finish (it takes nothing more)",
        ),
        (
            "recv-hole stop-at-hole",
            "unknown word `stop-at-hole` for recv-hole",
        ),
        ("send 4 flagsy=1", "unknown word `flagsy=1`"),
        ("add-callback", "events missing"),
        ("add-callback READABLE|BOGUS", "bad events `READABLE|BOGUS`"),
        (
            "update-callback READABLE HANGUP",
            "unknown word `HANGUP` for update-callback",
        ),
    ];
    for (op, rule) in cases {
        refused(&format!("{HEAD}{op}\n"), 4, rule);
    }
    refused(
        &format!("{HEAD}=> ok\n"),
        4,
        "a result before any operation",
    );
    refused(
        &format!("{HEAD}finish\n=> ok\n=> ok\n"),
        6,
        "two results for one operation",
    );
}

#[test]
fn edge_values_that_are_valid_still_parse() {
    let text = format!(
        "{HEAD}send-hole -9223372036854775808\nsend-hole 0 flags=0xffffffff\nsend 0 byte=255\n\
         recv 67108864 stop-at-hole flags=2\nadd-callback READABLE|0x100\n"
    );
    let scenario = parse(&text).unwrap();
    let ops: Vec<Op> = scenario.steps.iter().map(|step| step.op.clone()).collect();
    assert_eq!(
        ops,
        [
            Op::SendHole {
                len: i64::MIN,
                flags: 0
            },
            Op::SendHole {
                len: 0,
                flags: u32::MAX
            },
            Op::Send { len: 0, byte: 255 },
            Op::Recv {
                len: 64 << 20,
                flags: 3
            },
            Op::AddCallback(EventSet::READABLE | EventSet::from_bits_retain(0x100)),
        ]
    );
    // What is printed parses back to the same operations (on other lines: blank lines added).
    let printed = parse(&scenario.to_string()).unwrap();
    let again: Vec<&Op> = printed.steps.iter().map(|step| &step.op).collect();
    assert_eq!(again, ops.iter().collect::<Vec<_>>());
    for op in ops {
        let again = parse(&format!("{HEAD}{op}\n")).unwrap();
        assert_eq!(again.steps[0].op, op, "{op}");
    }
}
