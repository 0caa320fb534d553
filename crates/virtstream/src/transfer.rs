//! `virtstream upload` / `download`: a local file to or from a volume, sparse-aware, with a
//! progress bar on a terminal, leaving nothing half-written that looks complete.

use std::fs::File;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use stream_core::{
    Backend, Error, ErrorKind, Layout, Recv, RecvFlags, Result, StreamFlags, Transfer, VolumeId,
};
use stream_libvirt::LibvirtBackend;
use stream_sim::{Profile, SimBackend};
use virtstream::{Copied, download_to_file, upload_from_file};

use crate::cli::TransferArgs;

fn refuse(rule: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, rule)
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |error| Error::new(ErrorKind::System, format!("{what}: {error}")).with_source(error)
}

/// A byte progress bar; indicatif draws nothing when stderr is not a terminal.
fn progress(total: u64, verb: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
    {
        bar.set_style(style);
    }
    bar.set_message(verb.to_string());
    bar
}

/// The backend `--uri` names: `sim://[?layout=<notation>]` is an in-process simulator (remote
/// profile) whose pool `--pool` holds volume `--vol` with that layout (empty by default), for
/// demos and tests; anything else is a libvirt URI.
fn connect(args: &TransferArgs) -> Result<(Box<dyn Backend>, VolumeId)> {
    let volume = VolumeId::new(&args.pool, &args.vol);
    let Some(rest) = args.uri.strip_prefix("sim://") else {
        return Ok((Box::new(LibvirtBackend::connect(&args.uri)?), volume));
    };
    let notation = match rest.trim_start_matches('/').strip_prefix('?') {
        None if rest.trim_start_matches('/').is_empty() => "-".to_string(),
        Some(query) => match query.strip_prefix("layout=") {
            Some(layout) => layout.replace(['+', ','], " ").replace("%20", " "),
            None => {
                return Err(refuse(format!(
                    "sim:// takes only ?layout=<notation>, got `{query}`"
                )));
            }
        },
        None => {
            return Err(refuse(format!(
                "sim:// takes only ?layout=<notation>, got `{rest}`"
            )));
        }
    };
    let sim = SimBackend::new(Profile::Remote);
    sim.add_pool(&args.pool);
    sim.create_volume(&volume, &Layout::parse(&notation)?)?;
    Ok((Box::new(sim), volume))
}

/// The volume's size, if it is longer than `end`.
fn longer_than(backend: &dyn Backend, volume: &VolumeId, end: u64) -> Result<Option<u64>> {
    let size = backend.volume_layout(volume)?.size();
    Ok((size > end).then_some(size))
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

/// A sparse upload leaves the volume's old bytes under the file's holes (libvirt only moves the
/// write position). For a whole-volume upload, cut the volume to one zero byte first: each hole
/// truncates the file at its end (measured), so nothing old survives past byte 0.
fn empty_volume(backend: &dyn Backend, volume: &VolumeId) -> Result<()> {
    let mut cut = backend.open(
        StreamFlags::empty(),
        &Transfer::upload(volume.clone(), true),
    )?;
    cut.send_hole(1, 0)?;
    cut.finish()?;
    let first = Transfer::Upload {
        volume: volume.clone(),
        offset: 0,
        length: 1,
        sparse: false,
    };
    let mut zero = backend.open(StreamFlags::empty(), &first)?;
    zero.send(&[0])?;
    zero.finish()
}

/// The largest volume offset libvirt can reach (`off_t`); the daemon fails the bind past it with
/// "Unable to seek … Invalid argument", the simulator would not: refused here for both.
const MAX_OFFSET: u64 = i64::MAX as u64;

/// Refuse a range that ends past [`MAX_OFFSET`] (or overflows), before anything is opened.
fn check_range(offset: u64, length: u64) -> Result<()> {
    if offset
        .checked_add(length)
        .is_none_or(|end| end > MAX_OFFSET)
    {
        return Err(refuse(format!(
            "--offset {offset} + --length {length} must end at most at {MAX_OFFSET} \
             (i64::MAX, libvirt's largest offset)"
        )));
    }
    Ok(())
}

/// Refuse an empty path or a directory, naming the argument, before anything is opened.
fn check_path(path: &Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(refuse("the file path is empty: name a local file"));
    }
    if path.is_dir() {
        return Err(refuse(format!(
            "{} is a directory: name a file",
            path.display()
        )));
    }
    Ok(())
}

