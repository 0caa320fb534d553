//! A daemon that outlives the process that started it, recorded in a state file that only its
//! owner can have written, and checked again before it is signalled, restarted or removed.

use super::ours::{DirCheck, Volume, Volumes, check_daemon_dir, is_our_libvirtd, volumes};
use super::private::{check_state_parent, read_private_file, write_private_file};
use super::*;

/// What a daemon left running by [`LocalDaemon::persist`] needs to be found and stopped later,
/// stored as `key=value` lines in a state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonState {
    pub dir: PathBuf,
    pub pid: u32,
    pub uri: String,
}

/// What [`DaemonState::stop`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stopped {
    /// Whether libvirtd was still running (it was then stopped).
    pub was_running: bool,
    /// The volumes removed with the directory, or `None` when the directory was already gone.
    pub removed: Option<Vec<Volume>>,
}

impl DaemonState {
    /// Writes the state to `path` as a new 0600 file, in a directory that no other user can
    /// write.
    pub fn write(&self, path: &Path) -> Result<(), DaemonError> {
        check_parent(path)?;
        let text = format!(
            "dir={}\npid={}\nuri={}\n",
            self.dir.display(),
            self.pid,
            self.uri
        );
        write_private_file(path, &text)
    }

    /// Reads the state at `path`; refuses one that another user could have written or
    /// replaced (see [`DaemonState::read_if_any`]), and says so when there is none.
    pub fn read(path: &Path) -> Result<DaemonState, DaemonError> {
        Self::read_if_any(path)?.ok_or_else(|| DaemonError::State {
            path: path.to_owned(),
            reason: "does not exist: no daemon was started".to_owned(),
        })
    }

