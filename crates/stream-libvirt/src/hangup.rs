//! When the daemon dies, wake every event callback on the connection once with
//! `ERROR | HANGUP`.
//!
//! Raw libvirt 9.0 never tells a stream's callback that its daemon died: `ERROR` and `HANGUP`
//! never fire, `READABLE` never comes again, only `WRITABLE` keeps firing where it was asked
//! for (measured: fixtures/libvirt-9.0/FINDINGS.md, Q11). An application waiting for
//! `READABLE` would wait forever. The connection's close callback does fire (~60 ms after the
//! kill), so this crate registers one and passes the news on.

use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use stream_core::EventSet;
use virt::sys;

use crate::callback::Registered;

/// The callbacks registered on one connection, and whether its daemon died.
#[derive(Debug, Default)]
pub struct Watchers {
    dead: AtomicBool,
    callbacks: Mutex<Vec<Weak<Registered>>>,
}

impl Watchers {
    /// Watch `connection` for its close; returns whether libvirt took the registration
    /// (in-process drivers, which cannot close, refuse it and are simply not watched).
    ///
    /// # Safety
    /// `connection` must be alive; [`Watchers::detach`] must run before it is closed for the
    /// last time (libvirt's registration holds a reference on it).
    pub unsafe fn attach(self: &Arc<Self>, connection: sys::virConnectPtr) -> bool {
        let opaque = Arc::into_raw(self.clone()) as *mut c_void;
        // SAFETY: live connection; `opaque` is one strong count handed to libvirt, released by
        // `release` when the callback is unregistered or the connection is freed.
        let registered = unsafe {
            sys::virConnectRegisterCloseCallback(connection, Some(closed), opaque, Some(release))
        };
        if registered < 0 {
            // SAFETY: libvirt did not keep `opaque`.
            unsafe { release(opaque) };
            // The refusal left an error behind for this thread; it is not the caller's.
            // SAFETY: plain libvirt call.
            unsafe { sys::virResetLastError() };
        }
        registered >= 0
    }

    /// Undo [`Watchers::attach`]: libvirt releases its reference on the connection (and ours
    /// on the watchers).
    ///
    /// # Safety
    /// `connection` must be alive and watched.
    pub unsafe fn detach(connection: sys::virConnectPtr) {
        // SAFETY: live connection; `closed` is the callback `attach` registered.
        if unsafe { sys::virConnectUnregisterCloseCallback(connection, Some(closed)) } < 0 {
            // SAFETY: plain libvirt call; a failed unregistration is not the caller's error.
            unsafe { sys::virResetLastError() };
        }
    }

    /// Also wake `callback` when the daemon dies.
    pub fn watch(&self, callback: &Arc<Registered>) {
        if let Ok(mut callbacks) = self.callbacks.lock() {
            callbacks.retain(|weak| weak.strong_count() > 0);
            callbacks.push(Arc::downgrade(callback));
        }
    }

    /// Whether the daemon at the other end died.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn hang_up(&self) {
        self.dead.store(true, Ordering::SeqCst);
        let live: Vec<Arc<Registered>> = match self.callbacks.lock() {
            Ok(callbacks) => callbacks.iter().filter_map(Weak::upgrade).collect(),
            Err(_) => return,
        };
        // Outside the registry's lock: a callback may register or remove callbacks itself.
        for callback in live {
            callback.deliver(EventSet::ERROR | EventSet::HANGUP);
        }
    }
}

unsafe extern "C" fn closed(_connection: sys::virConnectPtr, _reason: c_int, opaque: *mut c_void) {
    // SAFETY: `opaque` is the `Watchers` given in `attach`, alive until `release`.
    let watchers = unsafe { &*(opaque as *const Watchers) };
    // A panic must not unwind into libvirt's C event loop.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| watchers.hang_up()));
}

unsafe extern "C" fn release(opaque: *mut c_void) {
    // SAFETY: the strong count handed over in `attach`, released once.
    drop(unsafe { Arc::from_raw(opaque as *const Watchers) });
}
