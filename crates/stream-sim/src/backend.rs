//! `SimBackend`: the simulator as a [`Backend`], with pools, volumes, the test driver's domain
//! and a stepped event loop.

use std::sync::{Arc, Mutex};

use stream_core::{
    Backend, Binding, Capabilities, Direction, Layout, Result, Stream, StreamFlags, StreamKind,
    Transfer, VolumeId, domain, libvirt_errors,
};

use crate::catalog::volume_path;
use crate::connection::Connection;
use crate::death;
use crate::events::EventLoop;
use crate::faults::{FaultPlan, FaultRun};
use crate::local::LocalDownload;
use crate::mutation::Mutation;
use crate::packets::{MAX_PACKET, PacketSource, READ_CHUNK};
use crate::release::Release;
use crate::remote::RemoteDownload;
use crate::schedule::{Schedule, WouldBlock};
use crate::storage::{self, Storage};
use crate::stream::{SimStream, StreamInner, TransferState};
use crate::upload::Upload;
use crate::volume::Volume;

/// The screenshot libvirt's test driver streams (`test-screenshot.png` of libvirt 9.0).
pub const TEST_SCREENSHOT: &[u8] = include_bytes!("test-screenshot.png");
/// The MIME type the test driver's `virDomainScreenshot` returns (Q20, Q22).
pub const TEST_SCREENSHOT_MIME_TYPE: &str = "image/png";
/// The test driver's one domain.
pub const TEST_DOMAIN: &str = "test";
/// The pool every simulator starts with.
pub const DEFAULT_POOL: &str = "default";

/// Which real stream kind the simulator reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Through a libvirtd socket (`virNetClientStream`): storage volumes, as the storage
    /// driver serves them, and the test domain's screenshot, as the test driver does through a
    /// daemon (`test+unix:///default`).
    Remote,
    /// The in-process test driver: the domain screenshot (local fdstream).
    Local,
}

/// How a simulator behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimConfig {
    /// The stream kind to reproduce.
    pub profile: Profile,
    /// Filesystem block size: hole granularity (4096 as ext4; 1 for byte-exact holes).
    pub block_size: u64,
    /// When NONBLOCK calls find nothing ready.
    pub would_block: WouldBlock,
    /// A rule to break on purpose (tests of the conformance suite only).
    pub mutation: Option<Mutation>,
    /// The largest file the pool's filesystem holds: binding past it fails; bytes written past
    /// it are dropped without a word, as libvirt's daemon drops them (Q13). `i64::MAX` (`off_t`,
    /// as XFS) by default, so petabyte sparse volumes work; [`EXT4_MAX_FILE_SIZE`] for ext4.
    pub max_file_size: u64,
    /// The libvirt release reproduced where releases differ (9.0 by default).
    pub release: Release,
}

/// ext4's largest file with 4 KiB blocks, measured (fixtures/libvirt-9.0/FINDINGS.md, Q13).
pub const EXT4_MAX_FILE_SIZE: u64 = (1 << 44) - 4096;

impl SimConfig {
    /// `profile` with ext4's 4 KiB blocks and no would-block.
    pub fn new(profile: Profile) -> SimConfig {
        SimConfig {
            profile,
            block_size: 4096,
            would_block: WouldBlock::Never,
            mutation: None,
            max_file_size: i64::MAX as u64,
            release: Release::V9_0,
        }
    }

    /// Reproducing another libvirt release where releases differ (see [`Release`]).
    pub fn release(self, release: Release) -> SimConfig {
        SimConfig { release, ..self }
    }

    /// With another largest file size (the filesystem under the pool).
    pub fn max_file_size(self, max_file_size: u64) -> SimConfig {
        SimConfig {
            max_file_size,
            ..self
        }
    }

    /// With another block size (1 for byte-exact holes).
    pub fn block_size(self, block_size: u64) -> SimConfig {
        SimConfig {
            block_size: block_size.max(1),
            ..self
        }
    }

    /// Breaking one rule of real libvirt on purpose: only to prove the conformance suite
    /// notices.
    pub fn mutated(self, mutation: Mutation) -> SimConfig {
        SimConfig {
            mutation: Some(mutation),
            ..self
        }
    }

    fn breaks(&self, mutation: Mutation) -> bool {
        self.mutation == Some(mutation)
    }

