//! Setting up what a rule needs on a backend: volumes with unique names, streams bound to them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use stream_core::{Backend, Layout, Recv, RecvFlags, Stream, StreamFlags, Transfer, VolumeId};

/// The pool rules create volumes in.
pub const POOL: &str = "default";

static NEXT_VOLUME: AtomicU64 = AtomicU64::new(0);

/// A backend under test plus helpers for one rule.
#[derive(Clone, Copy)]
pub struct Fixture<'a> {
    /// The backend.
    pub backend: &'a dyn Backend,
    /// Where a scoped fixture notes the volumes it creates ([`Scope`]).
    created: Option<&'a Mutex<Vec<VolumeId>>>,
}

/// The volumes of one rule, scenario or case, deleted when it ends: a daemon's pool otherwise
/// grows by every volume of every run (4,113 on one shared daemon, 14 GB), and libvirt refreshes
/// the whole pool after every upload, so each upload got slower with every run before it.
pub struct Scope<'a> {
    backend: &'a dyn Backend,
    created: Mutex<Vec<VolumeId>>,
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let created = self.created.lock().map(|c| c.len()).unwrap_or(0);
        f.debug_struct("Scope").field("created", &created).finish()
    }
}

impl<'a> Scope<'a> {
    /// A scope on `backend`, empty.
    pub fn new(backend: &'a dyn Backend) -> Scope<'a> {
        Scope {
            backend,
            created: Mutex::default(),
        }
    }

    /// A fixture whose volumes this scope deletes.
    pub fn fixture(&self) -> Fixture<'_> {
        Fixture {
            backend: self.backend,
            created: Some(&self.created),
        }
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        let created = std::mem::take(
            &mut *self
                .created
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for volume in created {
            // A rule may have deleted it, or killed its daemon: nothing left to clean then.
            let _ = self.backend.delete_volume(&volume);
        }
    }
}

impl std::fmt::Debug for Fixture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("capabilities", &self.backend.capabilities())
            .finish()
    }
}

impl<'a> Fixture<'a> {
    /// Wrap a backend; its volumes stay (a [`Scope`]'s fixture deletes them).
    pub fn new(backend: &'a dyn Backend) -> Fixture<'a> {
        Fixture {
            backend,
            created: None,
        }
    }

    /// A new volume holding `notation`.
    pub fn volume(&self, notation: &str) -> Result<VolumeId, String> {
        let layout = Layout::parse(notation).map_err(|error| error.to_string())?;
        // Unique across processes too: test runners may share one daemon's pool.
        let serial = NEXT_VOLUME.fetch_add(1, Ordering::Relaxed);
        let id = VolumeId::new(
            POOL,
            format!("conformance-{}-{serial}.raw", std::process::id()),
        );
        self.backend
            .create_volume(&id, &layout)
            .map_err(|error| format!("create volume: {error}"))?;
        if let Some(created) = self.created {
            created
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(id.clone());
        }
        Ok(id)
    }

    /// Open a stream with `flags` bound to `transfer`.
    pub fn open(&self, flags: StreamFlags, transfer: Transfer) -> Result<Box<dyn Stream>, String> {
        self.backend
            .open(flags, &transfer)
            .map_err(|error| format!("open {transfer:?}: {error}"))
    }

    /// An upload of the whole volume.
    pub fn upload(&self, volume: &VolumeId, sparse: bool) -> Result<Box<dyn Stream>, String> {
        self.open(
            StreamFlags::empty(),
            Transfer::upload(volume.clone(), sparse),
        )
    }

    /// A download of the whole volume.
    pub fn download(&self, volume: &VolumeId, sparse: bool) -> Result<Box<dyn Stream>, String> {
        self.open(
            StreamFlags::empty(),
            Transfer::download(volume.clone(), sparse),
        )
    }

    /// Some active download of this backend's kind: a volume download if it has volumes, else
    /// the test domain's screenshot.
    pub fn any_download(&self, flags: StreamFlags) -> Result<Box<dyn Stream>, String> {
        if self.backend.capabilities().download {
            let volume = self.volume("D300K H8K D10")?;
            self.open(flags, Transfer::download(volume, false))
        } else {
            self.open(flags, Transfer::screenshot("test"))
        }
    }

    /// The volume's bytes.
    pub fn bytes(&self, volume: &VolumeId) -> Result<Vec<u8>, String> {
        let size = self
            .backend
            .volume_layout(volume)
            .map_err(|error| error.to_string())?
            .size();
        let mut bytes = vec![0; size as usize];
        let read = self
            .backend
            .read_volume(volume, 0, &mut bytes)
            .map_err(|error| error.to_string())?;
        bytes.truncate(read);
        Ok(bytes)
    }
}

/// Receive until end of stream with `buffer`-byte buffers and `flags`, recording each outcome.
/// Holes are consumed with `recv_hole` and recorded as negative lengths.
pub fn drain(
    stream: &mut dyn Stream,
    buffer: usize,
    flags: RecvFlags,
) -> Result<(Vec<u8>, Vec<i64>), String> {
    let mut bytes = Vec::new();
    let mut trace = Vec::new();
    let mut buf = vec![0; buffer];
    for _ in 0..1_000_000 {
        match stream
            .recv(&mut buf, flags)
            .map_err(|error| format!("recv: {error}"))?
        {
            Recv::Data(n) => {
                bytes.extend_from_slice(&buf[..n]);
                trace.push(n as i64);
            }
            Recv::Hole => {
                let length = stream
                    .recv_hole(0)
                    .map_err(|error| format!("recv_hole: {error}"))?;
                bytes.resize(bytes.len() + length as usize, 0);
                trace.push(-length);
            }
            Recv::Eof => {
                trace.push(0);
                return Ok((bytes, trace));
            }
            Recv::WouldBlock => {}
        }
    }
    Err("no end of stream after a million calls".into())
}
