//! The simulated connection to libvirtd: alive until a fault plan (or the test) kills it, as
//! SIGKILL kills a real daemon. Every stream opened on a backend shares it.

use std::sync::atomic::{AtomicBool, Ordering};

/// One client connection.
#[derive(Debug, Default)]
pub struct Connection {
    dead: AtomicBool,
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
}
