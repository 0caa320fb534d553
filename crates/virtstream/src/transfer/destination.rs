//! Where a download goes: a regular file is written under a temporary name beside it and
//! renamed into place (keeping an existing file's permission bits, owner and group); anything
//! else a user can name (`-` or `/dev/stdout`, `/dev/null`, a FIFO, a device) is written
//! through, in order, never replaced.
//!
//! The path may be in a directory other users write to (`/tmp`). It is walked by
//! [`safe_path`](super::safe_path): only links of the caller or root are followed, and every
//! later call is relative to the directory descriptor the walk checked, the temporary file is
//! created exclusively, and what is opened is checked to be what was looked at.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::RawFd;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Stat, Uid};
use stream_core::{Error, ErrorKind, Result};

use super::safe_path::{self, Located};
use super::{io_error, refuse};
use crate::interrupt;

/// A download's destination, opened.
#[derive(Debug)]
pub enum Destination {
    /// A regular file (or none yet), replaced when the download is complete.
    Replace(Partial),
    /// Written through from where it stands: stdout, a pipe, a character or block device.
    Through {
        /// What the user named, for messages.
        name: String,
        /// The open destination.
        file: File,
    },
}

/// Opens what `path` names for a download.
pub fn open(path: &Path) -> Result<Destination> {
    if let Some(fd) = descriptor(path) {
        return through_descriptor(path, fd);
    }
    let located = safe_path::locate(path)?;
    let Some(stat) = located.stat()? else {
        return Partial::create(located, None).map(Destination::Replace);
    };
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => {
            refuse_foreign(&located, &stat)?;
            Partial::create(located, Some(stat)).map(Destination::Replace)
        }
        FileType::Directory => Err(refuse(format!(
            "{} is a directory: name a file",
            located.shown.display()
        ))),
        // A device, a FIFO (whose open waits for a reader, as a shell redirection does).
        _ => {
            let fd = located.open_seen(OFlags::WRONLY, &stat)?;
            Ok(Destination::Through {
                name: located.shown.display().to_string(),
                file: File::from(fd),
            })
        }
    }
}

/// The descriptor a name stands for: `-` and `/dev/stdout` are 1, `/dev/stderr` 2, `/dev/fd/N`
/// and `/proc/self/fd/N` are N. Written through that descriptor itself (not a new open of it),
/// so a shell's redirection keeps its offset: `{ echo header; virtstream download … /dev/stdout;
/// } > out` keeps the header, and `>> log` appends.
fn descriptor(path: &Path) -> Option<RawFd> {
    let text = path.to_str()?;
    match text {
        "-" | "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => text
            .strip_prefix("/dev/fd/")
            .or_else(|| text.strip_prefix("/proc/self/fd/"))?
            .parse()
            .ok(),
    }
}

fn through_descriptor(path: &Path, fd: RawFd) -> Result<Destination> {
    // SAFETY: `fd` is only borrowed for the duration of the clone; a closed one fails fcntl.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let shown = match fd {
        1 => "stdout".to_owned(),
        _ => path.display().to_string(),
    };
    let owned = rustix::io::fcntl_dupfd_cloexec(borrowed, 3)
        .map_err(|errno| io_error(format!("cannot write to {shown}"))(errno.into()))?;
    Ok(Destination::Through {
        name: shown,
        file: File::from(owned),
    })
}

/// Another user's file in a directory other users can write (`/tmp`) is not replaced: keeping
/// its owner would hand the download to whoever planted the file.
fn refuse_foreign(located: &Located, stat: &Stat) -> Result<()> {
    let caller = safe_path::caller();
    if stat.st_uid == caller || !safe_path::others_can_write(&located.dir) {
        return Ok(());
    }
    Err(refuse(format!(
        "{} belongs to uid {}, not you (uid {caller}), in a directory other users can write: \
         refusing to replace it (its owner would get the download); remove it or name another \
         file",
        located.shown.display(),
        stat.st_uid
    )))
}

