//! Bad input to every stream-core function that takes a length, an offset, flags or a layout: a
//! clear error naming the rule (or a documented, panic-free answer), and no state changed.
//!
//! Covered, one line per function:
//! - `Layout::parse(notation)`: empty, blank, bad letter, bad / lowercase / doubled suffix,
//!   no digits, signs, non-ASCII, zero length, digits overflow, suffix overflow, total overflow,
//!   total past i64::MAX
//! - `Layout::new(size, extents)`: size past i64::MAX, zero-length, past-the-size, overflowing,
//!   overlapping and unsorted extents
//! - `Layout::read_at(offset, buf)`: offsets past the end, at u64::MAX, empty buffer
//! - `Layout::block_aligned(block)`: block 0, 1, u64::MAX, block larger than the size
//! - `Extent::end()`: offset + length past u64::MAX
//! - `Lifecycle::check_send(len)`: 0 (state unchanged)
//! - `Lifecycle::check_recv(flags)`: unknown bits, both kinds (state unchanged)
//! - `Lifecycle::check_send_hole(length, flags)`: i64::MIN, -1, 0; flags 1, u32::MAX
//! - `Lifecycle::check_recv_hole(flags)`: unknown bits on remote and local
//! - `Lifecycle::new(kind, flags)` / `StreamFlags`, `RecvFlags`: unknown bits kept, reported
//! - `EventSet` Display: unknown bits
//! - `Recv::sentinel` / `Sent::sentinel`: counts past i64::MAX; `from_sentinel`: -1, -4, i64::MIN
//! - `send_all` / `sparse_send_all` source handler: claims more than the buffer
//! - `recv_all` / `sparse_recv_all` sink handler: takes 0, takes more than offered
//! - `sparse_send_all` hole handler: `Hole(u64::MAX)` (past libvirt's i64 length)
//! - `sparse_recv_all`: a negative `recv_hole` length from a (broken) stream
//! - `ErrorKind::from_name`: empty and unknown names

use std::io;

use stream_core::libvirt_errors::{self, Call};
use stream_core::mock::MockStream;
use stream_core::{
    Binding, Direction, ErrorKind, EventSet, Extent, Fill, Layout, Lifecycle, Recv, RecvFlags,
    Section, Sent, StreamFlags, StreamKind, StreamState, recv_all, send_all, sparse_recv_all,
    sparse_send_all,
};

fn active(kind: StreamKind, direction: Direction, sparse: bool) -> Lifecycle {
    let mut lifecycle = Lifecycle::new(kind, StreamFlags::empty());
    lifecycle.bind(Binding { direction, sparse });
    lifecycle
}

#[test]
fn layout_parse_names_the_bad_token() {
    let cases = [
        ("", "empty; write `-`"),
        ("   \t ", "empty; write `-`"),
        (
            "Q4K",
            "token 1 `Q4K` must start with D (data), H (hole) or Z (zeros)",
        ),
        ("D4K d4K", "token 2 `d4K` must start with D"),
        ("D4k", "unknown size suffix `k`"),
        ("D4X", "unknown size suffix `X`"),
        ("D4KK", "token 1 `D4KK`: length must be decimal digits"),
        ("D", "token 1 `D`: length must be decimal digits"),
        ("HK", "token 1 `HK`: length must be decimal digits"),
        ("D-4", "length must be decimal digits"),
        ("D+4", "length must be decimal digits"),
        ("D4Ä", "length must be decimal digits"),
        ("D0", "token 1 `D0`: length must be at least 1"),
        ("D4K H0", "token 2 `H0`: length must be at least 1"),
        ("D18446744073709551616", "length is too large"),
        ("D99999999999999P", "length is too large"),
        ("D8192P", "token 1 `D8192P`: total size overflows"),
        ("D8191P H1P", "token 2 `H1P`: total size overflows"),
        ("D16383P D16383P D16383P", "total size overflows"),
    ];
    for (notation, rule) in cases {
        let error = Layout::parse(notation).unwrap_err();
        assert_eq!(error.notation, notation);
        assert!(error.to_string().contains(rule), "{notation:?}: {error}");
        let error = stream_core::Error::from(error);
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{notation:?}");
    }
    // The largest size there is still parses.
    let largest = Layout::parse("D8191P H1125899906842623").unwrap();
    assert_eq!(largest.size(), Layout::MAX_SIZE);
}

#[test]
fn layout_new_refuses_bad_sizes_and_extents() {
    let data = |offset, length| Extent {
        offset,
        length,
        fill: Fill::Data,
    };
    let cases: [(u64, Vec<Extent>, &str); 6] = [
        (u64::MAX, vec![], "size must be at most 9223372036854775807"),
        (10, vec![data(2, 0)], "extent at 2 has length 0"),
        (10, vec![data(8, 3)], "extent at 8 runs past the size"),
        (10, vec![data(u64::MAX, 2)], "runs past the size"),
        (
            10,
            vec![data(0, 4), data(3, 2)],
            "extent at 3 overlaps or is out of order",
        ),
        (
            10,
            vec![data(5, 1), data(0, 1)],
            "extent at 0 overlaps or is out of order",
        ),
    ];
    for (size, extents, rule) in cases {
        let error = Layout::new(size, extents.clone()).unwrap_err();
        assert!(
            error.to_string().contains(rule),
            "{size} {extents:?}: {error}"
        );
    }
    assert_eq!(
        Layout::new(Layout::MAX_SIZE, []).unwrap().size(),
        Layout::MAX_SIZE
    );
}

