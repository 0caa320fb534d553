//! `virtstream download`: a volume into a local file (renamed into place when complete) or
//! through to stdout, a pipe or a device; an interrupted download leaves nothing behind.

use stream_core::{Result, StreamFlags, Transfer};
use virtstream::{Copied, download_to_file, download_to_writer};

use super::{check_range, connect, destination, progress, report};
use crate::cli::TransferArgs;
use crate::interrupt;

/// How many bytes a download of `offset`/`length` moves from a volume of `size` bytes.
fn expected(size: u64, offset: u64, length: u64) -> u64 {
    let rest = size.saturating_sub(offset);
    if length == 0 { rest } else { rest.min(length) }
}

pub fn download(args: &TransferArgs) -> Result<()> {
    // The length may run past the end (the download stops there); the offset may not pass
    // libvirt's largest offset.
    check_range(args.offset, 0)?;
    if args.file.as_os_str().is_empty() {
        return Err(super::refuse("the file path is empty: name a local file"));
    }
    let (backend, volume) = connect(args)?;
    let total = expected(backend.volume_size(&volume)?, args.offset, args.length);
    interrupt::install()?;
    let destination = destination::open(&args.file)?;
    let transfer = Transfer::Download {
        volume,
        offset: args.offset,
        length: args.length,
        sparse: args.sparse,
    };
    let mut stream = backend.open(StreamFlags::empty(), &transfer)?;
    let bar = progress(total, "download");
    let step = |done: Copied| {
        bar.set_position(done.total());
        interrupt::check()
    };
    let copied = if destination.seekable() {
        download_to_file(stream.as_mut(), destination.file(), args.sparse, step)
    } else {
        let mut out = destination.file();
        download_to_writer(stream.as_mut(), &mut out, args.sparse, step)
    };
    bar.finish_and_clear();
    let copied = copied.map_err(|error| {
        if destination.seekable() {
            super::prefix(
                format!(
                    "download into {} failed; nothing was written to it (the partial file was \
                     removed)",
                    destination.name()
                ),
                &error,
            )
        } else {
            super::prefix(
                format!("download into {} failed part-way", destination.name()),
                &error,
            )
        }
    })?;
    stream.finish()?;
    destination.complete()?;
    report("downloaded", copied);
    Ok(())
}
