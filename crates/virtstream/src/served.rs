//! The `served` conformance column: the project's real libvirt backend (libvirt.so as the client)
//! talking to `virtstream serve`'s simulator, run in this process on a private socket, so the
//! wire server is held to every rule, scenario and differential the daemon column is.

use std::sync::Mutex;

use stream_conformance::faults::Killable;
use stream_core::{Backend, Capabilities, Layout, Result, Stream, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;
use stream_rpc::server::SimServer;

/// A served simulator and a libvirt connection to it.
#[derive(Debug)]
pub struct ServedSim {
    // Field order: the connection closes before the server stops.
    backend: LibvirtBackend,
    server: Mutex<Option<SimServer>>,
}

impl ServedSim {
    /// Serve a fresh simulator (pool `default`, no volumes) and connect to its storage.
    pub fn start() -> std::result::Result<ServedSim, String> {
        ServedSim::connect(|server| server.uri())
    }

    /// Serve a fresh simulator and connect to its test domain (`test+unix:///default`): the
    /// screenshot as a remote stream, as through a libvirtd.
    pub fn start_test_driver() -> std::result::Result<ServedSim, String> {
        ServedSim::connect(|server| server.test_uri())
    }

    fn connect(uri: impl Fn(&SimServer) -> String) -> std::result::Result<ServedSim, String> {
        let server =
            SimServer::start().map_err(|error| format!("cannot serve the simulator: {error}"))?;
        let uri = uri(&server);
        let backend =
            LibvirtBackend::connect(&uri).map_err(|error| format!("connect {uri}: {error}"))?;
        Ok(ServedSim {
            backend,
            server: Mutex::new(Some(server)),
        })
    }

    /// [`ServedSim::start`], boxed for the faults group.
    pub fn make() -> std::result::Result<Box<dyn Killable>, String> {
        Ok(Box::new(ServedSim::start()?))
    }
}

impl Backend for ServedSim {
    fn capabilities(&self) -> Capabilities {
        self.backend.capabilities()
    }

    fn new_stream(&self, flags: StreamFlags) -> Result<Box<dyn Stream>> {
        self.backend.new_stream(flags)
    }

    fn open(&self, flags: StreamFlags, transfer: &Transfer) -> Result<Box<dyn Stream>> {
        self.backend.open(flags, transfer)
    }

    fn create_volume(&self, volume: &VolumeId, layout: &Layout) -> Result<()> {
        self.backend.create_volume(volume, layout)
    }

    fn delete_volume(&self, volume: &VolumeId) -> Result<()> {
        self.backend.delete_volume(volume)
    }

    fn volume_layout(&self, volume: &VolumeId) -> Result<Layout> {
        self.backend.volume_layout(volume)
    }

    fn volume_size(&self, volume: &VolumeId) -> Result<u64> {
        self.backend.volume_size(volume)
    }

    fn read_volume(&self, volume: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.backend.read_volume(volume, offset, buf)
    }
}

impl Killable for ServedSim {
    fn backend(&self) -> &dyn Backend {
        self
    }

    /// The server dies as a killed libvirtd does for its clients: every connection is cut. As
    /// the daemon column's kill returns once libvirtd is reaped, by when its client has seen the
    /// socket close, this returns once the client has (within 2 s): a call made right after a
    /// kill then meets "client socket is closed" on both, not a write into the dying socket.
    fn kill(&self) -> std::result::Result<(), String> {
        let mut server = self
            .server
            .lock()
            .map_err(|_| "server lock poisoned".to_string())?;
        // Dropping the server shuts every connection down and removes its socket.
        match server.take() {
            Some(server) => {
                drop(server);
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
                while self.backend.is_alive() && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Ok(())
            }
            None => Err("the served simulator was already stopped".into()),
        }
    }

    fn name(&self) -> &str {
        "served"
    }
}
