//! Reading a small text file a user names (a scenario, a fault plan): only a regular file, and
//! only up to a size cap, so that a device (`/dev/zero` grew a process by a gigabyte a second)
//! or a FIFO (blocked for ever in `open`) is refused at once (issue 10, item 9).

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a text file could not be read. Its Display names the rule, not the path: callers say
/// which file, and what kind of file it should have been.
#[derive(Debug, thiserror::Error)]
pub enum TextFileError {
    /// It could not be opened or read (it does not exist, permission denied, …).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// It is a FIFO, a device, a directory or a socket.
    #[error("not a regular file (a {0})")]
    NotRegular(&'static str),
    /// It holds more than the cap.
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    /// Its bytes are not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
}

impl TextFileError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, TextFileError::Io(error) if error.kind() == io::ErrorKind::NotFound)
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

fn regular(metadata: &Metadata) -> Result<(), TextFileError> {
    match kind(metadata) {
        None => Ok(()),
        Some(kind) => Err(TextFileError::NotRegular(kind)),
    }
}

/// The text of the file at `path` (a symbolic link is followed to its target), at most
/// `max_bytes` long.
///
/// A path that is not a regular file is refused before it is opened, since opening some devices
/// has effects of its own; the file is then opened non-blocking and checked again, so one
/// swapped for a FIFO in between cannot block either. At most `max_bytes + 1` bytes are ever
/// read.
pub fn read_text_file(path: &Path, max_bytes: u64) -> Result<String, TextFileError> {
    regular(&std::fs::metadata(path)?)?;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    regular(&metadata)?;
    if metadata.len() > max_bytes {
        return Err(TextFileError::TooLarge(max_bytes));
    }
    // The size can change after the stat: the read itself stops one byte past the cap.
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(max_bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(TextFileError::TooLarge(max_bytes));
    }
    String::from_utf8(bytes).map_err(|_| TextFileError::NotText)
}
