//! `virtstream upload`: a regular file into a volume; the volume's size changes only when asked
//! for, and a failed or interrupted upload says what the volume now holds.

use stream_core::{Result, StreamFlags, Transfer};
use virtstream::{Copied, upload_from_file_with_head};

use super::volume::{self, Request};
use super::{check_range, connect, prefix, progress, refuse, report, source};
use crate::cli::TransferArgs;
use crate::interrupt;

pub fn upload(args: &TransferArgs) -> Result<()> {
    let (file, size) = source::open(&args.file)?;
    check_range(args.offset, args.length.max(size))?;
    if args.length != 0 && size > args.length {
        return Err(refuse(format!(
            "{} is {size} bytes, longer than --length {}",
            args.file.display(),
            args.length
        )));
    }
    if args.sparse && size == 0 {
        return Err(refuse(
            "--sparse cannot upload an empty file (libvirt has no zero-length hole)",
        ));
    }
    let request = Request {
        size,
        offset: args.offset,
        length: args.length,
        sparse: args.sparse,
        resize: args.resize,
        create: args.create,
        capacity: args.capacity,
    };
    let (backend, volume) = connect(args)?;
    let plan = volume::prepare(backend.as_ref(), &volume, &request)?;
    interrupt::install()?;
    let transfer = Transfer::Upload {
        volume: volume.clone(),
        offset: args.offset,
        length: args.length,
        sparse: args.sparse,
    };
    let bar = progress(size, "upload");
    let mut sent = Copied::default();
    let mut cut = false;
    let result = (|| {
        let mut head = 0;
        if plan.cut {
            // From here on the volume's old contents are gone, whatever happens next.
            cut = true;
            // A sparse upload of the volume's own size leaves the size; a plain one would
            // leave whatever size the volume had (its writes never truncate).
            let keeps_size = args.sparse && size == plan.size_before;
            // What the cut left of the old contents is overwritten below, hole or not.
            head = volume::cut(backend.as_ref(), &volume, keeps_size)?;
        }
        let mut stream = backend.open(StreamFlags::empty(), &transfer)?;
        upload_from_file_with_head(stream.as_mut(), &file, args.sparse, head, |done: Copied| {
            sent = done;
            bar.set_position(done.total());
            interrupt::check()
        })?;
        stream.finish()
    })();
    bar.finish_and_clear();
    match result {
        Ok(()) => {
            report("uploaded", sent);
            Ok(())
        }
        Err(error) => {
            // The stream was dropped (aborted) on the way out; what it wrote stays written.
            let state = match (cut, sent.total()) {
                (false, 0) => format!("volume {volume} is unchanged"),
                (true, written) => format!(
                    "volume {volume} is incomplete: its old contents were cut for the upload, and \
                     at most {written} of {size} bytes written"
                ),
                (false, written) => format!(
                    "volume {volume} is incomplete: at most {written} of {size} bytes written (the \
                     rest of it holds what it held before)"
                ),
            };
            Err(prefix(state, &error))
        }
    }
}
