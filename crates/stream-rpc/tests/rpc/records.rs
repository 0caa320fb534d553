//! The record format: every record prints and parses back, and bad lines are refused.

use proptest::prelude::*;
use stream_rpc::record::{DATA_MAX, Direction, Record, keeps_data, parse_recording};
use stream_rpc::{Frame, Header, KEEPALIVE_PROGRAM, MessageType, REMOTE_PROGRAM, Status};

fn frame() -> impl Strategy<Value = Frame> {
    let prog = prop_oneof![Just(REMOTE_PROGRAM), Just(KEEPALIVE_PROGRAM), any::<u32>()];
    let payload = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), DATA_MAX..DATA_MAX + 2),
    ];
    (prog, any::<u32>(), 0u32..10, any::<u32>(), 0u32..5, payload).prop_map(
        |(prog, proc_, kind, serial, status, payload)| Frame {
            header: Header {
                prog,
                vers: 1,
                proc_,
                kind: MessageType(kind),
                serial,
                status: Status(status),
            },
            payload,
        },
    )
}

proptest! {
    #[test]
    fn a_record_prints_and_parses_back(conn in 1u32..9, to_server in any::<bool>(), f in frame()) {
        let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
        let record = Record::of_frame(conn, dir, &f);
        prop_assert_eq!(record.data.is_some(), keeps_data(&f.header, f.payload.len()));
        let line = record.to_string();
        prop_assert_eq!(Record::parse(&line), Ok(record));
    }

    #[test]
    fn any_line_parses_or_fails_without_panicking(line in "\\PC{0,80}") {
        let _ = Record::parse(&line);
    }
}

#[test]
fn stream_data_is_recorded_by_length_only() {
    let line = "1 s>c prog=REMOTE vers=1 proc=209 type=STREAM serial=10 status=CONTINUE len=262120";
    let record = Record::parse(line).unwrap();
    assert_eq!((record.len, record.data), (262_120, None));
}

#[test]
fn bad_lines_name_their_line_and_field() {
    let text =
        "# comment\n\n1 c>s prog=REMOTE vers=1 proc=x type=CALL serial=0 status=OK len=0 data=\n";
    let err = parse_recording(text).unwrap_err();
    assert_eq!(err.to_string(), "line 3: \"x\" is not a number");
    let odd = "1 c>s prog=REMOTE vers=1 proc=1 type=CALL serial=0 status=OK len=1 data=abc";
    assert_eq!(
        Record::parse(odd).unwrap_err(),
        "data \"abc\" is not hex bytes"
    );
    assert!(Record::parse("1 x>y").unwrap_err().contains("direction"));
}
