//! CONTRACT.md §6: the `*_all` helpers' call order and handler contracts, checked on mocks
//! (an unexpected call, such as `finish`, fails the test).

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use mockall::Sequence;
use stream_core::mock::MockStream;
use stream_core::{
    ALL_BUFFER_SIZE, ErrorKind, Recv, RecvFlags, Section, Sent, StreamFlags, recv_all, send_all,
    sparse_recv_all, sparse_send_all,
};

fn blocking_mock() -> MockStream {
    let mut stream = MockStream::new();
    stream.expect_flags().return_const(StreamFlags::empty());
    stream
}

#[test]
fn sparse_send_all_sends_the_hole_then_calls_skip() {
    let mut stream = blocking_mock();
    let mut order = Sequence::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    stream
        .expect_send_hole()
        .withf(|&len, &flags| len == 8192 && flags == 0)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(()));
    stream
        .expect_send()
        .withf(|data| data == [7u8; 10])
        .times(1)
        .in_sequence(&mut order)
        .returning(|data| Ok(Sent::Bytes(data.len())));
    let sections = RefCell::new(vec![
        Section::Hole(0),
        Section::Data(10),
        Section::Hole(8192),
    ]);
    let skip_log = log.clone();
    let source_log = log.clone();
    sparse_send_all(
        &mut stream,
        |buf| {
            source_log
                .borrow_mut()
                .push(format!("source {}", buf.len()));
            buf.fill(7);
            Ok(buf.len())
        },
        || {
            Ok(sections
                .borrow_mut()
                .pop()
                .expect("asked for a section after the end"))
        },
        |len| {
            skip_log.borrow_mut().push(format!("skip {len}"));
            Ok(())
        },
    )
    .unwrap();
    // After the 10 data bytes the helper asks again (Hole(0)) and offers an empty buffer: end.
    assert_eq!(*log.borrow(), ["skip 8192", "source 10", "source 0"]);
}

#[test]
fn send_all_re_sends_what_send_did_not_take() {
    let mut stream = blocking_mock();
    let mut order = Sequence::new();
    stream
        .expect_send()
        .withf(|data| data.len() == 100)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(Sent::Bytes(60)));
    stream
        .expect_send()
        .withf(|data| data.len() == 40)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(Sent::Bytes(40)));
    let mut calls = 0;
    send_all(&mut stream, |buf| {
        calls += 1;
        assert_eq!(
            buf.len(),
            ALL_BUFFER_SIZE,
            "libvirt offers VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX"
        );
        Ok(if calls == 1 { 100 } else { 0 })
    })
    .unwrap();
}

#[test]
fn recv_all_re_offers_what_the_sink_did_not_take() {
    let mut stream = blocking_mock();
    let mut order = Sequence::new();
    stream
        .expect_recv()
        .withf(|buf, flags| buf.len() == ALL_BUFFER_SIZE && flags.is_empty())
        .times(1)
        .in_sequence(&mut order)
        .returning(|buf, _| {
            buf[..5].copy_from_slice(b"hello");
            Ok(Recv::Data(5))
        });
    stream
        .expect_recv()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(Recv::Eof));
    let mut offers = Vec::new();
    recv_all(&mut stream, |data| {
        offers.push(data.to_vec());
        Ok(2.min(data.len()))
    })
    .unwrap();
    assert_eq!(offers, [b"hello".to_vec(), b"llo".to_vec(), b"o".to_vec()]);
}

