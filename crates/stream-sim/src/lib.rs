//! An in-memory simulator of libvirt streams that behaves as real libvirt 9.0 does: storage pools
//! and raw sparse volumes, the test driver's domain screenshot, remote and local stream profiles,
//! a deterministic event loop and seedable NONBLOCK schedules. No libvirt needed.
//!
//! ```
//! use stream_core::{Backend, Layout, Recv, RecvFlags, StreamFlags, Transfer, VolumeId};
//! use stream_sim::{Profile, SimBackend};
//!
//! let sim = SimBackend::new(Profile::Remote);
//! let volume = VolumeId::new("default", "disk.raw");
//! sim.create_volume(&volume, &Layout::parse("D4K H1M D10").unwrap()).unwrap();
//! let download = Transfer::Download { volume, offset: 0, length: 0, sparse: true };
//! let mut stream = sim.open(StreamFlags::empty(), &download).unwrap();
//! let mut buf = vec![0; 65536];
//! assert_eq!(stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE).unwrap(), Recv::Data(4096));
//! assert_eq!(stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE).unwrap(), Recv::Hole);
//! assert_eq!(stream.recv_hole(0).unwrap(), 1 << 20);
//! assert_eq!(stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE).unwrap(), Recv::Data(10));
//! assert_eq!(stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE).unwrap(), Recv::Eof);
//! stream.finish().unwrap();
//! ```

mod backend;
mod catalog;
mod connection;
mod copy;
mod death;
mod events;
mod faults;
mod local;
mod mutation;
mod packets;
mod plan_text;
mod release;
mod remote;
mod schedule;
mod served;
mod storage;
mod stream;
mod upload;
mod volume;
mod wipe;

pub use backend::{
    DEFAULT_POOL, EXT4_MAX_FILE_SIZE, Profile, SimBackend, SimConfig, TEST_DOMAIN, TEST_SCREENSHOT,
    TEST_SCREENSHOT_MIME_TYPE,
};
pub use catalog::{POOL_CAPACITY, POOL_ROOT, PoolInfo, VolumeInfo, volume_path};
pub use faults::{Fault, FaultPlan, InjectedError};
pub use mutation::Mutation;
pub use packets::{MAX_PACKET, READ_CHUNK};
pub use release::Release;
pub use schedule::WouldBlock;
pub use served::{DownloadPacket, Flow, ServedDownload, ServedUpload};
pub use stream::SimStream;
pub use wipe::WIPE_ZERO;
