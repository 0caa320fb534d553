//! An upload's source: a regular file, found by the same trusted walk as a download's
//! destination (only the caller's or root's links are followed) and checked before it is opened,
//! so no device is ever opened (opening some has effects: `/dev/watchdog` arms a reboot) and a
//! FIFO cannot block the open.

use std::fs::File;
use std::path::Path;

use rustix::fs::{FileType, OFlags};
use stream_core::Result;

use super::{refuse, safe_path};

/// Opens the regular file `path` names for reading; returns it with its size.
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
    let located = safe_path::locate(path)?;
    let Some(stat) = located.stat()? else {
        return Err(refuse(format!(
            "cannot open {shown}: No such file or directory"
        )));
    };
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Err(refuse(format!("{shown} is a directory: name a file"))),
        // A device or pipe reports no size: nothing (or not what was meant) would be sent.
        _ => {
            return Err(refuse(format!(
                "{shown} is not a regular file: upload copies a file's bytes"
            )));
        }
    }
    // O_NONBLOCK in case it became a FIFO after all (open_seen then refuses it); regular files
    // ignore the flag.
    let fd = located.open_seen(OFlags::RDONLY | OFlags::NONBLOCK, &stat)?;
    Ok((File::from(fd), stat.st_size as u64))
}
