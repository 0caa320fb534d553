//! A private libvirtd that outlives the command starting it, found again through a state file:
//! what `virtstream daemon` and `virtstream-daemon` (behind `cargo xtask daemon`) do, with the
//! messages both print, so no volume is ever removed or reused without being named.

use std::{env, path::Path, path::PathBuf};

use crate::daemon::{
    DaemonError, DaemonState, LocalDaemon, Volumes,
    private::{check_private_dir, ensure_private_dir, euid},
    state::prepare_state_location,
};

/// What a command did: the daemon's state and the lines to tell the user (on stderr).
#[derive(Debug)]
#[non_exhaustive]
pub struct Done {
    pub state: DaemonState,
    pub messages: Vec<String>,
}

/// Where the state is kept unless `--state` says otherwise: `$XDG_RUNTIME_DIR/virtstream/`
/// when `$XDG_RUNTIME_DIR` is the caller's own 0700 directory, else `$TMPDIR/virtstream-<uid>/`
/// (normally `/tmp/virtstream-0/`); either is created 0700 and refused unless it is a real
/// directory of the caller's that no one else may enter.
pub fn default_state_file() -> Result<PathBuf, DaemonError> {
    let runtime = env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && check_private_dir(dir).is_ok());
    let dir = match runtime {
        Some(runtime) => runtime.join("virtstream"),
        None => env::temp_dir().join(format!("virtstream-{}", euid())),
    };
    ensure_private_dir(&dir).map_err(|err| {
        DaemonError::Unusable(format!(
            "{err}; remove it, or keep the state elsewhere with --state FILE"
        ))
    })?;
    Ok(dir.join("daemon.state"))
}

/// Starts a daemon and records it in `state_file`; refuses if the file names one still running.
/// A dead daemon's state is recognised: its directory, with its volumes, gets a new libvirtd;
/// a state whose directory is gone is removed first. Either is said in the messages.
pub fn start(state_file: &Path) -> Result<Done, DaemonError> {
    let mut messages = Vec::new();
    // A place the state cannot be kept is refused before a daemon is started for nothing.
    prepare_state_location(state_file)?;
    let _one_at_a_time = lock(state_file)?;
    if let Some(old) = DaemonState::read_if_any(state_file)? {
        // A directory that is not ours refuses everything here: nothing is signalled or removed.
        let ours = old.dir_is_ours()?;
        if ours && old.is_running() {
            return Err(DaemonError::Unusable(format!(
                "already started: libvirtd {} at {} (state file {}); stop it first",
                old.pid,
                old.uri,
                state_file.display()
            )));
        }
        if ours {
            let (state, kept) = old.restart()?;
            write_or_stop(&state, state_file, false)?;
            messages.push(format!(
                "libvirtd {} (state {}) had died; restarted it as libvirtd {} on {} with {}",
                old.pid,
                state_file.display(),
                state.pid,
                state.dir.display(),
                Volumes(&kept)
            ));
            return Ok(Done { state, messages });
        }
        // The directory is gone; a libvirtd still running on it is stopped.
        let stopped = old.clone().stop()?;
        remove(state_file)?;
        let how = if stopped.was_running {
            "was still running"
        } else {
            "had died"
        };
        messages.push(format!(
            "libvirtd {} (state {}) {how} and its directory {} no longer exists; removed the \
             stale state{}",
            old.pid,
            state_file.display(),
            old.dir.display(),
            if stopped.was_running {
                " and stopped it"
            } else {
                ""
            }
        ));
    }
    let state = LocalDaemon::start()?.persist();
    write_or_stop(&state, state_file, true)?;
    messages.push(format!(
        "started libvirtd {} in {} (state: {})",
        state.pid,
        state.dir.display(),
        state_file.display()
    ));
    Ok(Done { state, messages })
}

/// Stops the daemon `state_file` names, removes its directory and the file, and says what went:
/// whether libvirtd was running, and every volume removed with the directory.
pub fn stop(state_file: &Path) -> Result<Done, DaemonError> {
    let state = DaemonState::read(state_file)?;
    let _one_at_a_time = lock(state_file)?;
    let stopped = state.clone().stop()?;
    let mut messages = vec![if stopped.was_running {
        format!("stopped libvirtd {}", state.pid)
    } else {
        format!("libvirtd {} had already died (stale state)", state.pid)
    }];
    messages.push(match &stopped.removed {
        Some(volumes) => format!("removed {} with {}", state.dir.display(), Volumes(volumes)),
        None => format!("its directory {} no longer exists", state.dir.display()),
    });
    remove(state_file)?;
    messages.push(format!("removed the state file {}", state_file.display()));
    Ok(Done { state, messages })
}

/// The running daemon `state_file` names.
pub fn running(state_file: &Path) -> Result<DaemonState, DaemonError> {
    let state = DaemonState::read(state_file)?;
    // Checked first: a directory that is not ours is refused, whatever runs on it.
    let ours = state.dir_is_ours()?;
    if ours && state.is_running() {
        return Ok(state);
    }
    let next = if ours {
        format!(
            "`start` restarts it on {} with its volumes",
            state.dir.display()
        )
    } else {
        format!(
            "its directory {} no longer exists; `start` removes the stale state and starts a \
             new one",
            state.dir.display()
        )
    };
    Err(DaemonError::Unusable(format!(
        "libvirtd {} named by {} is not running; {next}",
        state.pid,
        state_file.display()
    )))
}

/// Without the state file nothing could find the daemon again: then it is not left running. A
/// fresh directory goes with it; an adopted one stays, with its volumes, and the error says so.
fn write_or_stop(state: &DaemonState, state_file: &Path, fresh: bool) -> Result<(), DaemonError> {
    let Err(err) = state.write(state_file) else {
        return Ok(());
    };
    if fresh {
        let _ = state.clone().stop();
        return Err(err);
    }
    let _ = state.terminate();
    Err(DaemonError::Unusable(format!(
        "{err}; stopped libvirtd {} and left {} in place",
        state.pid,
        state.dir.display()
    )))
}

fn remove(state_file: &Path) -> Result<(), DaemonError> {
    std::fs::remove_file(state_file).map_err(|source| DaemonError::Io {
        what: format!("removing {}", state_file.display()),
        source,
    })
}

/// Holds `<state>.lock` (exclusively, until dropped), so two `start`s on one state cannot both
/// start a daemon and leave one of them unrecorded. The lock file lives beside the state, in a
/// directory already checked to be the caller's, and is opened without following a link.
fn lock(state_file: &Path) -> Result<std::fs::File, DaemonError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = state_file.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let io = |what: &str| {
        let what = format!("{what} {}", path.display());
        move |source: std::io::Error| DaemonError::Io { what, source }
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(io("opening"))?;
    // SAFETY: flock(2) on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io("locking")(std::io::Error::last_os_error()));
    }
    Ok(file)
}
