//! §6: the `*_all` helpers against a real backend's streams.

use std::io;

use stream_core::{
    Binding, Direction, ErrorKind, Section, StreamFlags, StreamState, recv_all, send_all,
    sparse_recv_all, sparse_send_all,
};

use super::{Needs, rules};
use crate::{Check, Fixture, ensure, ensure_eq};

rules!("6" => [
    (send_all_then_recv_all_round_trip, Needs::VOLUMES),
    (sparse_all_helpers_round_trip, Needs::SPARSE),
    (all_helpers_refuse_nonblock_and_abort, Needs::ANY),
    (handler_failure_aborts_and_names_the_handler, Needs::ANY),
]);

fn send_all_then_recv_all_round_trip(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("H600K")?;
    let data: Vec<u8> = (0..600 * 1024).map(|i| (i % 253) as u8).collect();
    let mut upload = fx.upload(&volume, false)?;
    let mut rest = data.as_slice();
    send_all(upload.as_mut(), |buf| {
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
        Ok(n)
    })
    .map_err(|error| error.to_string())?;
    let active = StreamState::Active(Binding {
        direction: Direction::Upload,
        sparse: false,
    });
    ensure_eq(upload.state(), active, "state: send_all does not finish")?;
    upload.finish().map_err(|error| error.to_string())?;
    let mut download = fx.download(&volume, false)?;
    let mut got = Vec::new();
    recv_all(download.as_mut(), |chunk| {
        got.extend_from_slice(chunk);
        Ok(chunk.len())
    })
    .map_err(|error| error.to_string())?;
    download.finish().map_err(|error| error.to_string())?;
    ensure(got == data, || {
        format!("recv_all got {} bytes, sent {}", got.len(), data.len())
    })
}

fn sparse_all_helpers_round_trip(fx: Fixture<'_>) -> Check {
    let source = fx.volume("D8K H1M D300K H64K")?;
    let target = fx.volume("-")?;
    // Download into a list of sections.
    let mut sections: Vec<(bool, Vec<u8>, u64)> = Vec::new();
    let mut download = fx.download(&source, true)?;
    let hole_sections = std::cell::RefCell::new(&mut sections);
    sparse_recv_all(
        download.as_mut(),
        |chunk| {
            hole_sections
                .borrow_mut()
                .push((true, chunk.to_vec(), chunk.len() as u64));
            Ok(chunk.len())
        },
        |length| {
            hole_sections.borrow_mut().push((false, Vec::new(), length));
            Ok(())
        },
    )
    .map_err(|error| error.to_string())?;
    download.finish().map_err(|error| error.to_string())?;
    // Upload them again through the source/hole/skip handlers.
    let mut upload = fx.upload(&target, true)?;
    let (mut index, mut offset_in) = (0usize, 0usize);
    let cursor = std::cell::RefCell::new((&mut index, &mut offset_in));
    sparse_send_all(
        upload.as_mut(),
        |buf| {
            let mut cursor = cursor.borrow_mut();
            let Some((true, data, _)) = sections.get(*cursor.0) else {
                return Ok(0);
            };
            let n = buf.len().min(data.len() - *cursor.1);
            buf[..n].copy_from_slice(&data[*cursor.1..*cursor.1 + n]);
            *cursor.1 += n;
            if *cursor.1 == data.len() {
                *cursor.0 += 1;
                *cursor.1 = 0;
            }
            Ok(n)
        },
        || {
            let cursor = cursor.borrow();
            Ok(match sections.get(*cursor.0) {
                Some((true, data, _)) => Section::Data((data.len() - *cursor.1) as u64),
                Some((false, _, length)) => Section::Hole(*length),
                None => Section::Hole(0),
            })
        },
        |_| {
            *cursor.borrow_mut().0 += 1;
            Ok(())
        },
    )
    .map_err(|error| error.to_string())?;
    upload.finish().map_err(|error| error.to_string())?;
    ensure_eq(fx.bytes(&target)?, fx.bytes(&source)?, "bytes")?;
    let layout = |v| {
        fx.backend
            .volume_layout(v)
            .map(|l| l.to_string())
            .map_err(|e| e.to_string())
    };
    ensure_eq(layout(&target)?, layout(&source)?, "hole map")
}

fn nonblock_download(fx: Fixture<'_>) -> Result<Box<dyn stream_core::Stream>, String> {
    fx.any_download(StreamFlags::NONBLOCK)
}

fn all_helpers_refuse_nonblock_and_abort(fx: Fixture<'_>) -> Check {
    let mut stream = nonblock_download(fx)?;
    let error = recv_all(stream.as_mut(), |chunk| Ok(chunk.len())).err();
    ensure_eq(
        error,
        Some(stream_core::libvirt_errors::sinks_need_blocking()),
        "recv_all",
    )?;
    ensure_eq(
        stream.state(),
        StreamState::Aborted,
        "state after the refusal",
    )?;
    let mut stream = nonblock_download(fx)?;
    let error = send_all(stream.as_mut(), |_| Ok(0)).err();
    ensure_eq(
        error,
        Some(stream_core::libvirt_errors::sources_need_blocking()),
        "send_all",
    )?;
    ensure_eq(
        stream.state(),
        StreamState::Aborted,
        "state after the refusal",
    )
}

fn handler_failure_aborts_and_names_the_handler(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    let error = recv_all(stream.as_mut(), |_| Err(io::Error::other("sink is full"))).err();
    let error = error.ok_or("recv_all succeeded with a failing sink")?;
    ensure_eq(error.kind(), ErrorKind::Handler, "kind")?;
    ensure_eq(
        error.message(),
        "recv handler failed: sink is full",
        "message",
    )?;
    ensure_eq(stream.state(), StreamState::Aborted, "state")
}
