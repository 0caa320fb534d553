//! Reading one scenario file from disk: only a regular file, and only up to a size cap, so that
//! a device (`/dev/zero` grew the process by a gigabyte a second) or a FIFO (blocked forever in
//! `open`) is refused at once (issue 10, item 9).

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The most bytes a scenario file may hold: 1 MiB. The largest recorded one is 1,213 bytes
/// (fixtures/scenarios/remote/lifecycle/new-stream-refuses-all-but-abort.scn); a scenario is a
/// setup and a few dozen one-line operations, so a file near this size is not a scenario.
pub const MAX_SCENARIO_BYTES: u64 = 1 << 20;

/// Why a scenario file could not be read. Its Display names the rule, not the path: callers
/// say which file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// It could not be opened or read (it does not exist, permission denied, …).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// It is a FIFO, a device, a directory or a socket.
    #[error("not a regular file (a {0}); a scenario file must be a regular file")]
    NotRegular(&'static str),
    /// It holds more than [`MAX_SCENARIO_BYTES`].
    #[error("larger than 1 MiB; a scenario file holds at most {MAX_SCENARIO_BYTES} bytes")]
    TooLarge,
    /// Its bytes are not UTF-8 text.
    #[error("not UTF-8 text; a scenario file is text")]
    NotText,
}

impl ReadError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(error) if error.kind() == io::ErrorKind::NotFound)
    }
}

fn kind(metadata: &Metadata) -> Option<&'static str> {
    let kind = metadata.file_type();
    Some(if kind.is_file() {
        return None;
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    })
}

fn regular(metadata: &Metadata) -> Result<(), ReadError> {
    match kind(metadata) {
        None => Ok(()),
        Some(kind) => Err(ReadError::NotRegular(kind)),
    }
}

/// The text of the scenario file at `path` (a symbolic link is followed to its target).
///
/// A path that is not a regular file is refused before it is opened, since opening some devices
/// has effects of its own; the file is then opened non-blocking and checked again, so one
/// swapped for a FIFO in between cannot block either. At most `MAX_SCENARIO_BYTES + 1` bytes are
/// ever read.
pub fn read_scenario_file(path: &Path) -> Result<String, ReadError> {
    regular(&std::fs::metadata(path)?)?;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    regular(&metadata)?;
    if metadata.len() > MAX_SCENARIO_BYTES {
        return Err(ReadError::TooLarge);
    }
    // The size can change after the stat: the read itself stops one byte past the cap.
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_SCENARIO_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}
