//! `virtstream upload` / `download`: a local file to or from a volume, sparse-aware, with a
//! progress bar on a terminal, leaving nothing half-written that looks complete, and saying what
//! a failed or interrupted transfer left behind.

mod destination;
mod download;
mod safe_path;
mod source;
mod upload;
mod volume;

pub use download::download;
pub use upload::upload;

use indicatif::{ProgressBar, ProgressStyle};
use stream_core::{Backend, Error, ErrorKind, Layout, Result, VolumeId};
use stream_libvirt::LibvirtBackend;
use stream_sim::{Profile, SimBackend};

use crate::cli::TransferArgs;

fn refuse(rule: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, rule)
}

/// `error` with `more` after its message, its kind and libvirt code kept (so scripts matching
/// libvirt's code or message still match).
fn amend(error: &Error, more: impl std::fmt::Display) -> Error {
    reworded(error, format!("{} {more}", error.message()))
}

/// `error` behind `before`, its kind and libvirt code kept.
fn prefix(before: impl std::fmt::Display, error: &Error) -> Error {
    reworded(error, format!("{before}: {}", error.message()))
}

/// `error` with `message` in place of its own, everything else kept.
fn reworded(error: &Error, message: String) -> Error {
    match error.libvirt_code() {
        Some(code) => Error::libvirt(error.kind(), code.code, code.domain, message),
        None => Error::new(error.kind(), message),
    }
}

fn io_error(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |error| Error::new(ErrorKind::System, format!("{what}: {error}")).with_source(error)
}

/// A byte progress bar of `total` bytes; indicatif draws nothing when stderr is not a terminal.
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
/// profile) with pool `--pool`, holding volume `--vol` with that layout when one is given (for
/// demos and tests; without a layout the volume does not exist until `upload --create`);
/// anything else is a libvirt URI.
fn connect(args: &TransferArgs) -> Result<(Box<dyn Backend>, VolumeId)> {
    let volume = VolumeId::new(&args.pool, &args.vol);
    let Some(rest) = args.uri.strip_prefix("sim://") else {
        return Ok((Box::new(LibvirtBackend::connect(&args.uri)?), volume));
    };
    let rest = rest.trim_start_matches('/');
    let layout = match rest.strip_prefix('?') {
        None if rest.is_empty() => None,
        Some(query) => match query.strip_prefix("layout=") {
            Some(layout) => Some(layout.replace(['+', ','], " ").replace("%20", " ")),
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
    if let Some(notation) = layout {
        sim.create_volume(&volume, &Layout::parse(&notation)?)?;
    }
    Ok((Box::new(sim), volume))
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

fn report(verb: &str, copied: virtstream::Copied) {
    eprintln!(
        "{verb} {} bytes ({} data, {} in holes)",
        copied.total(),
        copied.data,
        copied.holes
    );
}
