//! Resolving a user's path as a root process on a shared machine must: every symbolic link on
//! the way (in any component, not only the last) is followed only when it belongs to the caller
//! or to root (the rule of the kernel's `protected_symlinks`, which may be off), and the walk
//! holds a descriptor of each directory, so no component can be swapped between the check and
//! the use.
//!
//! Crates looked at: `openat` (no link policy), `cap-std` (refuses every link that leaves its
//! root, which `/dev/stdout` and `/srv/current -> …` need), `path-clean` (purely lexical). None
//! follows "links of trusted owners only", so this walk is written here, on rustix.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat};
use stream_core::{Error, ErrorKind, Result};

use super::refuse;

/// How many links one path may pass through (the kernel's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// A path's last component, in a directory held open: what the caller opens or creates, with
/// `openat`-style calls relative to `dir`.
#[derive(Debug)]
pub struct Located {
    /// The directory that holds `name`.
    pub dir: OwnedFd,
    /// The last component; never a symbolic link when it exists (trusted links are resolved).
    pub name: OsString,
    /// Where that is, for messages.
    pub shown: PathBuf,
}

impl Located {
    /// `name`'s status without following a link; `None` if it does not exist.
    pub fn stat(&self) -> Result<Option<Stat>> {
        match rustix::fs::statat(&self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(stat)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(errno) => Err(failed("cannot look at", &self.shown, errno)),
        }
    }

    /// Opens `name` with `flags` plus `O_NOFOLLOW | O_CLOEXEC | O_NOCTTY`, and checks that it is
    /// the very file `seen` described (same device and inode), not one swapped in since.
    pub fn open_seen(&self, flags: OFlags, seen: &Stat) -> Result<OwnedFd> {
        let fd = rustix::fs::openat(
            &self.dir,
            &self.name,
            flags | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(|errno| failed("cannot open", &self.shown, errno))?;
        let opened =
            rustix::fs::fstat(&fd).map_err(|errno| failed("cannot stat", &self.shown, errno))?;
        if (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino) {
            return Err(refuse(format!(
                "{} changed while it was being opened: refusing a file someone is swapping",
                self.shown.display()
            )));
        }
        Ok(fd)
    }
}

fn failed(what: &str, path: &Path, errno: rustix::io::Errno) -> Error {
    let error = std::io::Error::from(errno);
    Error::new(
        ErrorKind::System,
        format!("{what} {}: {error}", path.display()),
    )
    .with_source(error)
}

/// The caller's effective uid: whose links are trusted, and whose files may be replaced.
pub fn caller() -> u32 {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// Walks `path` to its last component, following only trusted links.
pub fn locate(path: &Path) -> Result<Located> {
    let mut pending: VecDeque<OsString> = VecDeque::new();
    let (mut dir, mut shown) = start(path, &mut pending)?;
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            dir = open_dir(&dir, OsStr::new(".."), &shown)?;
            shown.pop();
            continue;
        }
        let here = shown.join(&name);
        let last = pending.is_empty();
        let stat = match rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(rustix::io::Errno::NOENT) if last => None,
            Err(rustix::io::Errno::NOENT) => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "{} does not exist: there is no directory to hold {}",
                        here.display(),
                        path.display()
                    ),
                ));
            }
            Err(errno) => return Err(failed("cannot look at", &here, errno)),
            Ok(stat) => Some(stat),
        };
        let kind = stat.map(|stat| FileType::from_raw_mode(stat.st_mode));
        if let (Some(stat), Some(FileType::Symlink)) = (stat, kind) {
            trusted(&here, &stat)?;
            links += 1;
            if links > MAX_LINKS {
                return Err(refuse(format!(
                    "{}: more than {MAX_LINKS} symbolic links",
                    path.display()
                )));
            }
            let target = rustix::fs::readlinkat(&dir, &name, Vec::new())
                .map_err(|errno| failed("cannot read the link", &here, errno))?;
            let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
            let mut rest = VecDeque::new();
            if target.is_absolute() {
                (dir, shown) = start(&target, &mut rest)?;
            } else {
                rest.extend(components(&target));
            }
            rest.extend(pending.drain(..));
            pending = rest;
            continue;
        }
        if last {
            return Ok(Located {
                dir,
                name,
                shown: here,
            });
        }
        dir = open_dir(&dir, &name, &here)?;
        shown = here;
    }
    // The path ended in `/`, `.` or `..`: it names a directory.
    Err(refuse(format!(
        "{} is a directory: name a file",
        path.display()
    )))
}

/// The directory the walk starts from (`/` or the working directory), with `path`'s components
/// queued in `pending`.
fn start(path: &Path, pending: &mut VecDeque<OsString>) -> Result<(OwnedFd, PathBuf)> {
    pending.extend(components(path));
    let (from, shown) = if path.is_absolute() {
        (PathBuf::from("/"), PathBuf::from("/"))
    } else {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        (PathBuf::from("."), cwd)
    };
    let dir = rustix::fs::openat(
        CWD,
        &from,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| failed("cannot open", &shown, errno))?;
    Ok((dir, shown))
}

fn components(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|component| match component {
        Component::Normal(name) => Some(name.to_owned()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

/// `name` in `dir` as a directory, not following a link (links were resolved by the walk).
fn open_dir(dir: &OwnedFd, name: &OsStr, shown: &Path) -> Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| failed("cannot open the directory", shown, errno))
}

/// A link is followed only when it belongs to the caller or to root: another user's link in a
/// shared directory could point anywhere (`/etc/shadow`, `/dev/sda`).
fn trusted(path: &Path, link: &Stat) -> Result<()> {
    let euid = caller();
    if link.st_uid == euid || link.st_uid == 0 {
        return Ok(());
    }
    Err(refuse(format!(
        "{} is a symbolic link owned by uid {}, not by you (uid {euid}) or root: refusing to \
         follow a link another user controls; name its target instead",
        path.display(),
        link.st_uid
    )))
}

/// Whether users other than the owner may write into the directory `dir`.
pub fn others_can_write(dir: &OwnedFd) -> bool {
    rustix::fs::fstat(dir).is_ok_and(|stat| stat.st_mode & 0o022 != 0)
}
