//! A private libvirtd that the conformance faults group may kill: a fresh daemon per check,
//! connected through the real libvirt backend.

use std::sync::Mutex;

use stream_conformance::faults::Killable;
use stream_core::Backend;
use stream_libvirt::LibvirtBackend;
use stream_libvirt::daemon::LocalDaemon;

/// A daemon of its own and a connection to it.
#[derive(Debug)]
pub struct DaemonKillable {
    // Field order: the connection closes before the daemon stops.
    backend: LibvirtBackend,
    daemon: Mutex<LocalDaemon>,
}

impl DaemonKillable {
    /// Start a private daemon and connect to it.
    pub fn start() -> Result<DaemonKillable, String> {
        let daemon = LocalDaemon::start().map_err(|error| {
            format!("cannot start a private libvirtd (run `cargo xtask setup` as root): {error}")
        })?;
        let backend = LibvirtBackend::connect(daemon.uri())
            .map_err(|error| format!("connect {}: {error}", daemon.uri()))?;
        Ok(DaemonKillable {
            backend,
            daemon: Mutex::new(daemon),
        })
    }

    /// [`DaemonKillable::start`], boxed for the faults group.
    pub fn make() -> Result<Box<dyn Killable>, String> {
        Ok(Box::new(DaemonKillable::start()?))
    }
}

impl Killable for DaemonKillable {
    fn backend(&self) -> &dyn Backend {
        &self.backend
    }

    fn kill(&self) -> Result<(), String> {
        let mut daemon = self
            .daemon
            .lock()
            .map_err(|_| "daemon lock poisoned".to_string())?;
        daemon
            .kill()
            .map_err(|error| format!("kill libvirtd: {error}"))
    }

    fn name(&self) -> &str {
        "daemon"
    }
}