    /// With another would-block schedule.
    pub fn would_block(self, would_block: WouldBlock) -> SimConfig {
        SimConfig {
            would_block,
            ..self
        }
    }
}

/// The in-memory simulator of a libvirt connection.
#[derive(Debug, Clone)]
pub struct SimBackend {
    config: SimConfig,
    pub(crate) storage: Arc<Mutex<Storage>>,
    events: Arc<EventLoop>,
    connection: Arc<Connection>,
    /// The plan the next stream opened follows.
    next_faults: Arc<Mutex<FaultPlan>>,
    /// The plan every stream follows when none was injected for it.
    every_stream: Arc<Mutex<FaultPlan>>,
}

impl SimBackend {
    /// A simulator of `profile` with default settings and the pool `default`.
    pub fn new(profile: Profile) -> SimBackend {
        SimBackend::with_config(SimConfig::new(profile))
    }

    /// A simulator with `config` and the pool `default`.
    pub fn with_config(config: SimConfig) -> SimBackend {
        let mut storage = Storage::default();
        storage.add_pool(DEFAULT_POOL);
        SimBackend {
            config,
            storage: Arc::new(Mutex::new(storage)),
            events: Arc::default(),
            connection: Arc::default(),
            next_faults: Arc::default(),
            every_stream: Arc::default(),
        }
    }

    /// The next stream opened (with [`Backend::open`] or [`Backend::new_stream`]) follows
    /// `plan`; later streams follow none unless given one. A plan the stream cannot follow
    /// makes that open fail, naming the rule.
    pub fn inject(&self, plan: FaultPlan) {
        *self.lock_faults() = plan;
    }

    /// Every stream opened from now on follows `plan`, each from its own first byte, unless
    /// [`SimBackend::inject`] gave the next one a plan of its own (`virtstream serve --faults`).
    pub fn inject_every(&self, plan: FaultPlan) {
        *self
            .every_stream
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = plan;
    }

    /// The daemon dies now: every stream on this connection, and every later call of the
    /// backend, fails as real libvirt fails when libvirtd is killed.
    pub fn kill_connection(&self) {
        self.connection.kill();
    }

    /// Whether the connection is still alive.
    pub fn is_alive(&self) -> bool {
        !self.connection.is_dead()
    }

    fn lock_faults(&self) -> std::sync::MutexGuard<'_, FaultPlan> {
        self.next_faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// libvirt's error for a backend call on a dead connection.
    fn alive(&self) -> Result<()> {
        if self.connection.is_dead() {
            return Err(death::connection_error(&self.connection));
        }
        Ok(())
    }

    /// Its settings.
    pub fn config(&self) -> SimConfig {
        self.config
    }

    /// Add a pool.
    pub fn add_pool(&self, name: &str) {
        storage::lock(&self.storage).add_pool(name);
    }

    /// One step of the event loop; returns how many callbacks ran.
    pub fn run_once(&self) -> usize {
        self.events.run_once()
    }

    fn kind(&self) -> StreamKind {
        match self.config.profile {
            Profile::Remote => StreamKind::Remote,
            Profile::Local => StreamKind::Local,
        }
    }

    /// A new stream's state, following the injected fault plan (taken: one stream only).
    fn inner(&self, flags: StreamFlags) -> Result<StreamInner> {
        // virStreamNew stays in the client: it works on a dead connection; binding does not.
        let plan = self.take_faults();
        plan.check(self.kind(), flags)?;
        let mut inner = StreamInner::new(
            self.kind(),
            flags,
            Schedule::new(self.config.would_block),
            self.config.mutation,
            self.connection.clone(),
        );
        inner.faults = FaultRun::new(plan);
        Ok(inner)
    }

    fn stream(&self, inner: StreamInner, mime_type: Option<&'static str>) -> Box<dyn Stream> {
        let inner = Arc::new(Mutex::new(inner));
        self.events.watch(Arc::downgrade(&inner));
        Box::new(SimStream::new(inner, mime_type))
    }

    /// The volume's bytes as a download sees them, and its block-aligned layout.
    fn snapshot(&self, volume: &VolumeId) -> Result<(Volume, Layout)> {
        let storage = storage::lock(&self.storage);
        let snapshot = storage.volume(volume)?.clone();
        let block = if self.config.breaks(Mutation::ByteExactHoles) {
            1
        } else {
            self.config.block_size
        };
        let layout = snapshot.layout().block_aligned(block);
        Ok((snapshot, layout))
    }