#[test]
fn extent_end_saturates_instead_of_overflowing() {
    let extent = Extent {
        offset: u64::MAX - 1,
        length: 5,
        fill: Fill::Zeros,
    };
    assert_eq!(extent.end(), u64::MAX);
}

#[test]
fn layout_reads_past_the_end_as_zeros() {
    let layout = Layout::parse("D4 H4").unwrap();
    for offset in [8, 9, 1 << 40, i64::MAX as u64, u64::MAX - 2, u64::MAX] {
        let mut buf = [0xEE; 16];
        layout.read_at(offset, &mut buf);
        assert_eq!(buf, [0; 16], "offset {offset}");
    }
    layout.read_at(u64::MAX, &mut []);
    let mut straddle = [0xEE; 6];
    layout.read_at(2, &mut straddle);
    assert_eq!(straddle, [3, 4, 0, 0, 0, 0]);
}

#[test]
fn block_alignment_takes_any_block_size() {
    let layout = Layout::parse("H10 D10 H10").unwrap();
    assert_eq!(layout.block_aligned(0), layout.block_aligned(1));
    assert_eq!(layout.block_aligned(u64::MAX).to_string(), "D30");
    assert_eq!(layout.block_aligned(4096).to_string(), "D30");
    let huge = Layout::parse("H8191P D1").unwrap();
    let whole = huge.block_aligned(u64::MAX);
    assert_eq!(whole.size(), huge.size());
    assert_eq!(
        whole.extents(),
        [Extent {
            offset: 0,
            length: huge.size(),
            fill: Fill::Data
        }]
    );
    let aligned = huge.block_aligned(1 << 62);
    assert_eq!(aligned.extents()[0].offset, 1 << 62);
    assert_eq!(aligned.extents()[0].end(), huge.size());
}

#[test]
fn lifecycle_refusals_leave_the_state_alone() {
    for kind in [StreamKind::Remote, StreamKind::Local] {
        let upload = active(kind, Direction::Upload, true);
        let before = upload.state();
        let empty = upload.check_send(0).unwrap_err();
        assert_eq!(empty.kind(), ErrorKind::InvalidArgument);
        assert!(
            empty.message().contains("send of 0 bytes refused"),
            "{empty}"
        );
        // A local fdstream checks a hole's length and flags itself, and refuses them safely; the
        // daemon's does too, but only after a remote client has sent the hole (Q4: data lost).
        for length in [i64::MIN, -1, 0] {
            let error = upload.check_send_hole(length, 0).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            let rule = match kind {
                StreamKind::Remote => format!("send_hole length must be at least 1, got {length}"),
                StreamKind::Local => {
                    "length in virFDStreamSendHole must be greater than zero".into()
                }
            };
            assert!(error.message().contains(&rule), "{error}");
        }
        for flags in [1, 0x80, u32::MAX] {
            let error = upload.check_send_hole(4096, flags).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            let rule = match kind {
                StreamKind::Remote => format!("send_hole flags must be 0, got 0x{flags:x}"),
                StreamKind::Local => {
                    format!("unsupported flags (0x{flags:x}) in function virFDStreamSendHole")
                }
            };
            assert!(error.message().contains(&rule), "{error}");
        }
        assert_eq!(upload.state(), before);
        assert!(!upload.has_callback());

        let download = active(kind, Direction::Download, true);
        let unknown = RecvFlags::from_bits_retain(0x8000_0003);
        let error = download.check_recv(unknown).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument.min_kind(kind));
        let expected = match kind {
            StreamKind::Remote => {
                libvirt_errors::unsupported_flags("remoteStreamRecvFlags", 0x8000_0002)
            }
            StreamKind::Local => libvirt_errors::not_supported(Call::RecvFlags),
        };
        assert_eq!(error, expected);
        let error = download.check_recv_hole(u32::MAX).unwrap_err();
        let expected = match kind {
            StreamKind::Remote => {
                libvirt_errors::unsupported_flags("remoteStreamRecvHole", u32::MAX)
            }
            StreamKind::Local => libvirt_errors::not_supported(Call::RecvHole),
        };
        assert_eq!(error, expected);
        assert!(
            error.message().contains("0xffffffff") || kind == StreamKind::Local,
            "{error}"
        );
        assert_eq!(
            download.state(),
            StreamState::Active(Binding {
                direction: Direction::Download,
                sparse: true
            })
        );
    }
}

/// Which kind a flags error has on each stream kind: the local fdstream lacks the call.
trait KindFor {
    fn min_kind(self, kind: StreamKind) -> ErrorKind;
}