    /// The state at `path`, or `None` when nothing is there. Only a regular file of the caller's
    /// with mode 0600, opened without following a link, in a directory no other user can
    /// write, is believed; and its `uri=` must be the socket in its `dir=`.
    pub fn read_if_any(path: &Path) -> Result<Option<DaemonState>, DaemonError> {
        let bad = |reason: String| DaemonError::State {
            path: path.to_owned(),
            reason,
        };
        if fs::symlink_metadata(path).is_err_and(|err| err.kind() == io::ErrorKind::NotFound) {
            return Ok(None);
        }
        check_parent(path)?;
        let Some(text) = read_private_file(path).map_err(bad)? else {
            return Ok(None);
        };
        let value = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .ok_or_else(|| bad(format!("no `{key}=` line")))
        };
        let pid = value("pid")?;
        let state = DaemonState {
            dir: PathBuf::from(value("dir")?),
            pid: pid
                .parse()
                .map_err(|_| bad(format!("pid `{pid}` is not a number")))?,
            uri: value("uri")?.to_owned(),
        };
        if state.uri != uri_for(&state.dir) {
            return Err(bad(format!(
                "uri `{}` is not the socket of dir {}",
                state.uri,
                state.dir.display()
            )));
        }
        Ok(Some(state))
    }

    /// Whether `pid` is still this state's libvirtd: a live (not zombie) process of the caller's
    /// whose command line is libvirtd with this directory's config, so a reused pid or another
    /// user's libvirtd is never mistaken for it.
    pub fn is_running(&self) -> bool {
        is_our_libvirtd(self.pid, &self.dir)
    }

    /// Stops the daemon if it still runs (SIGTERM, SIGKILL after 10 s) and removes its
    /// directory, returning the volumes that went with it. Nothing is signalled or removed
    /// unless the directory is a private daemon's of the caller's (or gone) and the pid is the
    /// caller's libvirtd on it.
    pub fn stop(self) -> Result<Stopped, DaemonError> {
        let check = check_daemon_dir(&self.dir);
        if let DirCheck::NotOurs(reason) = &check {
            return Err(self.not_ours(reason));
        }
        let was_running = self.is_running();
        if was_running {
            self.terminate()?;
        }
        let removed = match check {
            DirCheck::Gone => None,
            _ => {
                let volumes = volumes(&self.dir);
                fs::remove_dir_all(&self.dir)
                    .map_err(io_error(format_args!("removing {}", self.dir.display())))?;
                Some(volumes)
            }
        };
        Ok(Stopped {
            was_running,
            removed,
        })
    }

    /// Starts libvirtd again on the directory of this state's dead daemon, keeping the volumes
    /// in its pool; returns the new state and those volumes. The directory is never removed,
    /// even if the restart fails.
    pub fn restart(&self) -> Result<(DaemonState, Vec<Volume>), DaemonError> {
        // The installation the directory was made for, not this process's: a restart keeps the
        // release.
        let installation = Installation::of_dir(&self.dir);
        let modules = preflight(&installation)?;
        if self.is_running() {
            return Err(DaemonError::Unusable(format!(
                "libvirtd {} is still running on {}",
                self.pid,
                self.dir.display()
            )));
        }
        match check_daemon_dir(&self.dir) {
            DirCheck::Ours => {}
            DirCheck::Gone => {
                return Err(DaemonError::Unusable(format!(
                    "{} no longer exists",
                    self.dir.display()
                )));
            }
            DirCheck::NotOurs(reason) => return Err(self.not_ours(&reason)),
        }
        let kept = volumes(&self.dir);
        // An earlier version may have written other rules; this version's config replaces it.
        prepare_dir(&self.dir, &installation, &modules)?;
        let mut daemon = LocalDaemon::on_dir(self.dir.clone(), false, false, None, installation);
        daemon.launch().map_err(|err| {
            DaemonError::Unusable(format!(
                "restarting libvirtd on {} (kept, with {}) failed: {err}",
                self.dir.display(),
                Volumes(&kept)
            ))
        })?;
        Ok((daemon.persist(), kept))
    }

    /// Whether the state's directory is a private daemon's of the caller's; `Ok(false)` when
    /// it is gone, the reason when it is something else.
    pub fn dir_is_ours(&self) -> Result<bool, DaemonError> {
        match check_daemon_dir(&self.dir) {
            DirCheck::Ours => Ok(true),
            DirCheck::Gone => Ok(false),
            DirCheck::NotOurs(reason) => Err(self.not_ours(&reason)),
        }
    }

    fn not_ours(&self, reason: &str) -> DaemonError {
        DaemonError::Unusable(format!(
            "not touching libvirtd {} or {}: it is not a private daemon's directory ({reason})",
            self.pid,
            self.dir.display()
        ))
    }

    /// SIGTERM, SIGKILL after [`STOP_TIMEOUT`], each only while the pid is still our libvirtd;
    /// the directory stays.
    pub(crate) fn terminate(&self) -> Result<(), DaemonError> {
        ours::signal_our_libvirtd(self.pid, &self.dir, libc::SIGTERM);
        if self.wait_gone(STOP_TIMEOUT) {
            return Ok(());
        }
        ours::signal_our_libvirtd(self.pid, &self.dir, libc::SIGKILL);
        if self.wait_gone(KILL_TIMEOUT) {
            return Ok(());
        }
        Err(DaemonError::Unusable(format!(
            "libvirtd {} is still running after SIGKILL",
            self.pid
        )))
    }

    fn wait_gone(&self, timeout: Duration) -> bool {
        let asked = Instant::now();
        while asked.elapsed() < timeout {
            if !self.is_running() {
                return true;
            }
            thread::sleep(POLL);
        }
        !self.is_running()
    }
}

/// Makes sure a state can be kept at `path` before anything is started: its directory is
/// created (0700) if missing, then checked as [`DaemonState::write`] would.
pub(crate) fn prepare_state_location(path: &Path) -> Result<(), DaemonError> {
    let parent = parent_of(path);
    if fs::symlink_metadata(parent).is_err_and(|err| err.kind() == io::ErrorKind::NotFound) {
        // Only the last level, after checking the one above: a recursive create would follow
        // a link planted on the way before any check could refuse it.
        super::private::ensure_private_dir(parent).map_err(|error| DaemonError::State {
            path: path.to_owned(),
            reason: format!("cannot keep a state there: {error}"),
        })?;
    }
    check_parent(path)
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn check_parent(path: &Path) -> Result<(), DaemonError> {
    check_state_parent(parent_of(path)).map_err(|reason| DaemonError::State {
        path: path.to_owned(),
        reason,
    })
}
