//! §1: how each stream kind cuts data into `recv` results (measured on libvirt 9.0).

use stream_core::{RecvFlags, StreamFlags, StreamKind, Transfer};

use super::{Needs, rules};
use crate::fixture::drain;
use crate::{Check, Fixture, ensure_eq};

rules!("1" => [
    (remote_recv_returns_one_packet_at_a_time, Needs::VOLUMES.of_kind(StreamKind::Remote)),
    (remote_sparse_download_packets, Needs::SPARSE.of_kind(StreamKind::Remote)),
    (local_recv_fills_the_buffer, Needs { screenshot: true, ..Needs::ANY }.of_kind(StreamKind::Local)),
]);

fn repeat(pattern: &[i64], times: usize) -> Vec<i64> {
    pattern
        .iter()
        .copied()
        .cycle()
        .take(pattern.len() * times)
        .collect()
}

/// q1: 256 KiB daemon reads travel as 262120 + 24 byte packets; a recv never spans two.
fn remote_recv_returns_one_packet_at_a_time(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("D1M D10")?;
    let mut big = fx.download(&volume, false)?;
    let (_, trace) = drain(big.as_mut(), 1 << 20, RecvFlags::empty())?;
    let mut expected = repeat(&[262120, 24], 4);
    expected.extend([10, 0]);
    ensure_eq(trace, expected, "recv(1 MiB) results")?;
    let mut small = fx.download(&volume, false)?;
    let (bytes, trace) = drain(small.as_mut(), 4096, RecvFlags::empty())?;
    let mut chunk = vec![4096; 63];
    chunk.extend([4072, 24]);
    let mut expected = repeat(&chunk, 4);
    expected.extend([10, 0]);
    ensure_eq(trace, expected, "recv(4096) results")?;
    ensure_eq(bytes, fx.bytes(&volume)?, "downloaded bytes")
}

/// q3 case sA: holes are whole and block-aligned, data sections one packet each.
fn remote_sparse_download_packets(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("D10 H1048666 D5000 H2092052")?;
    let mut stream = fx.download(&volume, true)?;
    let (bytes, trace) = drain(stream.as_mut(), 1 << 20, RecvFlags::STOP_AT_HOLE)?;
    ensure_eq(
        trace,
        vec![4096, -1044480, 8192, -2088960, 0],
        "STOP_AT_HOLE results (measured)",
    )?;
    ensure_eq(bytes, fx.bytes(&volume)?, "downloaded bytes")
}

/// q1 (L): a local fdstream read fills the buffer; the screenshot is 33443 bytes.
fn local_recv_fills_the_buffer(fx: Fixture<'_>) -> Check {
    let screenshot = Transfer::screenshot("test");
    let mut stream = fx.open(StreamFlags::empty(), screenshot)?;
    let (bytes, trace) = drain(stream.as_mut(), 4096, RecvFlags::empty())?;
    let mut expected = vec![4096; 8];
    expected.extend([675, 0]);
    ensure_eq(trace, expected, "recv(4096) results (measured)")?;
    ensure_eq(bytes.len(), 33443, "screenshot size")
}
