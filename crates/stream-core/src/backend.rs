//! The `Backend` trait: what serves streams (a simulator, a libvirt connection), and the
//! descriptions of volumes and transfers it takes.

use crate::{Layout, Result, Stream, StreamFlags};

/// A storage volume, named as libvirt names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VolumeId {
    /// The storage pool's name.
    pub pool: String,
    /// The volume's name within the pool.
    pub name: String,
}

impl VolumeId {
    /// `pool/name`.
    pub fn new(pool: impl Into<String>, name: impl Into<String>) -> VolumeId {
        VolumeId {
            pool: pool.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for VolumeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.pool, self.name)
    }
}

/// What a stream is bound to: `virStorageVolUpload`, `virStorageVolDownload` or
/// `virDomainScreenshot`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transfer {
    /// Bytes flow from the application into the volume.
    Upload {
        /// The target volume.
        volume: VolumeId,
        /// Where writing starts.
        offset: u64,
        /// How many bytes at most; 0 means to the end of the volume (libvirt's convention).
        length: u64,
        /// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`.
        sparse: bool,
    },
    /// Bytes flow from the volume to the application.
    Download {
        /// The source volume.
        volume: VolumeId,
        /// Where reading starts.
        offset: u64,
        /// How many bytes at most; 0 means to the end of the volume.
        length: u64,
        /// `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
        sparse: bool,
    },
    /// A domain's screen as an image (download-only, never sparse). The stream's
    /// [`Stream::mime_type`] is then what `virDomainScreenshot` returned (`image/png` from the
    /// test driver).
    Screenshot {
        /// The domain's name (`test` on the test driver).
        domain: String,
        /// Which screen (the test driver serves the same image for every number).
        screen: u32,
        /// `virDomainScreenshot`'s flags: libvirt defines none, so any bit fails the bind with
        /// the driver's "unsupported flags" error.
        flags: u32,
    },
}

impl Transfer {
    /// An upload of a whole volume (offset 0, no length limit).
    pub fn upload(volume: VolumeId, sparse: bool) -> Transfer {
        Transfer::Upload {
            volume,
            offset: 0,
            length: 0,
            sparse,
        }
    }

    /// A download of a whole volume (offset 0, to its end).
    pub fn download(volume: VolumeId, sparse: bool) -> Transfer {
        Transfer::Download {
            volume,
            offset: 0,
            length: 0,
            sparse,
        }
    }

    /// A screenshot of `domain`'s first screen, no flags.
    pub fn screenshot(domain: impl Into<String>) -> Transfer {
        Transfer::Screenshot {
            domain: domain.into(),
            screen: 0,
            flags: 0,
        }
    }
}

/// Which of libvirt's two client-side stream implementations a stream behaves as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// `virNetClientStream`: any connection through a libvirtd socket.
    Remote,
    /// `virFDStream`: in-process drivers such as `test:///default`.
    Local,
}

/// What a backend can do; the conformance suite skips (and reports) groups it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Capabilities {
    /// The kind of stream it serves.
    pub kind: StreamKind,
    /// Volume uploads.
    pub upload: bool,
    /// Volume downloads.
    pub download: bool,
    /// Sparse uploads and downloads.
    pub sparse: bool,
    /// Domain screenshots.
    pub screenshot: bool,
    /// NONBLOCK streams.
    pub nonblock: bool,
    /// Event callbacks.
    pub events: bool,
}

impl Capabilities {
    /// Everything a storage connection through a daemon offers.
    pub fn remote_storage() -> Capabilities {
        Capabilities {
            kind: StreamKind::Remote,
            upload: true,
            download: true,
            sparse: true,
            screenshot: false,
            nonblock: true,
            events: true,
        }
    }

    /// What an in-process driver with screenshots offers (the test driver).
    pub fn local_screenshot() -> Capabilities {
        Capabilities {
            kind: StreamKind::Local,
            upload: false,
            download: false,
            sparse: false,
            screenshot: true,
            nonblock: true,
            events: true,
        }
    }

    /// What the test driver offers through a daemon (`test+unix:///default`): the domain
    /// screenshot as a remote stream; the driver's pools take no volume transfers.
    pub fn remote_screenshot() -> Capabilities {
        Capabilities {
            kind: StreamKind::Remote,
            upload: false,
            download: false,
            sparse: false,
            screenshot: true,
            nonblock: true,
            events: true,
        }
    }

    /// These capabilities with sparse transfers set as given.
    pub fn with_sparse(self, sparse: bool) -> Capabilities {
        Capabilities { sparse, ..self }
    }

    /// These capabilities with screenshots set as given.
    pub fn with_screenshot(self, screenshot: bool) -> Capabilities {
        Capabilities { screenshot, ..self }
    }

    /// These capabilities with volume transfers (upload and download) set as given.
    pub fn with_volumes(self, volumes: bool) -> Capabilities {
        Capabilities {
            upload: volumes,
            download: volumes,
            ..self
        }
    }
}

/// Something that serves libvirt streams: creates them, binds them to transfers, and holds the
/// volumes they move.
///
/// Note on sparse uploads: a hole only moves the write position, so where the target range
/// already held data under a hole, **the old bytes stay** and the upload still succeeds. Empty
/// the range first (or use `virtstream upload --sparse`, which does) when that matters. And a
/// hole is a seek and a truncate: when a sparse upload into a range ends with a hole, the volume
/// ends there (clipped at the range's end), and whatever it held past the range is gone.
pub trait Backend: Send + Sync {
    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// `virStreamNew`: a stream not yet bound to anything (every call but `abort` fails).
    fn new_stream(&self, flags: StreamFlags) -> Result<Box<dyn Stream>>;

    /// `virStreamNew` then the bind call of `transfer`: an active stream. What the bind call
    /// returned beyond success (a screenshot's MIME type) is the stream's
    /// ([`Stream::mime_type`]).
    fn open(&self, flags: StreamFlags, transfer: &Transfer) -> Result<Box<dyn Stream>>;

    /// Create a raw volume of `layout.size()` bytes holding `layout` (allocation: its extents).
    fn create_volume(&self, volume: &VolumeId, layout: &Layout) -> Result<()>;

    /// Delete a volume.
    fn delete_volume(&self, volume: &VolumeId) -> Result<()>;

    /// The volume's size and hole map as its storage reports it (block-aligned; every extent
    /// shown as data, since a hole map cannot tell written zeros from data).
    fn volume_layout(&self, volume: &VolumeId) -> Result<Layout>;

    /// The volume's size in bytes: what a download of the whole volume moves (for libvirt, the
    /// file's physical size, not an image format's capacity). The default reads the layout;
    /// backends that can ask for the size alone should.
    fn volume_size(&self, volume: &VolumeId) -> Result<u64> {
        self.volume_layout(volume).map(|layout| layout.size())
    }

    /// Read the volume's bytes at `offset` into `buf`; returns how many were read (short at
    /// the end of the volume).
    fn read_volume(&self, volume: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<usize>;

    /// Empty the volume in place, its size kept (all of it a hole), when that costs no more
    /// than freeing its blocks: `Ok(true)` when done, `Ok(false)` when this backend or this
    /// volume cannot, and nothing was done. libvirt: `virStorageVolWipe` of a sparse file,
    /// which truncates it to 0 and back (of anything else it writes zeros over every byte, so
    /// the libvirt backend declines those). The default declines.
    fn empty_volume(&self, volume: &VolumeId) -> Result<bool> {
        let _ = volume;
        Ok(false)
    }
}
