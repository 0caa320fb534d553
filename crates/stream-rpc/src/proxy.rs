//! The logging proxy: forwards libvirt RPC between clients and a daemon's unix socket and keeps
//! one [`Record`] per message, in the order it passed. The `stream-rpc-proxy` binary writes them
//! to a file; a test runs it in-process and takes them with [`Proxy::stop`].
//!
//! Each accepted client gets its own connection to the upstream socket and two relay threads,
//! one per direction. A frame the proxy cannot read is recorded as a `# CONN DIR: ERROR` comment
//! line and ends that direction (the peer sees the connection end, as libvirt would).

use std::io::{self, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use crate::FrameReader;
use crate::record::{Direction, Record};

/// Where the proxy's lines go: every line, in order.
pub trait Sink: Send + 'static {
    /// One record line, or a `#` comment line.
    fn line(&mut self, line: &str);
}

impl<W: Write + Send + 'static> Sink for W {
    fn line(&mut self, line: &str) {
        if writeln!(self, "{line}").is_err() {
            let _ = writeln!(io::stderr(), "stream-rpc-proxy: cannot write the recording");
        }
    }
}

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    listen: PathBuf,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// Listen on `listen` (which must not exist: the caller chooses a path in a directory of its
    /// own) and forward every client to `upstream`, sending each line to `sink`.
    pub fn start(listen: &Path, upstream: &Path, sink: impl Sink) -> io::Result<Proxy> {
        let listener = UnixListener::bind(listen)?;
        let lines: Arc<Mutex<Box<dyn Sink>>> = Arc::new(Mutex::new(Box::new(sink)));
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (lines, stopping) = (lines.clone(), stopping.clone());
            let upstream = upstream.to_path_buf();
            thread::spawn(move || accept(&listener, &upstream, &lines, &stopping))
        };
        Ok(Proxy {
            listen: listen.to_path_buf(),
            stopping,
            acceptor: Some(acceptor),
        })
    }

    /// The socket clients connect to.
    pub fn socket(&self) -> &Path {
        &self.listen
    }

    /// Stop accepting, wait until every connection has ended on both sides, remove the socket.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.stopping.store(true, Ordering::SeqCst);
        // The acceptor is blocked in accept(): one connection wakes it to see the flag.
        let _ = UnixStream::connect(&self.listen);
        let relays = acceptor.join().unwrap_or_default();
        for relay in relays {
            let _ = relay.join();
        }
        let _ = std::fs::remove_file(&self.listen);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Collects lines in memory: [`Recording::records`] after the proxy stopped.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Recording {
    /// An empty recording.
    pub fn new() -> Recording {
        Recording::default()
    }

    /// Every line so far, comments included.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.lines).clone()
    }

    /// The records so far (comment lines left out).
    pub fn records(&self) -> Vec<Record> {
        self.lines()
            .iter()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| Record::parse(line).ok())
            .collect()
    }
}

impl Sink for Recording {
    fn line(&mut self, line: &str) {
        lock(&self.lines).push(line.to_string());
    }
}

fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Accepts clients until stopped; returns the relay threads so `stop` can wait for them.
fn accept(
    listener: &UnixListener,
    upstream: &Path,
    lines: &Arc<Mutex<Box<dyn Sink>>>,
    stopping: &AtomicBool,
) -> Vec<JoinHandle<()>> {
    let mut relays = Vec::new();
    for conn in 1.. {
        let Ok((client, _)) = listener.accept() else {
            break;
        };
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let upstream = match UnixStream::connect(upstream) {
            Ok(upstream) => upstream,
            Err(error) => {
                lock(lines).line(&format!("# {conn} upstream: {error}"));
                continue;
            }
        };
        let lines = lines.clone();
        relays.push(thread::spawn(move || {
            relay_connection(conn, client, upstream, &lines)
        }));
    }
    relays
}

/// Runs both directions of one connection until each side has closed.
fn relay_connection(
    conn: u32,
    client: UnixStream,
    upstream: UnixStream,
    lines: &Mutex<Box<dyn Sink>>,
) {
    let pair = client
        .try_clone()
        .and_then(|c| Ok((c, upstream.try_clone()?)));
    let Ok((client2, upstream2)) = pair else {
        return;
    };
    thread::scope(|scope| {
        scope.spawn(|| relay(conn, Direction::ToServer, client, upstream2, lines));
        relay(conn, Direction::ToClient, upstream, client2, lines);
    });
}

/// Forwards frames from `from` to `to`, recording each; on the end or a bad frame, closes `to`'s
/// write side so the peer sees the same end.
fn relay(
    conn: u32,
    dir: Direction,
    from: UnixStream,
    mut to: UnixStream,
    lines: &Mutex<Box<dyn Sink>>,
) {
    let mut reader = FrameReader::new(from);
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                lock(lines).line(&format!("# {conn} {}: {e}", dir.token()));
                break;
            }
        };
        lock(lines).line(&Record::of_frame(conn, dir, &frame).to_string());
        let sent = frame
            .encode()
            .map_err(io::Error::other)
            .and_then(|b| to.write_all(&b));
        if sent.is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
