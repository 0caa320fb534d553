//! §3: New, Active, Finished, Aborted, and what each state allows.

use stream_core::libvirt_errors::{self, Call};
use stream_core::{ErrorKind, EventSet, RecvFlags, Stream, StreamFlags, StreamKind, StreamState};

use super::{Needs, rules};
use crate::{Check, Fixture, ensure, ensure_eq};

rules!("3" => [
    (new_stream_refuses_all_but_abort, Needs::ANY),
    (finish_before_end_of_stream_succeeds, Needs::ANY),
    (every_call_fails_closed_after_finish, Needs::ANY),
    (every_call_fails_closed_after_abort, Needs::ANY),
    (upload_finish_after_data_succeeds, Needs::VOLUMES),
]);

fn new_stream_refuses_all_but_abort(fx: Fixture<'_>) -> Check {
    let mut stream = fx
        .backend
        .new_stream(StreamFlags::empty())
        .map_err(|error| error.to_string())?;
    ensure_eq(
        stream.send(b"x").unwrap_err(),
        libvirt_errors::not_supported(Call::Send),
        "send",
    )?;
    ensure_eq(
        stream.recv(&mut [0; 4], RecvFlags::empty()).unwrap_err(),
        libvirt_errors::not_supported(Call::Recv),
        "recv",
    )?;
    ensure_eq(
        stream.send_hole(1, 0).unwrap_err(),
        libvirt_errors::not_supported(Call::SendHole),
        "send_hole",
    )?;
    ensure_eq(
        stream.recv_hole(0).unwrap_err(),
        libvirt_errors::not_supported(Call::RecvHole),
        "recv_hole",
    )?;
    let callback = stream.add_callback(EventSet::READABLE, Box::new(|_| {}));
    ensure_eq(
        callback.unwrap_err(),
        libvirt_errors::not_supported(Call::AddCallback),
        "add_callback",
    )?;
    ensure_eq(
        stream.finish().unwrap_err(),
        libvirt_errors::not_supported(Call::Finish),
        "finish",
    )?;
    ensure_eq(stream.abort(), Ok(()), "abort")?;
    ensure_eq(stream.state(), StreamState::New, "state after abort")
}

fn finish_before_end_of_stream_succeeds(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    stream
        .recv(&mut [0; 10], RecvFlags::empty())
        .map_err(|error| error.to_string())?;
    ensure_eq(stream.finish(), Ok(()), "finish mid-download")?;
    ensure_eq(stream.state(), StreamState::Finished, "state")
}

/// Every call on a closed non-sparse download, each expected to fail with the closed-stream
/// error, except where libvirt checks something else first (measured, Q17): a remote stream's
/// sparseness, a local stream's missing `virStreamRecvHole`.
fn all_calls_closed(stream: &mut dyn Stream, kind: StreamKind) -> Check {
    let closed = libvirt_errors::stream_closed();
    let (send_hole, recv_hole) = match kind {
        StreamKind::Remote => (
            libvirt_errors::skipping_not_supported(),
            libvirt_errors::holes_not_supported(),
        ),
        StreamKind::Local => (
            closed.clone(),
            libvirt_errors::not_supported(Call::RecvHole),
        ),
    };
    ensure_eq(closed.kind(), ErrorKind::Closed, "kind of the closed error")?;
    ensure_eq(stream.send(b"x").err(), Some(closed.clone()), "send")?;
    ensure_eq(
        stream.recv(&mut [0; 4], RecvFlags::empty()).err(),
        Some(closed.clone()),
        "recv",
    )?;
    // A local stream has no virStreamRecvFlags, closed or not (Q17 L, Q21).
    let recv_flags = match kind {
        StreamKind::Remote => closed.clone(),
        StreamKind::Local => libvirt_errors::not_supported(Call::RecvFlags),
    };
    ensure_eq(
        stream.recv(&mut [0; 4], RecvFlags::STOP_AT_HOLE).err(),
        Some(recv_flags),
        "recv STOP_AT_HOLE",
    )?;
    ensure_eq(
        stream.send_hole(4096, 0).err(),
        Some(send_hole),
        "send_hole",
    )?;
    ensure_eq(stream.recv_hole(0).err(), Some(recv_hole), "recv_hole")?;
    ensure_eq(
        stream
            .add_callback(EventSet::READABLE, Box::new(|_| {}))
            .err(),
        Some(closed.clone()),
        "add_callback",
    )?;
    ensure_eq(
        stream.update_callback(EventSet::READABLE).err(),
        Some(closed.clone()),
        "update_callback",
    )?;
    ensure_eq(
        stream.remove_callback().err(),
        Some(closed.clone()),
        "remove_callback",
    )?;
    ensure_eq(stream.finish().err(), Some(closed.clone()), "second finish")?;
    ensure_eq(stream.abort().err(), Some(closed), "abort")
}

fn every_call_fails_closed_after_finish(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    stream.finish().map_err(|error| error.to_string())?;
    all_calls_closed(stream.as_mut(), fx.backend.capabilities().kind)
}

fn every_call_fails_closed_after_abort(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    stream.abort().map_err(|error| error.to_string())?;
    ensure_eq(stream.state(), StreamState::Aborted, "state")?;
    all_calls_closed(stream.as_mut(), fx.backend.capabilities().kind)
}

fn upload_finish_after_data_succeeds(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("H8K")?;
    let mut stream = fx.upload(&volume, false)?;
    ensure_eq(
        stream.send(&[7; 100]).map(|sent| sent.sentinel()),
        Ok(100),
        "send",
    )?;
    ensure_eq(stream.finish(), Ok(()), "finish")?;
    let bytes = fx.bytes(&volume)?;
    ensure(
        bytes[..100] == [7; 100] && bytes[100..].iter().all(|&b| b == 0),
        || "volume bytes after upload".into(),
    )
}
