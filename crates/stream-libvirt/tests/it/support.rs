//! What the real-libvirt tests share: the storage daemon's URI and fresh volumes on it.

use stream_conformance::Fixture;
use stream_core::VolumeId;
use stream_libvirt::LibvirtBackend;

/// The storage daemon's URI: the shared one, or a private one for this process.
pub fn daemon_uri() -> String {
    stream_libvirt::daemon::shared_uri()
        .unwrap_or_else(|error| panic!("no storage daemon: {error}"))
}

/// A new volume holding `notation` on the daemon at `uri`. Children of a test (raw misuse runs)
/// create their own, named after their pid.
pub fn volume(uri: &str, notation: &str) -> VolumeId {
    let backend = LibvirtBackend::connect(uri)
        .unwrap_or_else(|error| panic!("cannot connect to {uri}: {error}"));
    Fixture::new(&backend)
        .volume(notation)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// The volume's allocation in bytes, as libvirt reports it.
pub fn allocation(uri: &str, volume: &VolumeId) -> u64 {
    let connection = virt::connect::Connect::open(Some(uri)).expect("daemon");
    let pool = connection
        .lookup_storage_pool_by_name(&volume.pool)
        .expect("pool");
    pool.lookup_storage_vol_by_name(&volume.name)
        .expect("volume")
        .info()
        .expect("volume info")
        .allocation
}
