//! Where the server's socket may live: a directory owned by the caller that no one else may
//! enter (0700), so no other user can connect, replace the socket or plant a link. Either the
//! caller names one (checked, never changed) or the server makes a private temporary one.
//!
//! (The same rule as stream-libvirt's private daemon directories, kept here because this crate
//! must build without libvirt.)

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a socket path was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SocketDirError {
    /// The directory breaks the rule.
    #[error("{dir}: {rule}")]
    Unsafe {
        /// The directory.
        dir: PathBuf,
        /// The rule it breaks.
        rule: String,
    },
    /// The path is taken.
    #[error("{0} exists: refusing to replace it (remove it yourself if it is a stale socket)")]
    Exists(PathBuf),
    /// The path has no file name or no directory.
    #[error("{0}: a socket path needs a directory and a file name")]
    NoName(PathBuf),
    /// The filesystem failed.
    #[error("{0}: {1}")]
    Io(PathBuf, io::Error),
}

/// The caller's effective uid.
pub fn caller() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Refuses `dir` unless it is a directory (not a link) owned by the caller with no access for
/// group or others.
pub fn check_private_dir(dir: &Path) -> Result<(), SocketDirError> {
    let unsafe_dir = |rule: String| SocketDirError::Unsafe {
        dir: dir.to_path_buf(),
        rule,
    };
    let meta = fs::symlink_metadata(dir).map_err(|e| SocketDirError::Io(dir.to_path_buf(), e))?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir(
            "is a symbolic link; the socket directory must be a real directory".into(),
        ));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("is not a directory".into()));
    }
    if meta.uid() != caller() {
        return Err(unsafe_dir(format!(
            "is owned by uid {}, not you (uid {}); the socket directory must be yours",
            meta.uid(),
            caller()
        )));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "has mode {mode:04o}; the socket directory must be 0700 (no access for group or others)"
        )));
    }
    Ok(())
}

/// Checks that `socket` may be created: its directory is private and nothing is at the path.
pub fn check_socket_path(socket: &Path) -> Result<(), SocketDirError> {
    let (Some(dir), Some(_)) = (socket.parent(), socket.file_name()) else {
        return Err(SocketDirError::NoName(socket.to_path_buf()));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    check_private_dir(dir)?;
    match fs::symlink_metadata(socket) {
        Ok(_) => Err(SocketDirError::Exists(socket.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SocketDirError::Io(socket.to_path_buf(), e)),
    }
}

/// A new private (0700) temporary directory, removed when dropped.
pub fn private_temp_dir() -> Result<tempfile::TempDir, SocketDirError> {
    let dir = tempfile::Builder::new()
        .prefix("virtstream-serve-")
        .tempdir()
        .map_err(|e| SocketDirError::Io(std::env::temp_dir(), e))?;
    // tempfile makes it 0700 already; say so rather than rely on it.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
        .map_err(|e| SocketDirError::Io(dir.path().to_path_buf(), e))?;
    Ok(dir)
}
