//! The `*_all` helpers of libvirt (`virStreamSendAll`, `virStreamRecvAll`,
//! `virStreamSparseSendAll`, `virStreamSparseRecvAll`), written once over [`Stream`].
//!
//! They follow libvirt 9.0's loops call for call: handlers are offered buffers of
//! [`ALL_BUFFER_SIZE`], what a sink did not take is offered again (also when it took nothing: a
//! sink may take 0 bytes now and all of them later, so one that never takes any is offered the
//! same bytes forever, as by libvirt), NONBLOCK streams are refused, any failure aborts the
//! stream, and none of them calls `finish`.

use std::io;

use crate::libvirt_errors;
use crate::{Error, ErrorKind, Recv, RecvFlags, Result, Sent, Stream, StreamFlags};

/// The buffer libvirt's helpers use: `VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`.
pub const ALL_BUFFER_SIZE: usize = 262_120;

/// What a sparse source's hole handler reports about the current position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// In data, this many bytes of it ("in data, section length").
    Data(u64),
    /// In a hole of this many bytes; `Hole(0)` is end of stream.
    Hole(u64),
}

/// `virStreamSendAll`: fill the offered buffer from `source` until it returns 0, sending each fill.
pub fn send_all<S, F>(stream: &mut S, mut source: F) -> Result<()>
where
    S: Stream + ?Sized,
    F: FnMut(&mut [u8]) -> io::Result<usize>,
{
    let result = refuse_nonblock(stream, libvirt_errors::sources_need_blocking).and_then(|()| {
        let mut buffer = vec![0; ALL_BUFFER_SIZE];
        loop {
            let got = fill_from(&mut source, &mut buffer, "send handler")?;
            if got == 0 {
                return Ok(());
            }
            send_fully(stream, &buffer[..got])?;
        }
    });
    abort_on_error(stream, result)
}

/// `virStreamRecvAll`: receive until end of stream, offering each chunk to `sink`.
pub fn recv_all<S, F>(stream: &mut S, mut sink: F) -> Result<()>
where
    S: Stream + ?Sized,
    F: FnMut(&[u8]) -> io::Result<usize>,
{
    let result = refuse_nonblock(stream, libvirt_errors::sinks_need_blocking).and_then(|()| {
        let mut buffer = vec![0; ALL_BUFFER_SIZE];
        loop {
            match stream.recv(&mut buffer, RecvFlags::empty())? {
                Recv::Eof => return Ok(()),
                Recv::Data(got) => drain_into(&mut sink, &buffer[..got], "recv handler")?,
                other => return Err(unexpected(other)),
            }
        }
    });
    abort_on_error(stream, result)
}

/// `virStreamSparseRecvAll`: receive until end of stream with `STOP_AT_HOLE`, offering data to
/// `sink` and each hole's length to `hole`.
pub fn sparse_recv_all<S, F, H>(stream: &mut S, mut sink: F, mut hole: H) -> Result<()>
where
    S: Stream + ?Sized,
    F: FnMut(&[u8]) -> io::Result<usize>,
    H: FnMut(u64) -> io::Result<()>,
{
    let result = refuse_nonblock(stream, libvirt_errors::sinks_need_blocking).and_then(|()| {
        let mut buffer = vec![0; ALL_BUFFER_SIZE];
        loop {
            match stream.recv(&mut buffer, RecvFlags::STOP_AT_HOLE)? {
                Recv::Eof => return Ok(()),
                Recv::Data(got) => drain_into(&mut sink, &buffer[..got], "recv handler")?,
                Recv::Hole => {
                    let length = stream.recv_hole(0)?;
                    hole(length.max(0) as u64).map_err(|cause| {
                        libvirt_errors::handler_failed("recv holeHandler", cause)
                    })?;
                }
                other => return Err(unexpected(other)),
            }
        }
    });
    abort_on_error(stream, result)
}

