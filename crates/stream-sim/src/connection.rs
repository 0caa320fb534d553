//! The simulated connection to libvirtd: alive until a fault plan (or the test) kills it, as
//! SIGKILL kills a real daemon. Every stream opened on a backend shares it.

use std::sync::atomic::{AtomicBool, Ordering};

/// One client connection.
#[derive(Debug, Default)]
pub struct Connection {
    dead: AtomicBool,
    /// The client has seen the socket close (after that every call gets "socket is closed").
    noticed: AtomicBool,
}

impl Connection {
    /// The daemon at the other end is gone.
    pub fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
    }

    /// Whether the daemon is gone.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// A call finds the daemon gone: true for the first to notice (its socket read hits EOF).
    pub fn notice(&self) -> bool {
        !self.noticed.swap(true, Ordering::SeqCst)
    }
}