    /// Bind the stream; returns the MIME type a screenshot's bind returns.
    fn bind(&self, inner: &mut StreamInner, transfer: &Transfer) -> Result<Option<&'static str>> {
        match (self.config.profile, transfer) {
            (
                Profile::Remote,
                Transfer::Upload {
                    volume,
                    offset,
                    length,
                    sparse,
                },
            ) => {
                let upload = self.prepare_upload(volume, *offset, *length)?;
                inner.expect_upload(*offset, *length);
                inner.faults = std::mem::take(&mut inner.faults).writing(volume_path(volume));
                if self.config.release.write_errors_kill_the_daemon() {
                    inner.faults.kill_on_data_errors();
                }
                let binding = Binding {
                    direction: Direction::Upload,
                    sparse: *sparse,
                };
                inner.bind(binding, TransferState::Upload(upload));
            }
            (
                Profile::Remote,
                Transfer::Download {
                    volume,
                    offset,
                    length,
                    sparse,
                },
            ) => {
                inner.faults.check_direction(false)?;
                let (snapshot, source) =
                    self.prepare_download(volume, *offset, *length, *sparse)?;
                let binding = Binding {
                    direction: Direction::Download,
                    sparse: *sparse,
                };
                inner.bind(
                    binding,
                    TransferState::Remote(RemoteDownload::new(
                        snapshot,
                        source,
                        self.config.mutation,
                    )),
                );
            }
            (
                profile,
                Transfer::Screenshot {
                    domain: name,
                    flags,
                    ..
                },
            ) => {
                inner.faults.check_direction(false)?;
                let screen = prepare_screenshot(name, *flags)?;
                let size = screen.size();
                let binding = Binding {
                    direction: Direction::Download,
                    sparse: false,
                };
                let download = match profile {
                    Profile::Local => TransferState::Local(LocalDownload::new(screen, 0, size)),
                    // Through a daemon (test+unix://): the daemon reads the image as it reads a
                    // volume and sends it in packets.
                    Profile::Remote => {
                        let source = screenshot_packets(&screen);
                        let download = RemoteDownload::new(screen, source, self.config.mutation);
                        TransferState::Remote(download)
                    }
                };
                inner.bind(binding, download);
                return Ok(Some(TEST_SCREENSHOT_MIME_TYPE));
            }
            (
                Profile::Local,
                Transfer::Upload { volume, .. } | Transfer::Download { volume, .. },
            ) => {
                storage::lock(&self.storage).volume(volume)?;
                let function = match transfer {
                    Transfer::Upload { .. } => "virStorageVolUpload",
                    _ => "virStorageVolDownload",
                };
                return Err(libvirt_errors::driver_lacks(function, domain::STORAGE));
            }
        }
        Ok(None)
    }
}

impl SimBackend {
    /// The daemon's side of binding an upload: the volume must exist and `offset` be a place
    /// its file can seek to. Shared by [`Backend::open`] and the wire server.
    pub(crate) fn prepare_upload(
        &self,
        volume: &VolumeId,
        offset: u64,
        length: u64,
    ) -> Result<Upload> {
        storage::lock(&self.storage).volume(volume)?;
        self.seekable(volume, offset)?;
        let truncate = !self.config.breaks(Mutation::HolesDoNotTruncate);
        Ok(Upload::new(
            self.storage.clone(),
            volume.clone(),
            offset,
            length,
            truncate,
            self.config.max_file_size,
        ))
    }

    /// The daemon's side of binding a download: a snapshot of the volume and the packets it
    /// sends for the range, after the checks libvirt 9.0 makes, in its order. Shared by
    /// [`Backend::open`] and the wire server.
    pub(crate) fn prepare_download(
        &self,
        volume: &VolumeId,
        offset: u64,
        length: u64,
        sparse: bool,
    ) -> Result<(Volume, PacketSource)> {
        let (snapshot, layout) = self.snapshot(volume)?;
        if sparse && offset > snapshot.size() {
            return Err(libvirt_errors::guard::sparse_download_past_end(
                offset,
                snapshot.size(),
            ));
        }
        self.seekable(volume, offset)?;
        let end = range_end(snapshot.size(), offset, length);
        let max_packet = if self.config.breaks(Mutation::WholeChunkPackets) {
            READ_CHUNK
        } else {
            MAX_PACKET
        };
        let source = PacketSource::new(&layout, offset, end, sparse, max_packet);
        Ok((snapshot, source))
    }

