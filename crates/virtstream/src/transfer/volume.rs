//! What an upload may do to its volume, decided before a byte is sent: the one rule for a
//! whole-volume upload (the volume ends up holding exactly the file, sparse or not), no change
//! of size unless asked for, and no old data left under a sparse upload's holes.

use stream_core::{
    Backend, ErrorKind, Layout, Recv, RecvFlags, Result, StreamFlags, Transfer, VolumeId,
};

use super::{amend, refuse};

/// What the user asked of an upload, as far as the volume is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// The file's size.
    pub size: u64,
    pub offset: u64,
    /// 0: to the end.
    pub length: u64,
    pub sparse: bool,
    /// `--resize`: the upload may change the volume's size.
    pub resize: bool,
    /// `--create`: create the volume if it does not exist.
    pub create: bool,
    /// `--capacity`: the size of a volume `--create` makes (default: what the upload needs).
    pub capacity: Option<u64>,
}

impl Request {
    fn whole_volume(&self) -> bool {
        self.offset == 0 && self.length == 0
    }

    /// Where the bytes the upload writes end (`offset` + the file's size).
    fn written_end(&self) -> u64 {
        self.offset.saturating_add(self.size)
    }

    /// The end of the range the stream is bound to.
    fn range_end(&self) -> u64 {
        self.offset.saturating_add(self.length.max(self.size))
    }
}

/// What must happen to the volume before the upload's stream opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Its size before the upload.
    pub size_before: u64,
    /// Cut it to nothing first (old data under holes, or a shrink).
    pub cut: bool,
}

/// Finds (or creates, with `--create`) the volume and decides what the upload does to it;
/// refuses, naming the rule, whatever would leave the volume different from what was asked.
/// A volume `--create` would make is checked by the same rules before it is made, so a refused
/// upload creates nothing.
pub fn prepare(backend: &dyn Backend, volume: &VolumeId, request: &Request) -> Result<Plan> {
    match backend.volume_size(volume) {
        Ok(size) => decide(backend, volume, size, false, request),
        Err(error) if error.kind() == ErrorKind::NotFound && request.create => {
            if error.libvirt_code().is_some_and(|code| code.code != 50) {
                // The pool is missing (libvirt's 49), not the volume (50): creating cannot help.
                return Err(error);
            }
            let capacity = request.capacity.unwrap_or(request.range_end());
            let plan = decide(backend, volume, capacity, true, request)?;
            backend.create_volume(volume, &Layout::hole(capacity))?;
            eprintln!("created volume {volume} ({capacity} bytes)");
            Ok(plan)
        }
        Err(error) if error.kind() == ErrorKind::NotFound => Err(amend(
            &error,
            format!("(pass --create to create volume {volume} for this upload)"),
        )),
        Err(error) => Err(error),
    }
}

/// The rules, for a volume of `size` bytes (`created`: it is new, so it holds nothing old).
fn decide(
    backend: &dyn Backend,
    volume: &VolumeId,
    size: u64,
    created: bool,
    request: &Request,
) -> Result<Plan> {
    if request.whole_volume() {
        whole_volume(size, created, request)
    } else {
        range(backend, volume, size, created, request)
    }
}

/// A whole-volume upload leaves the volume holding exactly the file: same size, same bytes.
fn whole_volume(size: u64, created: bool, request: &Request) -> Result<Plan> {
    if created && size != request.size {
        return Err(refuse(format!(
            "--capacity {size} differs from the file's {} bytes: a whole-volume upload leaves \
             the volume holding exactly the file; leave --capacity out, or upload into a range \
             with --offset/--length",
            request.size
        )));
    }
    if request.size != size && !request.resize {
        let change = if request.size > size {
            "grow"
        } else {
            "shrink"
        };
        return Err(refuse(format!(
            "the file is {} bytes and the volume {size}: a whole-volume upload makes the volume \
             hold exactly the file, so it would {change} the volume to {} bytes; pass --resize \
             to allow that, or --offset/--length to write into part of it",
            request.size, request.size
        )));
    }
    if request.size == 0 && size > 0 {
        return Err(refuse(
            "the file is empty: a volume cannot be emptied through a stream (libvirt has no \
             zero-length hole and never truncates to 0); delete the volume and create it anew",
        ));
    }
    // Old bytes survive under a sparse upload's holes, and a shorter file leaves the volume's
    // tail; a volume just created holds nothing old.
    let cut = !created && size > 0 && (request.sparse || size > request.size);
    Ok(Plan {
        size_before: size,
        cut,
    })
}

