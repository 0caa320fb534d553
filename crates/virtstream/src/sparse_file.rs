//! The file ⇄ stream sparse copy: what `virsh vol-upload --sparse` / `vol-download --sparse` do,
//! over the `Stream` trait.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;

use rustix::fs::{SeekFrom, seek};
use stream_core::{Error, ErrorKind, Recv, RecvFlags, Result, Sent, Stream};

use crate::sink::{AtOffsets, InOrder, Sink, io_error};

/// Bytes per upload `send`: two of libvirt's 262120-byte packets. Measured against a private
/// daemon (`cargo xtask bench libvirt`, 1 GiB / 10 % data sparse upload): 262120 and 524240
/// match or beat `virsh vol-upload --sparse`, 1 MiB sends are 1.6× slower, 131060 slower too.
/// (Downloads gather packets in [`crate::sink`].)
const BUFFER: usize = 524_240;

/// What a copy moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Data bytes sent or received.
    pub data: u64,
    /// Bytes skipped as holes.
    pub holes: u64,
}

impl Copied {
    /// Data and holes: the size of what was copied (saturating: a stream cannot describe more
    /// than `u64::MAX` bytes, and [`download_to_file`] refuses one that tries).
    pub fn total(&self) -> u64 {
        self.data.saturating_add(self.holes)
    }
}

/// Where the next data starts at or after `at`, or `None` if only a hole remains.
fn next_data(file: &File, at: u64) -> Result<Option<u64>> {
    match seek(file, SeekFrom::Data(at)) {
        Ok(start) => Ok(Some(start)),
        Err(rustix::io::Errno::NXIO) => Ok(None),
        Err(errno) => Err(io_error("SEEK_DATA", errno.into())),
    }
}

fn hole_after(file: &File, at: u64) -> Result<u64> {
    seek(file, SeekFrom::Hole(at)).map_err(|errno| io_error("SEEK_HOLE", errno.into()))
}

fn send_all_of(stream: &mut dyn Stream, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        match stream.send(data)? {
            Sent::Bytes(n) if n >= 1 && n <= data.len() => data = &data[n..],
            Sent::Bytes(n) => {
                return Err(Error::new(
                    ErrorKind::Internal,
                    format!(
                        "send accepted {n} of {} bytes: a stream must accept between 1 and all of them",
                        data.len()
                    ),
                ));
            }
            Sent::WouldBlock => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "upload streams must be blocking",
                ));
            }
        }
    }
    Ok(())
}

fn send_range(
    stream: &mut dyn Stream,
    file: &File,
    mut from: u64,
    to: u64,
    buffer: &mut [u8],
    progress: &mut dyn FnMut(Copied) -> Result<()>,
    copied: &mut Copied,
) -> Result<()> {
    while from < to {
        let want = buffer.len().min((to - from) as usize);
        let got = file
            .read_at(&mut buffer[..want], from)
            .map_err(|error| io_error("read", error))?;
        if got == 0 {
            return Err(Error::new(
                ErrorKind::System,
                format!("the file ended at {from} while being uploaded"),
            ));
        }
        send_all_of(stream, &buffer[..got])?;
        from += got as u64;
        copied.data += got as u64;
        progress(*copied)?;
    }
    Ok(())
}

/// Send `file` on an upload stream. With `sparse` (the stream must be a sparse upload) its
/// holes travel as `send_hole`, the trailing one included, so the volume ends at the file's
/// size; without, every byte is sent. Does not finish the stream.
///
/// `progress` is told what has been sent after every step; an error it returns (an
/// interruption, say) stops the copy and is returned.
pub fn upload_from_file(
    stream: &mut dyn Stream,
    file: &File,
    sparse: bool,
    progress: impl FnMut(Copied) -> Result<()>,
) -> Result<Copied> {
    upload_from_file_with_head(stream, file, sparse, 0, progress)
}

