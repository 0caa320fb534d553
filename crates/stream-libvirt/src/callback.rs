//! Event callbacks registered through `virt::sys` with this crate's own boxed state and free
//! function (not `virt::stream::Stream`'s callback API, which panics in `Drop` after `finish`).

use std::os::raw::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use stream_core::{EventCallback, EventSet};
use virt::sys;

/// What libvirt's `opaque` points at.
struct Boxed {
    callback: Mutex<EventCallback>,
}

/// Register `callback` for `events` on `stream`; returns libvirt's result.
///
/// # Safety
/// `stream` must be a live stream pointer.
pub unsafe fn add(stream: sys::virStreamPtr, events: EventSet, callback: EventCallback) -> c_int {
    let opaque = Box::into_raw(Box::new(Boxed {
        callback: Mutex::new(callback),
    })) as *mut c_void;
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
    }
    result
}

unsafe extern "C" fn trampoline(_stream: sys::virStreamPtr, events: c_int, opaque: *mut c_void) {
    // SAFETY: `opaque` is the `Boxed` registered in `add`, alive until `free`.
    let boxed = unsafe { &*(opaque as *const Boxed) };
    // A panic must not unwind into libvirt's C event loop.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(mut callback) = boxed.callback.lock() {
            callback(EventSet::from_bits_retain(events as u32));
        }
    }));
}

unsafe extern "C" fn free(opaque: *mut c_void) {
    // SAFETY: called once, by libvirt's free hook or by `add` on failure.
    drop(unsafe { Box::from_raw(opaque as *mut Boxed) });
}
