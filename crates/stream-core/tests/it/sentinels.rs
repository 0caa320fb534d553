//! CONTRACT.md §2: each outcome maps to libvirt's integer through one function.

use stream_core::{Error, ErrorKind, Recv, Sent, sentinel_of};

#[test]
fn sentinel_values_are_libvirts() {
    assert_eq!(Recv::Data(7).sentinel(), 7);
    assert_eq!(Recv::Data(0).sentinel(), 0);
    assert_eq!(Recv::Eof.sentinel(), 0);
    assert_eq!(Recv::WouldBlock.sentinel(), -2);
    assert_eq!(Recv::Hole.sentinel(), -3);
    assert_eq!(Sent::Bytes(4096).sentinel(), 4096);
    assert_eq!(Sent::WouldBlock.sentinel(), -2);
}

#[test]
fn errors_map_to_minus_one() {
    let failed: stream_core::Result<Recv> = Err(Error::new(ErrorKind::System, "x"));
    assert_eq!(sentinel_of(&failed, Recv::sentinel), -1);
    assert_eq!(sentinel_of(&Ok(Recv::Hole), Recv::sentinel), -3);
}

#[test]
fn sentinels_parse_back() {
    for outcome in [Recv::Data(1), Recv::Eof, Recv::WouldBlock, Recv::Hole] {
        assert_eq!(Recv::from_sentinel(outcome.sentinel()), Some(outcome));
    }
    for outcome in [Sent::Bytes(9), Sent::WouldBlock] {
        assert_eq!(Sent::from_sentinel(outcome.sentinel()), Some(outcome));
    }
    assert_eq!(Recv::from_sentinel(-1), None);
    assert_eq!(Sent::from_sentinel(-1), None);
}