/// [`upload_from_file`], sending the file's first `head` bytes as data even where the file has
/// a hole there (its zeros): for a volume whose first bytes still hold old data that a hole
/// would leave in place.
pub fn upload_from_file_with_head(
    stream: &mut dyn Stream,
    file: &File,
    sparse: bool,
    head: u64,
    mut progress: impl FnMut(Copied) -> Result<()>,
) -> Result<Copied> {
    let size = file
        .metadata()
        .map_err(|error| io_error("stat", error))?
        .len();
    let mut buffer = vec![0; BUFFER];
    let mut copied = Copied::default();
    if !sparse {
        send_range(
            stream,
            file,
            0,
            size,
            &mut buffer,
            &mut progress,
            &mut copied,
        )?;
        return Ok(copied);
    }
    let mut at = head.min(size);
    send_range(stream, file, 0, at, &mut buffer, &mut progress, &mut copied)?;
    while at < size {
        let data = next_data(file, at)?.unwrap_or(size).min(size);
        if data > at {
            stream.send_hole((data - at) as i64, 0)?;
            copied.holes += data - at;
            progress(copied)?;
        }
        if data >= size {
            break;
        }
        let end = hole_after(file, data)?.min(size);
        send_range(
            stream,
            file,
            data,
            end,
            &mut buffer,
            &mut progress,
            &mut copied,
        )?;
        at = end;
    }
    Ok(copied)
}

/// Where the file ends once `more` bytes follow what was `copied`: refused past `i64::MAX`
/// (the largest file offset), which only a misbehaving stream could report.
fn end_after(copied: Copied, more: u64) -> Result<u64> {
    copied
        .data
        .checked_add(copied.holes)
        .and_then(|total| total.checked_add(more))
        .filter(|&end| end <= i64::MAX as u64)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "download offset must stay at most i64::MAX (the largest file offset): \
                     {} bytes copied, {more} more reported",
                    copied.total()
                ),
            )
        })
}

fn overfilled(n: usize, buffer: usize) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!(
            "recv reported {n} bytes for a buffer of {buffer}: a stream cannot fill more than its buffer"
        ),
    )
}

fn must_block() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        "download streams must be blocking",
    )
}

/// The one receive loop of both downloads: data and holes from `stream` into `sink`.
fn receive(
    stream: &mut dyn Stream,
    mut sink: impl Sink,
    sparse: bool,
    progress: &mut dyn FnMut(Copied) -> Result<()>,
) -> Result<Copied> {
    let flags = if sparse {
        RecvFlags::STOP_AT_HOLE
    } else {
        RecvFlags::empty()
    };
    let mut copied = Copied::default();
    loop {
        let room = sink.room()?;
        let len = room.len();
        match stream.recv(room, flags)? {
            Recv::Data(n) if n > len => return Err(overfilled(n, len)),
            Recv::Data(n) => {
                end_after(copied, n as u64)?;
                sink.filled(n)?;
                copied.data += n as u64;
            }
            Recv::Hole => {
                let length = stream.recv_hole(0)?.max(0) as u64;
                end_after(copied, length)?;
                sink.hole(length, &mut |written| {
                    copied.holes += written;
                    progress(copied)
                })?;
            }
            Recv::Eof => break,
            Recv::WouldBlock => return Err(must_block()),
        }
        progress(copied)?;
    }
    sink.end(copied.total())?;
    Ok(copied)
}

/// Receive a download stream into `file` (written from offset 0). With `sparse` (the stream
/// must be a sparse download) holes are skipped, not written, and the file is sized to the
/// stream's end so a trailing hole stays a hole. Does not finish the stream.
///
/// `progress` is told what has been received after every step; an error it returns stops the
/// copy and is returned.
pub fn download_to_file(
    stream: &mut dyn Stream,
    file: &File,
    sparse: bool,
    mut progress: impl FnMut(Copied) -> Result<()>,
) -> Result<Copied> {
    receive(stream, AtOffsets::new(file), sparse, &mut progress)
}

/// Receive a download stream into `out` in order, for destinations that cannot seek or must be
/// overwritten whole (stdout, a pipe, a device): data is written as it comes and each hole of
/// a sparse stream is written as zeros. Does not finish the stream.
///
/// `progress` is told what has been received after every step; an error it returns stops the
/// copy and is returned.
pub fn download_to_writer(
    stream: &mut dyn Stream,
    out: &mut dyn Write,
    sparse: bool,
    mut progress: impl FnMut(Copied) -> Result<()>,
) -> Result<Copied> {
    receive(stream, InOrder::new(out), sparse, &mut progress)
}
