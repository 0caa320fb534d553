//! The process's one libvirt event loop (`virEventRegisterDefaultImpl` + a thread running
//! `virEventRunDefaultImpl`), and when it may run.
//!
//! The loop must run: NONBLOCK streams get data and callbacks fire only through it, and an
//! idle connection answers the daemon's keepalive pings only through it (unanswered, the daemon
//! drops the connection after 30 s). But while it runs, a remote client reads stream packets in
//! the background and a blocking `recv` returns several queued packets at once (measured:
//! fixtures/libvirt-9.0/q1.loop.out), losing libvirt's deterministic one-packet-per-`recv`.
//! So the loop runs unless a blocking stream is alive and nothing needs the loop
//! ([`Demand`]); a blocking stream ([`Quiet`]) waits until the loop has parked before it is
//! bound. A blocking stream left idle for over 30 s with no call can lose its connection to
//! keepalive; a NONBLOCK stream or callback alive beside it brings back the coalescing.

use std::os::raw::{c_int, c_void};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::ThreadId;
use std::time::Duration;

use stream_core::{Error, ErrorKind, Result};
use virt::sys;

/// How often (ms) the loop wakes from `poll` to see whether it should park.
const WAKE_MS: c_int = 20;

#[derive(Debug, Default)]
struct Counts {
    /// NONBLOCK streams and registered callbacks: the loop must run.
    demand: usize,
    /// Blocking streams: the loop should park, unless there is demand.
    quiet: usize,
    /// The loop thread is parked (not inside `virEventRunDefaultImpl`).
    parked: bool,
    /// How many times `virEventRunDefaultImpl` has returned.
    iterations: u64,
}

impl Counts {
    fn should_run(&self) -> bool {
        self.demand > 0 || self.quiet == 0
    }
}

struct LoopState {
    counts: Mutex<Counts>,
    changed: Condvar,
    timer: c_int,
}

static LOOP: OnceLock<std::result::Result<LoopState, String>> = OnceLock::new();
static LOOP_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Register the default event implementation and start the loop thread, once per process. Must
/// run before a connection is opened, so the connection's socket is watched by the loop.
pub fn ensure_started() -> Result<()> {
    let state = LOOP.get_or_init(|| {
        // SAFETY: plain libvirt calls with no pointers of ours; done once, before any connection.
        let timer = unsafe {
            if sys::virEventRegisterDefaultImpl() < 0 {
                return Err("virEventRegisterDefaultImpl failed".into());
            }
            sys::virEventAddTimeout(WAKE_MS, Some(wake), std::ptr::null_mut(), None)
        };
        if timer < 0 {
            return Err("virEventAddTimeout failed".into());
        }
        std::thread::Builder::new()
            .name("libvirt-event-loop".into())
            .spawn(run)
            .map_err(|error| format!("cannot start the event loop thread: {error}"))?;
        Ok(LoopState {
            counts: Mutex::default(),
            changed: Condvar::new(),
            timer,
        })
    });
    state
        .as_ref()
        .map(|_| ())
        .map_err(|why| Error::new(ErrorKind::Internal, why.clone()))
}

unsafe extern "C" fn wake(timer: c_int, _opaque: *mut c_void) {
    // Back to the slow period after a nudge (`Quiet::new`, `settle`): one firing is enough.
    // SAFETY: our own timer.
    unsafe { sys::virEventUpdateTimeout(timer, WAKE_MS) };
}

fn state() -> Option<&'static LoopState> {
    LOOP.get().and_then(|state| state.as_ref().ok())
}

fn lock(state: &LoopState) -> MutexGuard<'_, Counts> {
    state
        .counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run() {
    let _ = LOOP_THREAD.set(std::thread::current().id());
    let state = loop {
        match state() {
            Some(state) => break state,
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    loop {
        {
            let mut counts = lock(state);
            while !counts.should_run() {
                if !counts.parked {
                    counts.parked = true;
                    state.changed.notify_all();
                    // SAFETY: our own timer; back to its slow period after a nudge.
                    unsafe { sys::virEventUpdateTimeout(state.timer, WAKE_MS) };
                }
                counts = state
                    .changed
                    .wait(counts)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            counts.parked = false;
        }
        // SAFETY: the default implementation was registered before this thread started.
        unsafe { sys::virEventRunDefaultImpl() };
        lock(state).iterations += 1;
        state.changed.notify_all();
    }
}

/// Wait until no dispatch that began before this call is still running on the loop thread.
///
/// Call after `virStreamEventRemoveCallback` and before `virStreamFinish`/`Abort`/`Free`:
/// libvirt 9.0's local fdstream (`virFDStreamEvent`) reads `st->privateData` and locks it
/// without holding a reference, so a dispatch already in flight when the callback is removed
/// can lock the fdstream's private data after `virStreamFinish` has freed it
/// (`virObjectGetLockableObj ... (<NULL-class>)`, a use-after-free). The removal destroyed the
/// watch, so once the loop has finished its current iteration (or is parked) nothing of it is
/// left. A no-op on the loop thread itself (a callback removing itself).
pub fn settle() {
    let Some(state) = state() else { return };
    if LOOP_THREAD.get() == Some(&std::thread::current().id()) {
        return;
    }
    let counts = lock(state);
    if counts.parked {
        return;
    }
    let seen = counts.iterations;
    nudge_and_wait(state, counts, Duration::from_secs(2), |counts| {
        counts.iterations == seen && !counts.parked
    });
}

/// Make the loop return from `poll` now, then wait (at most `timeout`) while `waiting` holds.
fn nudge_and_wait(
    state: &LoopState,
    counts: MutexGuard<'_, Counts>,
    timeout: Duration,
    waiting: impl FnMut(&mut Counts) -> bool,
) {
    // SAFETY: our own timer; firing at once makes the loop return from poll now.
    unsafe { sys::virEventUpdateTimeout(state.timer, 0) };
    let _ = state
        .changed
        .wait_timeout_while(counts, timeout, waiting)
        .unwrap_or_else(|poisoned| poisoned.into_inner());
}

/// While held, the event loop runs (a NONBLOCK stream, a registered callback).
#[derive(Debug)]
pub struct Demand(());

impl Demand {
    /// Ask for the loop to run.
    pub fn new() -> Demand {
        if let Some(state) = state() {
            lock(state).demand += 1;
            state.changed.notify_all();
        }
        Demand(())
    }
}

impl Drop for Demand {
    fn drop(&mut self) {
        if let Some(state) = state() {
            let mut counts = lock(state);
            counts.demand = counts.demand.saturating_sub(1);
            state.changed.notify_all();
        }
    }
}

/// While held, the loop stays parked unless something demands it (a blocking stream).
#[derive(Debug)]
pub struct Quiet(());

impl Quiet {
    /// Ask for quiet, and wait (briefly) until the loop has left `virEventRunDefaultImpl`.
    pub fn new() -> Quiet {
        if let Some(state) = state() {
            let mut counts = lock(state);
            counts.quiet += 1;
            if !counts.should_run() && !counts.parked {
                nudge_and_wait(state, counts, Duration::from_secs(1), |counts| {
                    !counts.parked && !counts.should_run()
                });
            }
        }
        Quiet(())
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        if let Some(state) = state() {
            let mut counts = lock(state);
            counts.quiet = counts.quiet.saturating_sub(1);
            state.changed.notify_all();
        }
    }
}