    /// The plan the next stream follows, taken (one stream only).
    pub(crate) fn take_faults(&self) -> FaultPlan {
        let next = std::mem::take(&mut *self.lock_faults());
        if !next.is_empty() {
            return next;
        }
        self.every_stream
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// virDomainLookupByName, then testDomainScreenshot's virCheckFlags; every screen number gets
/// the same image (Q20, Q22). The image as a volume the daemon reads.
pub(crate) fn prepare_screenshot(name: &str, flags: u32) -> Result<Volume> {
    if name != TEST_DOMAIN {
        return Err(libvirt_errors::no_domain());
    }
    if flags != 0 {
        return Err(libvirt_errors::screenshot_flags(flags));
    }
    let mut screen = Volume::default();
    screen.write(0, TEST_SCREENSHOT);
    Ok(screen)
}

/// Through a daemon (test+unix://) the screenshot is read as a volume is and sent in packets.
pub(crate) fn screenshot_packets(screen: &Volume) -> PacketSource {
    PacketSource::new(&screen.layout(), 0, screen.size(), false, MAX_PACKET)
}

impl SimBackend {
    /// The daemon opens the volume's file and seeks to `offset`: past the largest file that
    /// fails (libvirt names the file's path; the simulator names the volume).
    fn seekable(&self, volume: &VolumeId, offset: u64) -> Result<()> {
        if offset > self.config.max_file_size {
            return Err(libvirt_errors::unable_to_seek(&volume.name, offset));
        }
        Ok(())
    }
}

/// Where a transfer of `length` bytes from `offset` stops (0: the end of the volume).
fn range_end(size: u64, offset: u64, length: u64) -> u64 {
    let end = if length == 0 {
        size
    } else {
        offset.saturating_add(length).min(size)
    };
    end.max(offset.min(size))
}

impl Backend for SimBackend {
    fn capabilities(&self) -> Capabilities {
        match self.config.profile {
            // A daemon with the storage driver and the test driver's domain.
            Profile::Remote => Capabilities::remote_storage().with_screenshot(true),
            Profile::Local => Capabilities::local_screenshot(),
        }
    }

    fn new_stream(&self, flags: StreamFlags) -> Result<Box<dyn Stream>> {
        Ok(self.stream(self.inner(flags)?, None))
    }

    fn open(&self, flags: StreamFlags, transfer: &Transfer) -> Result<Box<dyn Stream>> {
        let mut inner = self.inner(flags)?;
        self.alive()?;
        let mime_type = self.bind(&mut inner, transfer)?;
        Ok(self.stream(inner, mime_type))
    }

    fn create_volume(&self, volume: &VolumeId, layout: &Layout) -> Result<()> {
        self.alive()?;
        let mut storage = storage::lock(&self.storage);
        let pool = storage.pool_mut(&volume.pool)?;
        if pool.contains_key(&volume.name) {
            return Err(libvirt_errors::volume_exists(&volume.name));
        }
        pool.insert(volume.name.clone(), Volume::from_layout(layout));
        Ok(())
    }

    fn delete_volume(&self, volume: &VolumeId) -> Result<()> {
        self.alive()?;
        let mut storage = storage::lock(&self.storage);
        storage.volume(volume)?;
        storage.pool_mut(&volume.pool)?.remove(&volume.name);
        Ok(())
    }

    fn volume_layout(&self, volume: &VolumeId) -> Result<Layout> {
        self.alive()?;
        Ok(self.snapshot(volume)?.1)
    }

    /// As the libvirt backend does it: a zeroing wipe of a sparse volume (`wipe_volume`, what
    /// the daemon does to a sparse file); a fully allocated one is declined.
    fn empty_volume(&self, volume: &VolumeId) -> Result<bool> {
        self.alive()?;
        let layout = storage::lock(&self.storage).volume(volume)?.layout();
        if layout.allocated_bytes() >= layout.size() {
            return Ok(false);
        }
        self.wipe_volume(volume, crate::WIPE_ZERO, 0)?;
        Ok(true)
    }

    fn read_volume(&self, volume: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.alive()?;
        Ok(storage::lock(&self.storage)
            .volume(volume)?
            .read(offset, buf))
    }
}
