//! §5: sending and receiving holes.

use stream_core::libvirt_errors;
use stream_core::{Layout, Recv, RecvFlags, StreamFlags, Transfer};

use super::{Needs, rules};
use crate::fixture::drain;
use crate::{Check, Fixture, ensure, ensure_eq};

rules!("5" => [
    (send_hole_needs_a_sparse_upload, Needs::VOLUMES),
    (stop_at_hole_then_recv_hole_gives_its_length, Needs::SPARSE),
    (recv_hole_with_no_hole_pending_returns_zero, Needs::SPARSE),
    (recv_hole_on_non_sparse_stream_fails, Needs::VOLUMES),
    (stop_at_hole_on_non_sparse_stream_is_plain_recv, Needs::VOLUMES),
    (plain_recv_reads_holes_as_zeros, Needs::SPARSE),
    (unknown_recv_flags_are_refused, Needs::ANY),
    (holes_follow_blocks_and_merge, Needs::SPARSE),
    (sparse_round_trip_keeps_bytes_and_holes, Needs::SPARSE),
    (trailing_hole_sets_the_size, Needs::SPARSE),
    (send_past_the_upload_range_is_refused_and_loses_nothing, Needs::VOLUMES),
]);

fn send_hole_needs_a_sparse_upload(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("H4K")?;
    let mut stream = fx.upload(&volume, false)?;
    ensure_eq(
        stream.send_hole(4096, 0).err(),
        Some(libvirt_errors::skipping_not_supported()),
        "send_hole",
    )?;
    ensure_eq(
        stream.send(&[1; 4]).map(|sent| sent.sentinel()),
        Ok(4),
        "send after",
    )
}

fn stop_at_hole_then_recv_hole_gives_its_length(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("H1M D4K")?;
    let mut stream = fx.download(&volume, true)?;
    let mut buf = vec![0; 65536];
    ensure_eq(
        stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE),
        Ok(Recv::Hole),
        "first recv",
    )?;
    ensure_eq(stream.recv_hole(0), Ok(1 << 20), "recv_hole")?;
    ensure_eq(
        stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE),
        Ok(Recv::Data(4096)),
        "then data",
    )?;
    ensure_eq(
        stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE),
        Ok(Recv::Eof),
        "then end",
    )
}

/// Measured: 0 at the start (even before a leading hole), after data, and after a consumed hole.
fn recv_hole_with_no_hole_pending_returns_zero(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("H4K D4K H4K D4K")?;
    let mut stream = fx.download(&volume, true)?;
    let mut buf = vec![0; 65536];
    ensure_eq(stream.recv_hole(0), Ok(0), "recv_hole at the start")?;
    ensure_eq(
        stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE),
        Ok(Recv::Hole),
        "recv",
    )?;
    ensure_eq(stream.recv_hole(0), Ok(4096), "recv_hole")?;
    ensure_eq(stream.recv_hole(0), Ok(0), "second recv_hole")?;
    ensure_eq(
        stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE),
        Ok(Recv::Data(4096)),
        "data",
    )?;
    ensure_eq(stream.recv_hole(0), Ok(0), "recv_hole after data")
}

fn recv_hole_on_non_sparse_stream_fails(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("H4K D4K")?;
    let mut stream = fx.download(&volume, false)?;
    ensure_eq(
        stream.recv_hole(0).err(),
        Some(libvirt_errors::holes_not_supported()),
        "recv_hole",
    )?;
    ensure_eq(stream.abort(), Ok(()), "abort after")
}

/// Measured (q3): no error; holes come as zeros in ordinary packets.
fn stop_at_hole_on_non_sparse_stream_is_plain_recv(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("D10 H12278")?;
    let mut stream = fx.download(&volume, false)?;
    let (bytes, trace) = drain(stream.as_mut(), 1 << 20, RecvFlags::STOP_AT_HOLE)?;
    ensure_eq(trace, vec![12288, 0], "results")?;
    ensure_eq(bytes, fx.bytes(&volume)?, "bytes")
}

/// Measured (q3 sA, recv(262120)): zeros in chunks of the buffer; a recv may end a hole and
/// start data, never the other way round.
fn plain_recv_reads_holes_as_zeros(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("D10 H1048666 D5000 H2092052")?;
    let mut stream = fx.download(&volume, true)?;
    let (bytes, trace) = drain(stream.as_mut(), 262120, RecvFlags::empty())?;
    let mut expected = vec![4096];
    expected.extend([262120; 4]);
    expected.push(4192);
    expected.extend([262120; 7]);
    expected.extend([254120, 0]);
    ensure_eq(trace, expected, "results (measured)")?;
    ensure_eq(bytes, fx.bytes(&volume)?, "bytes")
}

