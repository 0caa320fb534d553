//! One libvirt connection, shared by a backend and its streams, and closed for real when the
//! last of them goes.
//!
//! libvirt's close callback holds a reference on its connection (`virConnectCloseCallbackData
//! Register` refs it), so while [`Watchers`] is registered, `virConnectClose` only drops our
//! reference and the client never sends `CONNECT_CLOSE`: the daemon sees the socket drop at
//! exit instead of a close, as virsh and libvirt-python do it. Unregistering first makes the
//! last `virConnectClose` the real one.

use std::ops::Deref;
use std::sync::Arc;

use virt::connect::Connect;

use crate::hangup::Watchers;

/// A connection watched for its daemon's death while it lives.
#[derive(Debug)]
pub struct Connection {
    connect: Connect,
    /// Registered as the close callback, if libvirt took it.
    watchers: Option<Arc<Watchers>>,
}

impl Connection {
    /// Takes `connect` and registers `watchers` as its close callback (in-process drivers
    /// refuse one, and are simply not watched).
    pub fn watched_by(connect: Connect, watchers: &Arc<Watchers>) -> Connection {
        // SAFETY: the connection was just opened and is alive.
        let watched = unsafe { watchers.attach(connect.as_ptr()) };
        Connection {
            connect,
            watchers: watched.then(|| watchers.clone()),
        }
    }
}

impl Deref for Connection {
    type Target = Connect;

    fn deref(&self) -> &Connect {
        &self.connect
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // After the daemon died libvirt has already dropped the callback (and its reference);
        // unregistering would only be one more call into a dead connection.
        if self
            .watchers
            .as_ref()
            .is_some_and(|watchers| !watchers.is_dead())
        {
            // SAFETY: the connection is alive until `connect` drops right after this.
            unsafe { Watchers::detach(self.connect.as_ptr()) };
        }
    }
}
