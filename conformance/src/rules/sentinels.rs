//! §2: every outcome maps to libvirt's integer.

use stream_core::{Recv, RecvFlags, StreamFlags, sentinel_of};

use super::{Needs, rules};
use crate::{Check, Fixture, ensure, ensure_eq};

rules!("2" => [
    (data_then_end_of_stream_sentinels, Needs::ANY),
    (hole_sentinel_is_minus_three, Needs::SPARSE),
    (error_sentinel_is_minus_one, Needs::ANY),
    (empty_buffer_reads_zero_bytes, Needs::ANY),
]);

fn data_then_end_of_stream_sentinels(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    let mut buf = vec![0; 1 << 20];
    let mut last = 1;
    while last > 0 {
        let outcome = stream.recv(&mut buf, RecvFlags::empty());
        last = sentinel_of(&outcome, Recv::sentinel);
        ensure(last >= 0, || {
            format!("recv gave {last} ({outcome:?}) before end of stream")
        })?;
        if let Ok(Recv::Data(n)) = outcome {
            ensure_eq(last, n as i64, "sentinel of Data(n)")?;
        }
    }
    ensure_eq(
        stream
            .recv(&mut buf, RecvFlags::empty())
            .map(Recv::sentinel),
        Ok(0),
        "recv after end",
    )
}

fn hole_sentinel_is_minus_three(fx: Fixture<'_>) -> Check {
    let volume = fx.volume("H8K D10")?;
    let mut stream = fx.download(&volume, true)?;
    let outcome = stream.recv(&mut [0; 100], RecvFlags::STOP_AT_HOLE);
    ensure_eq(
        sentinel_of(&outcome, Recv::sentinel),
        -3,
        "STOP_AT_HOLE at a hole",
    )
}

fn error_sentinel_is_minus_one(fx: Fixture<'_>) -> Check {
    let mut stream = fx
        .backend
        .new_stream(StreamFlags::empty())
        .map_err(|error| error.to_string())?;
    let outcome = stream.recv(&mut [0; 10], RecvFlags::empty());
    ensure_eq(
        sentinel_of(&outcome, Recv::sentinel),
        -1,
        "recv on a new stream",
    )
}

fn empty_buffer_reads_zero_bytes(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    ensure_eq(
        stream.recv(&mut [], RecvFlags::empty()),
        Ok(Recv::Data(0)),
        "recv into an empty buffer",
    )?;
    let mut buf = [0; 10];
    ensure(
        matches!(stream.recv(&mut buf, RecvFlags::empty()), Ok(Recv::Data(n)) if n > 0),
        || "data after an empty recv".into(),
    )
}