/// A download being written under a temporary name beside its destination.
#[derive(Debug)]
pub struct Partial {
    located: Located,
    temporary: OsString,
    file: File,
    /// The file it replaces: its permission bits, owner and group are kept.
    existing: Option<Box<Stat>>,
    /// Renamed into place; nothing to remove.
    done: bool,
}

impl Partial {
    /// Creates the temporary file (`O_EXCL`, 0600, a fresh random name) in the destination's
    /// directory.
    fn create(located: Located, existing: Option<Stat>) -> Result<Partial> {
        let directory = located
            .shown
            .parent()
            .map_or_else(|| ".".to_owned(), |dir| dir.display().to_string());
        for attempt in 0..100u32 {
            let temporary = OsString::from(format!(".virtstream-download-{}", random(attempt)));
            match rustix::fs::openat(
                &located.dir,
                &temporary,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => {
                    interrupt::doom(&located.dir, &temporary);
                    return Ok(Partial {
                        located,
                        temporary,
                        file: File::from(fd),
                        existing: existing.map(Box::new),
                        done: false,
                    });
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(errno) => {
                    return Err(io_error(format!("cannot create a file in {directory}"))(
                        errno.into(),
                    ));
                }
            }
        }
        Err(Error::new(
            ErrorKind::System,
            format!("cannot create a file in {directory}: 100 names were taken"),
        ))
    }

    /// Gives the file the replaced one's permission bits (a new one 0644), owner and group, and
    /// renames it into place. Set-user-ID, set-group-ID and sticky bits are not carried over: a
    /// download is data, and the name may be a hard link to a program.
    fn complete(mut self) -> Result<()> {
        let shown = self.located.shown.display().to_string();
        let mode = self
            .existing
            .as_ref()
            .map_or(0o644, |stat| stat.st_mode & 0o777);
        if let Some(stat) = &self.existing {
            rustix::fs::fchown(
                &self.file,
                Some(Uid::from_raw(stat.st_uid)),
                Some(Gid::from_raw(stat.st_gid)),
            )
            .map_err(|errno| {
                Error::new(
                    ErrorKind::System,
                    format!(
                        "cannot give the download {shown}'s owner and group (uid {}, gid {}): \
                         {}; {shown} was left as it was",
                        stat.st_uid,
                        stat.st_gid,
                        io::Error::from(errno)
                    ),
                )
            })?;
        }
        rustix::fs::fchmod(&self.file, Mode::from_raw_mode(mode))
            .map_err(|errno| io_error(format!("cannot set the mode of {shown}"))(errno.into()))?;
        rustix::fs::renameat(
            &self.located.dir,
            &self.temporary,
            &self.located.dir,
            &self.located.name,
        )
        .map_err(|errno| io_error(format!("cannot write {shown}"))(errno.into()))?;
        self.done = true;
        interrupt::spare(&self.temporary);
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            // Every error path ends here: the partial download goes.
            let _ = rustix::fs::unlinkat(&self.located.dir, &self.temporary, AtFlags::empty());
            interrupt::spare(&self.temporary);
        }
    }
}

/// A name no other process is likely to pick; `O_EXCL` makes a clash harmless (a retry).
fn random(attempt: u32) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u32(attempt);
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |time| time.as_nanos()),
    );
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

impl Destination {
    /// The file to write into.
    pub fn file(&self) -> &File {
        match self {
            Destination::Replace(partial) => &partial.file,
            Destination::Through { file, .. } => file,
        }
    }

    /// Whether holes can be skipped (a regular file of our own) or must be written as zeros.
    pub fn seekable(&self) -> bool {
        matches!(self, Destination::Replace(_))
    }

    /// What the user named, for messages.
    pub fn name(&self) -> String {
        match self {
            Destination::Replace(partial) => partial.located.shown.display().to_string(),
            Destination::Through { name, .. } => name.clone(),
        }
    }

    /// The download is complete: a replaced file is renamed into place; a destination written
    /// through has nothing to do.
    pub fn complete(self) -> Result<()> {
        match self {
            Destination::Replace(partial) => partial.complete(),
            Destination::Through { .. } => Ok(()),
        }
    }
}