/// `virStreamSparseSendAll`: ask `hole` where the source is; send holes with `send_hole` then
/// tell `skip` to move past them; send data filled by `source`. Ends when `hole` reports
/// `Hole(0)` or `source` returns 0.
pub fn sparse_send_all<S, F, H, K>(
    stream: &mut S,
    mut source: F,
    mut hole: H,
    mut skip: K,
) -> Result<()>
where
    S: Stream + ?Sized,
    F: FnMut(&mut [u8]) -> io::Result<usize>,
    H: FnMut() -> io::Result<Section>,
    K: FnMut(u64) -> io::Result<()>,
{
    let result = refuse_nonblock(stream, libvirt_errors::sources_need_blocking).and_then(|()| {
        let mut buffer = vec![0; ALL_BUFFER_SIZE];
        let mut data_left: u64 = 0;
        loop {
            if data_left == 0 {
                let section = hole()
                    .map_err(|cause| libvirt_errors::handler_failed("send holeHandler", cause))?;
                match section {
                    Section::Hole(length) if length > 0 => {
                        let length = i64::try_from(length).map_err(|_| hole_too_long(length))?;
                        stream.send_hole(length, 0)?;
                        skip(length as u64).map_err(|cause| {
                            libvirt_errors::handler_failed("send skipHandler", cause)
                        })?;
                        continue;
                    }
                    Section::Hole(_) => data_left = 0,
                    Section::Data(length) => data_left = length,
                }
            }
            let want = buffer
                .len()
                .min(usize::try_from(data_left).unwrap_or(usize::MAX));
            let got = fill_from(&mut source, &mut buffer[..want], "send handler")?;
            if got == 0 {
                return Ok(());
            }
            send_fully(stream, &buffer[..got])?;
            data_left -= got as u64;
        }
    });
    abort_on_error(stream, result)
}

fn refuse_nonblock<S: Stream + ?Sized>(stream: &S, error: fn() -> Error) -> Result<()> {
    if stream.flags().contains(StreamFlags::NONBLOCK) {
        Err(error())
    } else {
        Ok(())
    }
}

/// libvirt aborts the stream on every failure, keeping the original error.
fn abort_on_error<S: Stream + ?Sized>(stream: &mut S, result: Result<()>) -> Result<()> {
    if result.is_err() {
        let _ = stream.abort();
    }
    result
}

fn fill_from<F>(source: &mut F, buffer: &mut [u8], which: &str) -> Result<usize>
where
    F: FnMut(&mut [u8]) -> io::Result<usize>,
{
    let got = source(buffer).map_err(|cause| libvirt_errors::handler_failed(which, cause))?;
    if got > buffer.len() {
        return Err(Error::new(
            ErrorKind::Handler,
            format!(
                "{which} reported {got} bytes for a buffer of {}",
                buffer.len()
            ),
        ));
    }
    Ok(got)
}

fn drain_into<F>(sink: &mut F, mut data: &[u8], which: &str) -> Result<()>
where
    F: FnMut(&[u8]) -> io::Result<usize>,
{
    while !data.is_empty() {
        // 0 is not an error: virStreamRecvAll offers the same bytes again.
        let done = sink(data).map_err(|cause| libvirt_errors::handler_failed(which, cause))?;
        if done > data.len() {
            return Err(Error::new(
                ErrorKind::Handler,
                format!("{which} took {done} bytes of {} offered", data.len()),
            ));
        }
        data = &data[done..];
    }
    Ok(())
}

fn send_fully<S: Stream + ?Sized>(stream: &mut S, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        match stream.send(data)? {
            Sent::Bytes(done) if done > 0 && done <= data.len() => data = &data[done..],
            other => {
                return Err(Error::new(
                    ErrorKind::Internal,
                    format!("send returned {other:?} on a blocking stream"),
                ));
            }
        }
    }
    Ok(())
}

fn unexpected(outcome: Recv) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!("recv returned {outcome:?} on a blocking stream"),
    )
}

fn hole_too_long(length: u64) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("hole of {length} bytes exceeds libvirt's i64 length"),
    )
}
