//! A private libvirtd that outlives the command starting it, found again through a state file:
//! what `virtstream daemon` and `virtstream-daemon` (behind `cargo xtask daemon`) do.

use std::path::Path;

use crate::daemon::{DaemonError, DaemonState, LocalDaemon};

/// Start a daemon and record it in `state_file`; refuses if the file names one still running,
/// and clears the state of one that died.
pub fn start(state_file: &Path) -> Result<DaemonState, DaemonError> {
    if state_file.exists() {
        let old = DaemonState::read(state_file)?;
        if old.is_running() {
            return Err(DaemonError::Unusable(format!(
                "already started: libvirtd {} at {} (state file {}); stop it first",
                old.pid,
                old.uri,
                state_file.display()
            )));
        }
        // A daemon that died (or a machine that rebooted) left its state; clear it and go on.
        old.stop()?;
        remove(state_file)?;
    }
    let state = LocalDaemon::start()?.persist();
    if let Err(err) = write(&state, state_file) {
        // Without the state file nothing could find this daemon again; do not leave it running.
        let _ = state.stop();
        return Err(err);
    }
    Ok(state)
}

/// Stop the daemon `state_file` names and remove the file; returns its state and whether it
/// was still running.
pub fn stop(state_file: &Path) -> Result<(DaemonState, bool), DaemonError> {
    let state = read_existing(state_file)?;
    let was_running = state.is_running();
    state.clone().stop()?;
    remove(state_file)?;
    Ok((state, was_running))
}

/// The running daemon `state_file` names.
pub fn running(state_file: &Path) -> Result<DaemonState, DaemonError> {
    let state = read_existing(state_file)?;
    if !state.is_running() {
        return Err(DaemonError::Unusable(format!(
            "libvirtd {} named by {} is not running; start one first",
            state.pid,
            state_file.display()
        )));
    }
    Ok(state)
}

fn write(state: &DaemonState, state_file: &Path) -> Result<(), DaemonError> {
    if let Some(parent) = state_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| DaemonError::Io {
            what: format!("creating {}", parent.display()),
            source,
        })?;
    }
    state.write(state_file)
}

/// The state, with a message that says no daemon was started when the file does not exist.
fn read_existing(state_file: &Path) -> Result<DaemonState, DaemonError> {
    if !state_file.exists() {
        return Err(DaemonError::State {
            path: state_file.to_owned(),
            reason: "does not exist: no daemon was started".to_owned(),
        });
    }
    DaemonState::read(state_file)
}

fn remove(state_file: &Path) -> Result<(), DaemonError> {
    std::fs::remove_file(state_file).map_err(|source| DaemonError::Io {
        what: format!("removing {}", state_file.display()),
        source,
    })
}
