//! Framing: encode/decode round trips, refusals of bad lengths, and no panic on any bytes.

use proptest::prelude::*;
use stream_rpc::{
    Frame, FrameError, FrameReader, HEADER_SIZE, Header, LEN_SIZE, MESSAGE_MAX, MessageType,
    PAYLOAD_MAX, Status, decode_frame,
};

fn header() -> impl Strategy<Value = Header> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        0u32..8,
        any::<u32>(),
        0u32..4,
    )
        .prop_map(|(prog, vers, proc_, kind, serial, status)| Header {
            prog,
            vers,
            proc_,
            kind: MessageType(kind),
            serial,
            status: Status(status),
        })
}

fn frame() -> impl Strategy<Value = Frame> {
    (header(), proptest::collection::vec(any::<u8>(), 0..2048))
        .prop_map(|(header, payload)| Frame { header, payload })
}

fn call(payload: Vec<u8>) -> Frame {
    Frame::remote_call(66, 0, payload)
}

proptest! {
    #[test]
    fn encode_then_decode_gives_the_frame_back(frames in proptest::collection::vec(frame(), 1..4)) {
        let mut wire = Vec::new();
        for f in &frames {
            wire.extend(f.encode().unwrap());
        }
        let mut rest = &wire[..];
        for f in &frames {
            let (got, used) = decode_frame(rest).unwrap();
            prop_assert_eq!(&got, f);
            prop_assert_eq!(used as u64, f.wire_len());
            rest = &rest[used..];
        }
        prop_assert!(rest.is_empty());
        let mut reader = FrameReader::new(&wire[..]);
        for f in &frames {
            prop_assert_eq!(reader.next_frame().unwrap(), Some(f.clone()));
        }
        prop_assert!(reader.next_frame().unwrap().is_none());
    }

    #[test]
    fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok((frame, used)) = decode_frame(&bytes) {
            prop_assert_eq!(frame.encode().unwrap(), bytes[..used].to_vec());
        }
        let mut reader = FrameReader::new(&bytes[..]);
        while let Ok(Some(_)) = reader.next_frame() {}
    }

    #[test]
    fn plausible_lengths_with_any_body_never_panic(len in 0u32..400, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend(body);
        let decoded = decode_frame(&bytes);
        let fits = len as usize >= LEN_SIZE + HEADER_SIZE && len as usize <= bytes.len();
        prop_assert_eq!(decoded.is_ok(), fits);
    }

    #[test]
    fn every_cut_of_a_frame_is_truncated(f in frame(), cut in any::<prop::sample::Index>()) {
        let wire = f.encode().unwrap();
        let cut = cut.index(wire.len());
        let truncated = matches!(decode_frame(&wire[..cut]), Err(FrameError::Truncated { .. }));
        prop_assert!(truncated);
        let read = FrameReader::new(&wire[..cut]).next_frame();
        let expected_ok_none = cut == 0;
        prop_assert_eq!(matches!(read, Ok(None)), expected_ok_none);
        prop_assert_eq!(matches!(read, Err(FrameError::Truncated { .. })), !expected_ok_none);
    }
}

#[test]
fn a_length_below_the_header_is_too_small() {
    let err = decode_frame(&27u32.to_be_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "packet 27 bytes too small, want at least 28"
    );
}

#[test]
fn a_length_over_32_mib_is_refused_before_reading_the_body() {
    let bytes = (MESSAGE_MAX + 1).to_be_bytes();
    let err = FrameReader::new(&bytes[..]).next_frame().unwrap_err();
    assert_eq!(
        err.to_string(),
        "packet 33554433 bytes too large, want at most 33554432"
    );
    assert!(matches!(
        decode_frame(&u32::MAX.to_be_bytes()),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn the_largest_payload_encodes_and_one_more_byte_does_not() {
    let biggest = call(vec![0; PAYLOAD_MAX as usize]);
    let wire = biggest.encode().unwrap();
    assert_eq!(wire.len(), MESSAGE_MAX as usize);
    assert_eq!(decode_frame(&wire).unwrap().0, biggest);
    let err = call(vec![0; PAYLOAD_MAX as usize + 1])
        .encode()
        .unwrap_err();
    assert!(matches!(err, FrameError::TooLarge { len } if len == u64::from(MESSAGE_MAX) + 1));
}

#[test]
fn the_header_is_six_big_endian_words_after_the_length() {
    let wire = call(vec![0xab]).encode().unwrap();
    let expected: [u8; 29] = [
        0, 0, 0, 29, 0x20, 0x00, 0x80, 0x86, 0, 0, 0, 1, 0, 0, 0, 66, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0xab,
    ];
    assert_eq!(wire, expected);
}

#[test]
fn a_stream_ending_mid_frame_is_truncated() {
    let err = FrameReader::new(&[0u8, 0][..]).next_frame().unwrap_err();
    assert_eq!(err.to_string(), "truncated message: 2 of 4 bytes");
}
