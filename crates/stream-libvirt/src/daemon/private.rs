//! Files and directories that only the calling user controls: where the daemon's state may be
//! kept, and how it is read and written without following another user's links.
//!
//! The daemon runs as root on machines other users share, so nothing another user can write may
//! decide what root signals, deletes or hands out as a URI (issue 10, item 1).

use std::{
    fs::{DirBuilder, File, Metadata, OpenOptions},
    io::{Read, Write},
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt},
    time::{SystemTime, UNIX_EPOCH},
};

use super::*;

/// A state file is a few short lines; anything larger was not written by this tool.
pub(super) const MAX_STATE_BYTES: u64 = 4096;

/// The effective uid: the user whose files are trusted.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid(2) has no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// Owned by the caller, or by root (whom every user has to trust anyway).
fn trusted_owner(meta: &Metadata) -> bool {
    meta.uid() == euid() || meta.uid() == 0
}

fn mode(meta: &Metadata) -> u32 {
    meta.mode() & 0o7777
}

/// Refuses unless `dir` itself (not a link to it) is a directory owned by the caller that no
/// one else may enter: the rule for a directory this tool keeps its own state or daemon in.
pub(crate) fn check_private_dir(dir: &Path) -> Result<(), String> {
    let meta = fs::symlink_metadata(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link: refusing a directory that may point anywhere",
            dir.display()
        ));
    }
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if meta.uid() != euid() {
        return Err(format!(
            "{} is owned by uid {}, not you (uid {}): refusing a directory another user controls",
            dir.display(),
            meta.uid(),
            euid()
        ));
    }
    if mode(&meta) & 0o077 != 0 {
        return Err(format!(
            "{} has mode {:04o}: other users may use it; it must be 0700",
            dir.display(),
            mode(&meta)
        ));
    }
    Ok(())
}

/// Creates `dir` with mode 0700 unless it exists (mkdir never follows a link at the name), then
/// checks it with [`check_private_dir`], and checks that no other user can replace it.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), DaemonError> {
    let refuse = |reason: String| DaemonError::Unusable(reason);
    if let Some(parent) = dir.parent() {
        check_no_one_else_controls(parent).map_err(refuse)?;
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Err(err) if err.kind() != io::ErrorKind::AlreadyExists => {
            return Err(io_error(format_args!("creating {}", dir.display()))(err));
        }
        _ => {}
    }
    check_private_dir(dir).map_err(refuse)
}

/// Refuses a directory for a state file that another user could add files to, rename or
/// replace: it must be owned by the caller or root and writable by no one else, and so must
/// every directory above it, except that a sticky one (`/tmp`) is fine above it.
pub(crate) fn check_state_parent(dir: &Path) -> Result<(), String> {
    check_no_one_else_controls(dir)?;
    let meta = fs::metadata(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if mode(&meta) & 0o022 != 0 {
        return Err(format!(
            "{} has mode {:04o}: other users may write there; keep the state in a directory only \
             you can write",
            dir.display(),
            mode(&meta)
        ));
    }
    Ok(())
}

/// Checks that no other user can change what `path` resolves to: every directory on the way is
/// owned by the caller or root and writable by no one else unless sticky (then only owners can
/// rename its entries), and every symbolic link on the way is owned by the caller or root, and
/// so is what it points through.
pub(crate) fn check_no_one_else_controls(path: &Path) -> Result<(), String> {
    let absolute = std::path::absolute(path).map_err(|err| format!("{}: {err}", path.display()))?;
    walk(&absolute, 0)
}

fn walk(path: &Path, links: u32) -> Result<(), String> {
    // The kernel's own limit on links in one lookup.
    const MAX_LINKS: u32 = 40;
    if links > MAX_LINKS {
        return Err(format!("{}: too many symbolic links", path.display()));
    }
    let mut prefix = PathBuf::new();
    for component in path.components() {
        prefix.push(component);
        let meta =
            fs::symlink_metadata(&prefix).map_err(|err| format!("{}: {err}", prefix.display()))?;
        let by_whom = || format!("uid {}, not you (uid {}) or root", meta.uid(), euid());
        if meta.file_type().is_symlink() {
            if !trusted_owner(&meta) {
                return Err(format!(
                    "{} is a symbolic link owned by {}: another user could point it anywhere",
                    prefix.display(),
                    by_whom()
                ));
            }
            let target =
                fs::read_link(&prefix).map_err(|err| format!("{}: {err}", prefix.display()))?;
            let base = prefix.parent().unwrap_or(Path::new("/"));
            walk(&base.join(target), links + 1)?;
        } else if meta.is_dir() {
            if !trusted_owner(&meta) {
                return Err(format!(
                    "{} is owned by {}: another user could replace what is inside",
                    prefix.display(),
                    by_whom()
                ));
            }
            let sticky = meta.mode() & 0o1000 != 0;
            if meta.mode() & 0o022 != 0 && !sticky {
                return Err(format!(
                    "{} has mode {:04o}: other users could replace what is inside",
                    prefix.display(),
                    mode(&meta)
                ));
            }
        }
    }
    Ok(())
}

/// Reads a state file without following a link at its name, and refuses it unless it is a
/// regular file of the caller's with mode 0600 (no access for anyone else), one link, at most
/// [`MAX_STATE_BYTES`] long. `Ok(None)` when nothing is there.
pub(super) fn read_private_file(path: &Path) -> Result<Option<String>, String> {
    let opened = OpenOptions::new()
        .read(true)
        // O_NONBLOCK: a FIFO at the name must not hang the open; it is refused below.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
            return Err("is a symbolic link: refusing to follow it".to_owned());
        }
        Err(err) => return Err(format!("cannot open it: {err}")),
    };
    let meta = file
        .metadata()
        .map_err(|err| format!("cannot stat it: {err}"))?;
    check_private_file(&meta)?;
    let mut text = String::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|err| format!("cannot read it: {err}"))?;
    if text.len() as u64 > MAX_STATE_BYTES {
        return Err(format!("is longer than {MAX_STATE_BYTES} bytes"));
    }
    Ok(Some(text))
}

fn check_private_file(meta: &Metadata) -> Result<(), String> {
    if !meta.is_file() {
        return Err("is not a regular file".to_owned());
    }
    if meta.uid() != euid() {
        return Err(format!(
            "is owned by uid {}, not you (uid {}): refusing a state another user wrote",
            meta.uid(),
            euid()
        ));
    }
    if mode(meta) & 0o077 != 0 {
        return Err(format!(
            "has mode {:04o}: a state file must be 0600 (only you may read or write it)",
            mode(meta)
        ));
    }
    // A second name would be a hard link someone else may have made to a file of ours.
    if meta.nlink() != 1 {
        return Err(format!(
            "has {} hard links; a state file has one",
            meta.nlink()
        ));
    }
    if meta.len() > MAX_STATE_BYTES {
        return Err(format!("is longer than {MAX_STATE_BYTES} bytes"));
    }
    Ok(())
}

/// Writes `text` to `path` as a new 0600 file: created beside it under a fresh name (never
/// following or reusing anything there), then renamed over `path`, which replaces a link at the
/// name instead of following it.
pub(super) fn write_private_file(path: &Path, text: &str) -> Result<(), DaemonError> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(DaemonError::State {
            path: path.to_owned(),
            reason: "is not a file name".to_owned(),
        });
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let temporary = dir.join(format!(
        ".{}.{}-{nanos}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    written.map_err(|err| {
        let _ = fs::remove_file(&temporary);
        io_error(format_args!("writing {}", path.display()))(err)
    })
}
