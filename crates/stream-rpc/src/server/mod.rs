//! `virtstream serve`'s engine: the simulator behind libvirt's wire protocol on a unix socket.
//!
//! [`Server::bind`] listens on a socket in a private directory and serves every client that
//! connects on a thread of its own, any number at once, until [`Server::stop`] (or drop), which
//! ends every connection and removes the socket. All connections share one [`SimBackend`]: the
//! pools and volumes a test sets up through [`Server::sim`] are what clients see, and a
//! [`FaultPlan`](stream_sim::FaultPlan) injected there applies to the next stream opened.
//!
//! Shape, for what is built on top: `connection` reads frames and answers calls in order
//! (`dispatch`: one match over the procedure numbers, each decoding its `calls` struct and
//! answering from the simulator's catalog and served streams); `streams` keeps a connection's
//! open streams (uploads applied in the reader, downloads sent by a thread each through the
//! blocking `writer`); `wire_error` turns a simulator error into libvirtd's `remote_error`.
//!
//! Fault plans: each served stream carries the plan injected before it opened
//! ([`ServedDownload::faults`](stream_sim::ServedDownload::faults),
//! [`ServedUpload::faults`](stream_sim::ServedUpload::faults)) and its transfer position
//! (`position()`); the places to act on them are `streams`' download loop (`send_download`, one
//! packet at a time) and its upload arm (one client message at a time), which hold the
//! connection's `writer` (to send a `STREAM ERROR`) and can end the connection.

mod connection;
mod dispatch;
pub mod socket_dir;
mod streams;
mod volume_xml;
mod wire_error;
mod writer;

use std::io;
use std::net::Shutdown;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use stream_sim::SimBackend;

pub use dispatch::PROCEDURES;
pub use socket_dir::SocketDirError;
pub use wire_error::remote_error;

/// The URI a storage client uses for a server on `socket`.
pub fn storage_uri(socket: &Path) -> String {
    format!("storage:///system?socket={}", socket.display())
}

/// The URI the test driver's domain (screenshots) is reached with through a server on `socket`.
pub fn test_uri(socket: &Path) -> String {
    format!("test+unix:///default?socket={}", socket.display())
}

type Live = Arc<Mutex<Vec<(UnixStream, JoinHandle<()>)>>>;

/// A running server.
#[derive(Debug)]
pub struct Server {
    socket: PathBuf,
    /// Device and inode of the socket this server made: only that file is removed.
    identity: (u64, u64),
    sim: SimBackend,
    stopping: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    live: Live,
}

impl Server {
    /// Listens on `socket` (its directory must be the caller's and 0700, the path free) and
    /// serves `sim`.
    pub fn bind(socket: &Path, sim: SimBackend) -> Result<Server, SocketDirError> {
        socket_dir::check_socket_path(socket)?;
        let io_error = |e| SocketDirError::Io(socket.to_path_buf(), e);
        let listener = UnixListener::bind(socket).map_err(io_error)?;
        // The directory already keeps others out; the socket says so too (the rule: 0700).
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o700))
            .map_err(io_error)?;
        let meta = std::fs::symlink_metadata(socket).map_err(io_error)?;
        let stopping = Arc::new(AtomicBool::new(false));
        let live: Live = Arc::default();
        let accept = {
            let (sim, stopping, live) = (sim.clone(), stopping.clone(), live.clone());
            thread::Builder::new()
                .name("serve-accept".into())
                .spawn(move || accept_loop(&listener, &sim, &stopping, &live))
                .map_err(io_error)?
        };
        Ok(Server {
            socket: socket.to_path_buf(),
            identity: (meta.dev(), meta.ino()),
            sim,
            stopping,
            accept: Some(accept),
            live,
        })
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `storage:///system?socket=PATH`.
    pub fn uri(&self) -> String {
        storage_uri(&self.socket)
    }

    /// `test+unix:///default?socket=PATH` (the test domain's screenshot).
    pub fn test_uri(&self) -> String {
        test_uri(&self.socket)
    }

    /// The simulator the clients are served from: add volumes, inject fault plans.
    pub fn sim(&self) -> &SimBackend {
        &self.sim
    }

    /// How many clients are connected now.
    pub fn connections(&self) -> usize {
        let mut live = lock(&self.live);
        live.retain(|(_, thread)| !thread.is_finished());
        live.len()
    }

    /// Ends every connection, stops listening and removes the socket.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which sees the flag and returns.
        let _ = UnixStream::connect(&self.socket);
        let _ = accept.join();
        for (socket, thread) in lock(&self.live).drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
            let _ = thread.join();
        }
        // Only the socket this server made: someone may have replaced it since.
        let ours = std::fs::symlink_metadata(&self.socket)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.identity);
        if ours {
            let _ = std::fs::remove_file(&self.socket);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(listener: &UnixListener, sim: &SimBackend, stopping: &AtomicBool, live: &Live) {
    for incoming in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = incoming else {
            // EMFILE and the like: this client is refused, the next may be served.
            continue;
        };
        let Ok(handle) = client.try_clone() else {
            continue;
        };
        let sim = sim.clone();
        let spawned = thread::Builder::new()
            .name("serve-connection".into())
            .spawn(move || connection::serve(client, sim));
        if let Ok(thread) = spawned {
            let mut live = lock(live);
            live.retain(|(_, thread)| !thread.is_finished());
            live.push((handle, thread));
        }
    }
}

/// Serves one client already connected on `socket` (one end of a socket pair, or an accepted
/// connection) from `sim`, on this thread, until it leaves or sends what cannot be a message:
/// what [`Server`] runs for each client. For fuzzing and for embedding the server elsewhere.
pub fn serve_connection(socket: UnixStream, sim: SimBackend) {
    connection::serve(socket, sim);
}

/// A server on a private temporary socket, for tests: `SimServer::start()`, point a client at
/// [`Server::uri`], set volumes up or inject faults through [`Server::sim`] (or
/// [`SimServer::add_volume`], [`SimServer::inject`]); dropping it
/// stops the server and removes the socket and its directory.
#[derive(Debug)]
pub struct SimServer {
    // Dropped first: the server removes its socket before the directory goes.
    server: Server,
    _dir: tempfile::TempDir,
}

impl SimServer {
    /// A server of a fresh remote-profile simulator (pool `default`, no volumes).
    pub fn start() -> io::Result<SimServer> {
        SimServer::with_sim(SimBackend::new(stream_sim::Profile::Remote))
    }

    /// A server of `sim`.
    pub fn with_sim(sim: SimBackend) -> io::Result<SimServer> {
        let dir = socket_dir::private_temp_dir().map_err(io::Error::other)?;
        let server =
            Server::bind(&dir.path().join("libvirt-sock"), sim).map_err(io::Error::other)?;
        Ok(SimServer { server, _dir: dir })
    }

    /// Adds a volume shaped as `layout` to the pool `default`.
    pub fn add_volume(&self, name: &str, layout: &stream_core::Layout) -> stream_core::Result<()> {
        let id = stream_core::VolumeId::new(stream_sim::DEFAULT_POOL, name);
        stream_core::Backend::create_volume(&self.server.sim, &id, layout)
    }

    /// The next stream a client opens follows `plan`.
    pub fn inject(&self, plan: stream_sim::FaultPlan) {
        self.server.sim.inject(plan);
    }
}

impl std::ops::Deref for SimServer {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}
