//! Whether a directory and a process are the private daemon's that this tool made, checked
//! before anything is signalled, restarted or deleted; and what a directory's pool holds, so
//! no volume goes without being named.

use std::{
    fmt,
    os::fd::{FromRawFd, OwnedFd},
    os::unix::fs::MetadataExt,
};

use super::private::{check_no_one_else_controls, check_private_dir, euid};
use super::*;

/// What a state's `dir=` turned out to be.
#[derive(Debug)]
pub(super) enum DirCheck {
    /// A directory `LocalDaemon::start` made: safe to restart libvirtd on, or to delete.
    Ours,
    /// Nothing is there any more.
    Gone,
    /// Something else: never touched; the reason says why.
    NotOurs(String),
}

/// Checks that `dir` is a private daemon's directory of the caller's: an absolute, plain path
/// named `vs-*` that no other user can replace, a real directory (not a link) owned by the
/// caller with mode 0700, holding the caller's `libvirtd.conf`.
pub(super) fn check_daemon_dir(dir: &Path) -> DirCheck {
    match fs::symlink_metadata(dir) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return DirCheck::Gone,
        Err(err) => return DirCheck::NotOurs(format!("{}: {err}", dir.display())),
        Ok(_) => {}
    }
    match daemon_dir_reason(dir) {
        Ok(()) => DirCheck::Ours,
        Err(reason) => DirCheck::NotOurs(reason),
    }
}

fn daemon_dir_reason(dir: &Path) -> Result<(), String> {
    if !dir.is_absolute() {
        return Err(format!("{} is not an absolute path", dir.display()));
    }
    if !dir
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("vs-"))
    {
        return Err(format!("{} is not named vs-…", dir.display()));
    }
    check_dir(dir).map_err(|err| err.to_string())?;
    if let Some(parent) = dir.parent() {
        check_no_one_else_controls(parent)?;
    }
    check_private_dir(dir)?;
    let conf = dir.join("libvirtd.conf");
    match fs::symlink_metadata(&conf) {
        Ok(meta) if meta.is_file() && meta.uid() == euid() => Ok(()),
        Ok(_) => Err(format!("{} is not a regular file of yours", conf.display())),
        Err(err) => Err(format!("{}: {err}", conf.display())),
    }
}

/// Whether `pid` is the caller's own libvirtd running on `dir`'s config: a live (not zombie)
/// process of the caller's uid whose command line is the directory's libvirtd (the system's, or
/// a prefix's as its `libvirtd` link says) with `<dir>/libvirtd.conf`, so a
/// reused pid or another user's libvirtd is never mistaken for it.
pub(super) fn is_our_libvirtd(pid: u32, dir: &Path) -> bool {
    if pid == 0 {
        return false;
    }
    let proc = PathBuf::from(format!("/proc/{pid}"));
    // /proc/<pid> belongs to the process's effective uid.
    if fs::metadata(&proc).map_or(true, |meta| meta.uid() != euid()) {
        return false;
    }
    let zombie = fs::read_to_string(proc.join("stat")).map_or(true, |stat| {
        // The state follows the command name, which is in parentheses and may hold spaces.
        stat.rsplit_once(") ")
            .is_none_or(|(_, rest)| rest.starts_with('Z'))
    });
    let Ok(cmdline) = fs::read(proc.join("cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let conf = dir.join("libvirtd.conf");
    let libvirtd = Installation::of_dir(dir).libvirtd();
    !zombie
        && args.first() == Some(&libvirtd.as_os_str().as_encoded_bytes())
        && args.contains(&conf.as_os_str().as_encoded_bytes())
}

/// Sends `signal` to `pid` only if it is still our libvirtd on `dir`. A pidfd taken before the
/// check pins the process, so a pid that is reused between the check and the signal gets
/// nothing. Returns whether the signal was sent.
pub(super) fn signal_our_libvirtd(pid: u32, dir: &Path, signal: libc::c_int) -> bool {
    let Ok(raw_pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, raw_pid, 0) };
    if fd < 0 {
        // Kernels before 5.3 have no pidfd; then only the check guards the signal.
        let no_pidfd = io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS);
        if no_pidfd && is_our_libvirtd(pid, dir) {
            host::signal(pid, signal);
            return true;
        }
        return false;
    }
    // SAFETY: the syscall returned a new descriptor that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    if !is_our_libvirtd(pid, dir) {
        return false;
    }
    let fd = std::os::fd::AsRawFd::as_raw_fd(&pidfd);
    // SAFETY: pidfd_send_signal(2) with a valid pidfd, a signal number, no siginfo, no flags.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd,
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    sent == 0
}

/// A volume in a daemon's pool directory, as listed before the directory is removed or reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    /// Its size (the file's length, holes included).
    pub bytes: u64,
}

/// The volumes (files) in `dir`'s pool, by name.
pub(super) fn volumes(dir: &Path) -> Vec<Volume> {
    let mut found: Vec<Volume> = fs::read_dir(dir.join("pool"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            Some(Volume {
                name: entry.file_name().to_string_lossy().into_owned(),
                bytes: meta.len(),
            })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// `"no volumes"`, `"its volume a.raw (1048576 bytes)"`, `"its 2 volumes: a.raw (…), b.raw (…)"`.
#[derive(Debug)]
pub struct Volumes<'a>(pub &'a [Volume]);

impl Volumes<'_> {
    /// How many volumes a message names one by one.
    pub const NAMED: usize = 10;
}

impl fmt::Display for Volumes<'_> {
    /// Names every volume up to [`Volumes::NAMED`]; past that, the first ones, how many more,
    /// and the bytes of all (a test daemon's hundreds of volumes would bury everything else).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |volumes: &[Volume]| {
            volumes
                .iter()
                .map(|v| format!("{} ({} bytes)", v.name, v.bytes))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.0.len() {
            0 => write!(f, "no volumes"),
            1 => write!(f, "its volume {}", list(self.0)),
            n if n <= Self::NAMED => write!(f, "its {n} volumes: {}", list(self.0)),
            n => {
                let bytes: u64 = self.0.iter().map(|v| v.bytes).sum();
                write!(
                    f,
                    "its {n} volumes ({bytes} bytes in all): {} and {} more",
                    list(&self.0[..Self::NAMED]),
                    n - Self::NAMED
                )
            }
        }
    }
}

#[cfg(test)]
mod volume_list_tests {
    use super::{Volume, Volumes};

    fn volumes(n: usize) -> Vec<Volume> {
        (0..n)
            .map(|i| Volume {
                name: format!("v{i}.raw"),
                bytes: 100,
            })
            .collect()
    }

    #[test]
    fn a_long_list_names_ten_and_counts_the_rest() {
        assert_eq!(Volumes(&volumes(0)).to_string(), "no volumes");
        assert_eq!(
            Volumes(&volumes(1)).to_string(),
            "its volume v0.raw (100 bytes)"
        );
        let ten = Volumes(&volumes(10)).to_string();
        assert!(ten.starts_with("its 10 volumes: v0.raw") && ten.ends_with("v9.raw (100 bytes)"));
        assert_eq!(
            Volumes(&volumes(702)).to_string(),
            format!(
                "its 702 volumes (70200 bytes in all): {} and 692 more",
                volumes(10)
                    .iter()
                    .map(|v| format!("{} (100 bytes)", v.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }
}
