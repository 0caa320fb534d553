//! `std::io::Read` / `Write` over a blocking stream, so `io::copy` and friends can feed uploads
//! and drain downloads.

use std::io;

use stream_core::{Error, Recv, RecvFlags, Sent, Stream};

fn to_io(error: Error) -> io::Error {
    io::Error::other(error)
}

/// Reads a download stream: holes arrive as zeros (a plain `recv`), end of stream is `Ok(0)`.
#[derive(Debug)]
pub struct StreamReader<S> {
    stream: S,
}

impl<S: Stream> StreamReader<S> {
    /// Read from `stream` (bound to a download).
    pub fn new(stream: S) -> StreamReader<S> {
        StreamReader { stream }
    }

    /// The stream back, e.g. to `finish` it.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S: Stream> io::Read for StreamReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.stream.recv(buf, RecvFlags::empty()).map_err(to_io)? {
            // `io::Read` callers slice with the count (`read_to_end` panics past the buffer).
            Recv::Data(n) if n > buf.len() => Err(io::Error::other(format!(
                "recv reported {n} bytes for a buffer of {}",
                buf.len()
            ))),
            Recv::Data(n) => Ok(n),
            Recv::Eof => Ok(0),
            Recv::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
            // Without STOP_AT_HOLE libvirt never reports a hole; treat one as a broken stream.
            Recv::Hole => Err(io::Error::other("hole reported without STOP_AT_HOLE")),
        }
    }
}

/// Writes an upload stream. An empty write is answered `Ok(0)` without touching the stream
/// (libvirt would take an empty send as end of stream).
#[derive(Debug)]
pub struct StreamWriter<S> {
    stream: S,
}

impl<S: Stream> StreamWriter<S> {
    /// Write to `stream` (bound to an upload).
    pub fn new(stream: S) -> StreamWriter<S> {
        StreamWriter { stream }
    }

    /// The stream back, e.g. to `finish` it.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S: Stream> io::Write for StreamWriter<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.stream.send(buf).map_err(to_io)? {
            // `write_all` slices with the count: more than offered would panic there.
            Sent::Bytes(n) if n > buf.len() => Err(io::Error::other(format!(
                "send accepted {n} bytes of {} offered",
                buf.len()
            ))),
            Sent::Bytes(n) => Ok(n),
            Sent::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Every accepted byte has left: `send` hands data to libvirt, `finish` confirms it landed.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
