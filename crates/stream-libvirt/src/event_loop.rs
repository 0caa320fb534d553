//! The process's one libvirt event loop (`virEventRegisterDefaultImpl` + a thread running
//! `virEventRunDefaultImpl`), run only while something needs it.
//!
//! NONBLOCK streams get data and callbacks fire only through the loop. But while the loop runs,
//! a remote client reads packets in the background and a blocking `recv` returns several queued
//! packets at once (measured: fixtures/libvirt-9.0/q1.loop.out), so blocking streams lose the
//! deterministic one-packet-per-`recv` behaviour. Hence the loop runs while a NONBLOCK stream or
//! a callback holds a [`Demand`], and parks otherwise.

use std::sync::{Condvar, Mutex, OnceLock};

use stream_core::{Error, ErrorKind, Result};
use virt::sys;

/// How often (ms) the loop thread wakes from `poll` to see whether it is still wanted.
const WAKE_MS: i32 = 20;

struct LoopState {
    demand: Mutex<usize>,
    wanted: Condvar,
}

static LOOP: OnceLock<std::result::Result<LoopState, String>> = OnceLock::new();

/// Register the default event implementation and start the loop thread, once per process. Must
/// run before a connection is opened, so the connection's socket is watched by the loop.
pub fn ensure_started() -> Result<()> {
    let state = LOOP.get_or_init(|| {
        // SAFETY: plain libvirt calls with no pointers of ours; done once, before any connection.
        unsafe {
            if sys::virEventRegisterDefaultImpl() < 0 {
                return Err("virEventRegisterDefaultImpl failed".into());
            }
            if sys::virEventAddTimeout(WAKE_MS, Some(wake), std::ptr::null_mut(), None) < 0 {
                return Err("virEventAddTimeout failed".into());
            }
        }
        std::thread::Builder::new()
            .name("libvirt-event-loop".into())
            .spawn(run)
            .map_err(|error| format!("cannot start the event loop thread: {error}"))?;
        Ok(LoopState {
            demand: Mutex::new(0),
            wanted: Condvar::new(),
        })
    });
    state
        .as_ref()
        .map(|_| ())
        .map_err(|why| Error::new(ErrorKind::Internal, why.clone()))
}

unsafe extern "C" fn wake(_timer: std::os::raw::c_int, _opaque: *mut std::os::raw::c_void) {}

fn state() -> Option<&'static LoopState> {
    LOOP.get().and_then(|state| state.as_ref().ok())
}

fn run() {
    loop {
        let Some(state) = state() else {
            std::thread::sleep(std::time::Duration::from_millis(1));
            continue;
        };
        {
            let mut demand = state
                .demand
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            while *demand == 0 {
                demand = state
                    .wanted
                    .wait(demand)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }
        // SAFETY: the default implementation was registered before this thread started.
        unsafe {
            sys::virEventRunDefaultImpl();
        }
    }
}

/// While held, the event loop runs.
#[derive(Debug)]
pub struct Demand(());

impl Demand {
    /// Ask for the loop to run.
    pub fn new() -> Demand {
        if let Some(state) = state() {
            *state
                .demand
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
            state.wanted.notify_all();
        }
        Demand(())
    }
}

impl Drop for Demand {
    fn drop(&mut self) {
        if let Some(state) = state() {
            let mut demand = state
                .demand
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *demand = demand.saturating_sub(1);
        }
    }
}
