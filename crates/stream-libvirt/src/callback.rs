//! Event callbacks registered through `virt::sys` with this crate's own reference-counted state
//! and free function (not `virt::stream::Stream`'s callback API, which panics in `Drop` after
//! `finish`); the connection's [`Watchers`] hold them weakly to report a dead daemon.

use std::os::raw::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::Mutex;

use stream_core::{EventCallback, EventSet};
use virt::sys;

use crate::hangup::Watchers;

/// What libvirt's `opaque` points at: one strong count, released by libvirt's free hook.
pub struct Registered {
    callback: Mutex<EventCallback>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered").finish_non_exhaustive()
    }
}

impl Registered {
    /// Run the callback with `events`; a panic in it stays here.
    pub fn deliver(&self, events: EventSet) {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(mut callback) = self.callback.lock() {
                callback(events);
            }
        }));
    }
}

/// Register `callback` for `events` on `stream`, watched by `watchers`; returns libvirt's result.
///
/// # Safety
/// `stream` must be a live stream pointer.
pub unsafe fn add(
    stream: sys::virStreamPtr,
    events: EventSet,
    callback: EventCallback,
    watchers: &Watchers,
) -> c_int {
    let registered = Arc::new(Registered {
        callback: Mutex::new(callback),
    });
    let opaque = Arc::into_raw(registered.clone()) as *mut c_void;
    // SAFETY: `opaque` stays valid until libvirt calls `free` (after removal), or until we free
    // it ourselves below when registration failed (libvirt then never stored it).
    let result = unsafe {
        sys::virStreamEventAddCallback(
            stream,
            events.bits() as c_int,
            Some(trampoline),
            opaque,
            Some(free),
        )
    };
    if result < 0 {
        // SAFETY: libvirt refused the registration and did not keep `opaque`.
        unsafe { free(opaque) };
    } else {
        watchers.watch(&registered);
    }
    result
}

unsafe extern "C" fn trampoline(_stream: sys::virStreamPtr, events: c_int, opaque: *mut c_void) {
    // SAFETY: `opaque` is the `Registered` of `add`, alive until `free`.
    let registered = unsafe { &*(opaque as *const Registered) };
    // A panic must not unwind into libvirt's C event loop (`deliver` catches it).
    registered.deliver(EventSet::from_bits_retain(events as u32));
}

unsafe extern "C" fn free(opaque: *mut c_void) {
    // SAFETY: the strong count of `add`, released once, by libvirt's free hook or by `add`.
    drop(unsafe { Arc::from_raw(opaque as *const Registered) });
}