impl KindFor for ErrorKind {
    fn min_kind(self, kind: StreamKind) -> ErrorKind {
        match kind {
            StreamKind::Remote => self,
            StreamKind::Local => ErrorKind::NotSupported,
        }
    }
}

#[test]
fn unknown_flag_bits_are_kept_and_shown() {
    let flags = StreamFlags::from_bits_retain(0xF0 | 1);
    let lifecycle = Lifecycle::new(StreamKind::Remote, flags);
    assert_eq!(lifecycle.flags().bits(), 0xF1, "kept, not dropped");
    assert_eq!(flags.unknown_bits(), 0xF0);
    assert!(lifecycle.nonblock());
    assert_eq!(RecvFlags::from_bits_retain(u32::MAX).unknown_bits(), !1);
    // Unknown event bits are not silently shown as a smaller set.
    let events = EventSet::READABLE | EventSet::from_bits_retain(0x100);
    let shown = events.to_string();
    assert!(shown.contains("READABLE"), "{shown}");
    assert_eq!(shown, "READABLE | 0x100", "unknown event bits must show");
    assert_eq!(EventSet::from_bits_retain(0x100).to_string(), "0x100");
    let parsed: EventSet = bitflags::parser::from_str("READABLE | 0x100").unwrap();
    assert_eq!(parsed, events, "the shown form parses back");
}

#[test]
fn sentinels_never_wrap() {
    assert_eq!(Recv::Data(usize::MAX).sentinel(), i64::MAX);
    assert_eq!(Sent::Bytes(usize::MAX).sentinel(), i64::MAX);
    for value in [-1, -4, -5, i64::MIN] {
        assert_eq!(Recv::from_sentinel(value), None, "{value}");
    }
    for value in [-1, -3, i64::MIN] {
        assert_eq!(Sent::from_sentinel(value), None, "{value}");
    }
    assert_eq!(ErrorKind::from_name(""), None);
    assert_eq!(ErrorKind::from_name("Closed"), None);
}

fn blocking_mock() -> MockStream {
    let mut stream = MockStream::new();
    stream.expect_flags().return_const(StreamFlags::empty());
    stream
}

#[test]
fn source_claiming_more_than_the_buffer_is_a_handler_error() {
    let mut stream = blocking_mock();
    stream.expect_abort().times(1).returning(|| Ok(()));
    let error = send_all(&mut stream, |buf| Ok(buf.len() + 1)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Handler);
    assert!(
        error
            .message()
            .contains("send handler reported 262121 bytes for a buffer of 262120"),
        "{error}"
    );

    let mut stream = blocking_mock();
    stream.expect_abort().times(1).returning(|| Ok(()));
    let error = sparse_send_all(
        &mut stream,
        |_| Ok(usize::MAX),
        || Ok(Section::Data(10)),
        |_| Ok(()),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Handler);
    assert!(error.message().contains("for a buffer of 10"), "{error}");
}

#[test]
fn sink_taking_too_much_is_a_handler_error() {
    // (Taking nothing is not an error: the same bytes are offered again, as by libvirt.)
    for (take, rule) in [
        (11usize, "recv handler took 11 bytes of 10 offered"),
        (usize::MAX, "took 18446744073709551615 bytes of 10 offered"),
    ] {
        let mut stream = blocking_mock();
        stream
            .expect_recv()
            .times(1)
            .returning(|_, _| Ok(Recv::Data(10)));
        stream.expect_abort().times(1).returning(|| Ok(()));
        let error = recv_all(&mut stream, |_| Ok(take)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Handler);
        assert!(error.message().contains(rule), "{take}: {error}");
    }
}

#[test]
fn hole_past_libvirts_length_is_refused_before_sending() {
    let mut stream = blocking_mock();
    // No send_hole expectation: a call would fail the test.
    stream.expect_abort().times(1).returning(|| Ok(()));
    let error = sparse_send_all(
        &mut stream,
        |_| Ok(0),
        || Ok(Section::Hole(u64::MAX)),
        |_| Ok(()),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(
        error
            .message()
            .contains("hole of 18446744073709551615 bytes exceeds libvirt's i64 length"),
        "{error}"
    );
}

#[test]
fn negative_hole_from_a_broken_stream_is_not_a_huge_hole() {
    let mut stream = blocking_mock();
    let mut calls = 0;
    stream.expect_recv().times(2).returning(move |_, _| {
        calls += 1;
        Ok(if calls == 1 { Recv::Hole } else { Recv::Eof })
    });
    stream.expect_recv_hole().times(1).returning(|_| Ok(-5));
    let mut holes = Vec::new();
    sparse_recv_all(
        &mut stream,
        |data| Ok(data.len()),
        |length| {
            holes.push(length);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(holes, [0]);
}

#[test]
fn handler_io_errors_name_the_handler() {
    let mut stream = blocking_mock();
    stream.expect_abort().times(1).returning(|| Ok(()));
    let error = sparse_send_all(
        &mut stream,
        |_| Ok(0),
        || Err(io::Error::other("seek failed")),
        |_| Ok(()),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Handler);
    assert_eq!(error.message(), "send holeHandler failed: seek failed");
}