pub fn upload(args: &TransferArgs) -> Result<()> {
    check_path(&args.file)?;
    let file =
        File::open(&args.file).map_err(io(format!("cannot open {}", args.file.display())))?;
    let metadata = file
        .metadata()
        .map_err(io(format!("cannot stat {}", args.file.display())))?;
    if !metadata.is_file() {
        // A device or pipe reports no size: nothing (or not what was meant) would be sent.
        return Err(refuse(format!(
            "{} is not a regular file: upload copies a file's bytes",
            args.file.display()
        )));
    }
    let size = metadata.len();
    check_range(args.offset, args.length.max(size))?;
    if args.length != 0 && size > args.length {
        return Err(refuse(format!(
            "{} is {size} bytes, longer than --length {}",
            args.file.display(),
            args.length
        )));
    }
    let (backend, volume) = connect(args)?;
    if args.sparse {
        if size == 0 {
            return Err(refuse(
                "--sparse cannot upload an empty file (libvirt has no zero-length hole)",
            ));
        }
        let range_end = args.offset.saturating_add(args.length.max(size));
        if args.offset == 0 && args.length == 0 {
            empty_volume(backend.as_ref(), &volume)?;
        } else if has_data(
            backend.as_ref(),
            &volume,
            args.offset,
            args.length.max(size),
        )? {
            return Err(refuse(format!(
                "volume {volume} has data in the target range; a sparse upload would leave it under the \
                 file's holes: upload without --sparse, or upload the whole volume (no --offset/--length)"
            )));
        } else if let Some(volume_size) = longer_than(backend.as_ref(), &volume, range_end)? {
            // libvirt's hole is a seek and a truncate: the file would end at a hole's end.
            return Err(refuse(format!(
                "volume {volume} is {volume_size} bytes, longer than the range's end {range_end}; a \
                 sparse upload's holes truncate the volume (libvirt seeks and truncates), losing the \
                 bytes after the range: upload without --sparse"
            )));
        }
    }
    let transfer = Transfer::Upload {
        volume,
        offset: args.offset,
        length: args.length,
        sparse: args.sparse,
    };
    let mut stream = backend.open(StreamFlags::empty(), &transfer)?;
    let bar = progress(size, "upload");
    let copied = upload_from_file(stream.as_mut(), &file, args.sparse, |done: Copied| {
        bar.set_position(done.total())
    })?;
    stream.finish()?;
    bar.finish_and_clear();
    report("uploaded", copied);
    Ok(())
}

pub fn download(args: &TransferArgs) -> Result<()> {
    check_path(&args.file)?;
    // The length may run past the end (the download stops there); the offset may not pass
    // libvirt's largest offset.
    check_range(args.offset, 0)?;
    let (backend, volume) = connect(args)?;
    let directory = args
        .file
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Written under a temporary name and renamed at the end: a failed download leaves no file
    // that looks complete.
    let partial = tempfile::Builder::new()
        .prefix(".virtstream-download-")
        .tempfile_in(directory)
        .map_err(io(format!(
            "cannot create a file in {}",
            directory.display()
        )))?;
    let transfer = Transfer::Download {
        volume,
        offset: args.offset,
        length: args.length,
        sparse: args.sparse,
    };
    let mut stream = backend.open(StreamFlags::empty(), &transfer)?;
    let bar = progress(0, "download");
    let copied = download_to_file(
        stream.as_mut(),
        partial.as_file(),
        args.sparse,
        |done: Copied| {
            bar.set_length(done.total().max(bar.length().unwrap_or(0)));
            bar.set_position(done.total());
        },
    )?;
    stream.finish()?;
    // A temporary file is private (0600); the download gets an existing target's mode, or 0644.
    let mode = std::fs::metadata(&args.file)
        .map(|meta| meta.permissions())
        .unwrap_or_else(|_| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        });
    partial.as_file().set_permissions(mode).map_err(io(format!(
        "cannot set the mode of {}",
        args.file.display()
    )))?;
    partial
        .persist(&args.file)
        .map_err(|error| io(format!("cannot write {}", args.file.display()))(error.error))?;
    bar.finish_and_clear();
    report("downloaded", copied);
    Ok(())
}

fn report(verb: &str, copied: Copied) {
    eprintln!(
        "{verb} {} bytes ({} data, {} in holes)",
        copied.total(),
        copied.data,
        copied.holes
    );
}
