//! An upload's source: a regular file, checked without blocking (a FIFO would block `open`
//! until a writer came, and a device or pipe has no size to send).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use stream_core::Result;

use super::{io_error, refuse};

/// Opens `path` for reading with `O_NONBLOCK` (so a FIFO cannot hang the open) and checks, on
/// what was opened, that it is a regular file; returns it with its size. Regular files ignore
/// `O_NONBLOCK`, so the descriptor reads as usual.
pub fn open(path: &Path) -> Result<(File, u64)> {
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return Err(refuse("the file path is empty: name a local file"));
    }
    if path.as_os_str() == "-" {
        return Err(refuse(
            "upload reads a regular file, not stdin (`-`): a volume upload needs the file's size \
             and its holes before it starts",
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io_error(format!("cannot open {shown}")))?;
    let metadata = file
        .metadata()
        .map_err(io_error(format!("cannot stat {shown}")))?;
    if metadata.is_dir() {
        return Err(refuse(format!("{shown} is a directory: name a file")));
    }
    if !metadata.is_file() {
        // A device or pipe reports no size: nothing (or not what was meant) would be sent.
        return Err(refuse(format!(
            "{shown} is not a regular file: upload copies a file's bytes"
        )));
    }
    Ok((file, metadata.len()))
}