/// An upload into part of the volume changes only that part, and never the volume's size
/// unless asked for.
fn range(
    backend: &dyn Backend,
    volume: &VolumeId,
    size: u64,
    created: bool,
    request: &Request,
) -> Result<Plan> {
    let end = request.written_end();
    if (end > size || request.offset > size) && !request.resize {
        return Err(refuse(format!(
            "volume {volume} is {size} bytes and the upload would write up to byte {end}: it \
             would grow the volume; pass --resize to allow that"
        )));
    }
    if request.sparse {
        if !created
            && has_data(
                backend,
                volume,
                request.offset,
                request.length.max(request.size),
            )?
        {
            return Err(refuse(format!(
                "volume {volume} has data in the target range; a sparse upload would leave it \
                 under the file's holes: upload without --sparse, or upload the whole volume (no \
                 --offset/--length)"
            )));
        }
        if size > end {
            // libvirt's hole is a seek and a truncate: the volume would end where the file
            // does (measured: an 8 MiB volume came out 12 KiB long after a 12 KiB file with a
            // hole went into --offset 0 --length 8M), whatever the range's length.
            return Err(refuse(format!(
                "volume {volume} is {size} bytes, longer than where the upload ends ({end}); a \
                 sparse upload's holes truncate the volume (libvirt seeks and truncates), losing \
                 the bytes after it: upload without --sparse"
            )));
        }
    }
    Ok(Plan {
        size_before: size,
        cut: false,
    })
}

/// Whether the volume holds any data in `offset .. offset + length` (0: to the end).
fn has_data(backend: &dyn Backend, volume: &VolumeId, offset: u64, length: u64) -> Result<bool> {
    let range = Transfer::Download {
        volume: volume.clone(),
        offset,
        length,
        sparse: true,
    };
    let mut stream = backend.open(StreamFlags::empty(), &range)?;
    let mut buf = vec![0; 65536];
    loop {
        match stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE)? {
            Recv::Data(_) => return Ok(true),
            Recv::Hole => {
                stream.recv_hole(0)?;
            }
            _ => {
                stream.finish()?;
                return Ok(false);
            }
        }
    }
}

/// How many bytes at the start of the volume still hold old data after a stream cut: the
/// upload that follows must send them as data, even where the file has a hole.
const STREAM_CUT_LEAVES: u64 = 1;

/// Empties the volume before a whole-volume upload, so nothing old survives under the file's
/// holes or past its end; returns how many bytes at its start still hold old data, which the
/// upload must send as data. `keeps_size`: the upload leaves the volume its size.
///
/// Where the backend can empty the volume in place ([`Backend::empty_volume`]: libvirt's wipe
/// of a sparse file, a truncate to 0 and back) and its size stays, that is one call. Otherwise
/// a stream: each hole of a sparse upload truncates the file at its end (measured), so after a
/// one-byte hole nothing old survives past byte 0. A stream costs more than its setup: after
/// every upload stream libvirt's storage driver refreshes the whole pool, holding its lock, and
/// the next call waits for that (a pool of 1,500 volumes: 230 ms). `virStorageVolResize` cannot
/// cut: libvirt 9.0 refuses to shrink a volume below its allocation, even with
/// `VIR_STORAGE_VOL_RESIZE_SHRINK`.
pub fn cut(backend: &dyn Backend, volume: &VolumeId, keeps_size: bool) -> Result<u64> {
    if keeps_size && backend.empty_volume(volume)? {
        return Ok(0);
    }
    let mut cut = backend.open(
        StreamFlags::empty(),
        &Transfer::upload(volume.clone(), true),
    )?;
    cut.send_hole(1, 0)?;
    cut.finish()?;
    Ok(STREAM_CUT_LEAVES)
}
