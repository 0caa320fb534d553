//! §1: the test domain's screenshot and the two receive calls, on either kind of stream
//! (measured on libvirt 9.0: in-process and through a daemon, Q20–Q22).

use stream_core::libvirt_errors::{self, Call};
use stream_core::{Recv, RecvFlags, StreamFlags, StreamKind, Transfer};

use super::{Needs, rules};
use crate::fixture::drain;
use crate::scenario::content_digest;
use crate::{Check, Fixture, ensure, ensure_eq};

const SCREENSHOT: Needs = Needs {
    screenshot: true,
    ..Needs::ANY
};

rules!("1" => [
    (screenshot_returns_its_mime_type, SCREENSHOT),
    (screenshot_flags_are_refused, SCREENSHOT),
    (every_screen_number_gets_the_image, SCREENSHOT),
    (recv_flags_is_its_own_call, Needs::ANY),
]);

/// q20, q22: `virDomainScreenshot` returns "image/png"; nothing else binds with a MIME type.
fn screenshot_returns_its_mime_type(fx: Fixture<'_>) -> Check {
    let stream = fx.open(StreamFlags::empty(), Transfer::screenshot("test"))?;
    ensure_eq(
        stream.mime_type(),
        Some("image/png"),
        "screenshot's MIME type",
    )?;
    let unbound = fx
        .backend
        .new_stream(StreamFlags::empty())
        .map_err(|error| error.to_string())?;
    ensure_eq(unbound.mime_type(), None, "an unbound stream's MIME type")?;
    if fx.backend.capabilities().download {
        let volume = fx.volume("D10")?;
        let download = fx.download(&volume, false)?;
        ensure_eq(download.mime_type(), None, "a download's MIME type")?;
    }
    Ok(())
}

/// q20, q22: the test driver's `virCheckFlags(0, NULL)`: every bit is refused, 8/12, in-process
/// and through a daemon alike.
fn screenshot_flags_are_refused(fx: Fixture<'_>) -> Check {
    for flags in [1, 2, 0x80, 1 << 31] {
        let transfer = Transfer::Screenshot {
            domain: "test".into(),
            screen: 0,
            flags,
        };
        let Err(error) = fx.backend.open(StreamFlags::empty(), &transfer) else {
            return Err(format!("a screenshot with flags {flags:#x} was bound"));
        };
        ensure_eq(
            error,
            libvirt_errors::screenshot_flags(flags),
            &format!("flags {flags:#x}"),
        )?;
    }
    Ok(())
}

/// q20, q22: the test driver ignores the screen number: every one gets the same image.
fn every_screen_number_gets_the_image(fx: Fixture<'_>) -> Check {
    let mut first = None;
    for screen in [0, 1, 7, u32::MAX] {
        let transfer = Transfer::Screenshot {
            domain: "test".into(),
            screen,
            flags: 0,
        };
        let mut stream = fx.open(StreamFlags::empty(), transfer)?;
        ensure_eq(stream.mime_type(), Some("image/png"), "MIME type")?;
        let (bytes, _) = drain(stream.as_mut(), 1 << 20, RecvFlags::empty())?;
        stream
            .finish()
            .map_err(|error| format!("finish: {error}"))?;
        ensure_eq(bytes.len(), 33443, &format!("screen {screen}: size"))?;
        let digest = content_digest(&bytes);
        ensure(digest.starts_with("undated-png-fnv="), || {
            format!("screen {screen}: not a PNG ({digest})")
        })?;
        let first = first.get_or_insert(digest.clone());
        ensure_eq(&digest, first, &format!("screen {screen}: the image"))?;
    }
    Ok(())
}

/// q21 (L), q22 and q23 (R): `virStreamRecvFlags` with no flags is not `virStreamRecv` on a
/// local fdstream, which has no RecvFlags (3/38 "not supported", the stream still readable);
/// on a remote stream it reads as `recv` does. Unbound, both kinds name virStreamRecvFlags.
fn recv_flags_is_its_own_call(fx: Fixture<'_>) -> Check {
    let mut unbound = fx
        .backend
        .new_stream(StreamFlags::empty())
        .map_err(|error| error.to_string())?;
    ensure_eq(
        unbound.recv_flags(&mut [0; 64], RecvFlags::empty()),
        Err(libvirt_errors::not_supported(Call::RecvFlags)),
        "recv_flags on an unbound stream",
    )?;
    let mut stream = fx.any_download(StreamFlags::empty())?;
    match fx.backend.capabilities().kind {
        StreamKind::Local => {
            for flags in [RecvFlags::empty(), RecvFlags::STOP_AT_HOLE] {
                ensure_eq(
                    stream.recv_flags(&mut [0; 64], flags),
                    Err(libvirt_errors::not_supported(Call::RecvFlags)),
                    &format!("recv_flags({flags:?}) on a local stream"),
                )?;
            }
        }
        StreamKind::Remote => {
            ensure_eq(
                stream.recv_flags(&mut [0; 64], RecvFlags::empty()),
                Ok(Recv::Data(64)),
                "recv_flags with no flags on a remote stream",
            )?;
        }
    }
    ensure_eq(
        stream.recv(&mut [0; 64], RecvFlags::empty()),
        Ok(Recv::Data(64)),
        "recv after recv_flags",
    )?;
    stream.finish().map_err(|error| format!("finish: {error}"))
}