#[test]
fn sparse_recv_all_passes_holes_to_the_hole_handler() {
    let mut stream = blocking_mock();
    let mut order = Sequence::new();
    stream
        .expect_recv()
        .withf(|_, flags| *flags == RecvFlags::STOP_AT_HOLE)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(Recv::Hole));
    stream
        .expect_recv_hole()
        .withf(|&flags| flags == 0)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(4096));
    stream
        .expect_recv()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(Recv::Eof));
    let mut holes = Vec::new();
    sparse_recv_all(
        &mut stream,
        |_| panic!("no data expected"),
        |len| {
            holes.push(len);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(holes, [4096]);
}

#[test]
fn helpers_refuse_nonblock_and_abort() {
    let mut stream = MockStream::new();
    stream.expect_flags().return_const(StreamFlags::NONBLOCK);
    stream.expect_abort().times(4).returning(|| Ok(()));
    let source_error = send_all(&mut stream, |_| Ok(0)).unwrap_err();
    assert!(
        source_error
            .message()
            .contains("data sources cannot be used for non-blocking streams")
    );
    let sink_error = recv_all(&mut stream, |_| Ok(0)).unwrap_err();
    assert!(
        sink_error
            .message()
            .contains("data sinks cannot be used for non-blocking streams")
    );
    assert!(sparse_recv_all(&mut stream, |_| Ok(0), |_| Ok(())).is_err());
    assert!(sparse_send_all(&mut stream, |_| Ok(0), || Ok(Section::Hole(0)), |_| Ok(())).is_err());
}

#[test]
fn handler_failure_aborts_and_names_the_handler() {
    let mut stream = blocking_mock();
    stream.expect_abort().times(1).returning(|| Ok(()));
    let error = send_all(&mut stream, |_| Err(io::Error::other("disk on fire"))).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Handler);
    assert_eq!(error.message(), "send handler failed: disk on fire");
    let source = std::error::Error::source(&error).expect("the handler's own error is kept");
    assert_eq!(source.to_string(), "disk on fire");
}

#[test]
fn skip_handler_failure_is_named() {
    let mut stream = blocking_mock();
    stream.expect_send_hole().returning(|_, _| Ok(()));
    stream.expect_abort().times(1).returning(|| Ok(()));
    let error = sparse_send_all(
        &mut stream,
        |_| Ok(0),
        || Ok(Section::Hole(5)),
        |_| Err(io::Error::other("seek failed")),
    )
    .unwrap_err();
    assert_eq!(error.message(), "send skipHandler failed: seek failed");
}

/// virStreamRecvAll offers what a sink did not take again, also when it took nothing (issue 11
/// item 5; the C helper itself is run the same way in stream-libvirt's tests/it/all_helpers.rs).
#[test]
fn a_sink_that_takes_nothing_is_offered_the_same_bytes_again() {
    let mut stream = blocking_mock();
    let mut order = Sequence::new();
    stream
        .expect_recv()
        .times(1)
        .in_sequence(&mut order)
        .returning(|buf, _| {
            buf[..3].copy_from_slice(b"abc");
            Ok(Recv::Data(3))
        });
    stream
        .expect_recv()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(Recv::Eof));
    let mut offers = Vec::new();
    recv_all(&mut stream, |data| {
        offers.push(data.to_vec());
        Ok(if offers.len() == 1 { 0 } else { data.len() })
    })
    .unwrap();
    assert_eq!(offers, [b"abc".to_vec(), b"abc".to_vec()]);
}

#[test]
fn sparse_recv_all_offers_again_what_the_sink_did_not_take() {
    let mut stream = blocking_mock();
    let mut order = Sequence::new();
    stream
        .expect_recv()
        .times(1)
        .in_sequence(&mut order)
        .returning(|buf, _| {
            buf[..2].copy_from_slice(b"xy");
            Ok(Recv::Data(2))
        });
    stream
        .expect_recv()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(Recv::Eof));
    let mut offers = Vec::new();
    sparse_recv_all(
        &mut stream,
        |data| {
            offers.push(data.to_vec());
            Ok(if offers.len() < 3 { 0 } else { 1 })
        },
        |_| Ok(()),
    )
    .unwrap();
    assert_eq!(
        offers,
        [
            b"xy".to_vec(),
            b"xy".to_vec(),
            b"xy".to_vec(),
            b"y".to_vec()
        ]
    );
}

#[test]
fn stream_errors_abort_and_pass_through() {
    let mut stream = blocking_mock();
    let closed = stream_core::libvirt_errors::stream_closed();
    let returned = closed.clone();
    stream
        .expect_recv()
        .returning(move |_, _| Err(returned.clone()));
    stream.expect_abort().times(1).returning(|| Ok(()));
    assert_eq!(
        recv_all(&mut stream, |data| Ok(data.len())).unwrap_err(),
        closed
    );
}