fn unknown_recv_flags_are_refused(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    let error = stream
        .recv(&mut [0; 8], RecvFlags::from_bits_retain(0x2))
        .err();
    let expected = match fx.backend.capabilities().kind {
        stream_core::StreamKind::Remote => {
            libvirt_errors::unsupported_flags("remoteStreamRecvFlags", 2)
        }
        stream_core::StreamKind::Local => {
            libvirt_errors::not_supported(libvirt_errors::Call::RecvFlags)
        }
    };
    ensure_eq(error, Some(expected), "recv with flag 0x2")?;
    ensure_eq(
        stream
            .recv(&mut [0; 8], RecvFlags::empty())
            .map(|r| r.sentinel()),
        Ok(8),
        "recv after",
    )
}

/// Measured (q3 sC, sI): sub-block gaps are data, 4 KiB holes between data are holes.
fn holes_follow_blocks_and_merge(fx: Fixture<'_>) -> Check {
    let gaps = fx.volume("D100 H2900 D100 H5092 D10 H4086")?;
    let mut stream = fx.download(&gaps, true)?;
    let (_, trace) = drain(stream.as_mut(), 1 << 20, RecvFlags::STOP_AT_HOLE)?;
    ensure_eq(trace, vec![4096, -4096, 4096, 0], "sC")?;
    let blocks = fx.volume("D4K H4K D4K H4K D1 H3129343")?;
    let mut stream = fx.download(&blocks, true)?;
    let (_, trace) = drain(stream.as_mut(), 4 << 20, RecvFlags::STOP_AT_HOLE)?;
    ensure_eq(
        trace,
        vec![4096, -4096, 4096, -4096, 4096, -3125248, 0],
        "sI",
    )
}

fn sparse_round_trip_keeps_bytes_and_holes(fx: Fixture<'_>) -> Check {
    let source = fx.volume("D4K H64K D8K H1M D300K H4K")?;
    let target = fx.volume("-")?;
    let mut download = fx.download(&source, true)?;
    let mut upload = fx.upload(&target, true)?;
    let mut buf = vec![0; 65536];
    loop {
        match download
            .recv(&mut buf, RecvFlags::STOP_AT_HOLE)
            .map_err(|error| error.to_string())?
        {
            Recv::Data(n) => {
                upload.send(&buf[..n]).map_err(|error| error.to_string())?;
            }
            Recv::Hole => {
                let length = download.recv_hole(0).map_err(|error| error.to_string())?;
                upload
                    .send_hole(length, 0)
                    .map_err(|error| error.to_string())?;
            }
            Recv::Eof => break,
            Recv::WouldBlock => return Err("would block on a blocking stream".into()),
        }
    }
    download.finish().map_err(|error| error.to_string())?;
    upload.finish().map_err(|error| error.to_string())?;
    ensure_eq(fx.bytes(&target)?, fx.bytes(&source)?, "bytes")?;
    let layout = |volume| {
        fx.backend
            .volume_layout(volume)
            .map(|layout: Layout| layout.to_string())
    };
    ensure_eq(layout(&target), layout(&source), "hole map")
}

/// Measured (q4 u_trail_empty): a trailing hole extends the file to its end.
fn trailing_hole_sets_the_size(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("-")?;
    let mut stream = fx.upload(&volume, true)?;
    stream.send(&[5; 10]).map_err(|error| error.to_string())?;
    stream
        .send_hole(1 << 20, 0)
        .map_err(|error| error.to_string())?;
    ensure_eq(stream.finish(), Ok(()), "finish")?;
    let layout = fx
        .backend
        .volume_layout(&volume)
        .map_err(|error| error.to_string())?;
    // Measured: size 1048586, data 0..4096, hole 4096..1048586.
    ensure_eq(layout.to_string(), "D4K H1044490".to_string(), "hole map")
}

/// A guard (CONTRACT §8): raw libvirt accepts the send and fails the upload later, and now and
/// then also closes the whole connection (measured, Q14). Refused here, the stream stays usable.
fn send_past_the_upload_range_is_refused_and_loses_nothing(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("H8K")?;
    let transfer = Transfer::Upload {
        volume: volume.clone(),
        offset: 0,
        length: 100,
        sparse: false,
    };
    let mut stream = fx.open(StreamFlags::empty(), transfer)?;
    let mut send = |len: usize| stream.send(&vec![3; len]).map(|s| s.sentinel());
    ensure_eq(send(60), Ok(60), "first send")?;
    ensure_eq(
        send(60),
        Err(libvirt_errors::guard::send_past_range(60, 100, 40)),
        "send crossing the range's end",
    )?;
    ensure_eq(send(40), Ok(40), "send filling the range")?;
    ensure_eq(
        send(1),
        Err(libvirt_errors::guard::send_past_range(1, 100, 0)),
        "send past a full range",
    )?;
    ensure_eq(stream.finish(), Ok(()), "finish")?;
    let bytes = fx.bytes(&volume)?;
    ensure_eq(bytes.len(), 8192, "volume size")?;
    ensure(bytes[..100].iter().all(|&byte| byte == 3), || {
        format!(
            "range holds other bytes than the 100 sent: {:?}",
            &bytes[..100]
        )
    })?;
    ensure(bytes[100..].iter().all(|&byte| byte == 0), || {
        "a byte past the range changed".to_string()
    })
}
