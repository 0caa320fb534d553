//! §4: misuses raw libvirt turns into crashes, hangs or data loss get a clear error, nothing
//! reaches the far side, and the stream stays usable.

use stream_core::libvirt_errors;
use stream_core::{ErrorKind, Layout, RecvFlags, Stream, StreamFlags, StreamKind};

use super::{Needs, rules};
use crate::{Check, Fixture, ensure, ensure_eq};

rules!("4" => [
    (zero_length_hole_is_refused_and_loses_nothing, Needs::SPARSE),
    (negative_hole_is_refused, Needs::SPARSE),
    (hole_flags_are_refused, Needs::SPARSE),
    (empty_send_is_refused_and_loses_nothing, Needs::VOLUMES),
    (send_on_download_is_refused, Needs::ANY),
    (send_hole_on_download_is_refused, Needs::ANY),
    (recv_on_upload_is_refused, Needs::VOLUMES),
    (sparse_upload_keeps_old_bytes_under_a_hole, Needs::SPARSE),
]);

fn kind_of(result: Result<impl std::fmt::Debug, stream_core::Error>) -> Option<ErrorKind> {
    result.err().map(|error| error.kind())
}

/// Upload "10 bytes, bad call, 10 bytes", finish, and check the volume holds both sends.
fn upload_survives(
    fx: Fixture<'_>,
    sparse: bool,
    bad: impl FnOnce(&mut dyn Stream) -> Check,
) -> Check {
    let volume = fx.volume("H8K")?;
    let mut stream = fx.upload(&volume, sparse)?;
    stream.send(&[1; 10]).map_err(|error| error.to_string())?;
    bad(stream.as_mut())?;
    stream
        .send(&[2; 10])
        .map_err(|error| format!("send after the refused call: {error}"))?;
    ensure_eq(stream.finish(), Ok(()), "finish")?;
    let bytes = fx.bytes(&volume)?;
    ensure(bytes[..10] == [1; 10] && bytes[10..20] == [2; 10], || {
        format!("volume lost data: {:?}", &bytes[..20])
    })
}

fn zero_length_hole_is_refused_and_loses_nothing(fx: Fixture<'_>) -> Check {
    upload_survives(fx, true, |stream| {
        ensure_eq(
            kind_of(stream.send_hole(0, 0)),
            Some(ErrorKind::InvalidArgument),
            "send_hole(0)",
        )
    })
}

fn negative_hole_is_refused(fx: Fixture<'_>) -> Check {
    upload_survives(fx, true, |stream| {
        ensure_eq(
            kind_of(stream.send_hole(-5, 0)),
            Some(ErrorKind::InvalidArgument),
            "send_hole(-5)",
        )
    })
}

fn hole_flags_are_refused(fx: Fixture<'_>) -> Check {
    upload_survives(fx, true, |stream| {
        ensure_eq(
            kind_of(stream.send_hole(4096, 1)),
            Some(ErrorKind::InvalidArgument),
            "send_hole flags 1",
        )
    })
}

fn empty_send_is_refused_and_loses_nothing(fx: Fixture<'_>) -> Check {
    upload_survives(fx, false, |stream| {
        ensure_eq(
            kind_of(stream.send(&[])),
            Some(ErrorKind::InvalidArgument),
            "send of 0 bytes",
        )
    })
}

/// A remote download would take the bytes and fail the transfer: the guard refuses them. A
/// (blocking) screenshot refuses them itself, with libvirt's own error (measured, Q17).
fn send_on_download_is_refused(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    let expected = match fx.backend.capabilities().kind {
        StreamKind::Remote => libvirt_errors::guard::send_on_download("send"),
        StreamKind::Local => libvirt_errors::cannot_write_bad_fd(),
    };
    ensure_eq(
        stream.send(b"echo").err(),
        Some(expected),
        "send on a download",
    )?;
    ensure_eq(
        stream
            .recv(&mut [0; 1], RecvFlags::empty())
            .map(|r| r.sentinel()),
        Ok(1),
        "recv after",
    )
}

/// A remote non-sparse download refuses it with libvirt's "Skipping is not supported"; a
/// screenshot's `send_hole` would skip bytes of it (or crash): the guard refuses it.
fn send_hole_on_download_is_refused(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    ensure_eq(
        kind_of(stream.send_hole(4096, 0)),
        Some(ErrorKind::InvalidOperation),
        "send_hole on a download",
    )?;
    ensure_eq(stream.finish(), Ok(()), "finish after")
}

fn recv_on_upload_is_refused(fx: Fixture<'_>) -> Check {
    upload_survives(fx, false, |stream| {
        ensure_eq(
            kind_of(stream.recv(&mut [0; 8], RecvFlags::empty())),
            Some(ErrorKind::InvalidOperation),
            "recv on an upload",
        )
    })
}

/// The hazard the contract documents: a hole does not erase what the volume held.
fn sparse_upload_keeps_old_bytes_under_a_hole(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("D12K")?;
    let mut stream = fx.upload(&volume, true)?;
    stream.send(&[9; 10]).map_err(|error| error.to_string())?;
    stream
        .send_hole(4096, 0)
        .map_err(|error| error.to_string())?;
    stream.send(&[9; 10]).map_err(|error| error.to_string())?;
    ensure_eq(stream.finish(), Ok(()), "finish (libvirt reports success)")?;
    let old = Layout::parse("D12K")
        .map_err(|error| error.to_string())?
        .to_bytes();
    let bytes = fx.bytes(&volume)?;
    ensure_eq(
        bytes.len(),
        4116,
        "size: a hole truncates the file at its end, data after extends it",
    )?;
    ensure_eq(&bytes[10..4106], &old[10..4106], "old bytes under the hole")
}
