//! Where a download goes: a regular file is written under a temporary name beside it and
//! renamed into place (keeping an existing file's mode, owner and group); anything else a user
//! can name (`-` for stdout, `/dev/null`, a FIFO, a device) is written through, in order, never
//! replaced.
//!
//! The path may be in a directory other users write to (`/tmp`): a symlink is followed only when
//! it belongs to the caller or to root (the rule of the kernel's `protected_symlinks`), a path
//! that was not a link when looked at is opened without following one, and the temporary file
//! is created exclusively (tempfile's `O_EXCL` with a random name).

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use stream_core::{Error, ErrorKind, Result};
use tempfile::NamedTempFile;

use super::{io_error, refuse};
use crate::interrupt;

/// A download's destination, opened.
#[derive(Debug)]
pub enum Destination {
    /// A regular file (or none yet) at `path`, replaced when the download is complete.
    Replace {
        /// The final name.
        path: PathBuf,
        /// The file being written, in the same directory.
        partial: NamedTempFile,
        /// The file it replaces, whose mode, owner and group the download keeps.
        existing: Option<Box<Metadata>>,
    },
    /// Written through from its start: stdout, a pipe, a character or block device.
    Through {
        /// What the user named, for messages.
        name: String,
        /// The open destination.
        file: File,
    },
}

/// Opens what `path` names for a download; `-` is stdout.
pub fn open(path: &Path) -> Result<Destination> {
    if path.as_os_str() == "-" {
        return stdout();
    }
    let shown = path.display().to_string();
    let linked = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return replace(path, None),
        Err(error) => return Err(io_error(format!("cannot look at {shown}"))(error)),
        Ok(meta) if meta.file_type().is_symlink() => {
            trusted_link(path, &meta)?;
            true
        }
        Ok(meta) if meta.is_file() => return replace(path, Some(meta)),
        Ok(meta) if meta.is_dir() => {
            return Err(refuse(format!("{shown} is a directory: name a file")));
        }
        Ok(_) => false,
    };
    // A device, a FIFO, a socket, or a trusted link to anything: open it (a FIFO waits for its
    // reader here, as a shell redirection does) and decide on what was opened.
    let mut options = OpenOptions::new();
    options.write(true).custom_flags(libc::O_NOCTTY);
    if !linked {
        // It was not a link a moment ago; if it is one now, someone swapped it: refuse.
        options.custom_flags(libc::O_NOCTTY | libc::O_NOFOLLOW);
    }
    let file = options
        .open(path)
        .map_err(io_error(format!("cannot open {shown}")))?;
    let meta = file
        .metadata()
        .map_err(io_error(format!("cannot stat {shown}")))?;
    if meta.is_file() {
        // A trusted link to a regular file: replace the file it names, not the link.
        drop(file);
        let target = fs::canonicalize(path).map_err(io_error(format!("cannot resolve {shown}")))?;
        return replace(&target, Some(meta));
    }
    if meta.is_dir() {
        return Err(refuse(format!("{shown} is a directory: name a file")));
    }
    Ok(Destination::Through { name: shown, file })
}

/// Standard output as a destination (its own descriptor, so closing it does not close fd 1).
fn stdout() -> Result<Destination> {
    let fd = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(io_error("cannot use stdout".to_owned()))?;
    Ok(Destination::Through {
        name: "stdout".to_owned(),
        file: File::from(fd),
    })
}

/// A link is followed only when it belongs to the caller or to root: another user's link in a
/// shared directory could point anywhere (`/etc/shadow`, `/dev/sda`).
fn trusted_link(path: &Path, link: &Metadata) -> Result<()> {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if link.uid() == euid || link.uid() == 0 {
        return Ok(());
    }
    Err(refuse(format!(
        "{} is a symbolic link owned by uid {}, not by you (uid {euid}) or root: refusing to \
         follow a link another user controls; name its target instead",
        path.display(),
        link.uid()
    )))
}

/// A temporary file beside `path`, to be renamed over it when the download is complete.
fn replace(path: &Path, existing: Option<Metadata>) -> Result<Destination> {
    let directory = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let partial = tempfile::Builder::new()
        .prefix(".virtstream-download-")
        .tempfile_in(directory)
        .map_err(io_error(format!(
            "cannot create a file in {}",
            directory.display()
        )))?;
    // Removed by NamedTempFile on every error path; by the signal thread if it must exit. (A
    // name left in its list after an error is harmless: the process is ending, and removing a
    // file that is gone fails quietly.)
    interrupt::doom(partial.path());
    Ok(Destination::Replace {
        path: path.to_owned(),
        partial,
        existing: existing.map(Box::new),
    })
}

impl Destination {
    /// The file to write into.
    pub fn file(&self) -> &File {
        match self {
            Destination::Replace { partial, .. } => partial.as_file(),
            Destination::Through { file, .. } => file,
        }
    }

    /// Whether holes can be skipped (a regular file of our own) or must be written as zeros.
    pub fn seekable(&self) -> bool {
        matches!(self, Destination::Replace { .. })
    }

    /// What the user named, for messages.
    pub fn name(&self) -> String {
        match self {
            Destination::Replace { path, .. } => path.display().to_string(),
            Destination::Through { name, .. } => name.clone(),
        }
    }

    /// The download is complete: give the file the replaced one's mode, owner and group (a new
    /// one 0644) and rename it into place. A destination written through has nothing to do.
    pub fn complete(self) -> Result<()> {
        let Destination::Replace {
            path,
            partial,
            existing,
        } = self
        else {
            return Ok(());
        };
        let shown = path.display().to_string();
        let mode = existing
            .as_ref()
            .map_or(0o644, |meta| meta.permissions().mode() & 0o7777);
        if let Some(meta) = &existing {
            // Owner and group first: chown clears set-user-ID and set-group-ID bits.
            rustix::fs::fchown(
                partial.as_file(),
                Some(rustix::fs::Uid::from_raw(meta.uid())),
                Some(rustix::fs::Gid::from_raw(meta.gid())),
            )
            .map_err(|errno| {
                Error::new(
                    ErrorKind::System,
                    format!(
                        "cannot give the download {shown}'s owner and group (uid {}, gid {}): \
                         {}; {shown} was left as it was",
                        meta.uid(),
                        meta.gid(),
                        io::Error::from(errno)
                    ),
                )
            })?;
        }
        partial
            .as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_error(format!("cannot set the mode of {shown}")))?;
        let temporary = partial.path().to_owned();
        partial
            .persist(&path)
            .map_err(|error| io_error(format!("cannot write {shown}"))(error.error))?;
        interrupt::spare(&temporary);
        Ok(())
    }
}
