//! SIGINT and SIGTERM during a transfer: the copy stops at its next step, cleans up (a partial
//! download is removed, an upload says what the volume now holds) and the process exits 130 or
//! 143, as shells expect.
//!
//! The signals are taken by a thread (signal-hook's iterator), not by the copy: a libvirt call
//! blocked on a wedged daemon would never see a flag. So the thread also keeps a deadline: when
//! the copy has not stopped [`GRACE`] after the signal (or a second signal comes), the thread
//! removes the registered temporary files itself and exits.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use stream_core::{Error, ErrorKind, Result};

/// How long the copy has to stop cleanly after a signal before the process exits anyway.
const GRACE: Duration = Duration::from_secs(5);

/// The first signal received, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Temporary files to remove if the process has to exit from the signal thread.
static DOOMED: Mutex<Vec<(OwnedFd, OsString)>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Starts taking SIGINT and SIGTERM for this process; idempotent. Without it the default
/// action (exit at once) would leave a partial download behind.
pub fn install() -> Result<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|error| {
        Error::new(
            ErrorKind::System,
            format!("cannot take SIGINT/SIGTERM: {error}"),
        )
    })?;
    thread::Builder::new()
        .name("virtstream-signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                if RECEIVED
                    .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    // A second signal means "now".
                    leave(RECEIVED.load(Ordering::SeqCst));
                }
                // Otherwise the copy gets GRACE to stop and clean up by itself.
                thread::spawn(move || {
                    thread::sleep(GRACE);
                    leave(signal);
                });
            }
        })
        .map_err(|error| {
            Error::new(
                ErrorKind::System,
                format!("cannot start the signal thread: {error}"),
            )
        })?;
    let _ = INSTALLED.set(());
    Ok(())
}

/// The exit status for a process ended by `signal`: 128 + its number (130 SIGINT, 143 SIGTERM).
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}

/// The signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// An error once SIGINT or SIGTERM has come: the copy's progress callback returns it, so the
/// copy stops at its next step.
pub fn check() -> Result<()> {
    match received() {
        None => Ok(()),
        Some(signal) => Err(Error::new(
            ErrorKind::System,
            format!("interrupted by {}", name(signal)),
        )),
    }
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Remove `name` in `dir` if the process has to exit from the signal thread; undone by
/// [`spare`]. By directory descriptor, like everything the download creates.
pub fn doom(dir: &OwnedFd, name: &OsStr) {
    if let (Ok(dir), Ok(mut doomed)) = (dir.try_clone(), DOOMED.lock()) {
        doomed.push((dir, name.to_owned()));
    }
}

/// `name` is no longer temporary (renamed into place, or removed already).
pub fn spare(name: &OsStr) {
    if let Ok(mut doomed) = DOOMED.lock() {
        doomed.retain(|(_, doomed)| doomed != name);
    }
}

/// Exits from the signal thread: the copy did not stop in time.
fn leave(signal: i32) -> ! {
    remove_doomed();
    eprintln!(
        "virtstream: {}: exiting before the transfer stopped (a second signal, or {GRACE:?} passed)",
        name(signal)
    );
    std::process::exit(exit_code(signal));
}

fn remove_doomed() {
    if let Ok(doomed) = DOOMED.lock() {
        for (dir, name) in doomed.iter() {
            let _ = rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::empty());
        }
    }
}
