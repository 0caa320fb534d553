//! Reading one scenario file from disk: `stream_core::text_file`'s rules (a regular file, a size
//! cap, opened non-blocking) with a scenario's cap and messages that say what a scenario file is.

use std::io;
use std::path::Path;

use stream_core::text_file::{TextFileError, read_text_file};

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

impl From<TextFileError> for ReadError {
    fn from(error: TextFileError) -> ReadError {
        match error {
            TextFileError::Io(error) => ReadError::Io(error),
            TextFileError::NotRegular(kind) => ReadError::NotRegular(kind),
            TextFileError::TooLarge(_) => ReadError::TooLarge,
            TextFileError::NotText => ReadError::NotText,
        }
    }
}

/// The text of the scenario file at `path` (a symbolic link is followed to its target): a
/// regular file of at most [`MAX_SCENARIO_BYTES`], read as [`read_text_file`] reads it.
pub fn read_scenario_file(path: &Path) -> Result<String, ReadError> {
    Ok(read_text_file(path, MAX_SCENARIO_BYTES)?)
}
